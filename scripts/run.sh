#!/usr/bin/env bash
# Installs, builds and starts herald on its embedded default (memory store,
# no Redis), in the foreground. Extra arguments go to herald.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# Its own build folder: scripts/test.sh builds build/ with other options, and
# either command may run first in the same checkout.
cmake -S . -B build-run -DCMAKE_BUILD_TYPE=Release -DHERALD_TESTS=OFF -DHERALD_FUZZ=OFF \
  -DHERALD_SANITIZE= >/dev/null
cmake --build build-run -j"$(nproc)" --target herald
cat <<'HINT'

herald is starting on 127.0.0.1:8080 (subscribers) and 127.0.0.1:8081 (publishers).
  subscribe:  curl -N -X POST -d '{"ep":["house/#"]}' http://127.0.0.1:8080/
  publish:    curl -H 'Authorization: Bearer dev-token' \
                -d '{"ep":["house/kitchen"],"e":{"type":"temp","detail":21.5}}' http://127.0.0.1:8081/event
Stop with Ctrl-C.
HINT
exec ./build-run/herald --token dev-token "$@"
