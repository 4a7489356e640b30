#!/usr/bin/env bash
# Packs herald-client the way users get it, installs the tarball here, checks
# the types with tsc and runs the Node and browser tests against the real
# herald (HERALD_BIN, default build/herald). Run from anywhere:
#   bash client-js/test/run.sh            # node --test arguments may follow
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
npm ci --no-audit --no-fund --loglevel=error
tarball=$(npm pack --silent | tail -1)
cd test
rm -rf node_modules
npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error "../$tarball"
rm -f "../$tarball"
../node_modules/.bin/tsc -p tsconfig.json
echo "tsc --noEmit: types ok"
node --test --test-concurrency=1 "${@:-.}"
