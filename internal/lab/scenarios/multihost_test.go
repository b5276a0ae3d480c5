//go:build lab

package scenarios

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/visor-dns/visor/diff"
	"github.com/visor-dns/visor/internal/lab"
	"github.com/visor-dns/visor/report"
)

// The two hosts of the map step: A runs GNU parallel (and jobs), B runs jobs.
const (
	mhA    = "198.51.100.21"
	mhB    = "198.51.100.22"
	mhPort = "2222"
)

// TestMultiHostParallel is docs/multi-host.md's map step, run: a capture
// cut into pieces (editcap -c) is analysed into summaries on two hosts
// (network namespaces, each with its own sshd and its own view of the
// work directory, so a file exists there only once transferred) by GNU
// parallel --sshlogin, which sends each piece and the visor binary,
// returns each summary and cleans up; the summaries are merged on the
// first host and compared with the analysis of the whole capture.
func TestMultiHostParallel(t *testing.T) {
	lab.Require(t, "ip", "/usr/sbin/sshd", "ssh", "ssh-keygen", "rsync", "editcap", "unshare", "mount")
	if out, err := exec.Command("parallel", "--version").Output(); err != nil || !bytes.HasPrefix(out, []byte("GNU parallel")) {
		t.Skip("the multi-host test needs GNU parallel (Debian package parallel; moreutils' parallel is another program): scripts/deps.sh installs it")
	}
	visor := lab.Visor(t)
	whole := lab.Testdata(t, "lab-eth.pcap")
	requireSummaries(t, visor, whole)

	dir := t.TempDir()
	for _, d := range []string{"run/pieces", "work", "a/work", "b/work", "keys"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	keys := filepath.Join(dir, "keys")
	for _, k := range []string{"host", "user"} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "visor-lab-"+k, "-f", filepath.Join(keys, k)).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
	}
	pub, err := os.ReadFile(filepath.Join(keys, "user.pub"))
	if err != nil {
		t.Fatal(err)
	}
	mhWrite(t, filepath.Join(keys, "authorized_keys"), string(pub))
	sshConfig := filepath.Join(keys, "ssh_config")
	mhWrite(t, sshConfig, fmt.Sprintf("Host *\n  Port %s\n  User root\n  IdentityFile %s\n  IdentitiesOnly yes\n"+
		"  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  BatchMode yes\n  LogLevel ERROR\n",
		mhPort, filepath.Join(keys, "user")))
	// sshd refuses to start without its privilege separation directory,
	// which only its systemd unit makes.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}

	n := lab.NewNet(t, lab.NetConfig{CliAddrs: []string{mhA + "/24"}, SrvAddrs: []string{mhB + "/24"}, V4Only: true})
	work := filepath.Join(dir, "work")
	for _, h := range []struct{ name, ns, addr string }{{"a", n.Cli, mhA}, {"b", n.Srv, mhB}} {
		cfg := filepath.Join(dir, h.name, "sshd_config")
		mhWrite(t, cfg, fmt.Sprintf("Port %s\nListenAddress %s\nHostKey %s\nAuthorizedKeysFile %s\nPidFile %s\n"+
			"PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"+
			"UsePAM no\nStrictModes no\nSubsystem sftp internal-sftp\n",
			mhPort, h.addr, filepath.Join(keys, "host"), filepath.Join(keys, "authorized_keys"), filepath.Join(dir, h.name, "sshd.pid")))
		// Each host sees its own directory at work/: a private mount
		// namespace binds it there before sshd starts.
		p := n.Start(h.ns, "unshare", "--mount", "--propagation", "private", "sh", "-c",
			fmt.Sprintf("mount --bind %s %s && exec /usr/sbin/sshd -D -e -f %s", filepath.Join(dir, h.name, "work"), work, cfg))
		p.WaitStderr(t, "Server listening on")
	}

	// The pieces: 700 packets each, in the runner's directory only.
	run := filepath.Join(dir, "run")
	if out, err := exec.Command("editcap", "-c", "700", whole, filepath.Join(run, "pieces", "lab.pcap")).CombinedOutput(); err != nil {
		t.Fatalf("editcap: %v\n%s", err, out)
	}
	pieces, _ := filepath.Glob(filepath.Join(run, "pieces", "lab_*.pcap"))
	if len(pieces) != 4 {
		t.Fatalf("editcap made %d pieces, want 4: %v", len(pieces), pieces)
	}
	mhCopy(t, visor, filepath.Join(run, "visor"))

	// The map step, as docs/multi-host.md gives it.
	args := []string{"--will-cite", "--ssh", "ssh -F " + sshConfig, "--sshlogin", "1/" + mhA + ",1/" + mhB,
		"--workdir", work, "--basefile", "visor", "--trc", "{.}.vsum", "--joblog", "jobs.log", "--halt", "now,fail=1",
		"./visor", "analyze", "--progress", "never", "--format", "summary", "-o", "{.}.vsum", "{}", ":::"}
	for _, p := range pieces {
		args = append(args, strings.TrimPrefix(p, run+"/"))
	}
	cmd := n.Command(n.Cli, "parallel", args...)
	cmd.Dir = run
	cmd.Env = append(os.Environ(), "HOME="+dir, "PARALLEL_HOME="+filepath.Join(dir, "parallel"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("parallel: %v\n%s", err, out)
	}

	// Both hosts ran jobs; every summary came back; the hosts kept nothing.
	log, err := os.ReadFile(filepath.Join(run, "jobs.log"))
	if err != nil {
		t.Fatal(err)
	}
	hosts := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(string(log)), "\n")[1:] {
		f := strings.Split(l, "\t")
		if len(f) < 7 || f[6] != "0" {
			t.Errorf("job failed: %s", l)
			continue
		}
		hosts[f[1]]++
	}
	if len(hosts) != 2 || hosts[mhA]+hosts[mhB] != len(pieces) {
		t.Errorf("jobs by host %v, want %d jobs on %s and %s", hosts, len(pieces), mhA, mhB)
	}
	var sums []string
	for _, p := range pieces {
		s := strings.TrimSuffix(p, ".pcap") + ".vsum"
		if _, err := os.Stat(s); err != nil {
			t.Fatalf("summary not returned: %v", err)
		}
		sums = append(sums, s)
	}
	for _, h := range []string{"a", "b"} {
		left, _ := filepath.Glob(filepath.Join(dir, h, "work", "*", "*.pcap"))
		if len(left) > 0 {
			t.Errorf("host %s kept %v (--trc cleans up)", h, left)
		}
	}

	// The reduce step on the first host, in a shuffled order, against the
	// analysis of the whole capture.
	merged := filepath.Join(run, "merged.vsum")
	slices.Reverse(sums)
	mhVisor(t, visor, append([]string{"merge", "--format", "summary", "-o", merged}, sums...)...)
	mergedJSON := filepath.Join(run, "merged.json")
	mhVisor(t, visor, "merge", "--format", "json", "-o", mergedJSON, merged)
	got := lab.ReadReport(t, mergedJSON)
	want := lab.Analyze(t, whole)
	sameExactCounts(t, &want.Summary, &got.Summary)
	if len(got.Inputs) != len(pieces) {
		t.Errorf("merged report lists %d inputs, want %d", len(got.Inputs), len(pieces))
	}

	// And visor diff of the whole capture against the merged summary sees
	// no change beyond the sketches' error.
	out := mhVisor(t, visor, "diff", "--format", "json", whole, merged)
	var d diff.Diff
	if err := json.Unmarshal(out, &d); err != nil {
		t.Fatal(err)
	}
	if d.After.Kind != "summary" {
		t.Errorf("the merged summary was read as %q", d.After.Kind)
	}
	for _, c := range d.Changes() {
		t.Error("diff: " + c)
	}
	// Summary files do not hold the findings states yet (docs/summaries.md):
	// a merge of files keeps each piece's findings, judged on the piece
	// alone, so a finding may come in parts; never one the whole lacks.
	inWhole := map[[2]string]bool{}
	for _, f := range append(d.Findings.Both, d.Findings.OnlyBefore...) {
		inWhole[[2]string{f.Kind, f.Subject}] = true
	}
	for _, f := range d.Findings.OnlyAfter {
		if !inWhole[[2]string{f.Kind, f.Subject}] {
			t.Errorf("diff: the merge found %s %s, the whole capture did not", f.Kind, f.Subject)
		}
	}
	if len(d.Findings.Both) == 0 {
		t.Errorf("diff: no finding on both sides: %+v", d.Findings)
	}
	if len(d.Findings.OnlyBefore)+len(d.Findings.OnlyAfter) > 0 {
		t.Logf("findings only in the whole capture %d, only in the merge %d (pieces judged alone)",
			len(d.Findings.OnlyBefore), len(d.Findings.OnlyAfter))
	}
}

