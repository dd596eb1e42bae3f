#!/usr/bin/env bash
# Seeds 100,000 tests over the full Enterprise ATT&CK catalog, on SQLite and
# on PostgreSQL, and times the KPI, coverage and Navigator layer endpoints
# next to the aggregate SQL each runs, executed directly in the same run.
# Aim: each endpoint within 2x its bare queries and under 100 ms.
# Usage: bench/coverage.sh   (PROFILE=debug to skip the release build;
#        AEGIS_TEST_POSTGRES_URL to point at another server)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aegis/target}"
data="${AEGIS_SHARED_DATA:-$PWD/../shared/data}"
bundle="$data/attack/enterprise-attack.json.gz"
pg="${AEGIS_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

flags=(--release); [[ ${PROFILE:-release} == debug ]] && flags=()
cargo build "${flags[@]}" --quiet -p aegis --example coverage_bench
bin="$CARGO_TARGET_DIR/${PROFILE:-release}/examples/coverage_bench"

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
AEGIS_DATABASE__URL="sqlite://$work/bench.db?mode=rwc" "$bin" "$bundle"

db="aegis_bench_$$"
psql "$pg" -qc "CREATE DATABASE $db" >/dev/null
trap 'rm -rf "$work"; psql "$pg" -qc "DROP DATABASE IF EXISTS $db" >/dev/null' EXIT
AEGIS_DATABASE__URL="${pg%/*}/$db" "$bin" "$bundle"
