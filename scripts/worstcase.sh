#!/usr/bin/env bash
# Resource bounds on hostile input: generated worst cases (half-open TCP,
# buffered partial messages, fragments that never complete, millions of
# distinct names) must keep visor's peak RSS under the bound and show in
# integrity what the bounds dropped. Peak RSS comes from /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."
BOUND_MB=${VISOR_RSS_BOUND_MB:-200}
SCALE=${VISOR_WORSTCASE_SCALE:-1}
tmp=$(mktemp -d /tmp/visor-worst.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=0 go build -o "$tmp/visor" ./cmd/visor
go build -o "$tmp/gencap" ./scripts/gencap
fail=0
check() { # kind n integrity-key...
  local kind=$1 n=$2; shift 2
  "$tmp/gencap" "$kind" "$n" "$tmp/$kind.pcap"
  /usr/bin/time -f '%M' -o "$tmp/rss" "$tmp/visor" analyze --format json -o "$tmp/$kind.json" "$tmp/$kind.pcap"
  local kb; kb=$(tail -1 "$tmp/rss"); local mb=$((kb / 1024))
  local verdict=ok
  if [ "$mb" -ge "$BOUND_MB" ]; then verdict="OVER ${BOUND_MB} MB"; fail=1; fi
  for key in "$@"; do
    if ! grep -q "\"$key\": [1-9]" "$tmp/$kind.json"; then verdict="$verdict; integrity lacks $key"; fail=1; fi
  done
  printf 'worstcase %-10s %9d records  peak RSS %4d MB  %s\n' "$kind" "$n" "$mb" "$verdict"
}
check halfopen $((300000 * SCALE)) tcp_streams_evicted
check tcpbuf $((200000 * SCALE)) tcp_streams_evicted
check fragflood $((200000 * SCALE)) ip_fragments_evicted ip_fragments_incomplete
check names $((2000000 * SCALE)) dns_queries_unanswered_at_end
exit $fail
