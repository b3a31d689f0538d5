// Entry point of the desktop app: `pagoda` with no arguments (app/cli/main.cpp, when built
// with the GUI) calls this. Plain C++ so main.cpp needs no Qt headers.
#pragma once

namespace pagoda::ui {

// Runs the window until it closes; returns the process exit code. A database that cannot
// be opened (newer schema, corrupt, foreign) is reported in a dialog and gives 1.
int runDesktop(int& argc, char** argv);

}  // namespace pagoda::ui
