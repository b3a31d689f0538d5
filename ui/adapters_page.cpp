#include "ui/adapters_page.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QListWidget>
#include <QPointer>
#include <QPushButton>
#include <QSlider>
#include <QTableWidget>
#include <QThreadPool>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "bridge/adapter_info.h"
#include "bridge/engine_bridge.h"
#include "bridge/store_client.h"
#include "ui/chat_controller.h"
#include "ui/model_library_model.h"

namespace pagoda::ui {

namespace {

constexpr int kScaleSteps = 100;  // slider units per 1.0 of scale; the slider spans 0..2

QString scaleText(double scale) { return QString::number(scale, 'f', 2); }

struct Inspected {
    std::vector<store::NewAdapter> adapters;
    QStringList errors;
};

}  // namespace

AdaptersPage::AdaptersPage(bridge::StoreClient& store, bridge::EngineBridge& bridge, ChatController& controller,
                           ModelLibraryModel& library, QWidget* parent)
    : QWidget(parent), m_store(store), m_bridge(bridge), m_controller(controller), m_library(library) {
    setObjectName(QStringLiteral("adaptersPage"));
    auto* layout = new QVBoxLayout(this);

    auto* buttons = new QHBoxLayout;
    m_add = new QPushButton(tr("Add adapter\u2026"), this);
    m_add->setToolTip(tr("A GGUF LoRA file, or a PEFT folder with adapter_config.json"));
    m_remove = new QPushButton(tr("Remove"), this);
    m_remove->setToolTip(tr("Remove from the library (the files stay on disk)"));
    m_baseModel = new QComboBox(this);
    m_baseModel->setObjectName(QStringLiteral("adapterBaseModel"));
    m_baseModel->setToolTip(tr("The model the selected adapter was trained on"));
    buttons->addWidget(m_add);
    buttons->addWidget(m_remove);
    buttons->addStretch(1);
    buttons->addWidget(new QLabel(tr("Base model:"), this));
    buttons->addWidget(m_baseModel);
    layout->addLayout(buttons);

    m_table = new QTableWidget(0, ColumnCount, this);
    m_table->setObjectName(QStringLiteral("adapterTable"));
    m_table->setHorizontalHeaderLabels({tr("Adapter"), tr("Base model"), tr("Architecture"), tr("Path")});
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->verticalHeader()->setVisible(false);
    m_table->horizontalHeader()->setStretchLastSection(true);
    layout->addWidget(m_table, 2);

    auto* attach = new QGroupBox(tr("Adapters for the open chat"), this);
    auto* attachLayout = new QVBoxLayout(attach);
    m_chatLabel = new QLabel(attach);
    attachLayout->addWidget(m_chatLabel);
    m_attachList = new QListWidget(attach);
    m_attachList->setObjectName(QStringLiteral("adapterAttachList"));
    attachLayout->addWidget(m_attachList, 1);
    auto* scaleRow = new QHBoxLayout;
    scaleRow->addWidget(new QLabel(tr("Scale of the selected adapter:"), attach));
    m_scale = new QSlider(Qt::Horizontal, attach);
    m_scale->setObjectName(QStringLiteral("adapterScale"));
    m_scale->setRange(0, 2 * kScaleSteps);
    m_scale->setValue(kScaleSteps);
    m_scale->setPageStep(10);
    m_scaleLabel = new QLabel(scaleText(1.0), attach);
    m_scaleLabel->setMinimumWidth(40);
    m_apply = new QPushButton(tr("Apply to chat"), attach);
    m_apply->setObjectName(QStringLiteral("adapterApply"));
    scaleRow->addWidget(m_scale, 1);
    scaleRow->addWidget(m_scaleLabel);
    scaleRow->addWidget(m_apply);
    attachLayout->addLayout(scaleRow);
    layout->addWidget(attach, 1);

    m_status = new QLabel(this);
    m_status->setObjectName(QStringLiteral("adapterStatus"));
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_status);

