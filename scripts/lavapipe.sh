#!/usr/bin/env bash
# Mesa's lavapipe (a software Vulkan driver) for the WebGPU tests, unpacked into a cache
# folder without installing anything system-wide and without root:
#   - Debian 12's own Mesa (22.3.6) is refused by onnxruntime's Dawn ("Vulkan
#     shaderUniform*ArrayDynamicIndexing required"), so mesa-vulkan-drivers comes from
#     bookworm-backports (25.x);
#   - apt runs with a private source list and state in the cache, and only resolves
#     (`apt-get -s`) against the system's installed packages: whatever the system lacks
#     for that driver (libvulkan1, newer libdrm, ...) is downloaded and unpacked with
#     `dpkg -x`, never installed.
# Writes <cache>/lavapipe/env (KEY=VALUE lines, read by the tests) and prints the same as
# `export` lines, so `eval "$(bash scripts/lavapipe.sh)"` makes lavapipe the only Vulkan
# driver of the shell. Cache: ${UPSCALE_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/upscale}/lavapipe.
# Needs: Debian 12 (bookworm) on amd64, apt-get, dpkg, network access to deb.debian.org.
set -euo pipefail

CACHE="${UPSCALE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/upscale}/lavapipe"
MIRROR="${UPSCALE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
ENV_FILE="$CACHE/env"
log() { echo "[lavapipe] $*" >&2; }

# LD_LIBRARY_PATH is prepended to the shell's own; the rest replaces.
print_env() {
  sed -e '/^LD_LIBRARY_PATH=/s/$/${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}/' -e 's/=\(.*\)$/="\1"/' -e 's/^/export /' "$ENV_FILE"
}

if [ -f "$ENV_FILE" ] && [ -z "${UPSCALE_LAVAPIPE_REFRESH:-}" ]; then
  icd=$(sed -n 's/^VK_DRIVER_FILES=//p' "$ENV_FILE")
  if [ -f "$icd" ]; then
    log "already unpacked: $(sed -n 's/^LAVAPIPE_VERSION=//p' "$ENV_FILE") in $CACHE"
    print_env
    exit 0
  fi
fi

[ "$(dpkg --print-architecture)" = amd64 ] || { log "only amd64 is supported"; exit 1; }
. /etc/os-release
[ "${VERSION_CODENAME:-}" = bookworm ] || log "warning: this is ${PRETTY_NAME:-not Debian 12}; the packages are bookworm's"

rm -rf "$CACHE.tmp"
mkdir -p "$CACHE.tmp/apt/lists/partial" "$CACHE.tmp/apt/archives/partial" "$CACHE.tmp/root"
T="$CACHE.tmp"
for suite in bookworm bookworm-updates bookworm-backports; do
  echo "deb [signed-by=$KEYRING] $MIRROR $suite main"
done > "$T/apt/sources.list"
APT=(-o "Dir::Etc::SourceList=$T/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$T/apt/lists" -o "Dir::Cache=$T/apt" -o "Dir::Cache::archives=$T/apt/archives"
  -o Debug::NoLocking=1 -o APT::Get::List-Cleanup=0 -o "APT::Sandbox::User=$(id -un)")

log "reading the bookworm and bookworm-backports package lists"
apt-get "${APT[@]}" -qq update >&2
# What installing the backported driver would add or upgrade on this system: exactly what
# must be unpacked beside it.
mapfile -t wanted < <(apt-get "${APT[@]}" -s -qq install --no-install-recommends \
  mesa-vulkan-drivers/bookworm-backports 2>/dev/null | awk '/^Inst /{ v=$3; if (v ~ /^\[/) v=$4; gsub(/[()]/, "", v); print $2 "=" v }')
[ ${#wanted[@]} -gt 0 ] || { log "apt found nothing to unpack for mesa-vulkan-drivers/bookworm-backports"; exit 1; }
log "downloading ${wanted[*]}"
(cd "$T/apt/archives" && apt-get "${APT[@]}" -qq download "${wanted[@]}" >&2)
for deb in "$T"/apt/archives/*.deb; do dpkg -x "$deb" "$T/root"; done

version=$(dpkg-deb -f "$(ls "$T"/apt/archives/mesa-vulkan-drivers_*.deb)" Version)
lib="$T/root/usr/lib/x86_64-linux-gnu"
[ -f "$lib/libvulkan_lvp.so" ] || { log "libvulkan_lvp.so is not in mesa-vulkan-drivers $version"; exit 1; }
rm -rf "$T/apt"

# The final layout, then the ICD manifest pointing at the unpacked driver by absolute path.
rm -rf "$CACHE"
mv "$T" "$CACHE"
lib="$CACHE/root/usr/lib/x86_64-linux-gnu"
api=$(sed -n 's/.*"api_version": *"\([^"]*\)".*/\1/p' "$CACHE"/root/usr/share/vulkan/icd.d/lvp_icd*.json | head -1)
cat > "$CACHE/lvp_icd.json" <<EOF
{ "file_format_version": "1.0.0", "ICD": { "library_path": "$lib/libvulkan_lvp.so", "api_version": "${api:-1.3.0}" } }
EOF
cat > "$ENV_FILE" <<EOF
VK_DRIVER_FILES=$CACHE/lvp_icd.json
VK_ICD_FILENAMES=$CACHE/lvp_icd.json
LD_LIBRARY_PATH=$lib
LAVAPIPE_VERSION=$version
EOF
log "mesa-vulkan-drivers $version unpacked in $CACHE"
print_env
