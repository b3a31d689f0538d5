// The window's status bar: device (CPU or GPU name), RAM and VRAM, KV cache use, running / waiting replies and speed,
// from the bridge's periodic statsChanged (the labels change only on the GUI thread).
#pragma once

#include <QStatusBar>

#include "bridge/bridge_types.h"

class QLabel;

namespace pagoda::bridge {
class EngineBridge;
}

namespace pagoda::ui {

class EngineStatusBar : public QStatusBar {
    Q_OBJECT

public:
    explicit EngineStatusBar(bridge::EngineBridge& bridge, QWidget* parent = nullptr);

    QString deviceText() const;
    QString memoryText() const;
    QString kvText() const;
    QString requestsText() const;
    QString speedText() const;

private:
    void showStatus(const bridge::EngineStatus& status);
    void showModel();

    bridge::EngineBridge& m_bridge;
    QLabel* m_device = nullptr;
    QLabel* m_memory = nullptr;
    QLabel* m_kv = nullptr;
    QLabel* m_requests = nullptr;
    QLabel* m_speed = nullptr;
    double m_lastSpeed = 0.0;
};

}  // namespace pagoda::ui