    connect(m_add, &QPushButton::clicked, this, &AdaptersPage::addWithDialog);
    connect(m_remove, &QPushButton::clicked, this, &AdaptersPage::removeSelected);
    connect(m_apply, &QPushButton::clicked, this, &AdaptersPage::applyToChat);
    connect(m_table, &QTableWidget::itemSelectionChanged, this, &AdaptersPage::updateControls);
    connect(m_baseModel, &QComboBox::activated, this, &AdaptersPage::onBaseModelPicked);
    connect(m_attachList, &QListWidget::currentItemChanged, this, [this](QListWidgetItem* item) {
        if (!item) return;
        const QSignalBlocker block(m_scale);
        const double scale = item->data(ScaleRole).toDouble();
        m_scale->setValue(static_cast<int>(std::lround(scale * kScaleSteps)));
        m_scaleLabel->setText(scaleText(scale));
    });
    connect(m_scale, &QSlider::valueChanged, this, [this](int value) {
        const double scale = static_cast<double>(value) / kScaleSteps;
        m_scaleLabel->setText(scaleText(scale));
        if (QListWidgetItem* item = m_attachList->currentItem()) {
            item->setData(ScaleRole, scale);
            item->setText(tr("%1 \u00d7 %2").arg(item->data(Qt::UserRole + 3).toString(), scaleText(scale)));
        }
    });
    connect(&m_controller, &ChatController::sessionChanged, this, &AdaptersPage::fillAttachments);
    connect(&m_controller, &ChatController::sessionClosed, this, &AdaptersPage::fillAttachments);
    connect(&m_library, &ModelLibraryModel::reloaded, this, &AdaptersPage::fill);
    connect(&m_bridge, &bridge::EngineBridge::sessionAdaptersChecked, this, &AdaptersPage::onAdaptersChecked);
    reload();
}

void AdaptersPage::reload() {
    m_store.run(
        this, [](store::StoreOps& ops) { return ops.list_adapters(); },
        [this](Result<std::vector<store::Adapter>> list) {
            ++m_reloads;
            if (!list) {
                m_status->setText(
                    tr("Could not read the adapters: %1").arg(QString::fromStdString(list.status().message())));
            } else {
                m_adapters = std::move(list.value());
            }
            fill();
            emit reloaded();
        });
}

QString AdaptersPage::baseModelName(const store::Adapter& a) const {
    if (!a.base_model_id) return tr("(unknown)");
    const int row = m_library.rowOfId(*a.base_model_id);
    const store::Model* m = row >= 0 ? m_library.modelAt(row) : nullptr;
    return m ? QString::fromStdString(m->display_name) : tr("(not in the library)");
}

void AdaptersPage::fill() {
    const qint64 selected = selectedAdapterId();
    m_filling = true;
    m_table->setRowCount(static_cast<int>(m_adapters.size()));
    for (int row = 0; row < static_cast<int>(m_adapters.size()); ++row) {
        const store::Adapter& a = m_adapters[row];
        auto set = [this, row, &a](int col, const QString& text) {
            auto* item = new QTableWidgetItem(text);
            item->setData(IdRole, static_cast<qlonglong>(a.id));
            m_table->setItem(row, col, item);
        };
        set(NameCol, QString::fromStdString(a.name));
        set(BaseModelCol, baseModelName(a));
        set(ArchitectureCol, QString::fromStdString(a.base_architecture));
        set(PathCol, QString::fromStdString(a.path));
        if (a.id == selected) m_table->selectRow(row);
    }
    m_filling = false;
    fillAttachments();
    updateControls();
}

