#!/usr/bin/env bash
# Installs Debian's Chromium for the dashboard's end-to-end tests, once.
# playwright-core drives it; no test tool ever downloads a browser.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
echo "[install-browser] installing Debian's chromium" >&2
if [[ $(id -u) -eq 0 ]]; then sudo=""; else sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
$sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
