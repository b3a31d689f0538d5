// The model library as a table model: one row per GGUF in the Store, with its name,
// architecture, parameters, quantization, size, context, chat template, its quantized
// variants (rows of one model sit together, largest quantization first) and whether it is
// loaded. Reloads asynchronously; rows change only on the GUI thread.
#pragma once

#include <QAbstractTableModel>
#include <QStringList>
#include <QVector>
#include <vector>

#include "store/store_types.h"

namespace pagoda::bridge {
class EngineBridge;
class StoreClient;
}  // namespace pagoda::bridge

namespace pagoda::ui {

class ModelLibraryModel : public QAbstractTableModel {
    Q_OBJECT

public:
    enum Column { Name, Architecture, Parameters, Quantization, Size, Context, Template, Variants, State, ColumnCount };
    static constexpr int IdRole = Qt::UserRole + 1;
    static constexpr int PathRole = Qt::UserRole + 2;
    static constexpr int GroupRole = Qt::UserRole + 3;  // rows with the same value are variants of one model

    ModelLibraryModel(bridge::StoreClient& store, bridge::EngineBridge& bridge, QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

    const store::Model* modelAt(int row) const;
    int rowOfId(qint64 id) const;
    // The rows of the quantized variants of the model in `row` (itself included), largest first.
    QVector<int> variantRows(int row) const;
    int reloadCount() const { return m_reloads; }

    static QString formatParameters(qint64 n);  // "292.8K", "7.24B"
    static QString formatBytes(qint64 n);       // "1.1 MiB"

public slots:
    void reload();

signals:
    void reloaded();

private:
    void refreshStateColumn();

    bridge::StoreClient& m_store;
    bridge::EngineBridge& m_bridge;
    std::vector<store::Model> m_models;
    std::vector<bool> m_missing;  // per row: the file is gone
    QStringList m_groups;         // per row: bridge::variantGroupKey
    qint64 m_loadingId = 0;
    int m_reloads = 0;
};

}  // namespace pagoda::ui