void AdaptersPage::fillAttachments() {
    const store::Session& s = m_controller.session();
    const bool open = m_controller.sessionId() != 0;
    m_chatLabel->setText(open ? tr("Chat: %1").arg(QString::fromStdString(s.title))
                              : tr("No chat is open: open or start one on the Chat page."));
    const QVector<bridge::AdapterAttachment> attached =
        open ? bridge::parseAdapterAttachments(s.adapters_json) : QVector<bridge::AdapterAttachment>{};
    const qint64 current = m_attachList->currentItem() ? m_attachList->currentItem()->data(IdRole).toLongLong() : 0;
    const QSignalBlocker block(m_attachList);
    m_attachList->clear();
    for (const store::Adapter& a : m_adapters) {
        auto it = std::find_if(attached.begin(), attached.end(),
                               [&a](const bridge::AdapterAttachment& x) { return x.adapterId == a.id; });
        const double scale = it != attached.end() ? it->scale : 1.0;
        const QString name = QString::fromStdString(a.name);
        auto* item = new QListWidgetItem(tr("%1 \u00d7 %2").arg(name, scaleText(scale)), m_attachList);
        item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
        item->setCheckState(it != attached.end() ? Qt::Checked : Qt::Unchecked);
        item->setData(IdRole, static_cast<qlonglong>(a.id));
        item->setData(ScaleRole, scale);
        item->setData(Qt::UserRole + 3, name);
        item->setToolTip(tr("Base model: %1").arg(baseModelName(a)));
        if (a.id == current) m_attachList->setCurrentItem(item);
    }
    if (!m_attachList->currentItem() && m_attachList->count() > 0) m_attachList->setCurrentRow(0);
    if (QListWidgetItem* item = m_attachList->currentItem()) {
        const QSignalBlocker blockScale(m_scale);
        m_scale->setValue(static_cast<int>(std::lround(item->data(ScaleRole).toDouble() * kScaleSteps)));
        m_scaleLabel->setText(scaleText(item->data(ScaleRole).toDouble()));
    }
    updateControls();
}

void AdaptersPage::updateControls() {
    const qint64 id = selectedAdapterId();
    m_remove->setEnabled(id != 0);
    const QSignalBlocker block(m_baseModel);
    m_baseModel->clear();
    m_baseModel->addItem(tr("(unknown)"), qlonglong(0));
    for (int row = 0; row < m_library.rowCount(); ++row) {
        const store::Model* m = m_library.modelAt(row);
        m_baseModel->addItem(QString::fromStdString(m->display_name), static_cast<qlonglong>(m->id));
    }
    auto it = std::find_if(m_adapters.begin(), m_adapters.end(), [id](const store::Adapter& a) { return a.id == id; });
    m_baseModel->setEnabled(it != m_adapters.end());
    if (it != m_adapters.end() && it->base_model_id) {
        m_baseModel->setCurrentIndex(std::max(0, m_baseModel->findData(static_cast<qlonglong>(*it->base_model_id))));
    }
    const bool open = m_controller.sessionId() != 0;
    m_attachList->setEnabled(open);
    m_scale->setEnabled(open && m_attachList->count() > 0);
    m_apply->setEnabled(open);
}

qint64 AdaptersPage::selectedAdapterId() const {
    const QList<QTableWidgetItem*> items = m_table->selectedItems();
    return items.isEmpty() ? 0 : items.first()->data(IdRole).toLongLong();
}

void AdaptersPage::onBaseModelPicked(int index) {
    const qint64 id = selectedAdapterId();
    auto it = std::find_if(m_adapters.begin(), m_adapters.end(), [id](const store::Adapter& a) { return a.id == id; });
    if (it == m_adapters.end()) return;
    store::NewAdapter updated = *it;
    const qint64 base = m_baseModel->itemData(index).toLongLong();
    updated.base_model_id = base > 0 ? std::optional<int64_t>(base) : std::nullopt;
    m_store.run(
        this, [updated](store::StoreOps& ops) { return ops.add_adapter(updated); },
        [this](Result<int64_t> r) {
            if (!r) m_status->setText(QString::fromStdString(r.status().message()));
            reload();
        });
}

void AdaptersPage::addWithDialog() {
    const QStringList files = QFileDialog::getOpenFileNames(this, tr("Add LoRA adapters"), QString(),
                                                            tr("LoRA adapters (*.gguf *.safetensors);;All files (*)"));
    if (!files.isEmpty()) addPaths(files);
}

