package lab

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The veths' fixed addresses: each pair lives in its own namespaces, so
// these never meet another lab's.
const (
	CliMAC = "02:00:5e:00:53:01"
	SrvMAC = "02:00:5e:00:53:02"
)

var (
	labPrefix4 = netip.MustParsePrefix("198.51.100.0/24")
	labPrefix6 = netip.MustParsePrefix("2001:db8::/32")
	netSeq     atomic.Int32
)

// NetConfig says how to build a Net. Addresses carry their prefix length
// ("198.51.100.10/24", "2001:db8:100::101/128").
type NetConfig struct {
	SrvAddrs, CliAddrs []string
	// Blackholes are routes to nowhere in the server namespace: an
	// upstream that never answers.
	Blackholes []string
	// V4Only turns IPv6 off in both namespaces (dnsperf refuses an IPv4
	// server when global IPv6 addresses exist, see docs/labs.md).
	V4Only bool
	// NoOffload turns segmentation offload off: TCP segments on the wire
	// stay within the MTU, as a real link carries them.
	NoOffload bool
	// StaticNeighbours sets permanent neighbour entries for the first
	// address of each side: no ARP, every packet on the link is the test's.
	StaticNeighbours bool
}

// Net is two network namespaces, Srv and Cli, joined by a veth pair SrvIf
// (in Srv) and CliIf (in Cli).
type Net struct {
	Srv, Cli     string
	SrvIf, CliIf string
	t            testing.TB
}

// NewNet builds the namespaces and the veth pair; t.Cleanup ends every
// process left in them and deletes them.
func NewNet(t testing.TB, c NetConfig) *Net {
	t.Helper()
	Require(t, "ip")
	for _, a := range append(append(append([]string{}, c.SrvAddrs...), c.CliAddrs...), c.Blackholes...) {
		if err := validateAddr(a); err != nil {
			t.Fatal(err)
		}
	}
	sweepOnce.Do(sweep)
	id := fmt.Sprintf("%d-%d", os.Getpid(), netSeq.Add(1))
	n := &Net{Srv: "visorlab-s" + id, Cli: "visorlab-c" + id, SrvIf: "s" + id, CliIf: "c" + id, t: t}
	if len(n.SrvIf) > 15 {
		n.SrvIf, n.CliIf = n.SrvIf[:15], n.CliIf[:15]
	}
	t.Cleanup(n.teardown)
	for _, ns := range []string{n.Srv, n.Cli} {
		n.ip("netns", "add", ns)
		if c.V4Only {
			n.Run(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
		} else {
			// quiet: no router solicitation, autoconfiguration or duplicate detection
			n.Run(ns, "sysctl", "-qw", "net.ipv6.conf.default.accept_ra=0", "net.ipv6.conf.all.accept_ra=0",
				"net.ipv6.conf.default.router_solicitations=0", "net.ipv6.conf.all.router_solicitations=0",
				"net.ipv6.conf.default.accept_dad=0", "net.ipv6.conf.all.accept_dad=0")
		}
		n.ip("-n", ns, "link", "set", "lo", "up")
	}
	n.ip("link", "add", n.CliIf, "address", CliMAC, "netns", n.Cli, "type", "veth",
		"peer", "name", n.SrvIf, "address", SrvMAC, "netns", n.Srv)
	addAddrs := func(ns, dev string, addrs []string) {
		for _, a := range addrs {
			args := []string{"-n", ns, "addr", "add", a, "dev", dev}
			if strings.Contains(a, ":") {
				args = append(args, "nodad")
			}
			n.ip(args...)
		}
	}
	addAddrs(n.Srv, n.SrvIf, c.SrvAddrs)
	addAddrs(n.Cli, n.CliIf, c.CliAddrs)
	for _, b := range c.Blackholes {
		n.ip("-n", n.Srv, "route", "add", "blackhole", b)
	}
	if c.StaticNeighbours && len(c.SrvAddrs) > 0 && len(c.CliAddrs) > 0 {
		n.ip("-n", n.Srv, "neigh", "add", addrOf(c.CliAddrs[0]), "lladdr", CliMAC, "dev", n.SrvIf, "nud", "permanent")
		n.ip("-n", n.Cli, "neigh", "add", addrOf(c.SrvAddrs[0]), "lladdr", SrvMAC, "dev", n.CliIf, "nud", "permanent")
	}
	if c.NoOffload {
		Require(t, "ethtool")
		n.Run(n.Srv, "ethtool", "-K", n.SrvIf, "tso", "off", "gso", "off", "gro", "off")
		n.Run(n.Cli, "ethtool", "-K", n.CliIf, "tso", "off", "gso", "off", "gro", "off")
	}
	n.ip("-n", n.Srv, "link", "set", n.SrvIf, "up")
	n.ip("-n", n.Cli, "link", "set", n.CliIf, "up")
	return n
}

func addrOf(prefix string) string { a, _, _ := strings.Cut(prefix, "/"); return a }

// validateAddr refuses addresses outside the documentation ranges.
func validateAddr(s string) error {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return fmt.Errorf("lab address %q: %w", s, err)
	}
	if !labPrefix4.Contains(p.Addr()) && !labPrefix6.Contains(p.Addr()) {
		return fmt.Errorf("lab address %s is outside 198.51.100.0/24 and 2001:db8::/32", s)
	}
	return nil
}

