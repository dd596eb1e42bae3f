#!/usr/bin/env bash
# Benchmarks a full ATT&CK sync (Enterprise 18.1, 835 techniques) into a fresh
# SQLite database, against a baseline measured in the same run: only
# decompressing and parsing the same bundle with Python's json module. The
# ratio says what storing the catalog costs over merely reading it.
# Usage: bench/sync-mitre.sh [runs]   (PROFILE=debug to skip the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
profile="${PROFILE:-release}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aegis/target}"
bundle="${AEGIS_SHARED_DATA:-$PWD/../shared/data}/attack/enterprise-attack.json.gz"

if [[ $profile == release ]]; then cargo build --release --quiet --bin aegis; else cargo build --quiet --bin aegis; fi
aegis="$CARGO_TARGET_DIR/$profile/aegis"

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
seconds() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc -l; }

baseline=() sync=()
for _ in $(seq "$runs"); do
  baseline+=("$(seconds python3 -c "import gzip, json; json.load(gzip.open('$bundle'))")")
  dir=$(mktemp -d)
  sync+=("$(seconds env AEGIS_DATA_DIR="$dir" AEGIS_CONFIG_DIR=config AEGIS_LOG__LEVEL=warn "$aegis" sync-mitre --source "$bundle")")
  rm -rf "$dir"
done
b=$(printf '%s\n' "${baseline[@]}" | median)
s=$(printf '%s\n' "${sync[@]}" | median)
printf 'profile %s, %s runs, medians\n' "$profile" "$runs"
printf '  baseline (gunzip + json.load in Python): %.3f s\n' "$b"
printf '  aegis sync-mitre into fresh SQLite:      %.3f s\n' "$s"
printf '  ratio sync / baseline:                   %.2f\n' "$(echo "$s / $b" | bc -l)"
