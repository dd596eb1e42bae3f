#!/usr/bin/env bash
# Builds the dashboard into frontend/dist when its sources changed since the
# last build (npm ci first when node_modules is missing or stale).
set -euo pipefail
cd "$(dirname "$0")/../frontend"
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
stamp=dist/index.html
if [[ -f $stamp ]] && [[ -z $(find src index.html vite.config.ts package-lock.json -newer "$stamp" -print -quit) ]]; then
  exit 0
fi
npm run --silent build
