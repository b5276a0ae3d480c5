#!/usr/bin/env bash
# scripts/memory.sh — peak RSS of visor over many buckets (issue 16: memory
# bounded by the open buckets, not the capture's length).
#
#   bash scripts/memory.sh [WORKDIR]      (default /tmp/visor-memory)
#
# Makes, with scripts/gencap, a year of one query and its response a minute
# (525,600 one-minute buckets) and a day of one a second (86,400 one-second
# buckets), runs `visor analyze` on each in every report format, and fails
# when a run's peak RSS (/usr/bin/time) passes LIMIT_MB (default 300).
# A measurement, not a test: minutes, not seconds.
set -euo pipefail
W=${1:-/tmp/visor-memory}
LIMIT_MB=${LIMIT_MB:-300}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$W"
cd "$REPO"
CGO_ENABLED=0 go build -o "$W/visor" ./cmd/visor
[[ -s $W/year.pcap ]] || go run ./scripts/gencap sparse 525600 "$W/year.pcap" 1m
[[ -s $W/day.pcap ]] || go run ./scripts/gencap sparse 86400 "$W/day.pcap" 1s
fail=0
run() { # name bucket format capture
	local kb
	/usr/bin/time -f '%M %e' -o "$W/time" "$W/visor" analyze --progress never --bucket "$2" --format "$3" -o "$W/out" "$4"
	read -r kb secs <"$W/time"
	local mb=$((kb / 1024)) verdict=ok
	((mb <= LIMIT_MB)) || { verdict=OVER; fail=1; }
	printf '%-5s --bucket %-3s %-12s %5d MB %6s s  %s\n' "$1" "$2" "$3" "$mb" "$secs" "$verdict"
}
for f in json table openmetrics; do run year 1m "$f" "$W/year.pcap"; done
for f in json table openmetrics; do run day 1s "$f" "$W/day.pcap"; done
rm -f "$W/out"
exit $fail
