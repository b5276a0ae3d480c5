#!/usr/bin/env bash
# Makes fresh traffic with real DNS servers (scripts/lab.sh), then checks
# visor against tshark on those captures (the Go truth tests with
# VISOR_LAB_DIR set).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d /tmp/visor-lab.XXXXXX)
trap 'rm -rf "$out"' EXIT
bash scripts/lab.sh "$out"
VISOR_LAB_DIR="$out" go test -count=1 -run 'TestDNSCountsEqualTshark|TestSameTrafficThreeWays' ./cmd/visor/
