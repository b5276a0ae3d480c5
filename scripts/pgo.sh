#!/usr/bin/env bash
# scripts/pgo.sh CAPTURE... — remakes cmd/visor/default.pgo, the CPU profile
# Go builds visor with (profile-guided optimisation; `go build` picks it up
# by itself): visor, built without a profile, analyses each capture with
# VISOR_CPUPROFILE set, and the profiles are merged. Use captures like the
# ones bench.sh makes (a mix and a flood), e.g.
#   bash scripts/pgo.sh /tmp/visor-bench/mix.pcap /tmp/visor-bench/flood.pcap
set -euo pipefail
log() { printf '[pgo %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 2; }
[[ $# -gt 0 ]] || die "usage: bash scripts/pgo.sh CAPTURE..."
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$REPO" && CGO_ENABLED=0 go build -pgo=off -o "$tmp/visor" ./cmd/visor)
profs=()
for c in "$@"; do
	[[ -r $c ]] || die "cannot read $c"
	log "profiling visor analyze $c"
	VISOR_CPUPROFILE="$tmp/$(basename "$c").prof" "$tmp/visor" analyze --progress never --format json -o "$tmp/out.json" "$c"
	profs+=("$tmp/$(basename "$c").prof")
done
go tool pprof -proto "${profs[@]}" >"$REPO/cmd/visor/default.pgo"
log "wrote cmd/visor/default.pgo ($(wc -c <"$REPO/cmd/visor/default.pgo") bytes) from ${#profs[@]} profiles"