// requireSummaries skips t unless this visor writes and merges summaries.
func requireSummaries(t *testing.T, visor, capture string) {
	t.Helper()
	out, err := exec.Command(visor, "merge", "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "visor merge") {
		t.Skip("needs visor merge (issue 21's summary files), which this build lacks")
	}
	probe := filepath.Join(t.TempDir(), "probe.vsum")
	if out, err := exec.Command(visor, "analyze", "--progress", "never", "--format", "summary", "-o", probe, capture).CombinedOutput(); err != nil {
		t.Skipf("needs visor analyze --format summary (issue 21's summary files): %v: %s", err, out)
	}
}

// sameExactCounts compares the counts that merging must keep exactly.
func sameExactCounts(t *testing.T, want, got *report.Section) {
	t.Helper()
	type exact struct {
		Packets, Bytes, IPv4, IPv6, UDP, TCP          uint64
		Messages, Queries, Responses, DNSUDP, DNSTCP  uint64
		Nodata, Malformed, Xacts, TimedOut, QNameCard uint64
		Rcodes, Qtypes                                string
	}
	of := func(s *report.Section) exact {
		r, _ := json.Marshal(s.DNS.Rcodes) // maps marshal in key order
		q, _ := json.Marshal(s.DNS.Qtypes)
		return exact{s.Net.Packets, s.Net.Bytes, s.Net.IPv4, s.Net.IPv6, s.Net.UDP, s.Net.TCP,
			s.DNS.Messages, s.DNS.Queries, s.DNS.Responses, s.DNS.UDP, s.DNS.TCP,
			s.DNS.Nodata, s.DNS.Malformed, s.DNS.Xacts.Total, s.DNS.Xacts.TimedOut, s.DNS.Cardinality.QName,
			string(r), string(q)}
	}
	if w, g := of(want), of(got); w != g {
		t.Errorf("merged summaries differ from the whole capture:\nwhole  %+v\nmerged %+v", w, g)
	}
}

func mhWrite(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func mhCopy(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// mhVisor runs visor with args on this host and returns its stdout.
func mhVisor(t *testing.T, visor string, args ...string) []byte {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(visor, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("visor %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}
