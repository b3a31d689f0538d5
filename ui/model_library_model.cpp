#include "ui/model_library_model.h"

#include <QFont>
#include <QLocale>
#include <algorithm>
#include <filesystem>
#include <map>
#include <numeric>

#include "bridge/engine_bridge.h"
#include "bridge/model_variants.h"
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
                // Variants of one model together (in the order of the group's first name),
                // largest quantization first.
                std::vector<store::Model>& models = listing->first;
                QStringList keys;
                std::map<QString, size_t> firstSeen;
                for (size_t i = 0; i < models.size(); ++i) {
                    keys << bridge::variantGroupKey(models[i]);
                    firstSeen.emplace(keys.back(), i);
                }
                std::vector<size_t> order(models.size());
                std::iota(order.begin(), order.end(), size_t{0});
                std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
                    const size_t ga = firstSeen[keys[static_cast<int>(a)]], gb = firstSeen[keys[static_cast<int>(b)]];
                    if (ga != gb) return ga < gb;
                    return bridge::quantizationRank(QString::fromStdString(models[a].quantization)) <
                           bridge::quantizationRank(QString::fromStdString(models[b].quantization));
                });
                beginResetModel();
                m_models.clear();
                m_missing.clear();
                m_groups.clear();
                for (size_t i : order) {
                    m_models.push_back(std::move(models[i]));
                    m_missing.push_back(listing->second[i]);
                    m_groups << keys[static_cast<int>(i)];
                }
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

QVector<int> ModelLibraryModel::variantRows(int row) const {
    QVector<int> rows;
    if (row < 0 || row >= m_groups.size()) return rows;
    for (int i = 0; i < m_groups.size(); ++i) {
        if (m_groups[i] == m_groups[row]) rows << i;
    }
    return rows;
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
    if (role == GroupRole) return m_groups.value(index.row());
    if (role == Qt::ToolTipRole) {
        if (index.column() != Variants) return QString::fromStdString(m->path);
        QStringList quants;
        for (int r : variantRows(index.row())) {
            quants << QString::fromStdString(m_models[static_cast<size_t>(r)].quantization);
        }
        return tr("Quantizations of %1 in the library: %2")
            .arg(bridge::variantBaseName(QString::fromStdString(m->path)), quants.join(QStringLiteral(", ")));
    }
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
        case Variants: {
            const QVector<int> rows = variantRows(index.row());
            return rows.size() > 1 ? tr("%1 of %2").arg(rows.indexOf(index.row()) + 1).arg(rows.size()) : QString();
        }
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
        case Variants:
            return tr("Variants");
        case State:
            return tr("Status");
        default:
            return {};
    }
}

}  // namespace pagoda::ui
