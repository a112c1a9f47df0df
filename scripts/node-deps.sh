#!/usr/bin/env bash
# npm packages of the Node.js client test (tests/clients/node), installed from its
# lock file when missing or stale. Idempotent.
set -euo pipefail
dir="$(dirname "$0")/../tests/clients/node"
[ -f "$dir/package.json" ] || exit 0
stamp="$dir/node_modules/.skybatch-installed"
if [ ! -f "$stamp" ] || [ "$dir/package-lock.json" -nt "$stamp" ]; then
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  touch "$stamp"
fi
