#!/bin/sh
# Production entrypoint: migrations run before serving, then the command.
set -eu
if [ "${1:-serve}" = "serve" ]; then
  aegis migrate
fi
exec aegis "$@"
