#!/usr/bin/env bash
# The full clean-system check of the Debian package, by hand or in a CI job with network:
# installs the .deb with apt into a minimal Debian 12 made by debootstrap and runs it there.
#
#   sudo tests/install/chroot_install.sh PACKAGE.deb [CHROOT_DIR]
#
# CHROOT_DIR (default /var/tmp/pagoda-bookworm) is created with `debootstrap --variant=minbase
# bookworm` when it does not hold a Debian system yet (about 150 MB from the mirror,
# PAGODA_DEBIAN_MIRROR, default http://deb.debian.org/debian), and reused otherwise; apt then
# downloads only what the package's Depends pull in. Needs root, debootstrap and network.
# The test run by CTest (test_deb_install.sh) checks the same properties offline.
set -euo pipefail

DEB=$(readlink -f "${1:?usage: chroot_install.sh PACKAGE.deb [CHROOT_DIR]}")
ROOT=${2:-/var/tmp/pagoda-bookworm}
MIRROR=${PAGODA_DEBIAN_MIRROR:-http://deb.debian.org/debian}

fail() { echo "FAIL: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || fail "needs root (chroot, debootstrap)"
[[ -f "$DEB" ]] || fail "$DEB not found"
command -v debootstrap >/dev/null 2>&1 || fail "debootstrap is missing (apt-get install debootstrap)"

if [[ ! -f "$ROOT/etc/debian_version" ]]; then
    echo "--- debootstrap bookworm into $ROOT"
    debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR"
fi
grep -q '^12' "$ROOT/etc/debian_version" || fail "$ROOT is not Debian 12 ($(cat "$ROOT/etc/debian_version"))"

in_root() { chroot "$ROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }
PKG=$(dpkg-deb --field "$DEB" Package)
# Start from the package's absence and from none of what it pulled in before (apt marked those
# automatically installed), so a reused chroot is as clean as a fresh one.
in_root dpkg --purge pagoda pagoda-cuda >/dev/null 2>&1 || true
in_root env DEBIAN_FRONTEND=noninteractive apt-get autoremove --purge -y -qq >/dev/null
cp "$DEB" "$ROOT/tmp/pagoda.deb"

echo "--- apt-get install ./$(basename "$DEB") (no recommends: Depends must be enough)"
in_root apt-get update -qq
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends /tmp/pagoda.deb
rm -f "$ROOT/tmp/pagoda.deb"

echo "--- run it inside the clean system"
version=$(in_root pagoda --version)
echo "$version"
[[ "$version" == "pagoda $(dpkg-deb --field "$DEB" Version | sed 's/-[^-]*$//')" ]] ||
    fail "pagoda --version printed '$version'"
if in_root pagoda --help | grep -q '^  serve '; then
    in_root pagoda serve --help | grep -q -- '--api-key' || fail "pagoda serve --help lacks --api-key"
    echo "pagoda serve --help: ok"
fi
in_root man -w pagoda >/dev/null 2>&1 || [[ -f "$ROOT/usr/share/man/man1/pagoda.1.gz" ]] || fail "no man page"
if [[ -f "$ROOT/usr/share/applications/pagoda.desktop" ]]; then
    # The desktop app with no display: the offscreen platform (in libqt6gui6) must load and
    # the window come up; the program is stopped after a few seconds (exit 124 = still running).
    rc=0
    in_root env QT_QPA_PLATFORM=offscreen XDG_RUNTIME_DIR=/tmp timeout 5 pagoda >/dev/null 2>&1 || rc=$?
    [[ $rc -eq 124 ]] || fail "the desktop app exited with $rc within 5 s in the clean system"
    echo "desktop app starts (offscreen): ok"
fi
echo "PASS: $PKG installs with apt on a clean Debian 12 and runs"
