# scripts/netns.sh: namespace helpers scripts/bench.sh sources (the labs are Go now: internal/lab).
# nsx NS CMD... runs CMD in namespace NS; kill_ns_procs NS ends every process
# in NS; teardown ends and deletes the namespaces named by $NS_CLI and $NS_SRV;
# veth_pair makes them, joined by a veth pair; end_lab is a lab script's
# exit; random_names writes random-subdomain query files.

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

kill_ns_procs() {
	local ns=$1 pids
	pids=$(ip netns pids "$ns" 2>/dev/null || true)
	if [[ -n $pids ]]; then
		# shellcheck disable=SC2086
		kill $pids 2>/dev/null || true
		sleep 0.5
		pids=$(ip netns pids "$ns" 2>/dev/null || true)
		# shellcheck disable=SC2086
		[[ -z $pids ]] || kill -9 $pids 2>/dev/null || true
	fi
}

teardown() {
	local ns
	for ns in $NS_CLI $NS_SRV; do
		if ip netns list | grep -qw "$ns"; then
			kill_ns_procs "$ns"
			ip netns del "$ns" 2>/dev/null || true
		fi
	done
}

# veth_pair CLI_IF SRV_IF [v4only] makes the namespaces $NS_CLI and $NS_SRV
# afresh (leftovers of an earlier run removed), quiet (no IPv6 router
# solicitation, autoconfiguration or duplicate detection; with v4only no
# IPv6 at all), loopback up, joined by a veth pair CLI_IF <-> SRV_IF (down:
# the caller adds addresses, then brings it up).
veth_pair() {
	local cli_if=$1 srv_if=$2 mode=${3:-} ns
	teardown
	ip netns add "$NS_SRV"
	ip netns add "$NS_CLI"
	for ns in $NS_SRV $NS_CLI; do
		if [[ $mode == v4only ]]; then
			nsx "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
		else
			nsx "$ns" sysctl -qw net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.all.accept_ra=0 \
				net.ipv6.conf.default.router_solicitations=0 net.ipv6.conf.all.router_solicitations=0 \
				net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0
		fi
		nsx "$ns" ip link set lo up
	done
	ip link add "$cli_if" netns "$NS_CLI" type veth peer name "$srv_if" netns "$NS_SRV"
}

# end_lab RC KEEP PID...: a lab script's exit: ends the PIDs, removes the
# namespaces, keeps $WORK when KEEP is 1 or RC is not 0 (deletes it
# otherwise, logging with the script's log), and exits RC.
end_lab() {
	local rc=$1 keep=$2 p
	shift 2
	for p in "$@"; do kill "$p" 2>/dev/null || true; done
	teardown
	if [[ $keep == 1 || $rc -ne 0 ]]; then
		log "work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}

# random_names DIR SEED TOTAL N4 PER4 PER6 writes TOTAL distinct random
# names (8 to 16 of [a-z0-9] under victim.example) as dnsperf query lines:
# the first N4 into DIR/rnd4-K.txt, PER4 a file, the rest into
# DIR/rnd6-K.txt, PER6 a file. One file a source address, so that no name
# repeats (dnsperf reads its file from the top).
random_names() {
	awk -v out="$1" -v seed="$2" -v total="$3" -v n4="$4" -v per4="$5" -v per6="$6" 'BEGIN {
		srand(seed); cs = "abcdefghijklmnopqrstuvwxyz0123456789"; n = 0
		while (n < total) {
			len = 8 + int(rand() * 9); s = ""
			for (i = 0; i < len; i++) s = s substr(cs, 1 + int(rand() * 36), 1)
			if (s in seen) continue
			seen[s] = 1
			f = (n < n4) ? sprintf("%s/rnd4-%d.txt", out, int(n / per4)) : sprintf("%s/rnd6-%d.txt", out, int((n - n4) / per6))
			print s ".victim.example A" > f
			n++
		}
	}'
}
