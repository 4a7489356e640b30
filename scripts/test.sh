#!/usr/bin/env bash
# Installs, builds and runs every test: unit tests (GoogleTest via ctest),
# integration tests against the real binary (Node's test runner), browser
# tests (headless Chromium), again under ASan+UBSan and under TSan, and a
# short run of every fuzz target. Prints one closing line:
#   "N passed, N failed".
# HERALD_TEST_QUICK=1 skips the sanitizer builds and fuzzing.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=$(nproc)
tally=$(mktemp)
failed_steps=()

bash scripts/install-deps.sh --test || { echo "dependency install failed"; exit 1; }
ulimit -n 20000 2>/dev/null || true

record() {  # record <passed> <failed> <step name>
  echo "$1 $2" >>"$tally"
  if [[ "$2" != 0 ]]; then failed_steps+=("$3"); fi
}

build() {  # build <dir> <cmake args...>
  local dir=$1; shift
  cmake -S . -B "$dir" "$@" >/dev/null && cmake --build "$dir" -j"$jobs" 2>&1 | tail -n 3
  return "${PIPESTATUS[0]}"
}

run_ctest() {  # run_ctest <dir> <name>
  local out; out=$(ctest --test-dir "$1" --output-on-failure -j"$jobs" 2>&1)
  local rc=$?
  echo "$out" | tail -n 25
  local total failed
  total=$(echo "$out" | sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' | tail -1)
  failed=$(echo "$out" | sed -n 's/.*, \([0-9]*\) tests failed out of.*/\1/p' | tail -1)
  if [[ -z "$total" ]]; then record 0 1 "$2 (no ctest summary)"; return; fi
  record $((total - failed)) "$failed" "$2"
  [[ $rc == 0 ]] || [[ "$failed" != 0 ]] || record 0 1 "$2 (ctest exit $rc)"
}

run_node() {  # run_node <name> <HERALD_BIN> <test dir>
  local log; log=$(mktemp)
  HERALD_BIN="$2" node --test --test-concurrency=1 --test-reporter=spec \
    --test-reporter-destination=stdout --test-reporter=tap --test-reporter-destination="$log" \
    "$3" 2>&1 | grep -vE '^\s*$' | tail -n 60
  local pass fail
  pass=$(sed -n 's/^# pass \([0-9]*\)/\1/p' "$log" | tail -1)
  fail=$(sed -n 's/^# fail \([0-9]*\)/\1/p' "$log" | tail -1)
  if [[ -z "$pass" ]]; then record 0 1 "$1 (no node summary)"; return; fi
  record "$pass" "$fail" "$1"
  if [[ "$fail" != 0 ]]; then grep -E '^not ok' "$log" | head -20; fi
}

echo "== layers"
# A file that includes a header from a room above its own fails the run.
if python3 scripts/check_layers.py; then record 1 0 "layers"; else record 0 1 "layers"; fi

echo "== clang-format"
# A misformatted C++ file fails the run (.clang-format at the root).
unformatted=$(git ls-files '*.cc' '*.h' | xargs clang-format --dry-run 2>&1 |
  sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: warning:.*/\1/p' | sort -u)
if [[ -z "$unformatted" ]]; then record 1 0 "clang-format"; else
  echo "not clang-format clean:"; echo "$unformatted"; record 0 1 "clang-format"; fi

echo "== release build"
# Every option this script depends on is set: a folder configured earlier
# (by hand, or with other options) must not change what is tested.
if build build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHERALD_TESTS=ON -DHERALD_FUZZ=OFF -DHERALD_SANITIZE=; then
  echo "== unit tests"; run_ctest build unit
  echo "== integration tests"; run_node integration "$root/build/herald" tests/integration/
  if [[ -f tests/browser/package.json ]]; then
    echo "== browser tests"
    (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error) \
      && run_node browser "$root/build/herald" tests/browser/ \
      || record 0 1 "browser (npm ci)"
  fi
  echo "== client-js (npm pack, tsc, node + browser tests)"
  (cd client-js && npm ci --no-audit --no-fund --loglevel=error && bash tests/install.sh) \
    && run_node client-js "$root/build/herald" client-js/tests/ \
    || record 0 1 "client-js (npm ci, pack or tsc)"
  echo "== Debian package"; run_node package "$root/build/herald" tests/package/
else
  record 0 1 "release build"
fi

if [[ "${HERALD_TEST_QUICK:-0}" != 1 ]]; then
  for san in address thread; do
    echo "== $san sanitizer build"
    dir=build-$san
    if build "$dir" -DCMAKE_BUILD_TYPE=Debug -DHERALD_SANITIZE=$san -DHERALD_TESTS=ON -DHERALD_FUZZ=OFF; then
      export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
      export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
      export HERALD_SANITIZER=$san
      run_ctest "$dir" "unit ($san)"
      run_node "integration ($san)" "$root/$dir/herald" tests/integration/
      unset HERALD_SANITIZER
    else
      record 0 1 "$san build"
    fi
  done
  echo "== fuzz targets (clang, libFuzzer)"
  if CC=clang CXX=clang++ build build-fuzz -DCMAKE_BUILD_TYPE=Debug -DHERALD_FUZZ=ON -DHERALD_TESTS=OFF; then
    for target in build-fuzz/tests/fuzz/*_fuzz; do
      [[ -x "$target" ]] || continue
      mkdir -p build-fuzz/corpus/"$(basename "$target")"
      # 10 s each: nine targets (issue 9 D added five) keep the step under two minutes.
      if "$target" -max_total_time=10 -print_final_stats=0 build-fuzz/corpus/"$(basename "$target")" \
          >"build-fuzz/$(basename "$target").log" 2>&1; then
        record 1 0 "fuzz $(basename "$target")"
      else
        tail -n 30 "build-fuzz/$(basename "$target").log"
        record 0 1 "fuzz $(basename "$target")"
      fi
    done
  else
    record 0 1 "fuzz build"
  fi
fi

passed=$(awk '{p+=$1} END {print p+0}' "$tally")
failed=$(awk '{f+=$2} END {print f+0}' "$tally")
rm -f "$tally"
if ((${#failed_steps[@]})); then printf 'failed: %s\n' "${failed_steps[@]}"; fi
echo "$passed passed, $failed failed"
[[ "$failed" == 0 ]]