func (n *Net) ip(args ...string) {
	n.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		n.t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// Run runs a program in namespace ns to its end and fails the test if it fails.
func (n *Net) Run(ns, name string, args ...string) string {
	n.t.Helper()
	out, err := n.Command(ns, name, args...).CombinedOutput()
	if err != nil {
		n.t.Fatalf("%s %s in %s: %v\n%s", name, strings.Join(args, " "), ns, err, out)
	}
	return string(out)
}

// Command is name with args to run in namespace ns (`ip netns exec` execs
// the program: its process is the program's).
func (n *Net) Command(ns, name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...)
}

var (
	sweepOnce sync.Once
	labNS     = regexp.MustCompile(`^visorlab-[sc]([0-9]+)-[0-9]+$`)
)

// sweep deletes the namespaces of lab processes that no longer run (a test
// binary killed by its -timeout runs no cleanup).
func sweep() {
	out, _ := exec.Command("ip", "netns", "list").Output()
	var stale []string
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if m := labNS.FindStringSubmatch(f[0]); m != nil {
			if _, err := os.Stat("/proc/" + m[1]); err != nil {
				stale = append(stale, f[0])
			}
		}
	}
	deleteNS(stale...)
}

// teardown ends what still runs in the namespaces, then deletes them.
func (n *Net) teardown() { deleteNS(n.Cli, n.Srv) }

// deleteNS ends what runs in the namespaces, then deletes them.
func deleteNS(names ...string) {
	for _, ns := range names {
		for sig, i := syscall.SIGTERM, 0; i < 2; sig, i = syscall.SIGKILL, i+1 {
			out, _ := exec.Command("ip", "netns", "pids", ns).Output()
			var pids []int
			for _, f := range strings.Fields(string(out)) {
				var pid int
				fmt.Sscan(f, &pid)
				// this process is listed when a thread InNS left there is its main one
				if pid > 0 && pid != os.Getpid() {
					pids = append(pids, pid)
					syscall.Kill(pid, sig)
				}
			}
			if len(pids) == 0 {
				break
			}
			time.Sleep(300 * time.Millisecond)
		}
		exec.Command("ip", "netns", "del", ns).Run()
	}
}

// Require skips t unless it runs as root with every program in PATH.
func Require(t testing.TB, progs ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the lab needs root (network namespaces, raw sockets): run the lab tier as root")
	}
	RequirePrograms(t, progs...)
}

// RequirePrograms skips t unless every program is in PATH.
func RequirePrograms(t testing.TB, progs ...string) {
	t.Helper()
	for _, p := range progs {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("the lab needs %s (scripts/deps.sh installs it)", p)
		}
	}
}
