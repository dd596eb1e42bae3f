#!/usr/bin/env bash
# The dashboard's end-to-end test: builds aegis and the dashboard, starts a
# real server on a fresh SQLite data folder with the ATT&CK fixture catalog,
# and drives it with Debian's Chromium through playwright-core.
# Screenshots land in frontend/e2e/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aegis/target}"
data="${AEGIS_SHARED_DATA:-$PWD/../shared/data}"

bash scripts/install-browser.sh
# The e2e run uploads example plugins; the test command has built them already.
if [[ -z "${AEGIS_PLUGIN_BUILD_DIR:-}" ]]; then AEGIS_PLUGIN_BUILD_DIR="$(bash scripts/build-plugins.sh)"; fi
export AEGIS_PLUGIN_BUILD_DIR
bash scripts/build-frontend.sh
cargo build --quiet --bin aegis
aegis="$CARGO_TARGET_DIR/debug/aegis"

work=$(mktemp -d)
server=""
cleanup() { [[ -n $server ]] && kill "$server" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

port=$(bash scripts/free-port.sh)
export AEGIS_DATA_DIR="$work" AEGIS_CONFIG_DIR="$PWD/config" AEGIS_LOG__LEVEL=warn \
  AEGIS_HTTP__PORT="$port" AEGIS_ADMIN__PASSWORD="e2e-admin-password" \
  AEGIS_HTTP__FRONTEND_DIR="$PWD/frontend/dist" \
  AEGIS_JOBS__NOTIFICATION_DERIVE="* * * * * *"
"$aegis" sync-mitre --source "$data/attack/fixtures/enterprise-attack-18.1-mini.json" >/dev/null
env -u AEGIS_PLUGIN_BUILD_DIR "$aegis" serve >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done

cd frontend
if ! AEGIS_URL="http://127.0.0.1:$port" AEGIS_ADMIN_PASSWORD="e2e-admin-password" CHROMIUM="$(command -v chromium)" node e2e/run.mjs; then
  echo "--- server log ---" >&2; tail -50 "$work/server.log" >&2
  exit 1
fi
