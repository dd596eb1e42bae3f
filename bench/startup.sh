#!/usr/bin/env bash
# How long `aegis serve` takes from exec to answering GET /health, and its
# resident memory once idle, on the embedded defaults (SQLite, in-process
# store, local folder): on a fresh data folder (migrations, the first admin,
# the catalog from the shipped bundle) and restarted on the same folder. The
# baseline, measured in the same run, is `aegis --version`: starting the
# process and nothing else.
# Usage: bench/startup.sh [runs]   (PROFILE=debug to skip the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
profile="${PROFILE:-release}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aegis/target}"
if [[ $profile == release ]]; then cargo build --release --quiet --bin aegis; else cargo build --quiet --bin aegis; fi
aegis="$CARGO_TARGET_DIR/$profile/aegis"
port="${AEGIS_BENCH_PORT:-18765}"

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s.%N; }

# Starts the server on $1, prints "seconds-to-ready resident-MB", stops it.
serve_once() {
  local dir=$1 start pid ready rss
  start=$(now)
  AEGIS_DATA_DIR="$dir" AEGIS_CONFIG_DIR=config AEGIS_LOG__LEVEL=warn AEGIS_HTTP__PORT="$port" \
    AEGIS_ADMIN__PASSWORD=bench-admin-password "$aegis" serve >/dev/null 2>&1 &
  pid=$!
  until curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { echo "aegis exited before answering" >&2; exit 1; }
    sleep 0.005
  done
  ready=$(echo "$(now) - $start" | bc -l)
  sleep 2 # idle: start-up work done, nothing asked
  rss=$(awk '/VmRSS/ {print $2 / 1024}' "/proc/$pid/status")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "$ready $rss"
}

floor=() first=() first_mb=() again=() again_mb=()
for _ in $(seq "$runs"); do
  s=$(now); "$aegis" --version >/dev/null; floor+=("$(echo "$(now) - $s" | bc -l)")
  dir=$(mktemp -d)
  read -r t m < <(serve_once "$dir"); first+=("$t"); first_mb+=("$m")
  read -r t m < <(serve_once "$dir"); again+=("$t"); again_mb+=("$m")
  rm -rf "$dir"
done
f=$(printf '%s\n' "${floor[@]}" | median)
printf 'profile %s, %s runs, medians\n' "$profile" "$runs"
printf '  baseline (aegis --version):      %7.1f ms\n' "$(echo "$f * 1000" | bc -l)"
for what in first again; do
  declare -n times=$what mb="${what}_mb"
  t=$(printf '%s\n' "${times[@]}" | median)
  label=$([[ $what == first ]] && echo "fresh data folder" || echo "restart on the same folder")
  printf '  serve to /health, %-26s %7.1f ms (x%.0f baseline), idle %5.1f MB\n' \
    "$label:" "$(echo "$t * 1000" | bc -l)" "$(echo "$t / $f" | bc -l)" \
    "$(printf '%s\n' "${mb[@]}" | median)"
done
