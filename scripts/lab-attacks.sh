#!/usr/bin/env bash
# scripts/lab-attacks.sh — real attack traffic for visor's findings tests.
#
#   sudo bash scripts/lab-attacks.sh [OUTDIR]     (default OUTDIR: testdata)
#
# Builds two network namespaces (visorat-cli, visorat-srv) joined by a veth
# pair, runs knotd (authoritative) and unbound (recursive, with one upstream
# that cannot be reached) in visorat-srv, and captures in visorat-cli, one
# pcap per scenario, each with an ordinary background mix (dnsperf at
# ~40 qps over mixed names) around the attack:
#
#   attack-random-subdomain.pcap  random labels under victim.example from 40 sources (knotd)
#   attack-nxdomain.pcap          a few nonexistent names under flood.example, repeated fast
#   attack-servfail.pcap          names under broken.example at unbound, whose upstream is unreachable
#   attack-query-flood.pcap       one source (198.51.100.77) at ~2500 qps
#   attack-amplification.pcap     ANY and 3 kB TXT answers (EDNS 4096) towards 198.51.100.66
#   attack-tunnel.pcap            long random labels, TXT, under tunnel.example
#   attack-syn-flood.pcap         TCP SYNs to knotd port 53 (raw socket), no handshake
#   attack-ordinary.pcap          only the ordinary mix (plus kdig over UDP and TCP)
#
# and for each FILE a FILE.findings.json: {"file", "kind", "zone" or "target",
# "start"}, where start is the capture time (RFC 3339, UTC) at which the
# script launched the attack — taken from the clock of this machine, the same
# clock tcpdump stamps packets with.
#
# Network: only namespaces made here (visorat-*), only 198.51.100.0/24 and
# 2001:db8::/32, no default route anywhere.
#
#   visorat-cli  va-cli 198.51.100.10/24 2001:db8:100::10/64, aliases
#                198.51.100.101-140, 2001:db8:100::101-108 (random-subdomain
#                sources), .66 (amplification target), .77 (flooder), .88 (tunnel)
#        | veth
#   visorat-srv  va-srv 198.51.100.1 2001:db8:100::1 unbound; .2 ::2 knotd;
#                blackhole 198.51.100.254 (upstream of broken.example)
#
# Env: VISORAT_KEEP=1 keeps the work directory.
set -euo pipefail

NS_SRV=visorat-srv
NS_CLI=visorat-cli
S4U=198.51.100.1
S6U=2001:db8:100::1
S4K=198.51.100.2
S6K=2001:db8:100::2
C4=198.51.100.10
C6=2001:db8:100::10
AMP=198.51.100.66
FLOOD=198.51.100.77
TUN=198.51.100.88
DEAD=198.51.100.254

log() { printf '[lab-attacks %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root"
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-testdata}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
START=$SECONDS

need_bins=(knotd unbound dnsperf kdig tcpdump ethtool python3)
missing=0
for b in "${need_bins[@]}"; do command -v "$b" >/dev/null 2>&1 || missing=1; done
if [[ $missing -eq 1 ]]; then
	log "installing packages with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	apt-get install -y --no-install-recommends knot knot-dnsutils unbound dnsperf tcpdump ethtool python3
	for b in "${need_bins[@]}"; do command -v "$b" >/dev/null 2>&1 || die "$b still missing"; done
fi

WORK=$(mktemp -d /tmp/visorat.XXXXXX)
CAP_PIDS=()
BG_PIDS=()
# shellcheck source=scripts/netns.sh
source "$REPO/scripts/netns.sh"

