#!/usr/bin/env bash
# scripts/jobs-bench.sh — how -j scales (issue 21): 8 consecutive pieces of
# one capture (testdata/lab-eth.pcap doubled DOUBLINGS times, time-shifted,
# cut with editcap -c) analysed with -j 1 (one run over the pieces as one
# capture) and -j 2 (the pieces analysed apart, two at a time, merged), in
# alternating rounds; prints the best wall time of each and their ratio,
# and checks that both reports are the same.
#
#   bash scripts/jobs-bench.sh [WORKDIR]     (default /tmp/visor-jobs)
#
# Env: JOBSBENCH_ROUNDS (default 5), JOBSBENCH_DOUBLINGS (default 9: 1.3 M
# packets), JOBSBENCH_PIECES (default 8). It is a measurement: run it on an
# idle machine (the ratio means nothing when other processes take the CPUs).
set -euo pipefail
dir=${1:-/tmp/visor-jobs}
rounds=${JOBSBENCH_ROUNDS:-5}
dbl=${JOBSBENCH_DOUBLINGS:-9}
pieces=${JOBSBENCH_PIECES:-8}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$dir"
cd "$dir"
CGO_ENABLED=0 go build -C "$root" -o "$dir/visor" ./cmd/visor
if [ ! -f mix.pcap ]; then
	cp "$root/testdata/lab-eth.pcap" m.pcap
	for i in $(seq 1 "$dbl"); do
		editcap -t $((4 * (1 << (i - 1)))) m.pcap s.pcap
		mergecap -a -F pcap -w n.pcap m.pcap s.pcap
		mv n.pcap m.pcap
		rm s.pcap
	done
	mv m.pcap mix.pcap
fi
rm -f piece_*.pcap
n=$(capinfos -c -M mix.pcap | awk '/Number of packets/{print $NF}')
editcap -c $(((n + pieces - 1) / pieces)) mix.pcap piece.pcap
best1=999999 best2=999999
for r in $(seq 1 "$rounds"); do
	for j in 1 2; do
		/usr/bin/time -f "%e %U %S %M" -o t.txt ./visor analyze -j "$j" --progress never --format json -o "out$j.json" piece_*.pcap
		read -r wall user sys rss <t.txt
		echo "round $r -j $j: wall ${wall}s user ${user}s sys ${sys}s max RSS ${rss} KB"
		if [ "$j" = 1 ]; then best1=$(echo "$wall $best1" | awk '{print ($1<$2)?$1:$2}'); else best2=$(echo "$wall $best2" | awk '{print ($1<$2)?$1:$2}'); fi
	done
done
python3 - <<'PY'
import json
a, b = json.load(open("out1.json")), json.load(open("out2.json"))
for r in (a, b):
    r.pop("inputs", None)
print("reports the same:", a == b)
PY
echo "packets: $n in $pieces pieces; best wall -j 1: ${best1}s, -j 2: ${best2}s, speed-up: $(echo "$best1 $best2" | awk '{printf "%.2f", $1/$2}')x"
