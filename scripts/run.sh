#!/usr/bin/env bash
# One command to set up, build and start Pagoda:  ./scripts/run.sh [pagoda arguments]
# e.g. ./scripts/run.sh generate --model ../shared/models/stories260K.gguf --prompt "Once upon a time"
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
if (($# == 0)); then set -- --help; fi
exec "${PAGODA_BUILD_DIR:-build}/bin/pagoda" "$@"
