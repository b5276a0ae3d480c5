package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/visor-dns/visor/internal/truth"
	"github.com/visor-dns/visor/report"
)

// findingKey is what a finding is about (truth.FindingKey).
func findingKey(f report.Finding) string { return truth.FindingKey(f) }

func kinds(fs []report.Finding) string { return truth.Kinds(fs) }

// TestFindingsOnAttackCaptures: each lab attack capture yields exactly its
// finding, about the right zone or address, starting within one bucket of
// the moment the lab launched the attack; the ordinary capture yields none.
func TestFindingsOnAttackCaptures(t *testing.T) {
	truths, _ := filepath.Glob("../../testdata/attack-*.findings.json")
	if len(truths) == 0 {
		t.Fatal("no testdata/attack-*.findings.json (internal/lab/scenarios TestAttacks makes them: docs/labs.md)")
	}
	for _, tf := range truths {
		b, err := os.ReadFile(tf)
		if err != nil {
			t.Fatal(err)
		}
		var want truth.Attack
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("%s: %v", tf, err)
		}
		capf := strings.TrimSuffix(tf, ".findings.json")
		for _, bucket := range []time.Duration{time.Second, 5 * time.Second, time.Minute} {
			t.Run(filepath.Base(capf)+"/"+bucket.String(), func(t *testing.T) {
				r := analyzeJSON(t, "--bucket", bucket.String(), capf)
				for _, d := range want.Diff(r.Findings, bucket, 0) {
					t.Error(d)
				}
			})
		}
	}
}

// TestFindingsOnLabCaptures: the lab's ordinary mix carries a small
// random-subdomain burst (320 names under victim.example from 12 sources):
// it is flagged, and nothing else is.
func TestFindingsOnLabCaptures(t *testing.T) {
	for _, f := range []string{"lab-eth.pcap", "lab-sll2.pcap", "lab.pcapng", "lab-tcp.pcap"} {
		for _, bucket := range []string{"1s", "1m"} {
			t.Run(f+"/"+bucket, func(t *testing.T) {
				r := analyzeJSON(t, "--bucket", bucket, "../../testdata/"+f)
				if f == "lab-tcp.pcap" {
					if len(r.Findings) != 0 {
						t.Fatalf("findings %s, want none", kinds(r.Findings))
					}
					return
				}
				if len(r.Findings) != 1 || r.Findings[0].Kind != "random_subdomain" || findingKey(r.Findings[0]) != "victim.example" {
					t.Fatalf("findings %s, want random_subdomain(victim.example) only", kinds(r.Findings))
				}
				ev := r.Findings[0].Evidence
				if n, _ := ev["distinct_names"].(float64); n < 320 {
					t.Errorf("distinct_names %v, want at least the burst's 320", ev["distinct_names"])
				}
				if n, _ := ev["sources"].(float64); n < 12 {
					t.Errorf("sources %v, want at least the burst's 12", ev["sources"])
				}
			})
		}
	}
}

// TestThresholdFlag: a threshold raised above the attack silences it; a
// bad name is a usage error.
func TestThresholdFlag(t *testing.T) {
	f := "../../testdata/attack-random-subdomain.pcap"
	r := analyzeJSON(t, "--threshold", "rs-names=100000", f)
	if len(r.Findings) != 1 || r.Findings[0].Kind != "nxdomain_flood" {
		t.Errorf("rs-names=100000: findings %v, want the NXDOMAINs no longer explained by a random_subdomain finding", kinds(r.Findings))
	}
	r = analyzeJSON(t, "--threshold", "rs-names=100000", "--threshold", "nx-min=1e9", f)
	if len(r.Findings) != 0 {
		t.Errorf("rs-names=100000 nx-min=1e9: findings %v, want none", kinds(r.Findings))
	}
	if res := runVisor("analyze", "--threshold", "rs-nmaes=1", f); res.code != 2 || !strings.Contains(res.stderr, "rs-nmaes") {
		t.Errorf("misspelt threshold: exit %d, stderr %q", res.code, res.stderr)
	}
	if res := runVisor("analyze", "--carve", t.TempDir(), "-"); res.code != 2 {
		t.Errorf("--carve with stdin: exit %d, want 2", res.code)
	}
}

