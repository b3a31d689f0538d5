#!/usr/bin/env bash
# Installs what Pagoda needs on Debian 12: build tools and libraries from Debian's
# packages (apt-get when root, otherwise it prints the one line to run), and with
# --test the pinned npm reference peers used by the parity tests.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(build-essential cmake ninja-build ccache pkg-config git
          libgtest-dev nlohmann-json3-dev libcpp-httplib-dev libpcre2-dev libsqlite3-dev
          qt6-base-dev
          libhiredis-dev  # the shared response cache's Redis client
          dpkg-dev)       # dpkg-shlibdeps: the .deb's dependencies (scripts/package.sh)
command -v node >/dev/null 2>&1 || PACKAGES+=(nodejs npm)
# Only the tests need these: they start private nginx and redis-server processes (the
# scale-out and shared-cache tests) and check the desktop entry.
[[ "${1:-}" == "--test" ]] && PACKAGES+=(nginx redis-server desktop-file-utils)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    if [[ $(id -u) -eq 0 ]]; then
        echo "setup: installing ${missing[*]}" >&2
        apt-get update -qq
        # Installing nginx or redis-server must not start system services on this
        # machine (port 80, 6379): a policy-rc.d that says "no" for the install only.
        if [[ ! -e /usr/sbin/policy-rc.d ]]; then
            printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
            chmod +x /usr/sbin/policy-rc.d
            trap 'rm -f /usr/sbin/policy-rc.d' EXIT
        fi
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    else
        echo "setup: missing Debian packages; run:" >&2
        echo "  sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
fi

if [[ "${1:-}" == "--test" ]]; then
    # node-llama-cpp is installed without its install scripts (they would try to
    # download or compile llama.cpp); the prebuilt CPU binaries come from
    # @node-llama-cpp/linux-x64, pinned in the lock file.
    if [[ ! -f tests/peers/node_modules/.package-lock.json ]] ||
       ! cmp -s tests/peers/package-lock.json tests/peers/node_modules/.pagoda-lock; then
        echo "setup: installing test peers (npm ci)" >&2
        (cd tests/peers && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2 &&
         cp package-lock.json node_modules/.pagoda-lock)
    fi
fi