void AdaptersPage::addPaths(const QStringList& paths) {
    m_status->setText(tr("Reading %n adapter(s)\u2026", nullptr, static_cast<int>(paths.size())));
    QPointer<AdaptersPage> self(this);
    // Opening GGUF files reads their metadata: off the GUI thread.
    QThreadPool::globalInstance()->start([self, paths] {
        auto result = std::make_shared<Inspected>();
        for (const QString& p : paths) {
            auto a = bridge::inspectAdapter(p);
            if (a) {
                result->adapters.push_back(std::move(a.value()));
            } else {
                result->errors << QStringLiteral("%1: %2").arg(QFileInfo(p).fileName(),
                                                               QString::fromStdString(a.status().message()));
            }
        }
        if (!self) return;
        QMetaObject::invokeMethod(
            self.data(),
            [self, result] {
                if (!self) return;
                std::vector<store::Model> library;
                for (int row = 0; row < self->m_library.rowCount(); ++row)
                    library.push_back(*self->m_library.modelAt(row));
                const qint64 loaded = self->m_bridge.isLoaded() ? self->m_bridge.loadedModel().modelId : 0;
                for (store::NewAdapter& a : result->adapters)
                    a.base_model_id = bridge::guessBaseModel(a, library, loaded);
                const auto adapters = result->adapters;
                self->m_store.run(
                    self.data(),
                    [adapters](store::StoreOps& ops) -> Result<int> {
                        return ops.transaction([&]() -> Result<int> {
                            for (const store::NewAdapter& a : adapters) {
                                auto id = ops.add_adapter(a);
                                if (!id) return id.status();
                            }
                            return static_cast<int>(adapters.size());
                        });
                    },
                    [self, result](Result<int> added) {
                        QStringList errors = result->errors;
                        if (!added) errors << QString::fromStdString(added.status().message());
                        const int n = added ? added.value() : 0;
                        self->m_status->setText(errors.isEmpty() ? tr("Added %n adapter(s).", nullptr, n)
                                                                 : tr("Added %n adapter(s). Not added:\n", nullptr, n) +
                                                                       errors.join(QLatin1Char('\n')));
                        self->reload();
                        emit self->adaptersAdded(n, static_cast<int>(errors.size()));
                    });
            },
            Qt::QueuedConnection);
    });
}

void AdaptersPage::removeSelected() {
    const qint64 id = selectedAdapterId();
    if (id == 0) return;
    m_store.run(
        this, [id](store::StoreOps& ops) { return ops.remove_adapter(id); },
        [this](Status s) {
            m_status->setText(s.is_ok() ? tr("Removed from the library; the files stay on disk.")
                                        : QString::fromStdString(s.message()));
            reload();
        });
}

void AdaptersPage::applyToChat() {
    if (m_controller.sessionId() == 0) return;
    QVector<bridge::AdapterAttachment> attached;
    for (int row = 0; row < m_attachList->count(); ++row) {
        QListWidgetItem* item = m_attachList->item(row);
        if (item->checkState() != Qt::Checked) continue;
        bridge::AdapterAttachment a;
        a.adapterId = item->data(IdRole).toLongLong();
        a.scale = item->data(ScaleRole).toDouble();
        auto it = std::find_if(m_adapters.begin(), m_adapters.end(),
                               [&a](const store::Adapter& x) { return x.id == a.adapterId; });
        if (it != m_adapters.end()) a.path = QString::fromStdString(it->path);
        attached.push_back(a);
    }
    // The choice is kept with the chat either way: a file that fails now (another model is
    // loaded) may be right for the model the chat is used with later.
    m_controller.setAdaptersJson(bridge::adapterAttachmentsJson(attached));
    const Status status = m_bridge.setSessionAdapters(m_controller.sessionId(), attached);
    if (!status.is_ok()) {
        const QString message = QString::fromStdString(status.message());
        m_status->setText(message);
        emit applied(false, message);
        return;
    }
    // The engine's answer comes from the bridge's worker (loading an adapter reads its file).
    ++m_pendingChecks;
    m_appliedCount = static_cast<int>(attached.size());
    m_status->setText(attached.isEmpty() ? tr("Detaching the adapters\u2026")
                                         : tr("Loading %n adapter(s)\u2026", nullptr, m_appliedCount));
}

void AdaptersPage::onAdaptersChecked(qint64 sessionId, bool checked, const QString& error) {
    (void)sessionId;  // answers arrive in the order of the applies; only the last one is shown
    if (m_pendingChecks == 0 || --m_pendingChecks > 0) return;
    QString message = error;
    if (error.isEmpty()) {
        if (m_appliedCount == 0) {
            message = tr("No adapters on this chat.");
        } else if (checked) {
            message = tr("%n adapter(s) attached to this chat.", nullptr, m_appliedCount);
        } else {
            message = tr("%n adapter(s) attached to this chat; they load with the model when a reply starts.",
                         nullptr, m_appliedCount);
        }
    }
    m_status->setText(message);
    emit applied(error.isEmpty(), message);
}

}  // namespace pagoda::ui