// TestCarve: every finding's carved pcap opens in tshark and holds only
// packets of the finding's window and zone or address.
func TestCarve(t *testing.T) {
	truths, _ := filepath.Glob("../../testdata/attack-*.findings.json")
	if len(truths) == 0 {
		t.Fatal("no testdata/attack-*.findings.json")
	}
	tshark, _ := exec.LookPath("tshark")
	for _, tf := range truths {
		capf := strings.TrimSuffix(tf, ".findings.json")
		t.Run(filepath.Base(capf), func(t *testing.T) {
			dir := t.TempDir()
			r := analyzeJSON(t, "--bucket", "1s", "--carve", dir, capf)
			files, _ := filepath.Glob(filepath.Join(dir, "*.pcap"))
			if len(files) != len(r.Findings) {
				t.Fatalf("%d carved files for %d findings", len(files), len(r.Findings))
			}
			for _, f := range r.Findings {
				c, _ := f.Evidence["carved"].(map[string]any)
				name, _ := c["file"].(string)
				n, _ := c["packets"].(float64)
				if name == "" || n == 0 {
					t.Fatalf("%s: carved %v, want a file with packets", f.Kind, f.Evidence["carved"])
				}
				if tshark == "" {
					t.Log("tshark not found: carved files not opened")
					continue
				}
				checkCarved(t, tshark, filepath.Join(dir, name), f, int(n))
			}
		})
	}
}

func checkCarved(t *testing.T, tshark, path string, f report.Finding, packets int) {
	t.Helper()
	out, err := exec.Command(tshark, "-r", path, "-n", "-T", "fields", "-E", "separator=|",
		"-e", "frame.time_epoch", "-e", "ip.src", "-e", "ip.dst", "-e", "ipv6.src", "-e", "ipv6.dst",
		"-e", "dns.qry.name", "-e", "tcp.flags.syn", "-e", "dns.flags.rcode").Output()
	if err != nil {
		t.Fatalf("tshark -r %s: %v", path, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != packets {
		t.Errorf("%s: tshark reads %d packets, the evidence says %d", path, len(lines), packets)
	}
	start, end := f.Start.Time(), f.End.Time()
	key := findingKey(f)
	for i, l := range lines {
		fs := strings.Split(l, "|")
		if len(fs) < 8 {
			t.Fatalf("%s: packet %d: %q", path, i+1, l)
		}
		sec, _ := strconv.ParseFloat(fs[0], 64)
		ts := time.Unix(0, int64(sec*1e9))
		if ts.Before(start.Add(-time.Millisecond)) || ts.After(end.Add(time.Millisecond)) {
			t.Fatalf("%s: packet %d at %s outside %s..%s", path, i+1, ts.UTC().Format(time.RFC3339Nano), f.Start, f.End)
		}
		switch f.Kind {
		case "random_subdomain", "dns_tunneling":
			if q := strings.ToLower(fs[5]); q != key && !strings.HasSuffix(q, "."+key) {
				t.Fatalf("%s: packet %d asks %q, not under %s", path, i+1, fs[5], key)
			}
		case "nxdomain_flood", "servfail_storm":
			// the answers with that rcode, for names in the evidence's zones
			want := map[string]string{"nxdomain_flood": "3", "servfail_storm": "2"}[f.Kind]
			if fs[7] != want {
				t.Fatalf("%s: packet %d has rcode %q, want %s", path, i+1, fs[7], want)
			}
			under := false
			for _, z := range f.Evidence["zones"].([]any) {
				zn := fmt.Sprint(z.(map[string]any)["name"])
				q := strings.ToLower(fs[5])
				under = under || q == zn || strings.HasSuffix(q, "."+zn)
			}
			if !under {
				t.Fatalf("%s: packet %d asks %q, in none of %v", path, i+1, fs[5], f.Evidence["zones"])
			}
		default:
			addrs := fs[1] + "," + fs[2] + "," + fs[3] + "," + fs[4]
			if !strings.Contains(","+addrs+",", ","+key+",") {
				t.Fatalf("%s: packet %d (%s) is not to or from %s", path, i+1, addrs, key)
			}
			if f.Kind == "tcp_syn_flood" && fs[6] != "1" && fs[6] != "True" {
				t.Fatalf("%s: packet %d is not a SYN (%q)", path, i+1, fs[6])
			}
		}
	}
}
