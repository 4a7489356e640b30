#!/usr/bin/env bash
# Everything the client's tests need, then the tests: npm ci, npm pack, the
# tarball installed in client-js/tests, tsc --noEmit, and node --test (Node and
# headless Chromium) against the real herald (HERALD_BIN, default build/herald).
#   bash client-js/tests/run.sh                      # all
#   bash client-js/tests/run.sh node.test.mjs        # node --test arguments
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund --loglevel=error
bash tests/install.sh
cd tests
node --test --test-concurrency=1 "${@:-.}"
