#include "bridge/adapter_info.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <algorithm>
#include <cmath>

#include "model/gguf_file.h"

namespace pagoda::bridge {

namespace {

constexpr qint64 kMaxConfigBytes = 1 << 20;  // adapter_config.json is a few hundred bytes

Result<store::NewAdapter> inspectPeft(const QString& path, const QString& configPath) {
    QFile file(configPath);
    if (!file.open(QIODevice::ReadOnly)) {
        return not_found(configPath.toStdString() + ": cannot read the PEFT adapter_config.json");
    }
    if (file.size() > kMaxConfigBytes) return invalid_format(configPath.toStdString() + " is too large");
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(file.readAll(), &error);
    if (!doc.isObject()) {
        return invalid_format(configPath.toStdString() + " is not a JSON object: " + error.errorString().toStdString());
    }
    const QJsonObject config = doc.object();
    const QString type = config.value(QStringLiteral("peft_type")).toString();
    if (!type.isEmpty() && type.compare(QLatin1String("LORA"), Qt::CaseInsensitive) != 0) {
        return unsupported(path.toStdString() + " is a " + type.toStdString() + " adapter, not LoRA");
    }
    store::NewAdapter a;
    a.path = QFileInfo(path).absoluteFilePath().toStdString();
    const QFileInfo info(path);
    a.name = (info.isDir() ? info.fileName() : info.dir().dirName()).toStdString();
    // PEFT names the base model by its hub id ("meta-llama/Llama-3.2-1B"); the architecture is
    // not in the adapter, so it stays empty and the user picks the base model.
    return a;
}

}  // namespace

Result<store::NewAdapter> inspectAdapter(const QString& path) {
    const QFileInfo info(path);
    if (!info.exists()) return not_found(path.toStdString() + " does not exist");
    if (info.isDir()) {
        const QString config = QDir(path).filePath(QStringLiteral("adapter_config.json"));
        if (!QFileInfo::exists(config)) {
            return invalid_argument(path.toStdString() + " has no adapter_config.json (not a PEFT LoRA folder)");
        }
        return inspectPeft(path, config);
    }
    if (info.suffix().compare(QLatin1String("safetensors"), Qt::CaseInsensitive) == 0) {
        return inspectPeft(path, info.dir().filePath(QStringLiteral("adapter_config.json")));
    }
    auto gguf = GgufFile::open(path.toStdString());
    if (!gguf) return gguf.status();
    const std::string* type = gguf.value()->get_string("general.type");
    if (!type || *type != "adapter") {
        return invalid_format(path.toStdString() + " is a GGUF model, not a LoRA adapter (general.type is \"" +
                              (type ? *type : std::string("model")) + "\")");
    }
    const std::string* adapterType = gguf.value()->get_string("adapter.type");
    if (adapterType && *adapterType != "lora") {
        return unsupported(path.toStdString() + " is a \"" + *adapterType + "\" adapter, not LoRA");
    }
    store::NewAdapter a;
    a.path = info.absoluteFilePath().toStdString();
    const std::string* name = gguf.value()->get_string("general.name");
    a.name = name && !name->empty() ? *name : info.completeBaseName().toStdString();
    const std::string* arch = gguf.value()->get_string("general.architecture");
    if (arch) a.base_architecture = *arch;
    return a;
}

std::optional<int64_t> guessBaseModel(const store::NewAdapter& adapter, const std::vector<store::Model>& library,
                                      qint64 preferredId) {
    if (adapter.base_architecture.empty()) return std::nullopt;
    std::optional<int64_t> first;
    for (const store::Model& m : library) {
        if (m.architecture != adapter.base_architecture) continue;
        if (m.id == preferredId) return m.id;
        if (!first) first = m.id;
    }
    return first;
}

QVector<AdapterAttachment> parseAdapterAttachments(const std::string& json) {
    QVector<AdapterAttachment> out;
    const QJsonDocument doc = QJsonDocument::fromJson(QByteArray::fromStdString(json));
    for (const QJsonValue& v : doc.array()) {
        const QJsonObject o = v.toObject();
        AdapterAttachment a;
        a.adapterId = static_cast<qint64>(o.value(QStringLiteral("adapter_id")).toDouble());
        if (a.adapterId <= 0) continue;
        a.scale = std::clamp(o.value(QStringLiteral("scale")).toDouble(1.0), 0.0, 2.0);
        a.path = o.value(QStringLiteral("path")).toString();
        out.push_back(a);
    }
    return out;
}

std::string adapterAttachmentsJson(const QVector<AdapterAttachment>& attachments) {
    QJsonArray array;
    for (const AdapterAttachment& a : attachments) {
        QJsonObject o;
        o.insert(QStringLiteral("adapter_id"), a.adapterId);
        // Two decimals: the slider's resolution, and readable JSON.
        o.insert(QStringLiteral("scale"), std::round(a.scale * 100.0) / 100.0);
        // The file, so a reply can load the adapter without asking the library first.
        if (!a.path.isEmpty()) o.insert(QStringLiteral("path"), a.path);
        array.append(o);
    }
    return QJsonDocument(array).toJson(QJsonDocument::Compact).toStdString();
}

}  // namespace pagoda::bridge
