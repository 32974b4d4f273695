#!/usr/bin/env bash
# Command 1: install what is needed, build, and start the hub in development mode on
# http://localhost:8080/.well-known/mercure (a fresh key and tokens are printed at start).
# Extra arguments go to `herald run` (e.g. --addr :9090).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec build/herald run --dev "$@"
