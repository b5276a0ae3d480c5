#!/usr/bin/env python3
"""Runs every query of dashboards/visor-dns.json as Grafana would and checks
the answers against visor's JSON report of the same capture.

usage: dashboard-check.py DASHBOARD.json REPORT.json PROMETHEUS_URL 'from=MS&to=MS&var-bucket=B&var-capture=C'

The last argument is what `visor replay` printed. Each time-series panel is
queried with query_range over [from, to] at the panel's step (its minimum
interval, $bucket), the variables substituted as Grafana does; it must give
a point at every bucket's end. Counter panels must equal the report bucket
by bucket; top tables (instant, over $__range) list a name exactly when the
report's whole-run list has names; the findings annotation returns every
finding over its span. Exit status 1 with the reason on any mismatch.
"""
import json
import sys
import time
import urllib.parse
import urllib.request
from datetime import datetime, timezone

dash_path, rep_path, base, qs = sys.argv[1:5]
dash = json.load(open(dash_path))
rep = json.load(open(rep_path))
q = dict(urllib.parse.parse_qsl(qs))
frm, to = int(q["from"]), int(q["to"])
bucket, capture = q["var-bucket"], q["var-capture"]
step = {"s": 1, "m": 60, "h": 3600}[bucket[-1]] * int(bucket[:-1])
if step != rep["bucket_seconds"]:
    sys.exit("dashboard-check: var-bucket %s is not the report's %s s" % (bucket, rep["bucket_seconds"]))


def ms(s):
    d = datetime.strptime(s[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return int(round(d.timestamp() * 1000 + int(s[20:29]) / 1e6))


ends = [ms(b["end"]) for b in rep["buckets"]]
if ends[0] - step * 1000 != frm or ends[-1] != to:
    sys.exit("dashboard-check: printed range %d..%d, buckets %d..%d" % (frm, to, ends[0] - step * 1000, ends[-1]))


def subst(expr):
    # Grafana's interval is the panel's minimum ($bucket) when the range has
    # fewer buckets than the panel has data points, as here.
    return (expr.replace("$capture", capture).replace("$__interval", bucket).replace("$__range", "%ds" % ((to - frm) // 1000))
            .replace("$bucket", bucket))


def get(path, params):
    url = base + path + "?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url) as r:
        d = json.load(r)
    if d["status"] != "success":
        sys.exit("dashboard-check: %s failed: %s" % (url, d))
    return d["data"]["result"]


def query_range(expr):
    return get("/api/v1/query_range", {"query": subst(expr), "start": "%.3f" % (frm / 1000), "end": "%.3f" % (to / 1000), "step": "%ds" % step})


checked = 0
series_by_title = {}
for p in dash["panels"]:
    if p["type"] != "timeseries":
        continue
    if p.get("interval") != "$bucket":
        sys.exit("dashboard-check: panel %r: minimum interval %r, want $bucket" % (p["title"], p.get("interval")))
    stamps = set()
    for t in p["targets"]:
        res = query_range(t["expr"])
        series_by_title.setdefault(p["title"], []).append(res)
        for s in res:
            stamps.update(int(round(float(v[0]) * 1000)) for v in s["values"])
    if sorted(stamps) != ends:
        sys.exit("dashboard-check: panel %r: points at %d times, want the %d bucket ends (missing %s)"
                 % (p["title"], len(stamps), len(ends), sorted(set(ends) - stamps)[:5]))
    checked += 1


def values(res, want_labels=None):
    for s in res:
        if want_labels is None or all(s["metric"].get(k) == v for k, v in want_labels.items()):
            return {int(round(float(v[0]) * 1000)): float(v[1]) for v in s["values"]}
    return {}


def equal(title, got, want, what):
    for e, w in zip(ends, want):
        g = got.get(e)
        if g is None or abs(g * step - w) > 1e-6 * max(1, w):
            sys.exit("dashboard-check: panel %r: %s at %d = %s/s x %d s, want %s" % (title, what, e, g, step, w))


qr = series_by_title["DNS queries and responses per second"]
equal("queries", values(qr[0]), [b["dns"]["queries"] for b in rep["buckets"]], "queries")
equal("responses", values(qr[1]), [b["dns"]["responses"] for b in rep["buckets"]], "responses")
rc = series_by_title["Responses per second by rcode"][0]
for code in sorted({k for b in rep["buckets"] for k in b["dns"]["rcodes"]}):
    equal("rcode", values(rc, {"rcode": code}), [b["dns"]["rcodes"].get(code, 0) for b in rep["buckets"]], code)
pk = series_by_title["Network packets per second"][0]
equal("packets", values(pk), [b["net"]["packets"] for b in rep["buckets"]], "packets")

# Top tables: instant queries at the range's end over $__range.
tops = {"visor_dns_top_qname_messages": "qname", "visor_dns_top_qname2_messages": "qname2",
        "visor_dns_top_nxdomain_responses": "nxdomain", "visor_dns_top_client_queries": "clients",
        "visor_dns_top_servfail_responses": "servfail", "visor_dns_top_slow_xacts": "slow"}
tables = 0
for p in dash["panels"]:
    if p["type"] != "table":
        continue
    t = p["targets"][0]
    key = next(v for k, v in tops.items() if k in t["expr"])
    res = get("/api/v1/query", {"query": subst(t["expr"]), "time": "%.3f" % (to / 1000)})
    want = [i["name"] for i in rep["summary"]["dns"]["top"][key]]
    label = "client" if key == "clients" else "qname"
    got = [s["metric"][label] for s in sorted(res, key=lambda s: -float(s["value"][1]))]
    if bool(got) != bool(want) or (want and got[0] not in want):
        sys.exit("dashboard-check: table %r: %s, the report's top %s is %s" % (p["title"], got[:3], key, want[:3]))
    tables += len(want) > 0

# The findings annotation, queried as Grafana does (range, step = $bucket).
ann = [a for a in dash["annotations"]["list"] if "expr" in a]
if len(ann) != 1 or ann[0]["step"] != "$bucket":
    sys.exit("dashboard-check: want one Prometheus annotation stepping by $bucket, have %s" % ann)
res = query_range(ann[0]["expr"])
if len(rep["findings"]) == 0:
    sys.exit("dashboard-check: the report has no finding to look for")
for f in rep["findings"]:
    target = f["evidence"].get("zone") or f["evidence"].get("target") or ""
    pts = values(res, {"kind": f["kind"], "severity": f["severity"], "target": target})
    s, e = ms(f["start"]), ms(f["end"])
    first, last = s // (step * 1000) * step * 1000, -(-e // (step * 1000)) * step * 1000
    want = list(range(max(first, frm), min(last, to) + 1, step * 1000))
    if sorted(pts) != want or set(pts.values()) != {1.0}:
        sys.exit("dashboard-check: finding %s %s %s..%s: annotation points %s, want 1 at %s"
                 % (f["kind"], target, f["start"], f["end"], sorted(pts), want))
print("dashboard-check: %s (--bucket %s): %d time-series panels with a point per bucket (%d buckets), queries, responses, "
      "%d rcodes and packets equal the report, %d top tables listed, %d finding(s) annotated"
      % (capture, bucket, checked, len(ends), len({k for b in rep["buckets"] for k in b["dns"]["rcodes"]}), tables,
         len(rep["findings"])), file=sys.stderr)
