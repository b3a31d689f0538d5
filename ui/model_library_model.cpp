#include "ui/model_library_model.h"

#include <QFont>
#include <QLocale>
#include <filesystem>

#include "bridge/engine_bridge.h"
#include "bridge/store_client.h"

namespace pagoda::ui {

ModelLibraryModel::ModelLibraryModel(bridge::StoreClient& store, bridge::EngineBridge& bridge, QObject* parent)
    : QAbstractTableModel(parent), m_store(store), m_bridge(bridge) {
    connect(&m_bridge, &bridge::EngineBridge::loadStarted, this, [this](qint64 id, const QString&) {
        m_loadingId = id;
        refreshStateColumn();
    });
    auto loadEnded = [this] {
        m_loadingId = 0;
        refreshStateColumn();
    };
    connect(&m_bridge, &bridge::EngineBridge::modelLoaded, this, loadEnded);
    connect(&m_bridge, &bridge::EngineBridge::loadFailed, this, loadEnded);
    connect(&m_bridge, &bridge::EngineBridge::modelUnloaded, this, loadEnded);
    reload();
}

void ModelLibraryModel::reload() {
    using Listing = std::pair<std::vector<store::Model>, std::vector<bool>>;
    m_store.run(
        this,
        [](store::StoreOps& ops) -> Result<Listing> {
            auto models = ops.list_models();
            if (!models) return models.status();
            // Checked here, off the GUI thread: a model on a sleeping network drive must not
            // stall painting.
            std::vector<bool> missing;
            for (const store::Model& m : models.value()) {
                std::error_code ec;
                missing.push_back(!std::filesystem::exists(m.path, ec));
            }
            return Listing{std::move(models.value()), std::move(missing)};
        },
        [this](Result<Listing> listing) {
            ++m_reloads;
            if (listing) {
                beginResetModel();
                m_models = std::move(listing->first);
                m_missing = std::move(listing->second);
                endResetModel();
            }
            emit reloaded();
        });
}

void ModelLibraryModel::refreshStateColumn() {
    if (m_models.empty()) return;
    emit dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1));
}

int ModelLibraryModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(m_models.size());
}

int ModelLibraryModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

const store::Model* ModelLibraryModel::modelAt(int row) const {
    return row >= 0 && row < rowCount() ? &m_models[static_cast<size_t>(row)] : nullptr;
}

int ModelLibraryModel::rowOfId(qint64 id) const {
    for (size_t i = 0; i < m_models.size(); ++i) {
        if (m_models[i].id == id) return static_cast<int>(i);
    }
    return -1;
}

QString ModelLibraryModel::formatParameters(qint64 n) {
    if (n >= 1'000'000'000) return QStringLiteral("%1B").arg(n / 1e9, 0, 'f', 2);
    if (n >= 1'000'000) return QStringLiteral("%1M").arg(n / 1e6, 0, 'f', 1);
    if (n >= 1'000) return QStringLiteral("%1K").arg(n / 1e3, 0, 'f', 1);
    return QString::number(n);
}

QString ModelLibraryModel::formatBytes(qint64 n) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(n);
    int u = 0;
    while (v >= 1024.0 && u < 4) {
        v /= 1024.0;
        ++u;
    }
    return u == 0 ? QStringLiteral("%1 B").arg(n) : QStringLiteral("%1 %2").arg(v, 0, 'f', 1).arg(QLatin1String(units[u]));
}

QVariant ModelLibraryModel::data(const QModelIndex& index, int role) const {
    const store::Model* m = index.isValid() ? modelAt(index.row()) : nullptr;
    if (!m) return {};
    const bool loaded = m_bridge.isLoaded() && m_bridge.loadedModel().modelId == m->id;
    if (role == IdRole) return QVariant::fromValue<qint64>(m->id);
    if (role == PathRole) return QString::fromStdString(m->path);
    if (role == Qt::ToolTipRole) return QString::fromStdString(m->path);
    if (role == Qt::TextAlignmentRole) {
        switch (index.column()) {
            case Parameters:
            case Size:
            case Context:
                return QVariant(Qt::AlignRight | Qt::AlignVCenter);
            default:
                return {};
        }
    }
    if (role == Qt::FontRole && loaded) {
        QFont f;
        f.setBold(true);
        return f;
    }
    if (role != Qt::DisplayRole) return {};
    switch (index.column()) {
        case Name:
            return QString::fromStdString(m->display_name);
        case Architecture:
            return QString::fromStdString(m->architecture);
        case Parameters:
            return formatParameters(m->parameter_count);
        case Quantization:
            return QString::fromStdString(m->quantization);
        case Size:
            return formatBytes(m->file_size);
        case Context:
            return m->context_length > 0 ? QLocale().toString(static_cast<qlonglong>(m->context_length)) : QString();
        case Template:
            return m->has_chat_template ? tr("yes") : tr("no");
        case State:
            if (m_loadingId == m->id) return tr("loading\u2026");
            if (loaded) return tr("loaded");
            if (m_missing[static_cast<size_t>(index.row())]) return tr("file missing");
            return QString();
        default:
            return {};
    }
}

QVariant ModelLibraryModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
    switch (section) {
        case Name:
            return tr("Name");
        case Architecture:
            return tr("Architecture");
        case Parameters:
            return tr("Parameters");
        case Quantization:
            return tr("Quantization");
        case Size:
            return tr("Size");
        case Context:
            return tr("Context");
        case Template:
            return tr("Chat template");
        case State:
            return tr("Status");
        default:
            return {};
    }
}

}  // namespace pagoda::ui
