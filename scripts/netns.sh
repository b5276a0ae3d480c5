# scripts/netns.sh: helpers the lab scripts share (sourced, not run).
# nsx NS CMD... runs CMD in namespace NS; kill_ns_procs NS ends every process
# in NS; teardown ends and deletes the namespaces named by $NS_CLI and $NS_SRV.

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
