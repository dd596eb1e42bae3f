#!/usr/bin/env bash
# Installs pdftotext (Debian's poppler-utils) once: the report tests read the
# text of generated PDFs with it.
set -euo pipefail
command -v pdftotext >/dev/null 2>&1 && exit 0
if [[ $(id -u) -eq 0 ]]; then sudo=""; else sudo="sudo"; fi
echo "[pdf-tools] apt: poppler-utils" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
$sudo apt-get install -y -qq --no-install-recommends poppler-utils >&2
