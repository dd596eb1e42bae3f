#!/usr/bin/env bash
# Seeds tests over the full Enterprise ATT&CK catalog, on SQLite and on
# PostgreSQL, and times the list, detail, coverage, KPI and layer endpoints
# next to the queries each runs (executed directly in the same run) and next
# to GET /health; then throughput at 32 connections, completing a test, and
# the server's memory. Aims (issue 17): every read under 10 ms median at
# 1,000,000 tests on both backends, completing a test under 5 ms.
# Usage: bench/scale.sh            100,000 then 1,000,000 tests
#        bench/scale.sh 100000     one size (quick)
#        PROFILE=debug bench/scale.sh 20000   no release build
#        AEGIS_TEST_POSTGRES_URL   another PostgreSQL server
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aegis/target}"
data="${AEGIS_SHARED_DATA:-$PWD/../shared/data}"
bundle="$data/attack/enterprise-attack.json.gz"
pg="${AEGIS_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
sizes=("$@"); [[ ${#sizes[@]} -eq 0 ]] && sizes=(100000 1000000)

flags=(--release); [[ ${PROFILE:-release} == debug ]] && flags=()
cargo build "${flags[@]}" --quiet -p aegis --example scale_bench
bin="$CARGO_TARGET_DIR/${PROFILE:-release}/examples/scale_bench"

work=$(mktemp -d)
db="aegis_bench_$$"
trap 'rm -rf "$work"; psql "$pg" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true' EXIT
for tests in "${sizes[@]}"; do
  rm -f "$work"/bench.db*
  AEGIS_BENCH_TESTS="$tests" AEGIS_DATABASE__URL="sqlite://$work/bench.db?mode=rwc" "$bin" "$bundle"
  psql "$pg" -qc "DROP DATABASE IF EXISTS $db" >/dev/null
  psql "$pg" -qc "CREATE DATABASE $db" >/dev/null
  AEGIS_BENCH_TESTS="$tests" AEGIS_DATABASE__URL="${pg%/*}/$db" "$bin" "$bundle"
done
