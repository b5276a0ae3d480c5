#!/usr/bin/env bash
# scripts/lab.sh — build a small DNS lab in network namespaces, drive traffic
# through it and capture that traffic as test data for visor.
#
#   sudo bash scripts/lab.sh [OUTDIR]        (default OUTDIR: testdata)
#
# Writes OUTDIR/lab-eth.pcap (Ethernet, microsecond), OUTDIR/lab-sll2.pcap
# (tcpdump -i any: LINUX_SLL2, nanosecond magic), OUTDIR/lab.pcapng (dumpcap)
# — the same client-side traffic captured three ways at once — plus
# OUTDIR/lab-tcp.pcap (Ethernet, mostly DNS over TCP), then runs
# `go run ./scripts/truth` on each to write FILE.truth.json.
#
# Network: only namespaces made here (visorlab-*), only 198.51.100.0/24 and
# 2001:db8::/32. The server namespace has no default route, so nothing can
# leave it; the "unreachable" upstream is a blackhole route.
#
#   visorlab-cli  vl-cli 198.51.100.10/24 2001:db8:100::10/64
#                 (+ /32 and /128 aliases .101-.108, ::101-::104 for the
#                  random-subdomain burst)
#        |  veth
#   visorlab-srv  vl-srv 198.51.100.1  2001:db8:100::1  unbound (recursive)
#                        198.51.100.2  2001:db8:100::2  knotd   (authoritative)
#                 blackhole 198.51.100.254 (stub for broken.example)
#
# Captures run in visorlab-cli, whose only traffic is on vl-cli (lo is idle),
# so `tcpdump -i vl-cli`, `tcpdump -i any` and `dumpcap -i vl-cli` see the same
# packets. unbound->knotd traffic stays inside visorlab-srv and is not captured.
#
# Env: VISORLAB_KEEP=1 keeps the work directory (configs, logs) for debugging.
set -euo pipefail

NS_SRV=visorlab-srv
NS_CLI=visorlab-cli
S4U=198.51.100.1    # unbound
S6U=2001:db8:100::1
S4K=198.51.100.2    # knotd
S6K=2001:db8:100::2
C4=198.51.100.10
C6=2001:db8:100::10
DEAD=198.51.100.254 # blackholed in the server namespace

log() { printf '[lab %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root (sudo bash scripts/lab.sh)"

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-testdata}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
START=$SECONDS

# ---------------------------------------------------------------- packages
need_bins=(knotd unbound dnsperf kdig tshark dumpcap tcpdump ethtool)
missing=0
for b in "${need_bins[@]}"; do command -v "$b" >/dev/null 2>&1 || missing=1; done
if [[ $missing -eq 1 ]]; then
	log "installing packages with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	apt-get install -y --no-install-recommends knot knot-dnsutils unbound dnsperf tcpdump tshark ethtool
	for b in "${need_bins[@]}"; do command -v "$b" >/dev/null 2>&1 || die "$b still missing"; done
fi
command -v go >/dev/null 2>&1 || log "WARNING: go not in PATH; truth files will not be written"

WORK=$(mktemp -d /tmp/visorlab.XXXXXX)
CAP_PIDS=()

# shellcheck source=scripts/netns.sh
source "$REPO/scripts/netns.sh"

