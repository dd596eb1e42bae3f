#!/usr/bin/env bash
# Starts what the test suite talks to, idempotently: PostgreSQL and Redis (the
# machine's own services, started if down), an S3-compatible server (moto) and
# an SMTP server that keeps what it receives in a Maildir (aiosmtpd), both
# installed once into a cache outside the clone. Prints the variables to export.
set -euo pipefail

cache="${AEGIS_CACHE_DIR:-$HOME/.cache/aegis}"
s3_port="${AEGIS_TEST_S3_PORT:-9100}"
smtp_port="${AEGIS_TEST_SMTP_PORT:-2525}"
mkdir -p "$cache"

log() { echo "[test-services] $*" >&2; }

if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  log "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  log "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null || true
fi

venv="$cache/moto-venv"
if [[ ! -x "$venv/bin/moto_server" ]]; then
  log "installing moto (S3-compatible test server) into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'moto[server]>=5,<6'
fi
if ! curl -fsS "http://127.0.0.1:$s3_port/moto-api/" >/dev/null 2>&1; then
  log "starting moto on 127.0.0.1:$s3_port"
  nohup "$venv/bin/moto_server" -H 127.0.0.1 -p "$s3_port" >"$cache/moto.log" 2>&1 &
  for _ in $(seq 1 50); do
    curl -fsS "http://127.0.0.1:$s3_port/moto-api/" >/dev/null 2>&1 && break
    sleep 0.2
  done
fi
# The test bucket (moto accepts any credentials).
curl -fsS -X PUT "http://127.0.0.1:$s3_port/aegis-test" >/dev/null 2>&1 || true

smtp_venv="$cache/smtp-venv"
maildir="$cache/smtp-maildir"
if [[ ! -x "$smtp_venv/bin/aiosmtpd" ]]; then
  log "installing aiosmtpd (SMTP test server) into $smtp_venv"
  python3 -m venv "$smtp_venv"
  "$smtp_venv/bin/pip" install --quiet --disable-pip-version-check 'aiosmtpd>=1.4,<2'
fi
# Messages of earlier runs (each test's addresses are its own).
find "$maildir/new" -type f -mtime +1 -delete 2>/dev/null || true
if ! (exec 3<>"/dev/tcp/127.0.0.1/$smtp_port") 2>/dev/null; then
  log "starting aiosmtpd on 127.0.0.1:$smtp_port, mail kept in $maildir"
  mkdir -p "$maildir/tmp" "$maildir/new" "$maildir/cur"
  nohup "$smtp_venv/bin/aiosmtpd" -n -l "127.0.0.1:$smtp_port" -c aiosmtpd.handlers.Mailbox "$maildir" \
    >"$cache/smtp.log" 2>&1 &
  for _ in $(seq 1 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$smtp_port") 2>/dev/null && break
    sleep 0.2
  done
fi

cat <<VARS
export AEGIS_TEST_POSTGRES_URL=\${AEGIS_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export AEGIS_TEST_REDIS_URL=\${AEGIS_TEST_REDIS_URL:-redis://127.0.0.1:6379}
export AEGIS_TEST_S3_ENDPOINT=\${AEGIS_TEST_S3_ENDPOINT:-http://127.0.0.1:$s3_port}
export AEGIS_TEST_SMTP_ADDR=\${AEGIS_TEST_SMTP_ADDR:-127.0.0.1:$smtp_port}
export AEGIS_TEST_SMTP_MAILDIR=\${AEGIS_TEST_SMTP_MAILDIR:-$maildir}
VARS
