#include "ui/theme.h"

#include <QApplication>
#include <QImageReader>
#include <QPainter>
#include <QPainterPath>
#include <QPalette>
#include <QStyle>
#include <QStyleFactory>

namespace pagoda::ui {

namespace {

QPalette darkPalette() {
    QPalette p;
    const QColor window(0x2b, 0x2d, 0x31), base(0x1f, 0x21, 0x24), text(0xe6, 0xe6, 0xe6);
    const QColor disabled(0x80, 0x80, 0x80), highlight(0x3d, 0x8e, 0xd9);
    p.setColor(QPalette::Window, window);
    p.setColor(QPalette::WindowText, text);
    p.setColor(QPalette::Base, base);
    p.setColor(QPalette::AlternateBase, window);
    p.setColor(QPalette::ToolTipBase, base);
    p.setColor(QPalette::ToolTipText, text);
    p.setColor(QPalette::PlaceholderText, disabled);
    p.setColor(QPalette::Text, text);
    p.setColor(QPalette::Button, window);
    p.setColor(QPalette::ButtonText, text);
    p.setColor(QPalette::BrightText, Qt::red);
    p.setColor(QPalette::Link, highlight.lighter(130));
    p.setColor(QPalette::Highlight, highlight);
    p.setColor(QPalette::HighlightedText, Qt::white);
    p.setColor(QPalette::Light, window.lighter(150));
    p.setColor(QPalette::Midlight, window.lighter(120));
    p.setColor(QPalette::Mid, window.darker(120));
    p.setColor(QPalette::Dark, window.darker(150));
    p.setColor(QPalette::Shadow, Qt::black);
    for (auto role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText}) {
        p.setColor(QPalette::Disabled, role, disabled);
    }
    return p;
}

QPixmap paintIcon(int size) {
    QPixmap pm(size, size);
    pm.fill(Qt::transparent);
    QPainter painter(&pm);
    painter.setRenderHint(QPainter::Antialiasing);
    painter.scale(size / 64.0, size / 64.0);
    // Same drawing as resources/icons/pagoda.svg: a rounded tile, three roofs, a spire.
    painter.setPen(Qt::NoPen);
    painter.setBrush(QColor(0x1f, 0x4e, 0x79));
    painter.drawRoundedRect(QRectF(2, 2, 60, 60), 12, 12);
    painter.setBrush(QColor(0xf2, 0xb1, 0x34));
    painter.drawRect(QRectF(31, 8, 2, 6));
    const double roofs[3][4] = {{22, 14, 42, 22}, {16, 26, 48, 35}, {10, 39, 54, 49}};  // x0, y0, x1, y1
    for (const auto& r : roofs) {
        QPainterPath roof;
        roof.moveTo(r[0] + 6, r[1]);
        roof.lineTo(r[2] - 6, r[1]);
        roof.lineTo(r[2] + 2, r[3]);
        roof.lineTo(r[0] - 2, r[3]);
        roof.closeSubpath();
        painter.setBrush(QColor(0xe4, 0x57, 0x3d));
        painter.drawPath(roof);
        painter.setBrush(QColor(0xf6, 0xe7, 0xc8));
        painter.drawRect(QRectF(r[0] + 4, r[3], r[2] - r[0] - 8, 4));
    }
    painter.setBrush(QColor(0x3a, 0x2a, 0x1e));
    painter.drawRect(QRectF(28, 53, 8, 6));
    return pm;
}

}  // namespace

QString themeModeName(ThemeMode mode) {
    switch (mode) {
        case ThemeMode::Light:
            return QStringLiteral("light");
        case ThemeMode::Dark:
            return QStringLiteral("dark");
        case ThemeMode::System:
            break;
    }
    return QStringLiteral("system");
}

ThemeMode themeModeFromName(const QString& name) {
    if (name == QLatin1String("light")) return ThemeMode::Light;
    if (name == QLatin1String("dark")) return ThemeMode::Dark;
    return ThemeMode::System;
}

void applyTheme(ThemeMode mode) {
    switch (mode) {
        case ThemeMode::System:
            // An empty palette resolves every role from the platform theme, and keeps
            // following it when the desktop switches between light and dark.
            QApplication::setPalette(QPalette());
            break;
        case ThemeMode::Light:
            QApplication::setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
            QApplication::setPalette(QApplication::style()->standardPalette());
            break;
        case ThemeMode::Dark:
            QApplication::setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
            QApplication::setPalette(darkPalette());
            break;
    }
}

bool isDarkPalette() {
    const QPalette p = QApplication::palette();
    return p.color(QPalette::Window).lightness() < p.color(QPalette::WindowText).lightness();
}

QIcon appIcon() {
    if (QImageReader::supportedImageFormats().contains("svg")) {
        QIcon icon(QStringLiteral(":/pagoda/icons/pagoda.svg"));
        if (!icon.isNull()) return icon;
    }
    QIcon icon;
    for (int size : {16, 24, 32, 48, 64, 128, 256}) icon.addPixmap(paintIcon(size));
    return icon;
}

}  // namespace pagoda::ui
