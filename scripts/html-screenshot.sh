#!/usr/bin/env bash
# Remakes docs/html-report.png: the HTML report (--format html) of the
# attack capture testdata/attack-random-subdomain.pcap (--bucket 1s, a
# random-subdomain finding) as headless Chromium draws it, without network.
# Needs chromium (scripts/deps.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v chromium >/dev/null 2>&1 || { echo "html-screenshot: chromium not found (scripts/deps.sh installs it)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/visor-html-shot.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=0 go build -o "$tmp/visor" ./cmd/visor
# On stdout with a relative input: the command line shown is the one a user types.
"$tmp/visor" analyze --bucket 1s --format html testdata/attack-random-subdomain.pcap >"$tmp/report.html"
chromium --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars --user-data-dir="$tmp/profile" \
  --no-proxy-server --host-resolver-rules='MAP * ~NOTFOUND' --virtual-time-budget=5000 \
  --window-size=1100,1500 --screenshot="$tmp/shot.png" "file://$tmp/report.html" 2>/dev/null
cp "$tmp/shot.png" docs/html-report.png
echo "html-screenshot: docs/html-report.png ($(stat -c %s docs/html-report.png) bytes), from a $(stat -c %s "$tmp/report.html")-byte page" >&2
