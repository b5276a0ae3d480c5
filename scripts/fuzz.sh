#!/usr/bin/env bash
# Runs every native Go fuzz target in the repository for the same time each:
#   scripts/fuzz.sh [SECONDS]        (default 20; FUZZTIME=SECONDS works too)
#   FUZZ_TOTAL=300 scripts/fuzz.sh 20   caps the whole run: SECONDS each, but
#                                       no more than FUZZ_TOTAL/targets each
#   FUZZ_MATCH=Reassembly scripts/fuzz.sh 60   only targets matching a regexp
#   FUZZ_MINIMIZE=10s                          Go's -fuzzminimizetime (100x)
# Targets are found with grep, so a new `func FuzzX(f *testing.F)` is run
# without editing this script. A crasher is written by Go to the package's
# testdata/fuzz/FuzzX/ and from then on runs as a regression test in
# `go test ./...`; commit it with the fix (docs/fuzzing.md). Exits 1 if any
# target failed, after printing each crasher's path and how to re-run it.
set -uo pipefail
cd "$(dirname "$0")/.."
T=${1:-${FUZZTIME:-20}}
mapfile -t targets < <(git ls-files --cached --others --exclude-standard -- '*_test.go' |
  xargs grep -HoE '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' |
  sed -E 's#^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]+).*#./\1 \2#; s#^[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]+).*#. \1#' |
  grep -E -- "${FUZZ_MATCH:-.}" | sort)
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz: no targets found" >&2
  exit 1
fi
if [ -n "${FUZZ_TOTAL:-}" ] && [ $((FUZZ_TOTAL / ${#targets[@]})) -lt "$T" ]; then
  T=$((FUZZ_TOTAL / ${#targets[@]}))
  [ "$T" -ge 5 ] || T=5
fi
# Go minimises every input that finds new code, running the target without
# counting execs: with its default (60 s an input) a slow target spends a
# short run minimising. A count keeps that bounded; FUZZ_MINIMIZE=10s, say,
# for smaller crashers.
M=${FUZZ_MINIMIZE:-100x}
echo "fuzz: ${#targets[@]} targets, ${T}s each (minimising: ${M})"
failed=()
crashers=()
start=$SECONDS
for t in "${targets[@]}"; do
  read -r pkg name <<<"$t"
  log=$(mktemp /tmp/visor-fuzz.XXXXXX)
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "${T}s" -fuzzminimizetime "${M}" "$pkg" >"$log" 2>&1
  rc=$?
  rate=$(grep -oE 'execs: [0-9]+ \([0-9]+/sec\)' "$log" | tail -1)
  total=$(grep -oE 'execs: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
  written=$(grep -oE 'Failing input written to [^ ]+' "$log" | tail -1 | sed 's/^Failing input written to //')
  if [ $rc -eq 0 ]; then
    printf 'fuzz ok    %-20s %-12s %s execs, %d/s\n' "$name" "$pkg" "${total:-0}" $(( ${total:-0} / T ))
  elif [ -z "$written" ] && grep -q 'context deadline exceeded' "$log"; then
    # Go's fuzzer reports its own time limit running out in the middle of a
    # slow input as a failure; no input failed, so nothing is kept.
    printf 'fuzz ok    %-20s %-12s (time ran out mid-input; %s)\n' "$name" "$pkg" "$rate"
  else
    printf 'fuzz FAIL  %-20s %s\n' "$name" "$pkg"
    sed 's/^/    /' "$log" | grep -v '^    fuzz: elapsed' | head -60
    failed+=("$name")
    if [ -n "$written" ]; then
      path="${pkg#./}/$written"
      crashers+=("$path  (re-run: go test -run '${name}/$(basename "$written")' $pkg)")
    fi
  fi
  rm -f "$log"
done
echo "fuzz: $(( ${#targets[@]} - ${#failed[@]} )) of ${#targets[@]} clean in $((SECONDS - start))s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]}" >&2
  for c in "${crashers[@]}"; do
    echo "fuzz: crasher ${c}" >&2
  done
  exit 1
fi
