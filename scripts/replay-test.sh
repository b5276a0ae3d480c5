#!/usr/bin/env bash
# Replays test captures into real receivers — Prometheus 2.42 (remote-write
# receiver, no scrape jobs, fresh TSDB) and VictoriaMetrics — and reads every
# bucket back with PromQL over HTTP: each bucket end must return exactly the
# JSON report's cumulative queries, responses and rcodes. Then backfills the
# OpenMetrics file with promtool and checks `promtool tsdb dump`, and shows a
# capture a year old going into an empty Prometheus but not into one holding
# newer samples. Installs prometheus, victoria-metrics, curl and python3 with
# apt-get when missing; stops only what it started.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v victoria-metrics >/dev/null 2>&1 || need+=(victoria-metrics)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v python3 >/dev/null 2>&1 || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "replay-test: need root to install: ${need[*]}" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

tmp=$(mktemp -d /tmp/visor-replay-test.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
waitfor() { # URL what
  for _ in $(seq 1 100); do curl -fsS "$1" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "replay-test: $2 did not come up at $1" >&2; exit 1
}

start_prometheus() { # NAME -> sets PROM_URL
  local dir=$tmp/$1 port
  port=$(freeport)
  mkdir -p "$dir"
  printf 'global:\n  scrape_interval: 1m\nscrape_configs: []\n' >"$dir/prometheus.yml"
  prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
    --storage.tsdb.retention.time=100y --web.listen-address="127.0.0.1:$port" \
    --web.enable-remote-write-receiver >"$dir/log" 2>&1 &
  pids+=($!)
  PROM_URL=http://127.0.0.1:$port
  waitfor "$PROM_URL/-/ready" "prometheus ($1)"
}

# dashboard_test: the Grafana dashboard on a capture with a finding, a year
# old, replayed at two bucket widths into a fresh Prometheus: every panel's
# query run as Grafana runs it (its own step, the capture's range that visor
# prints, the variables substituted) must give a point per bucket; counters
# equal the JSON report; top tables list what the report lists; the findings
# annotation returns each finding over its span.
dashboard_test() {
  editcap -t -31536000 testdata/attack-random-subdomain.pcap "$tmp/dash.pcap"
  start_prometheus prom-dash
  for b in 1 2; do
    "$visor" analyze --format json --bucket ${b}s "$tmp/dash.pcap" >"$tmp/dash-$b.json"
    "$visor" replay --url "$PROM_URL/api/v1/write" --bucket ${b}s --label capture=dash-$b "$tmp/dash.pcap" 2>"$tmp/dash-$b.err"
    range=$(grep -o 'visor: grafana: ?[^ ]*' "$tmp/dash-$b.err" | sed 's/.*?//')
    if [ -z "$range" ]; then echo "replay-test: replay printed no Grafana range:" >&2; cat "$tmp/dash-$b.err" >&2; exit 1; fi
    python3 scripts/dashboard-check.py dashboards/visor-dns.json "$tmp/dash-$b.json" "$PROM_URL" "$range"
  done
}

echo "replay-test: building visor" >&2
CGO_ENABLED=0 go build -o "$tmp/visor" ./cmd/visor
visor=$tmp/visor

start_prometheus prom
prom=$PROM_URL
vmport=$(freeport)
victoria-metrics -storageDataPath "$tmp/vm" -httpListenAddr "127.0.0.1:$vmport" -retentionPeriod 100y \
  -search.disableCache -search.latencyOffset 0s >"$tmp/vm.log" 2>&1 &
pids+=($!)
vm=http://127.0.0.1:$vmport
waitfor "$vm/health" victoria-metrics
echo "replay-test: prometheus $(prometheus --version 2>&1 | head -1 | awk '{print $3}') at $prom, victoria-metrics at $vm" >&2

# check REPORT.json RECEIVER_URL CAPTURE_LABEL: every bucket end, cumulative values.
check() {
  python3 - "$@" <<'EOF'
import json, sys, time, urllib.parse, urllib.request
rep_path, base, cap = sys.argv[1:4]
rep = json.load(open(rep_path))
def query(q, t):
    url = base + "/api/v1/query?" + urllib.parse.urlencode({"query": q, "time": "%.3f" % t})
    with urllib.request.urlopen(url) as r:
        d = json.load(r)
    if d["status"] != "success":
        raise SystemExit("query failed: %s" % d)
    return d["data"]["result"]
def ts(s):
    from datetime import datetime
    return datetime.strptime(s[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=__import__("datetime").timezone.utc).timestamp() + float("0." + s[20:29])
cum = {"queries": 0, "responses": 0}
rc = {}
checked = 0
prev_end = ts(rep["buckets"][0]["start"]) if rep["buckets"] else None  # the counters' 0 at the run's start
for b in rep["buckets"]:
    cum["queries"] += b["dns"]["queries"]
    cum["responses"] += b["dns"]["responses"]
    for k, v in b["dns"]["rcodes"].items():
        rc[k] = rc.get(k, 0) + v
    t = ts(b["end"])
    want = {'visor_dns_queries_total{capture="%s"}' % cap: cum["queries"],
            'visor_dns_responses_total{capture="%s"}' % cap: cum["responses"]}
    for k, v in rc.items():
        want['visor_dns_rcode_total{capture="%s",rcode="%s"}' % (cap, k)] = v
    for q, v in want.items():
        for attempt in range(50):  # VictoriaMetrics makes new samples searchable within a second or so
            res = query(q, t)
            got = float(res[0]["value"][1]) if len(res) == 1 else None
            if got == v:
                break
            time.sleep(0.2)
        if got != v:
            raise SystemExit("%s: %s at %s = %s, want %s" % (base, q, b["end"], got, v))
        checked += 1
    if prev_end is not None and prev_end == t - rep["bucket_seconds"]:
        q = 'increase(visor_dns_queries_total{capture="%s"}[%ds])' % (cap, rep["bucket_seconds"])
        res = query(q, t)
        got = round(float(res[0]["value"][1]), 6) if res else None
        if got != b["dns"]["queries"]:
            raise SystemExit("%s: %s at %s = %s, want the bucket's %s" % (base, q, b["end"], got, b["dns"]["queries"]))
        checked += 1
    prev_end = t
print("replay-test: %s: %d buckets, %d values equal the report (last: %d queries, rcodes %s)"
      % (base, len(rep["buckets"]), checked, cum["queries"], json.dumps(rc, sort_keys=True)), file=sys.stderr)
EOF
}

for cap in lab-eth lab-tcp; do
  pcap=testdata/$cap.pcap
  "$visor" analyze --format json --bucket 1s "$pcap" >"$tmp/$cap.json"
  for target in "$prom" "$vm"; do
    "$visor" replay --url "$target/api/v1/write" --bucket 1s --label capture="$cap" --batch-samples 500 "$pcap"
    check "$tmp/$cap.json" "$target" "$cap"
  done
done
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); q=r["summary"]["dns"]["queries"]; assert q==1214, q' "$tmp/lab-eth.json"

# OpenMetrics: backfill with promtool, read the blocks back.
"$visor" analyze --format openmetrics --bucket 1s --label capture=om testdata/lab-eth.pcap -o "$tmp/lab-eth.om"
promtool tsdb create-blocks-from openmetrics "$tmp/lab-eth.om" "$tmp/blocks" >"$tmp/promtool.log"
mkdir -p "$tmp/blocks/wal"
promtool tsdb dump "$tmp/blocks" >"$tmp/dump.txt"
last=$(grep '^{__name__="visor_dns_queries_total", capture="om"}' "$tmp/dump.txt" | sort -k4 -n | tail -1 | awk '{print $(NF-1)}')
nx=$(grep '^{__name__="visor_dns_rcode_total", capture="om", rcode="NXDOMAIN"}' "$tmp/dump.txt" | sort -k5 -n | tail -1 | awk '{print $(NF-1)}')
samples=$(grep -c . "$tmp/dump.txt")
if [ "$last" != 1214 ] || [ "$nx" != 594 ]; then
  echo "replay-test: promtool dump: last queries $last, NXDOMAIN $nx; want 1214 and 594" >&2; exit 1
fi
echo "replay-test: promtool backfilled $samples samples; last queries $last, NXDOMAIN $nx" >&2

# A capture a year old: refused (400 out of bounds, exit 2) by the Prometheus
# that already holds this year's samples; taken whole by an empty one.
if command -v editcap >/dev/null 2>&1; then
  editcap -t -31536000 testdata/lab-eth.pcap "$tmp/old.pcap"
  "$visor" analyze --format json --bucket 1s "$tmp/old.pcap" >"$tmp/old.json"
  set +e
  "$visor" replay --url "$prom/api/v1/write" --bucket 1s --label capture=old "$tmp/old.pcap" 2>"$tmp/old.err"
  rc=$?
  set -e
  if [ $rc != 2 ] || ! grep -q "out of bounds" "$tmp/old.err"; then
    echo "replay-test: old capture into a busy Prometheus: exit $rc, want 2 and 'out of bounds':" >&2; cat "$tmp/old.err" >&2; exit 1
  fi
  echo "replay-test: a year-old capture into a Prometheus with newer samples: exit 2, $(grep -o 'out of bounds' "$tmp/old.err" | head -1)" >&2
  start_prometheus prom-fresh
  "$visor" replay --url "$PROM_URL/api/v1/write" --bucket 1s --label capture=old "$tmp/old.pcap"
  check "$tmp/old.json" "$PROM_URL" old
  dashboard_test
else
  echo "replay-test: editcap missing (wireshark-common): skipped the year-old capture and the dashboard" >&2
fi
echo "replay-test: ok" >&2
