#!/usr/bin/env bash
# scripts/lab-dnstap.sh — real dnstap from unbound and knotd, for visor's tests.
#
#   sudo bash scripts/lab-dnstap.sh [OUTDIR]          (default OUTDIR: testdata)
#   sudo bash scripts/lab-dnstap.sh --live [BIN]      (BIN: a built visor, default bin/visor)
#
# File mode writes
#   OUTDIR/unbound.dnstap   unbound 1.17, CLIENT_* and RESOLVER_* messages, through
#                           `fstrm_capture -t protobuf:dnstap.Dnstap -u SOCK -w FILE`
#   OUTDIR/knot.dnstap      knotd 3.2 with knot-module-dnstap (`mod-dnstap`, sink FILE):
#                           AUTH_* messages, from unbound's recursion and from clients
#   OUTDIR/unbound-client.pcap  tcpdump on unbound's client-facing interface, filtered to
#                           unbound's addresses, at the same time (+ its tshark truth via
#                           scripts/truth)
#   OUTDIR/FILE.dnstap-read.json  for each dnstap file: dnstap-read's count of messages per
#                           type, queries (*_QUERY) and responses (*_RESPONSE). (Not
#                           *.truth.json: that name is the tshark truth of a pcap.)
#
# Live mode (--live) checks `visor live --dnstap-socket`: unbound logs to visor's socket
# while a second, identical unbound (same config, same zone data, same queries, sent
# one at a time) logs to fstrm_capture; unbound has only one dnstap sink, so this
# "twin" gives the file written in parallel. It compares visor's final JSON report with
# dnstap-read of the twin's file (queries, responses, per-direction message counts) and
# exits non-zero on a difference.
#
# Network: only namespaces made here (visordt-*), only 198.51.100.0/24 and 2001:db8::/32,
# no default route.
#
#   visordt-cli  vd-cli 198.51.100.10/24 2001:db8:100::10/64   kdig, dnsperf
#        |  veth
#   visordt-srv  vd-srv 198.51.100.1  2001:db8:100::1  unbound (recursive, dnstap)
#                       198.51.100.2  2001:db8:100::2  knotd   (authoritative, dnstap)
#                       198.51.100.3  2001:db8:100::3  the twin unbound (--live only)
#
# Env: VISORDT_KEEP=1 keeps the work directory.
set -euo pipefail

NS_SRV=visordt-srv
NS_CLI=visordt-cli
S4U=198.51.100.1
S6U=2001:db8:100::1
S4K=198.51.100.2
S6K=2001:db8:100::2
S4T=198.51.100.3
S6T=2001:db8:100::3
C4=198.51.100.10
C6=2001:db8:100::10

