#!/usr/bin/env bash
# Install test for the packages (issue 9), run by CTest (labels install, slow):
#   test_deb_install.sh BUILD_DIR WORK_DIR HAS_GUI(ON|OFF) HAS_SERVER(ON|OFF)
#
# 1. cpack packs BUILD_DIR as it is (no rebuild) into a .deb and a tarball.
# 2. The .deb's control fields: name, version, architecture, computed Depends.
# 3. dpkg -i into a fresh, empty dpkg database (dpkg --root): the files land where they
#    should, dpkg records them, the installed `pagoda --version` / `serve --help` run with
#    LD_LIBRARY_PATH unset, and dpkg -r removes every file again.
# 4. Depends are sufficient: every shared library the installed binary loads belongs to a
#    Debian package inside the transitive closure of the declared Depends.
# 5. Depends resolve on Debian 12: apt-get simulates the install onto an EMPTY system
#    from the configured archive (skipped when apt has no package lists).
# 6. desktop-file-validate on the installed .desktop file (when the tool is there).
# 7. The tarball unpacks to pagoda-<version>-.../bin/pagoda, which runs --version.
# 8. Only with PAGODA_INSTALL_CHROOT=DIR: chroot_install.sh, apt install into a debootstrap
#    Debian 12 and run there.
#
# Why the chroot is opt-in: debootstrap plus the Qt dependencies download ~250 MB from the
# mirror and take minutes (4.7 min here), too slow and network-bound for every CI run;
# steps 3-5 check the same properties offline in well under the time.
set -euo pipefail

BUILD_DIR=$(cd "$1" && pwd)
WORK=$2
HAS_GUI=${3:-ON}
HAS_SERVER=${4:-ON}

fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "--- $*"; }

rm -rf "$WORK"
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)

# ---- 1. pack -------------------------------------------------------------------------
note "cpack (DEB, TGZ) from $BUILD_DIR"
[[ -f "$BUILD_DIR/CPackConfig.cmake" ]] || fail "$BUILD_DIR/CPackConfig.cmake missing (include(CPack))"
cpack --config "$BUILD_DIR/CPackConfig.cmake" -G "DEB;TGZ" -B "$WORK/pkg" >"$WORK/cpack.log" 2>&1 ||
    { cat "$WORK/cpack.log" >&2; fail "cpack failed"; }
