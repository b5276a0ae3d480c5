#!/usr/bin/env bash
# Runs every native Go fuzz target in the repository for the same time each:
#   scripts/fuzz.sh [SECONDS]        (default 20; FUZZTIME=SECONDS works too)
# Targets are found with grep, so a new `func FuzzX(f *testing.F)` is run
# without editing this script. A crasher is written by Go to the package's
# testdata/fuzz/FuzzX/ and from then on runs as a regression test in
# `go test ./...`; commit it with the fix. Exits 1 if any target failed.
set -uo pipefail
cd "$(dirname "$0")/.."
T=${1:-${FUZZTIME:-20}}
mapfile -t targets < <(git ls-files --cached --others --exclude-standard -- '*_test.go' |
  xargs grep -HoE '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' |
  sed -E 's#^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]+).*#./\1 \2#; s#^[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]+).*#. \1#' | sort)
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz: no targets found" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${T}s each"
failed=()
start=$SECONDS
for t in "${targets[@]}"; do
  read -r pkg name <<<"$t"
  log=$(mktemp /tmp/visor-fuzz.XXXXXX)
  if go test -run '^$' -fuzz "^${name}\$" -fuzztime "${T}s" -fuzzminimizetime 5s "$pkg" >"$log" 2>&1; then
    printf 'fuzz ok    %-22s %s  (%s)\n' "$name" "$pkg" "$(grep -oE 'execs: [0-9]+' "$log" | tail -1)"
  elif grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log"; then
    # Go's fuzzer reports its own time limit running out in the middle of a
    # slow input as a failure; no input failed, so nothing is kept.
    printf 'fuzz ok    %-22s %s  (time ran out mid-input; %s)\n' "$name" "$pkg" "$(grep -oE 'execs: [0-9]+' "$log" | tail -1)"
  else
    printf 'fuzz FAIL  %-22s %s\n' "$name" "$pkg"
    sed 's/^/    /' "$log" | tail -40
    failed+=("$name")
  fi
  rm -f "$log"
done
echo "fuzz: $(( ${#targets[@]} - ${#failed[@]} )) of ${#targets[@]} clean in $((SECONDS - start))s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]} (crashers are in their package's testdata/fuzz/)" >&2
  exit 1
fi