log() { printf '[lab-dnstap %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root"

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LIVE=0
if [[ ${1:-} == --live ]]; then
	LIVE=1
	VISOR=${2:-$REPO/bin/visor}
	[[ -x $VISOR ]] || die "$VISOR is not an executable visor (make build)"
	VISOR=$(cd "$(dirname "$VISOR")" && pwd)/$(basename "$VISOR")
else
	OUT=${1:-testdata}
	mkdir -p "$OUT"
	OUT=$(cd "$OUT" && pwd)
fi
START=$SECONDS

# ---------------------------------------------------------------- packages
need_bins=(knotd unbound dnsperf kdig tcpdump fstrm_capture dnstap-read jq)
missing=0
for b in "${need_bins[@]}"; do command -v "$b" >/dev/null 2>&1 || missing=1; done
ls /usr/lib/*/knot/modules-*/dnstap.so >/dev/null 2>&1 || missing=1
if [[ $missing -eq 1 ]]; then
	log "installing packages with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	apt-get install -y --no-install-recommends knot knot-module-dnstap knot-dnsutils unbound dnsperf \
		tcpdump fstrm-bin bind9-dnsutils jq
	for b in "${need_bins[@]}"; do command -v "$b" >/dev/null 2>&1 || die "$b still missing"; done
fi

WORK=$(mktemp -d /tmp/visordt.XXXXXX)
chmod 755 "$WORK"
BG_PIDS=()

# shellcheck source=scripts/netns.sh
source "$REPO/scripts/netns.sh"

cleanup() { end_lab "$?" "${VISORDT_KEEP:-0}" "${BG_PIDS[@]}"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- network
setup_net() {
	veth_pair vd-cli vd-srv
	local a
	for a in $S4U $S4K $S4T; do ip -n $NS_SRV addr add $a/24 dev vd-srv; done
	for a in $S6U $S6K $S6T; do ip -n $NS_SRV addr add $a/64 dev vd-srv nodad; done
	ip -n $NS_CLI addr add $C4/24 dev vd-cli
	ip -n $NS_CLI addr add $C6/64 dev vd-cli nodad
	ip -n $NS_SRV link set vd-srv up
	ip -n $NS_CLI link set vd-cli up
}

# ---------------------------------------------------------------- servers
write_configs() {
	local z=$WORK/knot i
	mkdir -p "$z/db" "$z/run"
	cat >"$z/dt-lab.example.zone" <<EOF
\$ORIGIN dt-lab.example.
\$TTL 300
@       SOA   ns1 hostmaster 2024010101 3600 600 86400 60
@       NS    ns1
@       MX    10 mail
@       TXT   "v=spf1 mx -all"
@       A     198.51.100.80
@       AAAA  2001:db8:100::80
ns1     A     198.51.100.2
ns1     AAAA  2001:db8:100::2
www     A     198.51.100.80
www     AAAA  2001:db8:100::80
mail    A     198.51.100.25
alias   CNAME www
_sip._udp SRV 10 5 5060 www
EOF
	for i in $(seq 1 30); do printf 'h%d A 198.51.100.%d\n' "$i" $((150 + i)) >>"$z/dt-lab.example.zone"; done
	cat >"$z/knot.conf" <<EOF
server:
    rundir: "$z/run"
    listen: [ $S4K@53, $S6K@53 ]
log:
  - target: stderr
    any: info
database:
    storage: "$z/db"
mod-dnstap:
  - id: tap
    sink: "$WORK/knot.dnstap"
    identity: "visordt-knot"
    log-queries: on
    log-responses: on
template:
  - id: default
    storage: "$z"
    zonefile-sync: -1
    journal-content: none
    global-module: mod-dnstap/tap
zone:
  - domain: dt-lab.example
EOF
	unbound_conf "$WORK/unbound" $S4U $S6U "visordt-unbound"
	[[ $LIVE -eq 0 ]] || unbound_conf "$WORK/twin" $S4T $S6T "visordt-unbound"
}

# unbound_conf DIR ADDR4 ADDR6 IDENTITY: unbound logging CLIENT_* and RESOLVER_*
# to DIR/dnstap.sock
unbound_conf() {
	local d=$1 a4=$2 a6=$3 id=$4
	mkdir -p "$d"
	cat >"$d/unbound.conf" <<EOF
server:
    verbosity: 1
    use-syslog: no
    logfile: ""
    username: ""
    chroot: ""
    directory: "$d"
    pidfile: "$d/unbound.pid"
    num-threads: 1
    so-reuseport: no
    interface: $a4
    interface: $a6
    port: 53
    do-ip4: yes
    do-ip6: yes
    do-udp: yes
    do-tcp: yes
    access-control: 198.51.100.0/24 allow
    access-control: 2001:db8::/32 allow
    module-config: "iterator"
    do-not-query-localhost: no
    qname-minimisation: no
    outgoing-interface: $a4
    local-zone: "other.example." refuse
remote-control:
    control-enable: no
stub-zone:
    name: "dt-lab.example"
    stub-addr: $S4K
stub-zone:
    name: "."
    stub-addr: 198.51.100.254
dnstap:
    dnstap-enable: yes
    dnstap-socket-path: "$d/dnstap.sock"
    dnstap-send-identity: yes
    dnstap-send-version: yes
    dnstap-identity: "$id"
    dnstap-log-client-query-messages: yes
    dnstap-log-client-response-messages: yes
    dnstap-log-resolver-query-messages: yes
    dnstap-log-resolver-response-messages: yes
EOF
}

# start_bg NAME CMD...: a background process in the server namespace
start_bg() {
	local name=$1
	shift
	ip netns exec $NS_SRV "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
	BG_PIDS+=($!)
	eval "PID_$name=$!"
}

wait_file() { # wait_file PATH WHAT
	local i
	for i in $(seq 1 100); do
		[[ -e $1 ]] && return 0
		sleep 0.1
	done
	die "$2 did not appear ($1)"
}

# wait_listen ADDR: a server listens on ADDR port 53 (UDP and TCP); no query is sent,
# so the dnstap files and the capture hold only the traffic below
wait_listen() {
	local i
	for i in $(seq 1 100); do
		if [[ -n $(nsx $NS_SRV ss -Hlun "src $1:53") && -n $(nsx $NS_SRV ss -Hltn "src $1:53") ]]; then
			return 0
		fi
		sleep 0.1
	done
	cat "$WORK"/*.err >&2
	die "nothing listens on $1 port 53"
}

# ---------------------------------------------------------------- traffic
NAMES=(
	"dt-lab.example SOA" "dt-lab.example NS" "dt-lab.example MX" "dt-lab.example TXT"
	"www.dt-lab.example A" "www.dt-lab.example AAAA" "alias.dt-lab.example A"
	"_sip._udp.dt-lab.example SRV" "mail.dt-lab.example A" "mail.dt-lab.example AAAA"
	"nope.dt-lab.example A" "nope2.dt-lab.example AAAA" "www.other.example A"
)

write_queries() {
	local i round
	for round in 1 2; do
		printf '%s\n' "${NAMES[@]}"
		for i in $(seq 1 30); do printf 'h%d.dt-lab.example %s\n' "$i" "$([[ $((i % 3)) == 0 ]] && echo AAAA || echo A)"; done
		for i in $(seq 1 20); do printf 'missing%d.dt-lab.example A\n' "$i"; done
	done >"$WORK/mixed.txt"
}

kq() { nsx $NS_CLI kdig +retry=0 +timeout=3 "$@" >>"$WORK/kdig.log" 2>&1 || true; }
perf() { nsx $NS_CLI dnsperf -t 3 "$@" >>"$WORK/dnsperf.log" 2>&1 || log "dnsperf $* failed"; }

traffic_files() {
	local s q
	log "kdig UDP and TCP to unbound"
	for s in $S4U $S6U; do
		for q in "${NAMES[@]}"; do
			# shellcheck disable=SC2086
			kq @$s $q
			# shellcheck disable=SC2086
			kq @$s +tcp $q
		done
	done
	log "kdig to knotd (UDP and TCP, v4 and v6)"
	for s in $S4K $S6K; do
		for q in "${NAMES[@]:0:8}"; do
			# shellcheck disable=SC2086
			kq @$s $q
			# shellcheck disable=SC2086
			kq @$s +tcp $q
		done
	done
	log "dnsperf UDP and TCP to unbound"
	perf -f inet -s $S4U -d "$WORK/mixed.txt" -n 1 -Q 300
	perf -f inet6 -s $S6U -d "$WORK/mixed.txt" -n 1 -Q 300
	perf -m tcp -f inet -s $S4U -d "$WORK/mixed.txt" -n 1 -c 1 -q 20
	perf -m tcp -f inet6 -s $S6U -d "$WORK/mixed.txt" -n 1 -c 1 -q 20
}

# one query at a time, to unbound and its twin alike
traffic_twins() {
	local s q
	for s in "$@"; do
		for q in "${NAMES[@]}"; do
			# shellcheck disable=SC2086
			kq @$s $q
			# shellcheck disable=SC2086
			kq @$s +tcp $q
		done
		for q in "h1.dt-lab.example A" "h2.dt-lab.example A" "missing1.dt-lab.example A" "h3.dt-lab.example AAAA"; do
			# shellcheck disable=SC2086
			kq @$s $q
		done
	done
}

# ---------------------------------------------------------------- truth
# dnstap_truth FILE OUT.json: dnstap-read's message types, counted
dnstap_truth() {
	local f=$1 out=$2
	dnstap-read -y "$f" >"$WORK/$(basename "$f").yaml"
	awk -v file="$(basename "$f")" -v tool="dnstap-read (bind9-dnsutils $(dpkg-query -W -f '${Version}' bind9-dnsutils 2>/dev/null || echo unknown))" '
		/^identity: / && id == "" { id = $2 }
		/^version: / && ver == "" { sub(/^version: /, ""); ver = $0 }
		/^message:/ { inmsg = 1; next }
		inmsg && /^  type: / { t[$2]++; n++; if ($2 ~ /_QUERY$/) q++; else if ($2 ~ /_RESPONSE$/) r++ }
		/^---/ { inmsg = 0 }
		END {
			printf "{\n  \"file\": \"%s\",\n  \"tool\": \"%s\",\n  \"identity\": \"%s\",\n  \"version\": \"%s\",\n", file, tool, id, ver
			printf "  \"messages\": %d,\n  \"queries\": %d,\n  \"responses\": %d,\n  \"types\": {", n, q, r
			sep = ""
			for (k in t) { printf "%s\n    \"%s\": %d", sep, k, t[k]; sep = "," }
			printf "\n  }\n}\n"
		}' "$WORK/$(basename "$f").yaml" | jq -S . >"$out"
	log "$(basename "$out"): $(jq -c '{messages,queries,responses,types}' "$out")"
}

# ---------------------------------------------------------------- file mode
run_files() {
	start_bg fstrm fstrm_capture -t protobuf:dnstap.Dnstap -u "$WORK/unbound/dnstap.sock" -w "$WORK/unbound.dnstap"
	wait_file "$WORK/unbound/dnstap.sock" "fstrm_capture's socket"
	start_bg knotd knotd -c "$WORK/knot/knot.conf"
	start_bg unbound unbound -d -c "$WORK/unbound/unbound.conf"
	wait_listen $S4K
	wait_listen $S4U
	sleep 1 # unbound connects its dnstap socket
	# not through nsx: $! must be tcpdump itself (a background subshell ignores SIGINT)
	ip netns exec $NS_SRV tcpdump -Z root -n -i vd-srv -w "$WORK/unbound-client.pcap" \
		"host $S4U or host $S6U" >"$WORK/tcpdump.out" 2>"$WORK/tcpdump.err" &
	BG_PIDS+=($!)
	PID_tcpdump=$!
	local i
	for i in $(seq 1 100); do grep -q 'listening on' "$WORK/tcpdump.err" && break; sleep 0.1; done
	traffic_files
	sleep 1
	kill -INT "$PID_tcpdump"
	wait "$PID_tcpdump" || true
	grep -q '^0 packets dropped by kernel' "$WORK/tcpdump.err" || { cat "$WORK/tcpdump.err" >&2; die "tcpdump dropped packets"; }
	# unbound and knotd write STOP and close their sinks on SIGTERM; fstrm_capture on SIGINT
	kill "$PID_unbound" "$PID_knotd"
	wait "$PID_unbound" "$PID_knotd" || true
	sleep 0.5
	kill -INT "$PID_fstrm"
	wait "$PID_fstrm" || true
	grep -h 'Queries sent\|Queries completed\|Queries lost' "$WORK/dnsperf.log" | sort | uniq -c >&2 || true

	local f sz
	for f in unbound.dnstap knot.dnstap unbound-client.pcap; do
		install -m 0644 "$WORK/$f" "$OUT/$f"
		sz=$(stat -c %s "$OUT/$f")
		log "$OUT/$f: $sz bytes"
		[[ $sz -lt 1048576 ]] || die "$f is 1 MB or more"
	done
	dnstap_truth "$OUT/unbound.dnstap" "$OUT/unbound.dnstap.dnstap-read.json"
	dnstap_truth "$OUT/knot.dnstap" "$OUT/knot.dnstap.dnstap-read.json"
	if command -v go >/dev/null 2>&1; then
		(cd "$REPO" && go run ./scripts/truth "$OUT/unbound-client.pcap")
	else
		log "WARNING: go not in PATH; unbound-client.pcap.truth.json not written"
	fi
}

# ---------------------------------------------------------------- live mode
run_live() {
	# visor's socket must exist before unbound starts: unbound retries, but slowly
	ip netns exec $NS_SRV "$VISOR" live --dnstap-socket "$WORK/unbound/dnstap.sock" --format json \
		-o "$WORK/live.json" >"$WORK/visor.out" 2>"$WORK/visor.err" &
	BG_PIDS+=($!)
	PID_visor=$!
	wait_file "$WORK/unbound/dnstap.sock" "visor's socket"
	start_bg fstrm fstrm_capture -t protobuf:dnstap.Dnstap -u "$WORK/twin/dnstap.sock" -w "$WORK/twin.dnstap"
	wait_file "$WORK/twin/dnstap.sock" "fstrm_capture's socket"
	start_bg knotd knotd -c "$WORK/knot/knot.conf"
	start_bg unbound unbound -d -c "$WORK/unbound/unbound.conf"
	start_bg twin unbound -d -c "$WORK/twin/unbound.conf"
	wait_listen $S4K
	wait_listen $S4U
	wait_listen $S4T
	sleep 1 # both unbounds connect their dnstap sockets
	log "queries to unbound (logging to visor) and its twin (logging to fstrm_capture)"
	traffic_twins $S4U $S6U
	traffic_twins $S4T $S6T
	sleep 1
	kill "$PID_unbound" "$PID_twin"
	wait "$PID_unbound" "$PID_twin" || true
	sleep 0.5
	kill -INT "$PID_fstrm"
	wait "$PID_fstrm" || true
	kill -INT "$PID_visor"
	local rc=0
	wait "$PID_visor" || rc=$?
	[[ $rc -eq 0 ]] || { cat "$WORK/visor.err" >&2; die "visor live exited $rc on SIGINT"; }
	cat "$WORK/visor.err" >&2
	dnstap_truth "$WORK/twin.dnstap" "$WORK/twin.json"
	local want got
	# queries, responses; in = CLIENT_* messages, out = RESOLVER_* messages (pktvisor's rule)
	want=$(jq -c '{queries, responses, in: ((.types.CLIENT_QUERY // 0) + (.types.CLIENT_RESPONSE // 0)),
		out: ((.types.RESOLVER_QUERY // 0) + (.types.RESOLVER_RESPONSE // 0))}' "$WORK/twin.json")
	got=$(jq -c '{queries: .summary.dns.queries, responses: .summary.dns.responses, in: .summary.net.in,
		out: .summary.net.out}' "$WORK/live.json")
	log "dnstap-read of the twin's file: $want"
	log "visor live:                     $got"
	log "visor live inputs: $(jq -c '.inputs' "$WORK/live.json")"
	[[ $want == "$got" ]] || die "visor live differs from dnstap-read"
	# and the DNS detail (rcodes, qtypes, transports) equals visor analyze of the twin's file
	want=$(ip netns exec $NS_SRV "$VISOR" analyze --format json "$WORK/twin.dnstap" |
		jq -c '.summary.dns | {queries, responses, udp, tcp, ipv4, ipv6, nodata, rcodes, qtypes}')
	got=$(jq -c '.summary.dns | {queries, responses, udp, tcp, ipv4, ipv6, nodata, rcodes, qtypes}' "$WORK/live.json")
	log "visor analyze of the twin's file: $want"
	[[ $want == "$got" ]] || die "visor live differs from visor analyze of the twin's file: $got"
	jq -e '.summary.dns.queries > 0' "$WORK/live.json" >/dev/null || die "visor live saw no queries"
	log "visor live agrees with dnstap-read"
}

log "work directory $WORK"
setup_net
write_configs
write_queries
if [[ $LIVE -eq 1 ]]; then
	run_live
else
	run_files
fi
log "done in $((SECONDS - START)) s"
