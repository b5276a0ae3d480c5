// Package lab runs real DNS servers and clients in network namespaces for
// visor's lab tier, as VictoriaMetrics' apptest and CoreDNS's test packages
// do: a test makes a Net (two namespaces, srv and cli, joined by a veth
// pair), starts knotd and unbound from the configuration templates in
// testdata/ (knot.conf.tmpl, unbound.conf.tmpl, zones/*.zone), drives
// traffic with kdig and dnsperf, captures it with tcpdump, dumpcap or
// fstrm_capture, and runs the visor binary built once per test process
// (Visor). Everything a test starts ends, and every namespace is deleted,
// in t.Cleanup.
//
// Only 198.51.100.0/24 and 2001:db8::/32 are used, namespaces and veths
// are named per process (concurrent runs do not meet), and the server
// namespace has no default route: nothing leaves the lab.
//
// The scenarios are tests behind the build tag `lab` in lab/scenarios:
//
//	sudo go test -tags lab -count=1 ./internal/lab/...
//
// A test skips, saying why, when it is not root or a program is missing
// (scripts/deps.sh installs them). docs/labs.md says how to add one.
//
// TestBench in lab/bench (build tag `bench`) is the end-to-end speed and
// memory measurement on the same drivers; scripts/bench.sh runs it
// (docs/performance.md).
package lab
