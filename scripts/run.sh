#!/usr/bin/env bash
# Builds and starts Aegis on the embedded defaults: SQLite under ./data, the
# in-process key-value store and local folder storage, on http://127.0.0.1:8000.
# On first start it prints the generated admin password (or uses AEGIS_ADMIN__PASSWORD).
# The dashboard is built first when its sources changed (needs Node.js 20+).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aegis/target}"
if command -v npm >/dev/null 2>&1; then
  bash scripts/build-frontend.sh
else
  echo "npm not found: serving the API without the dashboard" >&2
fi
exec cargo run --release --quiet --bin aegis -- serve "$@"
