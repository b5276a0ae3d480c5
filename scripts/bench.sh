#!/usr/bin/env bash
# scripts/bench.sh — end-to-end speed and memory of visor against tshark on
# large captures made with real software (docs/performance.md).
#
#   sudo bash scripts/bench.sh [WORKDIR]        (default WORKDIR: /tmp/visor-bench)
#   sudo VISORBENCH_BASE=REV bash scripts/bench.sh [WORKDIR]   (paired: REV and the working tree)
#
# The measurement is TestBench in internal/lab/bench (build tag `bench`): it
# makes mix.pcap, flood.pcap and flood2.pcap in WORKDIR, times visor and
# tshark, checks visor's accuracy and prints the table and the targets'
# verdicts. This script only installs the packages it needs and runs it.
# Knobs (environment, read by the test): VISORBENCH_QUERIES, VISORBENCH_QPS,
# VISORBENCH_DOUBLINGS, VISORBENCH_RUNS, VISORBENCH_EXPORT, VISORBENCH_REUSE,
# VISORBENCH_CLEAN, VISORBENCH_BASE.
set -euo pipefail

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 2; }

[[ $(id -u) -eq 0 ]] || die "run as root (sudo bash scripts/bench.sh)"
command -v go >/dev/null 2>&1 || die "go not in PATH"

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
W=${1:-/tmp/visor-bench}
mkdir -p "$W"
W=$(cd "$W" && pwd)

need_bins=(ip git knotd kdig dnsperf tcpdump tshark)
missing=0
for b in "${need_bins[@]}"; do command -v "$b" >/dev/null 2>&1 || missing=1; done
if [[ $missing -eq 1 ]]; then
	log "installing packages with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	apt-get install -y --no-install-recommends iproute2 git knot knot-dnsutils dnsperf tcpdump tshark
	for b in "${need_bins[@]}"; do command -v "$b" >/dev/null 2>&1 || die "$b still missing"; done
fi

cd "$REPO"
# a measurement, not a gate: the test fails only when it cannot measure
exec go test -tags bench -run '^TestBench$' -count=1 -timeout 0 -v ./internal/lab/bench -args "$W"
