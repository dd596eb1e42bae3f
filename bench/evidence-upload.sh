#!/usr/bin/env bash
# Uploads one large evidence file (500 MB by default) to a release build on
# the embedded stack and reports (1) how far the server's resident memory
# rose above its level before the upload (target: under 64 MB, since uploads
# stream to storage) and (2) the upload time against a baseline measured in
# the same run: sha256sum plus cp of the same file, i.e. hashing and writing
# the bytes once with no HTTP, multipart or database in between.
# Usage: bench/evidence-upload.sh [megabytes]   (PROFILE=debug to skip the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb="${1:-500}"
profile="${PROFILE:-release}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aegis/target}"
data="${AEGIS_SHARED_DATA:-$PWD/../shared/data}"
mini="$data/attack/fixtures/enterprise-attack-18.1-mini.json"

if [[ $profile == release ]]; then cargo build --release --quiet --bin aegis; else cargo build --quiet --bin aegis; fi
aegis="$CARGO_TARGET_DIR/$profile/aegis"

work=$(mktemp -d)
server=""
cleanup() { [[ -n $server ]] && kill "$server" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

port=$((20000 + RANDOM % 20000))
export AEGIS_DATA_DIR="$work/data" AEGIS_CONFIG_DIR=config AEGIS_LOG__LEVEL=warn \
  AEGIS_HTTP__PORT="$port" AEGIS_ADMIN__PASSWORD=bench-admin-password \
  AEGIS_EVIDENCE__MAX_BYTES=$(( (size_mb + 16) * 1024 * 1024 ))
"$aegis" sync-mitre --source "$mini" >/dev/null
"$aegis" serve >"$work/server.log" 2>&1 &
server=$!
base="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -sf "$base/health" >/dev/null && break; sleep 0.1; done

file="$work/evidence.bin"
head -c "$((size_mb * 1024 * 1024))" /dev/urandom >"$file"
expected=$(sha256sum "$file" | cut -d' ' -f1)

seconds() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
baseline=$(seconds sh -c "sha256sum '$file' && cp '$file' '$work/copy.bin'")
rm -f "$work/copy.bin"

token=$(curl -sf "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d '{"username":"admin","password":"bench-admin-password"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
test_id=$(curl -sf "$base/api/v1/tests" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"name":"upload benchmark","technique_id":"T1003"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$server/status"; }
before=$(rss_kb)
peak=$before
( while kill -0 "$server" 2>/dev/null; do rss_kb; sleep 0.05; done ) >"$work/rss.txt" &
sampler=$!
start=$(date +%s.%N)
reply=$(curl -sf "$base/api/v1/tests/$test_id/evidence" -H "Authorization: Bearer $token" \
  -F "file=@$file;type=application/octet-stream")
upload=$(echo "$(date +%s.%N) - $start" | bc -l)
sleep 0.2; kill "$sampler" 2>/dev/null || true
peak=$(sort -n "$work/rss.txt" | tail -1)
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$server/status")
got=$(echo "$reply" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sha256"])')
[[ $got == "$expected" ]] || { echo "SHA-256 mismatch: $got != $expected" >&2; exit 1; }

printf 'profile %s, one %s MB upload on the embedded stack (SHA-256 verified)\n' "$profile" "$size_mb"
printf '  server RSS before upload:           %6.1f MB\n' "$(echo "$before / 1024" | bc -l)"
printf '  peak RSS during upload (sampled):   %6.1f MB\n' "$(echo "$peak / 1024" | bc -l)"
printf '  peak RSS of the process (VmHWM):    %6.1f MB\n' "$(echo "$hwm / 1024" | bc -l)"
printf '  memory growth (VmHWM - before):     %6.1f MB   (target < 64 MB)\n' "$(echo "($hwm - $before) / 1024" | bc -l)"
printf '  baseline (sha256sum + cp):          %6.2f s\n' "$baseline"
printf '  upload through Aegis:               %6.2f s   (%.0f MB/s)\n' "$upload" "$(echo "$size_mb / $upload" | bc -l)"
printf '  ratio upload / baseline:            %6.2f\n' "$(echo "$upload / $baseline" | bc -l)"
