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
# Debian 12's own lavapipe is unpacked beside it, for the test of Dawn's refusal.
# Writes <cache>/lavapipe/env (KEY=VALUE lines, read by the tests) and prints the Vulkan ones
# as `export` lines, so `eval "$(bash scripts/lavapipe.sh)"` makes lavapipe 25 the only
# Vulkan driver of the shell. Cache: ${UPSCALE_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/upscale}/lavapipe.
# Needs: Debian 12 (bookworm) on amd64, apt-get, dpkg, network access to deb.debian.org.
set -euo pipefail

CACHE="${UPSCALE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/upscale}/lavapipe"
MIRROR="${UPSCALE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
ENV_FILE="$CACHE/env"
log() { echo "[lavapipe] $*" >&2; }

# LD_LIBRARY_PATH is prepended to the shell's own; the Vulkan variables replace theirs.
print_env() {
  grep -E '^(VK_|LD_LIBRARY_PATH=)' "$ENV_FILE" |
    sed -e '/^LD_LIBRARY_PATH=/s/$/${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}/' -e 's/=\(.*\)$/="\1"/' -e 's/^/export /'
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

T="$CACHE.tmp"
rm -rf "$T"
mkdir -p "$T/apt/lists/partial" "$T/apt/archives/partial" "$T/apt/refused" "$T/root" "$T/refused"
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
# Debian 12's own driver (its dependencies are a subset of the backport's).
(cd "$T/apt/refused" && apt-get "${APT[@]}" -qq download mesa-vulkan-drivers/bookworm >&2)
dpkg -x "$T"/apt/refused/mesa-vulkan-drivers_*.deb "$T/refused"
refused_version=$(dpkg-deb -f "$(ls "$T"/apt/refused/mesa-vulkan-drivers_*.deb)" Version)
[ -f "$T/root/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so" ] || { log "no libvulkan_lvp.so in mesa-vulkan-drivers $version"; exit 1; }
rm -rf "$T/apt"
# Only lavapipe is used: the hardware drivers and layers in the same package go (99 -> 40 MB).
find "$T/root" "$T/refused" \( -name 'libvulkan_*.so' ! -name 'libvulkan_lvp.so' -o -name 'libVkLayer_*.so' \) -delete

# The final layout, then ICD manifests naming the unpacked drivers by absolute path.
rm -rf "$CACHE"
mv "$T" "$CACHE"
lib="$CACHE/root/usr/lib/x86_64-linux-gnu"
api=$(sed -n 's/.*"api_version": *"\([^"]*\)".*/\1/p' "$CACHE"/root/usr/share/vulkan/icd.d/lvp_icd*.json | head -1)
cat > "$CACHE/lvp_icd.json" <<EOF
{ "file_format_version": "1.0.0", "ICD": { "library_path": "$lib/libvulkan_lvp.so", "api_version": "${api:-1.3.0}" } }
EOF
cat > "$CACHE/lvp_refused_icd.json" <<EOF
{ "file_format_version": "1.0.0", "ICD": { "library_path": "$CACHE/refused/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so", "api_version": "1.3.230" } }
EOF
cat > "$ENV_FILE" <<EOF
VK_DRIVER_FILES=$CACHE/lvp_icd.json
VK_ICD_FILENAMES=$CACHE/lvp_icd.json
LD_LIBRARY_PATH=$lib
LAVAPIPE_VERSION=$version
REFUSED_LAVAPIPE_ICD=$CACHE/lvp_refused_icd.json
REFUSED_LAVAPIPE_VERSION=$refused_version
EOF
log "mesa-vulkan-drivers $version (and Debian 12's $refused_version, which Dawn refuses) unpacked in $CACHE"
print_env
