#include "ui/engine_status_bar.h"

#include <QLabel>

#include "bridge/engine_bridge.h"
#include "ui/model_library_model.h"

namespace pagoda::ui {

EngineStatusBar::EngineStatusBar(bridge::EngineBridge& bridge, QWidget* parent) : QStatusBar(parent), m_bridge(bridge) {
    setObjectName(QStringLiteral("engineStatusBar"));
    auto make = [this](const char* name, const QString& tip) {
        auto* label = new QLabel(this);
        label->setObjectName(QLatin1String(name));
        label->setToolTip(tip);
        label->setContentsMargins(6, 0, 6, 0);
        addPermanentWidget(label);
        return label;
    };
    m_device = make("statusDevice", tr("The device the model runs on"));
    m_memory = make("statusMemory", tr("Memory this program uses, and the GPU's memory in use after loading"));
    m_kv = make("statusKv", tr("KV cache blocks in use (the model's memory of the conversations)"));
    m_requests = make("statusRequests", tr("Replies being written / waiting for room"));
    m_speed = make("statusSpeed", tr("Generated tokens per second over the last few seconds"));
    connect(&m_bridge, &bridge::EngineBridge::statsChanged, this, &EngineStatusBar::showStatus);
    connect(&m_bridge, &bridge::EngineBridge::modelLoaded, this, &EngineStatusBar::showModel);
    connect(&m_bridge, &bridge::EngineBridge::modelUnloaded, this, &EngineStatusBar::showModel);
    connect(&m_bridge, &bridge::EngineBridge::loadStarted, this, &EngineStatusBar::showModel);
    showModel();
    showStatus({});
}

void EngineStatusBar::showModel() {
    const bridge::LoadedModelInfo& m = m_bridge.loadedModel();
    if (m_bridge.isLoading()) {
        m_device->setText(tr("Loading\u2026"));
    } else if (m_bridge.isLoaded()) {
        m_device->setText(tr("%1 \u00b7 %2").arg(m.name, m.device));
        m_device->setToolTip(m.deviceReason);
    } else {
        m_device->setText(tr("No model loaded"));
    }
}

void EngineStatusBar::showStatus(const bridge::EngineStatus& s) {
    QString memory;
    if (s.residentBytes > 0) memory = tr("RAM %1").arg(ModelLibraryModel::formatBytes(s.residentBytes));
    const bridge::LoadedModelInfo& m = m_bridge.loadedModel();
    if (s.loaded && m.deviceMemoryTotalBytes > 0) {
        if (!memory.isEmpty()) memory += QStringLiteral(" \u00b7 ");
        memory += tr("VRAM %1 / %2").arg(ModelLibraryModel::formatBytes(m.deviceMemoryUsedBytes),
                                         ModelLibraryModel::formatBytes(m.deviceMemoryTotalBytes));
    }
    m_memory->setText(memory);
    if (!s.loaded) {
        m_kv->setText(tr("KV \u2013"));
        m_requests->setText(tr("idle"));
        m_speed->setText(QString());
        return;
    }
    const double pct = s.kvBlocksTotal > 0 ? 100.0 * s.kvBlocksUsed / s.kvBlocksTotal : 0.0;
    m_kv->setText(tr("KV %1/%2 blocks (%3%)").arg(s.kvBlocksUsed).arg(s.kvBlocksTotal).arg(pct, 0, 'f', 0));
    m_requests->setText(s.running + s.waiting == 0 ? tr("idle")
                                                   : tr("%1 running \u00b7 %2 waiting").arg(s.running).arg(s.waiting));
    if (s.generatedTokensPerSecond > 0) m_lastSpeed = s.generatedTokensPerSecond;
    if (s.running > 0 && s.generatedTokensPerSecond > 0) {
        m_speed->setText(tr("%1 tok/s").arg(s.generatedTokensPerSecond, 0, 'f', 1));
    } else {
        m_speed->setText(m_lastSpeed > 0 ? tr("last %1 tok/s").arg(m_lastSpeed, 0, 'f', 1) : QString());
    }
}

QString EngineStatusBar::deviceText() const { return m_device->text(); }
QString EngineStatusBar::memoryText() const { return m_memory->text(); }
QString EngineStatusBar::kvText() const { return m_kv->text(); }
QString EngineStatusBar::requestsText() const { return m_requests->text(); }
QString EngineStatusBar::speedText() const { return m_speed->text(); }

}  // namespace pagoda::ui
