#!/usr/bin/env bash
# Builds and starts Aegis on the embedded defaults: SQLite under ./data, the
# in-process key-value store and local folder storage, on http://127.0.0.1:8000.
# On first start it prints the generated admin password (or uses AEGIS_ADMIN__PASSWORD).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aegis/target}"
exec cargo run --release --quiet --bin aegis -- serve "$@"
