#!/usr/bin/env bash
# write_results.sh OUT_DIR COMMAND — prints a fresh RESULTS.md for the run in
# OUT_DIR. Hand-written notes below the "notes" marker of the current
# RESULTS.md are kept, so regenerating does not lose the analysis.
set -euo pipefail
out=$1
cmd=$2
here=$(cd "$(dirname "$0")" && pwd)
nchan=$(dpkg-query -W -f='${Version}' libnginx-mod-nchan 2>/dev/null || echo '?')
rev=$(cd "$here/.." && git rev-parse --short HEAD 2>/dev/null || echo '?')
if [[ -n $(cd "$here/.." && git status --porcelain -- server handlers auth 2>/dev/null) ]]; then
  rev="$rev + uncommitted changes"
fi
cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
cat <<EOF
# herald-bench results

- date: $(date -u +%Y-%m-%dT%H:%MZ)
- machine: $(nproc) cores (${cpu:-unknown CPU}), $(free -g | awk '/^Mem:/{print $2}') GiB RAM,
  Linux $(uname -r), open files per process $(ulimit -Hn); loopback only
- servers: herald $rev (build/herald, ${HERALD_BUILD_INFO:-build type unknown}, 2 workers)
  and nginx $(nginx -v 2>&1 | sed 's/.*nginx\///') with Nchan $nchan (2 workers; 1 in `channels`, its cheaper setting there: see "Nchan at its best"; EventSource)
- the floor: bench/floor (herald-floor: one epoll thread, one send() per subscriber of a
  frame encoded once, no auth or parsing; see bench/README.md "The floor")
- command: \`$cmd\`

Medians over the rounds; "herald/Nchan" below 1 means herald is cheaper or faster;
"herald/floor" is how far herald is above the least this machine allows.
Deliveries received % is of the deliveries expected. Each run starts a fresh server.

$(cat "$out/summary.md")

![latency percentiles and CPU per delivery](results.png)

<!-- notes: everything below this line is kept when compare.sh --write-results regenerates the file -->
EOF
if [[ -f $here/RESULTS.md ]]; then
  sed -n '/^<!-- notes:/,$p' "$here/RESULTS.md" | tail -n +2
fi
