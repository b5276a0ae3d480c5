#!/usr/bin/env bash
# scripts/jobs-bench.sh — how -j scales (issue 21). -j N is the number of
# CPUs visor uses (GOMAXPROCS), so -j 1 vs -j 2 measures 1 -> 2 cores:
#   pieces: 8 consecutive pieces of one capture (testdata/lab-eth.pcap
#           doubled DOUBLINGS times, time-shifted, cut with editcap -c);
#           -j 1 reads them as one capture on one core, -j 2 analyses them
#           apart, two at a time (one shard each), and merges the summaries;
#   single: the same capture as one file, one run: -j 1 (one core, one
#           shard) vs -j 2 (two cores, two shards).
# Rounds alternate the four cases (a noisy machine slows all of them); it
# prints every run, then per case the best and median wall time and the
# median CPU time (user+sys), the ratios -j 1 / -j 2 of the best and median
# walls, and checks that -j 1 and -j 2 give the same report.
#
#   bash scripts/jobs-bench.sh [WORKDIR]     (default /tmp/visor-jobs)
#
# Env: JOBSBENCH_ROUNDS (default 5), JOBSBENCH_DOUBLINGS (default 9: 1.3 M
# packets), JOBSBENCH_PIECES (default 8), JOBSBENCH_VISOR (a visor binary
# to measure instead of building this tree's). It is a measurement: run it
# when the machine is idle (`uptime`), several times.
set -euo pipefail
dir=${1:-/tmp/visor-jobs}
rounds=${JOBSBENCH_ROUNDS:-5}
dbl=${JOBSBENCH_DOUBLINGS:-9}
pieces=${JOBSBENCH_PIECES:-8}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$dir"
cd "$dir"
visor=${JOBSBENCH_VISOR:-$dir/visor}
if [ -z "${JOBSBENCH_VISOR:-}" ]; then
	CGO_ENABLED=0 go build -C "$root" -o "$dir/visor" ./cmd/visor
fi
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
rm -f piece_*.pcap times.txt
n=$(capinfos -c -M mix.pcap | awk '/Number of packets/{print $NF}')
editcap -c $(((n + pieces - 1) / pieces)) mix.pcap piece.pcap
for r in $(seq 1 "$rounds"); do
	for c in pieces single; do
		for j in 1 2; do
			in=(piece_*.pcap)
			[ "$c" = single ] && in=(mix.pcap)
			/usr/bin/time -f "%e %U %S %M" -o t.txt "$visor" analyze -j "$j" --progress never --format json -o "out-$c-$j.json" "${in[@]}"
			read -r wall user sys rss <t.txt
			echo "round $r $c -j $j: wall ${wall}s user ${user}s sys ${sys}s max RSS ${rss} KB"
			echo "$c $j $wall $user $sys $rss" >>times.txt
		done
	done
done
python3 - "$n" "$pieces" <<'PY'
import json, statistics, sys
n, pieces = sys.argv[1], sys.argv[2]
rows = [l.split() for l in open("times.txt")]
def stats(c, j):
    rs = [r for r in rows if r[0] == c and r[1] == j]
    walls = [float(r[2]) for r in rs]
    cpus = [float(r[3]) + float(r[4]) for r in rs]
    rss = max(int(r[5]) for r in rs)
    return min(walls), statistics.median(walls), statistics.median(cpus), rss
for c, what in (("pieces", f"{n} packets in {pieces} pieces"), ("single", f"{n} packets in one file")):
    b1, m1, c1, r1 = stats(c, "1")
    b2, m2, c2, r2 = stats(c, "2")
    a = json.load(open(f"out-{c}-1.json"))
    b = json.load(open(f"out-{c}-2.json"))
    for r in (a, b):
        r.pop("inputs", None)
    print(f"{c} ({what}):")
    print(f"  -j 1: best wall {b1:.2f}s, median {m1:.2f}s, median CPU {c1:.2f}s, max RSS {r1 // 1024} MB")
    print(f"  -j 2: best wall {b2:.2f}s, median {m2:.2f}s, median CPU {c2:.2f}s, max RSS {r2 // 1024} MB")
    print(f"  speed-up -j 2 over -j 1: best {b1 / b2:.2f}x, median {m1 / m2:.2f}x; reports the same: {a == b}")
    w = {(r[0], r[1], i // 4): float(r[2]) for i, r in enumerate(rows)}
    paired = [w[(c, "1", k)] / w[(c, "2", k)] for k in range(len(rows) // 4)]
    print("  each round's -j 1 / -j 2:", " ".join(f"{x:.2f}" for x in paired))
PY
