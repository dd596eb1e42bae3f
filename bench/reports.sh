#!/usr/bin/env bash
# Renders a report of 10,000 tests (700 techniques, 2,000 evidence files) in
# every built-in format, one process each, and prints render time, file size,
# resident memory with the data loaded, and the growth while rendering
# (VmHWM - VmRSS). The JSON row is the baseline the others compare with.
# Aim: each format's growth a small multiple of its file, under 256 MB.
# Usage: bench/reports.sh [OUT_DIR]   (PROFILE=debug to skip the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aegis/target}"
out="${1:-$(mktemp -d)}"
mkdir -p "$out"
flags=(--release); [[ ${PROFILE:-release} == debug ]] && flags=()
cargo build "${flags[@]}" --quiet -p aegis-mod-reports --example report_bench
bin="$CARGO_TARGET_DIR/${PROFILE:-release}/examples/report_bench"
echo "| format | render | file | resident with data | growth while rendering |"
echo "|---|---|---|---|---|"
for format in json csv markdown html pdf; do
  "$bin" "$format" "$out/report.$format"
done
echo "files in $out"
