#!/usr/bin/env bash
# Packs herald-client as users get it (npm pack runs the esbuild bundle),
# installs the tarball into client-js/tests and checks the types with
# tsc --noEmit. Needs client-js's devDependencies (npm ci in client-js).
set -euo pipefail
cd "$(dirname "$0")/.."
tarball=$(npm pack --silent | tail -1)
cd tests
rm -rf node_modules
npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error "../$tarball"
rm -f "../$tarball"
../node_modules/.bin/tsc -p tsconfig.json
echo "tsc --noEmit: types ok"
