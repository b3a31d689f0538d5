// Light / dark appearance. "System" leaves the palette to the platform theme, so the window
// follows the desktop's light or dark setting (and changes with it); Light and Dark use
// the Fusion style with a fixed palette.
#pragma once

#include <QIcon>
#include <QString>

namespace pagoda::ui {

enum class ThemeMode { System, Light, Dark };

QString themeModeName(ThemeMode mode);  // "system", "light", "dark"
ThemeMode themeModeFromName(const QString& name);
void applyTheme(ThemeMode mode);
// Whether the palette now in use is a dark one.
bool isDarkPalette();

// The application icon: resources/icons/pagoda.svg where an SVG reader is installed,
// otherwise the same drawing painted in code.
QIcon appIcon();

}  // namespace pagoda::ui
