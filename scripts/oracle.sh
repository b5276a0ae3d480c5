#!/usr/bin/env bash
# Recomputes, with this machine's tshark, the truth of every capture in
# testdata/ and fails if it differs from the committed truth file: the
# committed numbers the Go tests compare visor against stay tshark's.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v tshark >/dev/null || { echo "oracle: tshark missing (run scripts/deps.sh)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
for t in testdata/*.truth.json; do
  c=${t%.truth.json}
  cp "$c" "$tmp/"
  go run ./scripts/truth "$tmp/$(basename "$c")" >/dev/null
  if ! diff "$t" "$tmp/$(basename "$t")" >"$tmp/diff"; then
    echo "oracle: tshark's truth for $c differs from the committed $t:" >&2
    cat "$tmp/diff" >&2
    exit 1
  fi
  n=$((n+1))
done
[ "$n" -gt 0 ] || { echo "oracle: no truth files in testdata/" >&2; exit 1; }
echo "oracle: $n captures: committed truth equals tshark's"