cleanup() { end_lab "$?" "${VISORLAB_KEEP:-0}" "${CAP_PIDS[@]}"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- network
setup_net() {
	veth_pair vl-cli vl-srv
	ip -n $NS_SRV addr add $S4U/24 dev vl-srv
	ip -n $NS_SRV addr add $S4K/24 dev vl-srv
	ip -n $NS_SRV addr add $S6U/64 dev vl-srv nodad
	ip -n $NS_SRV addr add $S6K/64 dev vl-srv nodad
	ip -n $NS_SRV route add blackhole $DEAD/32
	ip -n $NS_CLI addr add $C4/24 dev vl-cli
	ip -n $NS_CLI addr add $C6/64 dev vl-cli nodad
	local i
	for i in $(seq 101 108); do ip -n $NS_CLI addr add 198.51.100.$i/32 dev vl-cli; done
	for i in $(seq 101 104); do ip -n $NS_CLI addr add 2001:db8:100::$i/128 dev vl-cli nodad; done
	# no segmentation offload: TCP segments on the wire (and in the captures)
	# stay within the 1500-byte MTU, so a 3.4 kB answer spans several segments
	nsx $NS_SRV ethtool -K vl-srv tso off gso off gro off >/dev/null 2>&1 || log "WARNING: ethtool -K vl-srv failed"
	nsx $NS_CLI ethtool -K vl-cli tso off gso off gro off >/dev/null 2>&1 || log "WARNING: ethtool -K vl-cli failed"
	ip -n $NS_SRV link set vl-srv up
	ip -n $NS_CLI link set vl-cli up
}

# ---------------------------------------------------------------- servers
write_zones() {
	mkdir -p "$WORK/knot/db" "$WORK/knot/run" "$WORK/unbound"
	local z=$WORK/knot
	local big i s
	s=$(printf 'visor-lab-big-txt-%03d-' 0)
	cat >"$z/visor-lab.example.zone" <<EOF
\$ORIGIN visor-lab.example.
\$TTL 300
@       SOA   ns1 hostmaster 2024010101 3600 600 86400 60
@       NS    ns1
@       NS    ns2
@       MX    10 mail
@       MX    20 mail2
@       TXT   "v=spf1 mx -all"
@       A     198.51.100.80
@       AAAA  2001:db8:100::80
ns1     A     198.51.100.2
ns1     AAAA  2001:db8:100::2
ns2     A     198.51.100.2
www     A     198.51.100.80
www     AAAA  2001:db8:100::80
mail    A     198.51.100.25
mail    AAAA  2001:db8:100::25
mail2   A     198.51.100.26
alias   CNAME www
multi   A     198.51.100.31
multi   A     198.51.100.32
multi   A     198.51.100.33
multi   A     198.51.100.34
_sip._udp SRV 10 5 5060 www
EOF
	for i in $(seq 1 20); do printf 'h%d A 198.51.100.%d\n' "$i" $((150 + i)) >>"$z/visor-lab.example.zone"; done
	# ~3.4 kB TXT RRset: fragments over UDP with a 4096 buffer, spans TCP segments
	big=""
	for i in $(seq 1 16); do
		s=$(printf 'visor-lab-big-txt-%02d-' "$i")
		while [[ ${#s} -lt 200 ]]; do s="${s}abcdefghij"; done
		big="$big \"${s:0:200}\""
	done
	printf 'big TXT%s\n' "$big" >>"$z/visor-lab.example.zone"

	cat >"$z/victim.example.zone" <<EOF
\$ORIGIN victim.example.
\$TTL 300
@       SOA   ns1 hostmaster 2024010101 3600 600 86400 60
@       NS    ns1
ns1     A     198.51.100.2
www     A     198.51.100.90
EOF
	cat >"$z/100.51.198.in-addr.arpa.zone" <<EOF
\$ORIGIN 100.51.198.in-addr.arpa.
\$TTL 300
@       SOA   ns1.visor-lab.example. hostmaster.visor-lab.example. 1 3600 600 86400 60
@       NS    ns1.visor-lab.example.
1       PTR   resolver.visor-lab.example.
2       PTR   ns1.visor-lab.example.
80      PTR   www.visor-lab.example.
EOF
	cat >"$z/knot.conf" <<EOF
server:
    rundir: "$z/run"
    listen: [ $S4K@53, $S6K@53 ]
    udp-max-payload: 4096
log:
  - target: stderr
    any: info
database:
    storage: "$z/db"
template:
  - id: default
    storage: "$z"
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: visor-lab.example
  - domain: victim.example
  - domain: 100.51.198.in-addr.arpa
EOF

	cat >"$WORK/unbound/unbound.conf" <<EOF
server:
    verbosity: 1
    use-syslog: no
    logfile: ""
    username: ""
    chroot: ""
    directory: "$WORK/unbound"
    pidfile: "$WORK/unbound/unbound.pid"
    num-threads: 1
    so-reuseport: no
    interface: $S4U
    interface: $S6U
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
    outgoing-interface: $S4U
    outgoing-interface: $S6U
    # answers over 1232 bytes go out truncated (TC=1) over UDP: kdig retries over TCP
    max-udp-size: 1232
    # RFC 6761/6303 default zones that would short-circuit the lab
    local-zone: "100.51.198.in-addr.arpa." nodefault
    local-zone: "other.example." refuse
remote-control:
    control-enable: no
stub-zone:
    name: "visor-lab.example"
    stub-addr: $S4K
stub-zone:
    name: "victim.example"
    stub-addr: $S4K
stub-zone:
    name: "100.51.198.in-addr.arpa"
    stub-addr: $S4K
stub-zone:
    name: "broken.example"
    stub-addr: $DEAD
stub-zone:
    # everything else (root priming included) goes to the blackhole too
    name: "."
    stub-addr: $DEAD
EOF
}

start_servers() {
	ip netns exec $NS_SRV knotd -c "$WORK/knot/knot.conf" >"$WORK/knotd.log" 2>&1 &
	ip netns exec $NS_SRV unbound -d -c "$WORK/unbound/unbound.conf" >"$WORK/unbound.log" 2>&1 &
	local i
	for i in $(seq 1 50); do
		if nsx $NS_CLI kdig +retry=0 +timeout=1 +short @$S4K visor-lab.example SOA 2>/dev/null | grep -q hostmaster &&
			nsx $NS_CLI kdig +retry=0 +timeout=1 +short @$S6U www.visor-lab.example A 2>/dev/null | grep -q 198.51.100.80; then
			log "knotd and unbound answer"
			return 0
		fi
		sleep 0.2
	done
	cat "$WORK/knotd.log" "$WORK/unbound.log" >&2
	die "servers did not come up"
}

# ---------------------------------------------------------------- query files
write_queries() {
	local q=$WORK/q
	mkdir -p "$q"
	# mixed workload for dnsperf (no EDNS, so nothing here needs > 512 bytes)
	{
		local round i
		for round in 1 2; do
			cat <<EOF
visor-lab.example SOA
visor-lab.example NS
visor-lab.example MX
visor-lab.example TXT
visor-lab.example A
visor-lab.example AAAA
www.visor-lab.example A
www.visor-lab.example AAAA
www.visor-lab.example TXT
www.visor-lab.example MX
mail.visor-lab.example A
mail.visor-lab.example AAAA
mail2.visor-lab.example AAAA
alias.visor-lab.example A
multi.visor-lab.example A
_sip._udp.visor-lab.example SRV
www.victim.example A
www.victim.example AAAA
nope.visor-lab.example A
missing.victim.example TXT
x.broken.example A
www.other.example A
80.100.51.198.in-addr.arpa PTR
EOF
			for i in $(seq 1 40); do printf 'h%d.visor-lab.example %s\n' "$i" "$([[ $((i % 3)) == 0 ]] && echo AAAA || echo A)"; done
		done
	} >"$q/mixed.txt"
	# random subdomains of victim.example: one file per source address so no
	# name repeats (dnsperf reads its file from the top)
	random_names "$q" 20240101 320 240 30 20
}

# ---------------------------------------------------------------- captures
cap_start() { # cap_start NAME CMD...
	local name=$1
	shift
	# not through nsx: $! must be the capture process itself (ip netns exec execs it)
	ip netns exec $NS_CLI "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
	CAP_PIDS+=($!)
	local i
	for i in $(seq 1 100); do
		if grep -qE 'listening on|Capturing on' "$WORK/$name.err" 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	cat "$WORK/$name.err" >&2
	die "capture $name did not start"
}

cap_stop_all() {
	sleep 2 # let the last answers and FINs land
	local p
	for p in "${CAP_PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
	for p in "${CAP_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	CAP_PIDS=()
}

check_drops() { # check_drops NAME...
	local n
	for n in "$@"; do
		if grep -q 'dropped by kernel' "$WORK/$n.err"; then
			grep -q '^0 packets dropped by kernel' "$WORK/$n.err" || { cat "$WORK/$n.err" >&2; die "$n dropped packets"; }
		elif grep -q 'Packets received/dropped' "$WORK/$n.err"; then
			grep -Eq 'Packets received/dropped on interface .*: [0-9]+/0 ' "$WORK/$n.err" || { cat "$WORK/$n.err" >&2; die "$n dropped packets"; }
		else
			cat "$WORK/$n.err" >&2
			die "no drop statistics from $n"
		fi
		log "$n: $(grep -E 'captured|received/dropped' "$WORK/$n.err" | tr '\n' ' ')"
	done
}

# ---------------------------------------------------------------- traffic
KD=(kdig +retry=0 +timeout=3)
kq() { nsx $NS_CLI "${KD[@]}" "$@" >>"$WORK/kdig.log" 2>&1 || true; }
perf() { nsx $NS_CLI dnsperf -t 3 "$@" >>"$WORK/dnsperf.log" 2>&1 || log "dnsperf $* failed"; }

SINGLE=(
	"visor-lab.example SOA" "visor-lab.example NS" "visor-lab.example MX" "visor-lab.example TXT"
	"visor-lab.example ANY" "www.visor-lab.example A" "www.visor-lab.example AAAA"
	"www.visor-lab.example TXT" "www.visor-lab.example MX" "alias.visor-lab.example A"
	"_sip._udp.visor-lab.example SRV" "mail.visor-lab.example A" "nope.visor-lab.example A"
	"www.victim.example A" "x.broken.example A" "www.other.example A"
	"1.100.51.198.in-addr.arpa PTR" "multi.visor-lab.example A"
)

traffic_main() {
	local s q i
	log "kdig UDP"
	for s in $S4U $S6U $S4K $S6K; do
		for q in "${SINGLE[@]}"; do
			# shellcheck disable=SC2086
			kq @$s $q
		done
		# 3.4 kB answer: knotd sends IP fragments; unbound truncates (TC=1) and kdig retries over TCP
		kq @$s +bufsize=4096 big.visor-lab.example TXT
	done
	log "kdig TCP"
	for s in $S4U $S6K; do
		for q in "${SINGLE[@]}"; do
			# shellcheck disable=SC2086
			kq @$s +tcp $q
		done
	done
	log "kdig TCP keepopen"
	for s in $S4U $S6U $S4K $S6K; do
		kq @$s +tcp +keepopen www.visor-lab.example A mail.visor-lab.example AAAA visor-lab.example MX \
			nope.visor-lab.example A www.visor-lab.example TXT big.visor-lab.example TXT
	done
	log "dnsperf UDP"
	perf -f inet -s $S4U -d "$WORK/q/mixed.txt" -n 1 -Q 300
	perf -f inet6 -s $S6U -d "$WORK/q/mixed.txt" -n 1 -Q 300
	perf -f inet -s $S4K -d "$WORK/q/mixed.txt" -n 1 -Q 300
	perf -f inet6 -s $S6K -d "$WORK/q/mixed.txt" -n 1 -Q 300
	log "dnsperf TCP"
	perf -m tcp -f inet -s $S4U -d "$WORK/q/mixed.txt" -n 1 -c 1 -q 20
	perf -m tcp -f inet6 -s $S6K -d "$WORK/q/mixed.txt" -n 1 -c 1 -q 20
	log "random-subdomain burst (12 sources, 320 names)"
	local pids=()
	for i in $(seq 0 7); do
		perf -f inet -a 198.51.100.$((101 + i)) -s $S4U -d "$WORK/q/rnd4-$i.txt" -n 1 -Q 100 &
		pids+=($!)
	done
	for i in $(seq 0 3); do
		perf -f inet6 -a 2001:db8:100::$((101 + i)) -s $S6U -d "$WORK/q/rnd6-$i.txt" -n 1 -Q 100 &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || true; done
}

traffic_tcp() {
	local s q
	log "TCP capture: dnsperf -m tcp"
	perf -m tcp -f inet6 -s $S6U -d "$WORK/q/mixed.txt" -n 1 -c 2 -q 50
	perf -m tcp -f inet -s $S4K -d "$WORK/q/mixed.txt" -n 1 -c 2 -q 50
	log "TCP capture: kdig +tcp +keepopen"
	for s in $S4U $S6U $S4K $S6K; do
		kq @$s +tcp +keepopen www.visor-lab.example A www.visor-lab.example AAAA visor-lab.example SOA \
			nope.visor-lab.example A x.broken.example A www.other.example A big.visor-lab.example TXT \
			_sip._udp.visor-lab.example SRV
	done
	log "TCP capture: a few UDP queries"
	for q in "${SINGLE[@]:0:6}"; do
		# shellcheck disable=SC2086
		kq @$S4U $q
	done
}

# ---------------------------------------------------------------- main
log "work directory $WORK"
setup_net
write_zones
start_servers
write_queries
sleep 1 # let IPv6/ARP setup chatter settle before capturing

log "capture 1: lab-eth.pcap, lab-sll2.pcap, lab.pcapng"
cap_start eth tcpdump -Z root -n -i vl-cli -w "$WORK/lab-eth.pcap"
cap_start sll2 tcpdump -Z root -n -i any --time-stamp-precision=nano -w "$WORK/lab-sll2.pcap"
cap_start ng dumpcap -q -i vl-cli -w "$WORK/lab.pcapng"
sleep 0.5
traffic_main
cap_stop_all
check_drops eth sll2 ng

log "capture 2: lab-tcp.pcap"
cap_start tcp tcpdump -Z root -n -i vl-cli -w "$WORK/lab-tcp.pcap"
sleep 0.5
traffic_tcp
cap_stop_all
check_drops tcp

grep -h 'Queries sent\|Queries completed\|Queries lost' "$WORK/dnsperf.log" | sort | uniq -c >&2 || true

files=(lab-eth.pcap lab-sll2.pcap lab.pcapng lab-tcp.pcap)
for f in "${files[@]}"; do
	install -m 0644 "$WORK/$f" "$OUT/$f"
	sz=$(stat -c %s "$OUT/$f")
	log "$OUT/$f: $sz bytes"
	[[ $sz -lt 2097152 ]] || log "WARNING: $f is 2 MB or more"
done

if command -v go >/dev/null 2>&1; then
	paths=()
	for f in "${files[@]}"; do paths+=("$OUT/$f"); done
	(cd "$REPO" && go run ./scripts/truth "${paths[@]}")
	# the three simultaneous captures must agree on every DNS count
	for f in lab-sll2.pcap lab.pcapng; do
		if ! diff <(grep -v '"file"\|"packets"' "$OUT/lab-eth.pcap.truth.json") \
			<(grep -v '"file"\|"packets"' "$OUT/$f.truth.json") >&2; then
			die "DNS truth of $f differs from lab-eth.pcap"
		fi
	done
	log "lab-eth.pcap, lab-sll2.pcap and lab.pcapng have the same DNS truth"
fi
log "done in $((SECONDS - START)) s"