cleanup() { end_lab "$?" "${VISORAT_KEEP:-0}" "${CAP_PIDS[@]}" "${BG_PIDS[@]}"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

setup_net() {
	veth_pair va-cli va-srv
	local i
	ip -n $NS_SRV addr add $S4U/24 dev va-srv
	ip -n $NS_SRV addr add $S4K/24 dev va-srv
	ip -n $NS_SRV addr add $S6U/64 dev va-srv nodad
	ip -n $NS_SRV addr add $S6K/64 dev va-srv nodad
	ip -n $NS_SRV route add blackhole $DEAD/32
	ip -n $NS_CLI addr add $C4/24 dev va-cli
	ip -n $NS_CLI addr add $C6/64 dev va-cli nodad
	for i in $(seq 101 140) 66 77 88; do ip -n $NS_CLI addr add 198.51.100.$i/32 dev va-cli; done
	for i in $(seq 101 108); do ip -n $NS_CLI addr add 2001:db8:100::$i/128 dev va-cli nodad; done
	nsx $NS_SRV ethtool -K va-srv tso off gso off gro off >/dev/null 2>&1 || true
	nsx $NS_CLI ethtool -K va-cli tso off gso off gro off >/dev/null 2>&1 || true
	ip -n $NS_SRV link set va-srv up
	ip -n $NS_CLI link set va-cli up
}

write_config() {
	local z=$WORK/knot i s big
	mkdir -p "$z/db" "$z/run" "$WORK/unbound" "$WORK/q"
	cat >"$z/visor-lab.example.zone" <<Z
\$ORIGIN visor-lab.example.
\$TTL 300
@     SOA  ns1 hostmaster 1 3600 600 86400 60
@     NS   ns1
@     MX   10 mail
@     TXT  "v=spf1 mx -all"
@     A    198.51.100.80
ns1   A    198.51.100.2
www   A    198.51.100.80
www   AAAA 2001:db8:100::80
mail  A    198.51.100.25
alias CNAME www
Z
	for i in $(seq 1 20); do printf 'h%d A 198.51.100.%d\n' "$i" $((150 + i)) >>"$z/visor-lab.example.zone"; done
	for zn in victim.example flood.example; do
		cat >"$z/$zn.zone" <<Z
\$ORIGIN $zn.
\$TTL 300
@     SOA  ns1 hostmaster 1 3600 600 86400 60
@     NS   ns1
ns1   A    198.51.100.2
www   A    198.51.100.90
Z
	done
	# amp.example: a 3 kB TXT RRset and a fat apex for ANY
	big=""
	for i in $(seq 1 14); do
		s=$(printf 'amplification-payload-%02d-' "$i")
		while [[ ${#s} -lt 200 ]]; do s="${s}0123456789"; done
		big="$big \"${s:0:200}\""
	done
	{
		printf '$ORIGIN amp.example.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 198.51.100.2\n'
		printf '@ TXT%s\n' "$big"
		printf 'big TXT%s\n' "$big"
		for i in $(seq 1 20); do printf '@ A 198.51.100.%d\n@ AAAA 2001:db8:100::%x\n' $((160 + i)) $((0x160 + i)); done
	} >"$z/amp.example.zone"
	cat >"$z/tunnel.example.zone" <<Z
\$ORIGIN tunnel.example.
\$TTL 0
@     SOA  ns1 hostmaster 1 3600 600 86400 60
@     NS   ns1
ns1   A    198.51.100.2
*     TXT  "aGVsbG8gZnJvbSB0aGUgb3RoZXIgc2lkZSBvZiB0aGUgdHVubmVsLCB0aGlzIGlzIGRhdGE="
Z
	cat >"$z/knot.conf" <<Z
server:
    rundir: "$z/run"
    listen: [ $S4K@53, $S6K@53 ]
    udp-max-payload: 4096
log:
  - target: stderr
    any: warning
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
  - domain: flood.example
  - domain: amp.example
  - domain: tunnel.example
Z
	cat >"$WORK/unbound/unbound.conf" <<Z
server:
    verbosity: 0
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
    access-control: 198.51.100.0/24 allow
    access-control: 2001:db8::/32 allow
    module-config: "iterator"
    do-not-query-localhost: no
    qname-minimisation: no
    outgoing-interface: $S4U
    # every query for a failing name goes upstream again (no negative caching)
    serve-expired: no
    infra-keep-probing: yes
remote-control:
    control-enable: no
stub-zone:
    name: "visor-lab.example"
    stub-addr: $S4K
stub-zone:
    name: "victim.example"
    stub-addr: $S4K
stub-zone:
    name: "broken.example"
    stub-addr: $DEAD
stub-zone:
    name: "."
    stub-addr: $DEAD
Z
}

start_servers() {
	nsx $NS_SRV knotd -c "$WORK/knot/knot.conf" >"$WORK/knotd.log" 2>&1 &
	nsx $NS_SRV unbound -d -c "$WORK/unbound/unbound.conf" >"$WORK/unbound.log" 2>&1 &
	local i
	for i in $(seq 1 50); do
		if nsx $NS_CLI kdig +retry=0 +timeout=1 +short @$S4K amp.example SOA 2>/dev/null | grep -q hostmaster &&
			nsx $NS_CLI kdig +retry=0 +timeout=1 +short @$S4U www.visor-lab.example A 2>/dev/null | grep -q 198.51.100.80; then
			log "knotd and unbound answer"
			return 0
		fi
		sleep 0.2
	done
	cat "$WORK/knotd.log" "$WORK/unbound.log" >&2
	die "servers did not come up"
}

write_queries() {
	local q=$WORK/q i
	{
		for i in 1 2; do
			printf '%s\n' "visor-lab.example SOA" "visor-lab.example MX" "visor-lab.example TXT" \
				"www.visor-lab.example A" "www.visor-lab.example AAAA" "mail.visor-lab.example A" \
				"alias.visor-lab.example A" "nope.visor-lab.example A" "www.victim.example A"
			for i in $(seq 1 25); do printf 'h%d.visor-lab.example A\n' "$i"; done
		done
	} >"$q/mixed.txt"
	# random labels: one file per source so no name repeats
	random_names "$q" 20240202 2400 2000 50 50
	for i in $(seq 1 12); do printf 'gone%d.flood.example A\n' "$i"; done >"$q/nx.txt"
	for i in $(seq 1 30); do printf 'host%d.broken.example A\n' "$i"; done >"$q/servfail.txt"
	printf '%s\n' "amp.example ANY" "big.amp.example TXT" >"$q/amp.txt"
	# a tunnel: base32 chunks of 52 chars in two labels, TXT
	awk 'BEGIN {
		srand(20240303); cs = "abcdefghijklmnopqrstuvwxyz234567"
		for (n = 0; n < 500; n++) {
			s = ""
			for (l = 0; l < 2; l++) {
				for (i = 0; i < 52; i++) s = s substr(cs, 1 + int(rand() * 32), 1)
				s = s "."
			}
			printf "%s%x.t.tunnel.example TXT\n", s, n
		}
	}' >"$q/tunnel.txt"
}

cat >"${TMPDIR:-/tmp}/visorat-syn.py.$$" <<'PY'
import random, socket, struct, sys, time
src, dst, port, count, rate = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
sk = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
sip, dip = socket.inet_aton(src), socket.inet_aton(dst)
random.seed(7)
t0 = time.time()
for i in range(count):
    sport = 20000 + i % 40000
    hdr = struct.pack("!HHIIBBHHH", sport, port, random.getrandbits(32), 0, 5 << 4, 0x02, 64240, 0, 0)
    ph = sip + dip + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(hdr))
    hdr = hdr[:16] + struct.pack("!H", csum(ph + hdr)) + hdr[18:]
    sk.sendto(hdr, (dst, 0))
    d = t0 + (i + 1) / rate - time.time()
    if d > 0: time.sleep(d)
PY
SYNPY="${TMPDIR:-/tmp}/visorat-syn.py.$$"

# ---------------------------------------------------------------- captures
cap_start() { # cap_start FILE
	ip netns exec $NS_CLI tcpdump -Z root -n -i va-cli -w "$WORK/$1" >"$WORK/$1.out" 2>"$WORK/$1.err" &
	CAP_PIDS+=($!)
	local i
	for i in $(seq 1 100); do
		grep -q 'listening on' "$WORK/$1.err" 2>/dev/null && return 0
		sleep 0.1
	done
	cat "$WORK/$1.err" >&2
	die "capture $1 did not start"
}

cap_stop() { # cap_stop FILE
	local p
	sleep 1.5
	for p in "${CAP_PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
	for p in "${CAP_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	CAP_PIDS=()
	grep -q '^0 packets dropped by kernel' "$WORK/$1.err" || { cat "$WORK/$1.err" >&2; die "$1 dropped packets"; }
	log "$1: $(grep -E 'captured' "$WORK/$1.err")"
}

perf() { nsx $NS_CLI dnsperf -t 2 "$@" >>"$WORK/dnsperf.log" 2>&1 || log "dnsperf $* failed"; }

# background ordinary mix for SECONDS, at ~40 qps, to unbound and knotd
mix_start() {
	perf -f inet -s $S4U -d "$WORK/q/mixed.txt" -l "$1" -Q 20 &
	BG_PIDS+=($!)
	perf -f inet6 -s $S6K -d "$WORK/q/mixed.txt" -l "$1" -Q 20 &
	BG_PIDS+=($!)
}
mix_wait() {
	local p
	for p in "${BG_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	BG_PIDS=()
}

now() { date -u +%Y-%m-%dT%H:%M:%S.%NZ; }

truth() { # truth FILE KIND KEY VALUE START
	printf '{"file":"%s","kind":"%s","%s":"%s","start":"%s"}\n' "$1" "$2" "$3" "$4" "$5" >"$WORK/$1.findings.json"
}

# attack FILE MIX KIND KEY VALUE CMD...: captures FILE while ordinary
# traffic runs MIX seconds and CMD attacks from 2 s in; writes the truth
# (KIND, KEY: VALUE, start) beside it.
attack() {
	local f=$1 mix=$2 kind=$3 key=$4 val=$5 t
	shift 5
	cap_start "$f"
	mix_start "$mix"
	sleep 2
	t=$(now)
	"$@"
	mix_wait
	cap_stop "$f"
	truth "$f" "$kind" "$key" "$val" "$t"
}

# random_sources: 48 sources, each sending its own file of random names.
random_sources() {
	local i pids=()
	for i in $(seq 0 39); do
		perf -f inet -a 198.51.100.$((101 + i)) -s $S4K -d "$WORK/q/rnd4-$i.txt" -n 1 -Q 20 &
		pids+=($!)
	done
	for i in $(seq 0 7); do
		perf -f inet6 -a 2001:db8:100::$((101 + i)) -s $S6K -d "$WORK/q/rnd6-$i.txt" -n 1 -Q 20 &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || true; done
}

scenario_random_subdomain() {
	attack attack-random-subdomain.pcap 7 random_subdomain zone victim.example random_sources
}

scenario_nxdomain() {
	attack attack-nxdomain.pcap 7 nxdomain_flood zone flood.example \
		perf -f inet -s $S4K -d "$WORK/q/nx.txt" -l 3 -Q 500
}

scenario_servfail() {
	attack attack-servfail.pcap 7 servfail_storm zone broken.example \
		perf -f inet -s $S4U -d "$WORK/q/servfail.txt" -l 3 -Q 200
}

scenario_query_flood() {
	attack attack-query-flood.pcap 6 query_flood source $FLOOD \
		perf -f inet -a $FLOOD -s $S4K -d "$WORK/q/mixed.txt" -l 2 -Q 2500
}

scenario_amplification() {
	attack attack-amplification.pcap 6 reflection target $AMP \
		perf -f inet -a $AMP -s $S4K -e -d "$WORK/q/amp.txt" -l 2 -Q 150
}

scenario_tunnel() {
	attack attack-tunnel.pcap 7 dns_tunneling zone tunnel.example \
		perf -f inet -a $TUN -s $S4K -d "$WORK/q/tunnel.txt" -n 1 -Q 150
}

scenario_syn_flood() {
	attack attack-syn-flood.pcap 6 tcp_syn_flood target $S4K \
		nsx $NS_CLI python3 "$SYNPY" $C4 $S4K 53 1200 600
}

scenario_ordinary() {
	local f=attack-ordinary.pcap s q
	cap_start $f
	mix_start 6
	for s in $S4U $S6U $S4K $S6K; do
		for q in "visor-lab.example SOA" "www.visor-lab.example AAAA" "amp.example ANY" "nope.visor-lab.example A" "x.broken.example A"; do
			# shellcheck disable=SC2086
			nsx $NS_CLI kdig +retry=0 +timeout=2 @$s $q >/dev/null 2>&1 || true
			# shellcheck disable=SC2086
			nsx $NS_CLI kdig +retry=0 +timeout=2 +tcp @$s $q >/dev/null 2>&1 || true
		done
	done
	mix_wait
	cap_stop $f
	printf '{"file":"%s","kind":"","findings":0}\n' "$f" >"$WORK/$f.findings.json"
}

log "work directory $WORK"
setup_net
write_config
start_servers
write_queries
sleep 1
scenarios=(${VISORAT_ONLY:-random_subdomain nxdomain servfail query_flood amplification tunnel syn_flood ordinary})
for s in "${scenarios[@]}"; do
	log "scenario $s"
	"scenario_$s"
done
rm -f "$SYNPY"
for f in "$WORK"/attack-*.pcap; do
	b=$(basename "$f")
	install -m 0644 "$f" "$OUT/$b"
	install -m 0644 "$f.findings.json" "$OUT/$b.findings.json"
	sz=$(stat -c %s "$OUT/$b")
	log "$OUT/$b: $sz bytes, truth $(cat "$OUT/$b.findings.json")"
	[[ $sz -lt 2097152 ]] || log "WARNING: $b is 2 MB or more"
done
log "done in $((SECONDS - START)) s"
