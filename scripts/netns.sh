# scripts/netns.sh: helpers the lab scripts share (sourced, not run).
# nsx NS CMD... runs CMD in namespace NS; kill_ns_procs NS ends every process
# in NS; teardown ends and deletes the namespaces named by $NS_CLI and $NS_SRV;
# veth_pair makes them, joined by a veth pair.

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
