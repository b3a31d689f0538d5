#!/usr/bin/env bash
# One command to set up, build and start Pagoda:  ./scripts/run.sh [pagoda arguments]
# With no arguments it opens the desktop app (or prints the help where it was built without Qt).
# e.g. ./scripts/run.sh generate --model ../shared/models/stories260K.gguf --prompt "Once upon a time"
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh

exec "${PAGODA_BUILD_DIR:-build}/bin/pagoda" "$@"