shopt -s nullglob
debs=("$WORK"/pkg/pagoda*.deb)
tars=("$WORK"/pkg/pagoda-*.tar.gz)
shopt -u nullglob
((${#debs[@]} == 1)) || fail "expected one pagoda*.deb, got: ${debs[*]:-none}"
((${#tars[@]} == 1)) || fail "expected one pagoda-*.tar.gz, got: ${tars[*]:-none}"
DEB=${debs[0]}
TGZ=${tars[0]}
ls -l "$DEB" "$TGZ"

# The version the build tree was configured with (CPackConfig.cmake records it).
VERSION=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$BUILD_DIR/CPackConfig.cmake")
[[ -n "$VERSION" ]] || fail "no CPACK_PACKAGE_VERSION in CPackConfig.cmake"

# ---- 2. control fields -----------------------------------------------------------------
note "control fields"
dpkg-deb --info "$DEB"
field() { dpkg-deb --field "$DEB" "$1"; }
PKG=$(field Package)   # pagoda, or pagoda-cuda for a build with the CUDA backend
[[ "$PKG" == pagoda || "$PKG" == pagoda-cuda ]] || fail "Package is '$PKG'"
[[ "$(field Version)" == "$VERSION"-* || "$(field Version)" == "$VERSION" ]] ||
    fail "Version '$(field Version)' does not start with $VERSION"
[[ "$(field Architecture)" == "$(dpkg --print-architecture)" ]] || fail "Architecture is '$(field Architecture)'"
[[ -n "$(field Maintainer)" && -n "$(field Section)" && -n "$(field Description)" ]] ||
    fail "Maintainer, Section or Description missing"
DEPENDS=$(field Depends)
# Package names of Depends, alternatives included: "a (>= 1), b | c" -> a b c
dep_names() { tr ',|' '\n' <<<"$1" | sed 's/(.*)//; s/:any//; s/[[:space:]]//g' | sed '/^$/d'; }
mapfile -t DEP_NAMES < <(dep_names "$DEPENDS")
has_dep() { printf '%s\n' "${DEP_NAMES[@]}" | grep -qx "$1"; }
for p in libc6 libstdc++6 libsqlite3-0; do has_dep "$p" || fail "Depends lacks $p: $DEPENDS"; done
if [[ "$HAS_SERVER" == ON ]]; then
    printf '%s\n' "${DEP_NAMES[@]}" | grep -q '^libcpp-httplib' || fail "Depends lacks libcpp-httplib: $DEPENDS"
fi
if [[ "$HAS_GUI" == ON ]]; then
    # libqt6gui6 also carries the xcb platform plugin the window needs.
    for p in libqt6widgets6 libqt6gui6; do has_dep "$p" || fail "Depends lacks $p: $DEPENDS"; done
fi

# ---- 3. dpkg -i into a fresh root --------------------------------------------------------
note "dpkg -i into an empty dpkg database"
ROOT=$WORK/root
mkdir -p "$ROOT"/var/lib/dpkg/{info,updates,triggers}
: >"$ROOT/var/lib/dpkg/status"
: >"$ROOT/var/lib/dpkg/available"
DPKG=(dpkg --root="$ROOT" --log=/dev/null)
if [[ $(id -u) -ne 0 ]]; then
    # dpkg gives files to root: outside CI (root) fakeroot pretends that works.
    command -v fakeroot >/dev/null 2>&1 || fail "not root and no fakeroot: cannot run dpkg -i into $ROOT"
    DPKG=(fakeroot "${DPKG[@]}" --force-not-root)
fi
# The root is empty, so every dependency is missing there: that is steps 4 and 5's subject.
"${DPKG[@]}" --force-depends -i "$DEB" >"$WORK/dpkg-install.log" 2>&1 ||
    { cat "$WORK/dpkg-install.log" >&2; fail "dpkg -i failed"; }
"${DPKG[@]}" -s "$PKG" | grep -qx 'Status: install ok installed' || fail "dpkg does not record $PKG as installed"
expected=(/usr/bin/pagoda /usr/share/man/man1/pagoda.1.gz /usr/share/doc/pagoda/README.md)
if [[ "$HAS_GUI" == ON ]]; then
    expected+=(/usr/share/applications/pagoda.desktop /usr/share/icons/hicolor/scalable/apps/pagoda.svg)
fi
listed=$("${DPKG[@]}" -L "$PKG")
for f in "${expected[@]}"; do
    [[ -f "$ROOT$f" ]] || fail "$f not installed"
    grep -qx "$f" <<<"$listed" || fail "$f not in dpkg -L $PKG"
done
[[ -x "$ROOT/usr/bin/pagoda" ]] || fail "/usr/bin/pagoda is not executable"
if [[ -d "$ROOT/usr/local" ]] || grep -q '^/usr/local' <<<"$listed"; then
    fail "the package installs under /usr/local"
fi
gzip -t "$ROOT/usr/share/man/man1/pagoda.1.gz" || fail "man page is not valid gzip"
# The example configuration of installer/ (nginx, Redis) ships in /usr/share/pagoda/.
SRC=$(cd "$(dirname "$0")/../.." && pwd)
if [[ -d "$SRC/installer" ]]; then
    while IFS= read -r -d '' f; do
        rel=${f#"$SRC/installer/"}
        [[ "$rel" == CMakeLists.txt || "$rel" == */CMakeLists.txt || "$rel" == *.cmake ]] && continue
        [[ -f "$ROOT/usr/share/pagoda/$rel" ]] || fail "installer/$rel is not installed as /usr/share/pagoda/$rel"
        echo "  /usr/share/pagoda/$rel"
    done < <(find "$SRC/installer" -type f -print0)
fi

note "run the installed pagoda (LD_LIBRARY_PATH unset)"
out=$(env -u LD_LIBRARY_PATH "$ROOT/usr/bin/pagoda" --version)
echo "$out"
[[ "$out" == "pagoda $VERSION" ]] || fail "pagoda --version printed '$out', expected 'pagoda $VERSION'"
if [[ "$HAS_SERVER" == ON ]]; then
    help=$(env -u LD_LIBRARY_PATH "$ROOT/usr/bin/pagoda" serve --help)
    grep -q -- '--api-key' <<<"$help" || fail "pagoda serve --help does not list --api-key"
    grep -q -- '--port' <<<"$help" || fail "pagoda serve --help does not list --port"
    echo "pagoda serve --help: ok ($(wc -l <<<"$help") lines)"
fi

# ---- 4. Depends cover every library the binary loads -------------------------------------
note "every loaded library comes from a package in the Depends closure"
# The closure of the Depends over this system's installed packages (the binary was built
# and linked here, so every library it loads is installed here).
closure=$(apt-cache depends --recurse --installed --no-recommends --no-suggests --no-conflicts \
          --no-breaks --no-replaces --no-enhances "${DEP_NAMES[@]}" 2>/dev/null |
          sed -n 's/^\([^[:space:]<][^[:space:]]*\)$/\1/p' | sed 's/:.*//' | sort -u)
[[ -n "$closure" ]] || fail "apt-cache depends gave no closure for: ${DEP_NAMES[*]}"
unowned=()
while read -r lib path; do
    [[ -n "$path" ]] || continue
    [[ "$path" == "not" ]] && fail "$lib is not found by the dynamic loader"
    owner=""
    for p in "$path" "$(readlink -f "$path")" "${path#/usr}" "/usr$path"; do
        owner=$(dpkg-query -S "$p" 2>/dev/null | head -n1 | cut -d: -f1) && [[ -n "$owner" ]] && break
    done
    if [[ -z "$owner" ]]; then
        unowned+=("$path")
        continue
    fi
    grep -qx "$owner" <<<"$closure" || fail "$lib ($path, package $owner) is not covered by Depends: $DEPENDS"
    echo "  $lib <- $owner"
done < <(env -u LD_LIBRARY_PATH ldd "$ROOT/usr/bin/pagoda" |
         sed -n 's/^[[:space:]]*\([^[:space:]]*\) => \([^[:space:]]*\).*/\1 \2/p')
for path in "${unowned[@]}"; do
    # cuBLAS of a CUDA build comes from NVIDIA's installer, not a Debian package; the
    # package Recommends it and the README says so. Anything else must be declared.
    [[ "$path" == */cuda* ]] || fail "$path is not from any Debian package"
    echo "  $path <- (NVIDIA CUDA, not a Debian package)"
done

# ---- 5. apt resolves the Depends on an empty Debian system ---------------------------------
note "apt-get simulates the install onto an empty system"
if compgen -G "/var/lib/apt/lists/*_Packages*" >/dev/null; then
    : >"$WORK/empty-status"
    if ! apt-get -s -o Dir::State::status="$WORK/empty-status" -o Dir::Cache::pkgcache= \
            -o Dir::Cache::srcpkgcache= -o Debug::NoLocking=1 --no-install-recommends \
            install "$DEB" >"$WORK/apt-sim.log" 2>&1; then
        cat "$WORK/apt-sim.log" >&2
        fail "apt cannot install the package's Depends on an empty system"
    fi
    grep -q "^Inst $PKG " "$WORK/apt-sim.log" || { cat "$WORK/apt-sim.log" >&2; fail "apt would not install $PKG"; }
    echo "apt would install $PKG and $(grep -c '^Inst ' "$WORK/apt-sim.log") packages in all (no recommends)"
else
    echo "SKIP: no apt package lists (run apt-get update) - Depends not resolved against the archive"
fi

# ---- 6. desktop entry ------------------------------------------------------------------
if [[ "$HAS_GUI" == ON ]]; then
    note "desktop entry"
    desktop=$ROOT/usr/share/applications/pagoda.desktop
    grep -qx 'Exec=pagoda' "$desktop" || grep -q '^Exec=pagoda ' "$desktop" || fail "desktop Exec is not pagoda"
    grep -qx 'Icon=pagoda' "$desktop" || fail "desktop Icon is not pagoda (the installed icon's name)"
    if command -v desktop-file-validate >/dev/null 2>&1; then
        desktop-file-validate "$desktop" || fail "desktop-file-validate rejects pagoda.desktop"
        echo "desktop-file-validate: ok"
    else
        echo "SKIP: desktop-file-validate not installed (Debian package desktop-file-utils)"
    fi
fi

# ---- removal ------------------------------------------------------------------------------
note "dpkg -r leaves nothing behind"
"${DPKG[@]}" --force-depends -r "$PKG" >"$WORK/dpkg-remove.log" 2>&1 ||
    { cat "$WORK/dpkg-remove.log" >&2; fail "dpkg -r failed"; }
left=$(find "$ROOT" -path "$ROOT/var/lib/dpkg" -prune -o -type f -print)
[[ -z "$left" ]] || fail "files left after dpkg -r: $left"

# ---- 7. tarball --------------------------------------------------------------------------
note "portable tarball"
mkdir -p "$WORK/tgz"
tar -xzf "$TGZ" -C "$WORK/tgz"
top=$(basename "$TGZ" .tar.gz)
[[ -x "$WORK/tgz/$top/bin/pagoda" ]] || fail "tarball lacks $top/bin/pagoda"
[[ -f "$WORK/tgz/$top/share/doc/pagoda/README.md" ]] || fail "tarball lacks $top/share/doc/pagoda/README.md"
out=$(env -u LD_LIBRARY_PATH "$WORK/tgz/$top/bin/pagoda" --version)
[[ "$out" == "pagoda $VERSION" ]] || fail "tarball pagoda --version printed '$out'"
echo "$top/bin/pagoda --version: $out"

# ---- 8. optional: apt install into a real clean Debian 12 (network, minutes) ---------------
if [[ -n "${PAGODA_INSTALL_CHROOT:-}" ]]; then
    note "apt install into the debootstrap chroot $PAGODA_INSTALL_CHROOT"
    bash "$(dirname "$0")/chroot_install.sh" "$DEB" "$PAGODA_INSTALL_CHROOT" || fail "clean Debian 12 install failed"
else
    echo "SKIP: clean-chroot install (set PAGODA_INSTALL_CHROOT=DIR to debootstrap/reuse a Debian 12 there)"
fi

echo "PASS: $(basename "$DEB") and $(basename "$TGZ") install and run"
rm -rf "$WORK/root" "$WORK/tgz" "$WORK/pkg/_CPack_Packages"
