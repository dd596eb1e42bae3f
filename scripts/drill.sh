#!/usr/bin/env bash
# The fault drill (scripts/drill.py): two production replicas behind haproxy
# on a PostgreSQL, Redis and S3 server of their own, faults injected under a
# write load. `--short` is the variant the test command runs; without it each
# phase lasts long enough to read the figures. Installs haproxy (Debian's
# package) and the S3 test server once; builds the binary unless AEGIS_BIN
# names one.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v haproxy >/dev/null 2>&1; then
  if [[ $(id -u) -eq 0 ]]; then sudo=""; else sudo="sudo"; fi
  echo "[drill] apt: haproxy" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >&2
  $sudo apt-get install -y -qq --no-install-recommends haproxy >&2
fi

# Installs moto into the cache when missing (the drill starts its own).
eval "$(bash scripts/test-services.sh)"
moto="${AEGIS_CACHE_DIR:-$HOME/.cache/aegis}/moto-venv/bin/moto_server"

data="${AEGIS_SHARED_DATA:-../shared/data}"
catalog="$data/attack/fixtures/enterprise-attack-18.1-mini.json"
[[ -f "$catalog" ]] || { echo "[drill] no ATT&CK bundle at $catalog (set AEGIS_SHARED_DATA)" >&2; exit 1; }

if [[ -z "${AEGIS_BIN:-}" ]]; then
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aegis/target}"
  cargo build --quiet --bin aegis
  AEGIS_BIN="$CARGO_TARGET_DIR/debug/aegis"
fi

exec python3 scripts/drill.py --bin "$AEGIS_BIN" --catalog "$(cd "$(dirname "$catalog")" && pwd)/$(basename "$catalog")" --moto "$moto" "$@"
