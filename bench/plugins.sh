#!/usr/bin/env bash
# Times the plugin host in release: a cold load (fetch, hash, compile, link,
# call), a warm call of a trivial rule (2,000 runs) and a rule over 10,000
# tests (50 runs), with median and p99 and a baseline measured in the same
# run. Aim: warm call under 1 ms median.
# Usage: bench/plugins.sh   (PROFILE=debug to skip the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aegis/target}"
components="$(bash scripts/build-plugins.sh)"
flags=(--release); [[ ${PROFILE:-release} == debug ]] && flags=()
cargo build "${flags[@]}" --quiet -p aegis-plugin-host --example plugin_bench
"$CARGO_TARGET_DIR/${PROFILE:-release}/examples/plugin_bench" "$components"
