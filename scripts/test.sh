#!/usr/bin/env bash
# Runs every test: starts (and on first use installs) the services the suite
# needs, then the whole Rust workspace on both stacks. CI=true makes a missing
# service a failure rather than a skip.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aegis/target}"
# The guest workspace's native builds (lints, the SDK's unit tests) keep a
# target folder of their own, apart from the server's and the wasm32 one.
plugins_host_target="$HOME/.cache/aegis/plugins-host-target"

# Hygiene first, the quickest failures: formatting and lints with warnings as
# errors, here and in the guest workspace under plugins/. The guests are
# linted natively (the wasm32 toolchain of build-plugins.sh has no clippy);
# their bindings compile for this machine too, as the SDK's tests show.
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked --quiet -- -D warnings
(cd plugins && cargo fmt --all --check \
  && CARGO_TARGET_DIR="$plugins_host_target" cargo clippy --workspace --all-targets --locked --quiet -- -D warnings)

eval "$(bash scripts/test-services.sh)"

# The shared test data lives beside the project (../shared/data) unless
# AEGIS_SHARED_DATA points elsewhere.
if [[ -z "${AEGIS_SHARED_DATA:-}" && -d ../shared/data ]]; then
  AEGIS_SHARED_DATA="$(cd ../shared/data && pwd)"
  export AEGIS_SHARED_DATA
fi

# Every plugin (examples and fixtures) built from source; the tests load these.
AEGIS_PLUGIN_BUILD_DIR="$(bash scripts/build-plugins.sh)"
export AEGIS_PLUGIN_BUILD_DIR

# The guest SDK's own unit tests, built for this machine (its bindings
# compile natively too); a target folder of its own keeps them apart.
(cd plugins && CARGO_TARGET_DIR="$plugins_host_target" cargo test --locked --quiet -p aegis-plugin)

# pdftotext, which the report tests read PDFs with.
bash scripts/install-pdf-tools.sh

# Databases left by earlier runs (each test makes its own).
psql "$AEGIS_TEST_POSTGRES_URL" -Atqc "SELECT datname FROM pg_database WHERE datname LIKE 'aegis\_test\_%'" 2>/dev/null \
  | while read -r db; do psql "$AEGIS_TEST_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 || true; done

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
  cargo test --workspace --doc --quiet
else
  cargo test --workspace --no-fail-fast "$@"
fi

# The dashboard: its client matches the API, its logic's unit tests, and the
# end-to-end run in Debian's Chromium against a real server.
bash scripts/build-frontend.sh
cargo build --quiet --bin aegis
(cd frontend && AEGIS_BIN="$CARGO_TARGET_DIR/debug/aegis" npm run --silent check:api && npm test --silent)
bash scripts/e2e.sh

# The API contract: the document against its committed snapshot, then
# schemathesis and two generated clients against a real server on each stack.
AEGIS_BIN="$CARGO_TARGET_DIR/debug/aegis" bash scripts/contract.sh --report

# The fault drill's short variant: two production replicas behind haproxy
# through a replica kill, a PostgreSQL restart, a Redis and an S3 outage.
AEGIS_BIN="$CARGO_TARGET_DIR/debug/aegis" bash scripts/drill.sh --short
