package summary

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/analyzers/dns"
	"github.com/visor-dns/visor/analyzers/findings"
	"github.com/visor-dns/visor/analyzers/net"
	"github.com/visor-dns/visor/decode"
	"github.com/visor-dns/visor/report"
	"github.com/visor-dns/visor/sketch"
)

// findState is a findings state that saw a query and its NXDOMAIN answer
// at ts.
func findState(t testing.TB, ts int64) *findings.State {
	s := findings.NewState()
	q := []byte{0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'x', '7', 'q', 6, 'v', 'i', 'c', 't', 'i', 'm', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0, 1}
	r := bytes.Clone(q)
	r[2], r[3] = 0x81, 0x83
	c, srv := netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("198.51.100.1")
	for i, b := range [][]byte{q, r} {
		var v decode.DNS
		if !decode.ParseDNS(b, &v) {
			t.Fatal("cannot parse the test message")
		}
		m := visor.Message{TS: ts + int64(i)*1e6, IPVersion: 4, Transport: visor.TransportUDP, Src: c, Dst: srv, WireLen: len(b), Data: b}
		if i == 1 {
			m.Src, m.Dst = srv, c
		}
		s.ObserveDNS(&m, &v, sketch.Hash(v.QName()), visor.DirUnknown)
	}
	return s
}

// sample is a small summary: two buckets with counters, sketches and
// findings states.
func sample(t testing.TB) []byte {
	return sampleVersion(t, FormatVersion)
}

// sampleVersion writes sample in format version v (1: without findings
// states, as visor wrote before version 2).
func sampleVersion(t testing.TB, v uint16) []byte {
	h := Header{Visor: "test", Params: DefaultParams(60e9, 10, 5e9, 5e8), Labels: []Label{{"server", "ns1"}}, FindingsStates: v >= 2}
	var b bytes.Buffer
	h.FormatVersion = uint32(v)
	w := &Writer{rw: newRecordWriter(&b, v)}
	if err := w.rw.record(kindHeader, h.append(nil)); err != nil {
		t.Fatal(err)
	}
	for i := int64(0); i < 2; i++ {
		bk := &Bucket{Start: i * 60e9, End: (i + 1) * 60e9, Net: net.NewState(), DNS: dns.NewState()}
		bk.Net.Packets, bk.DNS.Queries = 10+uint64(i), 5
		if v >= 2 {
			bk.Find = findState(t, i*60e9+15e9)
		}
		if err := w.Bucket(bk); err != nil {
			t.Fatal(err)
		}
	}
	tr := Trailer{Inputs: []report.Input{{Path: "a.pcap", SHA256: "ab", Packets: 21}}, Integrity: map[string]uint64{"x": 1},
		Open: []dns.Edge{{TS: 5, ClientPort: 1}}, Orphans: []dns.Edge{{TS: 7, QName: "a.example", HasQuestion: true}}}
	if err := w.Close(tr); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestParse(t *testing.T) {
	s, bs, err := Parse(bytes.NewReader(sample(t)), "x")
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 2 || bs[1].Net.Packets != 11 || bs[0].DNS.Queries != 5 {
		t.Fatalf("buckets %+v", bs)
	}
	if s.Header.Labels[0] != (Label{"server", "ns1"}) || s.Trailer.Inputs[0].SHA256 != "ab" || s.Trailer.Integrity["x"] != 1 ||
		len(s.Trailer.Open) != 1 || s.Trailer.Orphans[0].QName != "a.example" {
		t.Fatalf("header %+v trailer %+v", s.Header, s.Trailer)
	}
}

// TestRefuses: a summary of a later format version, a truncated one, and
// bytes that are not one are refused with a clear error.
func TestRefuses(t *testing.T) {
	good := sample(t)
	newer := bytes.Clone(good)
	newer[9] = FormatVersion + 1
	for _, c := range []struct {
		name string
		b    []byte
		want error
		text string
	}{
		{"newer version", newer, ErrVersion, "upgrade visor"},
		{"truncated", good[:len(good)-3], ErrCorrupt, "truncated"},
		{"no trailer", good[:len(good)/2], ErrCorrupt, ""},
		{"not a summary", []byte("not a summary at all"), ErrCorrupt, "not a visor summary"},
		{"empty", nil, ErrCorrupt, ""},
		{"data after", append(bytes.Clone(good), good[10:30]...), ErrCorrupt, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Parse(bytes.NewReader(c.b), "f.vsum")
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.text) || !strings.Contains(err.Error(), "f.vsum") {
				t.Fatalf("err %v, want %v with %q", err, c.want, c.text)
			}
		})
	}
}

// TestMergeRefusesParams: summaries with other sketch parameters or
// bucket widths do not merge, and the error says why.
func TestMergeRefusesParams(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.vsum")
	os.WriteFile(p, sample(t), 0o644)
	a, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Open(p)
	b.Header.Params.BucketNS = 1e9
	if _, _, err := Merge(a, b); err == nil || !strings.Contains(err.Error(), "bucket widths differ") {
		t.Fatalf("err %v", err)
	}
	b.Header.Params.BucketNS, b.Header.Params.TopKCapacity = 60e9, 64
	if _, _, err := Merge(a, b); err == nil || !strings.Contains(err.Error(), "capacities differ") {
		t.Fatalf("err %v", err)
	}
	// The same input twice: counted once, with a warning.
	c, _ := Open(p)
	m, warns, err := Merge(a, c)
	if err != nil || len(warns) != 1 || !strings.Contains(warns[0], "counted once") {
		t.Fatalf("err %v warnings %q", err, warns)
	}
	rep, err := m.Report()
	if err != nil {
		t.Fatal(err)
	}
	defer rep.Close()
	if rep.Summary.Net.Packets != 21 {
		t.Fatalf("packets %d, want 21 (the duplicate left out)", rep.Summary.Net.Packets)
	}
}

// FuzzSummary reads hostile summaries: an error naming the file, or a
// summary that reports; never a panic.
func FuzzSummary(f *testing.F) {
	f.Add(sample(f))
	f.Add(sampleVersion(f, 1))
	f.Add([]byte(Magic + "\x00\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, _, err := Parse(bytes.NewReader(b), "fuzz.vsum")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.vsum") {
				t.Fatalf("error without the file's name: %v", err)
			}
			return
		}
		path := filepath.Join(t.TempDir(), "f.vsum")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		o, err := Open(path)
		if err != nil {
			t.Fatalf("Parse accepted what Open refuses: %v", err)
		}
		_ = s
		if rep, err := o.Report(); err == nil {
			rep.Close()
		}
		// Merged with itself (left out as a duplicate, or merged when it
		// names no input): the parts' buckets decoded as the merge takes
		// them.
		o2, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if m, _, err := Merge(o, o2); err == nil {
			for _, err := range m.Buckets() {
				if err != nil && !strings.Contains(err.Error(), "f.vsum") {
					t.Fatalf("error without the file's name: %v", err)
				}
			}
		}
	})
}

// FuzzSummaryMessages feeds hostile bytes to the messages' parsers past
// the compression (a fuzzer rarely makes a valid zstd frame): header,
// bucket (the analyzers' states and their sketches) and trailer.
func FuzzSummaryMessages(f *testing.F) {
	rr, _ := openRecords(bytes.NewReader(sample(f)), "seed")
	for {
		_, msg, err := rr.next()
		if err != nil {
			break
		}
		f.Add(bytes.Clone(msg))
	}
	var seedBucket []byte
	rr, _ = openRecords(bytes.NewReader(sample(f)), "seed")
	for {
		kind, msg, err := rr.next()
		if err != nil {
			break
		}
		if kind == kindBucket {
			seedBucket = bytes.Clone(msg)
		}
	}
	empty, err := appendBucket(nil, &Bucket{Start: 0, End: 60e9, Net: net.NewState(), DNS: dns.NewState()})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(empty)
	f.Fuzz(func(t *testing.T, b []byte) {
		var h Header
		if h.parse(b) == nil {
			h.validate()
		}
		if bk, err := parseBucket(b); err == nil {
			// Read into the states another bucket was read into (a merge's
			// parts reuse them), this one's and the seed's in turn: what
			// fresh states read.
			for _, pair := range [][2][]byte{{seedBucket, b}, {b, seedBucket}} {
				prev, err := parseBucket(pair[0])
				if err != nil {
					t.Fatal(err)
				}
				fresh, err := parseBucketInto(pair[1], func() *dns.State { return new(dns.State) }, func() *net.State { return new(net.State) })
				if err != nil {
					t.Fatal(err)
				}
				again, err := parseBucketInto(pair[1], func() *dns.State { return prev.DNS }, func() *net.State { return prev.Net })
				if err != nil {
					t.Fatalf("read again: %v", err)
				}
				fresh.Net.SettleRates()
				again.Net.SettleRates()
				w1, _ := json.Marshal([]any{fresh.DNS.Report(10), fresh.Net.Report(10)})
				w2, _ := json.Marshal([]any{again.DNS.Report(10), again.Net.Report(10)})
				if string(w1) != string(w2) {
					t.Fatalf("read into reused states:\n%s\nfresh:\n%s", w2, w1)
				}
			}
			bk.Net.SettleRates()
			bk.DNS.Report(10)
			bk.Net.Report(10)
			o := &Bucket{Start: bk.Start, End: bk.End, Net: net.NewState(), DNS: dns.NewState(), Find: findings.NewState()}
			mergeBucket(o, bk)
			if _, err := appendBucket(nil, o); err != nil {
				t.Fatalf("a bucket read back does not write: %v", err)
			}
		}
		var tr Trailer
		if tr.parse(b) == nil {
			s := &Summary{Trailer: tr, Header: Header{Params: DefaultParams(60e9, 10, 5e9, 5e8)}}
			pair(&s.Trailer, &s.Header.Params)
			tr.append(nil)
		}
	})
}

// TestFindingsStates: a version 2 summary carries its buckets' findings
// states, and a merge judges the findings again on them; a version 1
// summary is read, its findings kept, and a merge with it says so.
func TestFindingsStates(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) *Summary {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	v2 := write("v2.vsum", sample(t))
	_, bs, err := Parse(bytes.NewReader(sample(t)), "v2")
	if err != nil {
		t.Fatal(err)
	}
	want := findState(t, 15e9)
	wb, _ := want.AppendBinary(nil)
	for i, b := range bs {
		if b.Find == nil {
			t.Fatalf("bucket %d: no findings state read", i)
		}
		if got, _ := b.Find.AppendBinary(nil); i == 0 && !bytes.Equal(got, wb) {
			t.Errorf("bucket 0: the findings state read back differs from the one written")
		}
	}
	v1 := write("v1.vsum", sampleVersion(t, 1))
	if v1.Header.FormatVersion != 1 || v1.Header.FindingsStates {
		t.Fatalf("version 1 header %+v", v1.Header)
	}
	_, bs1, err := Parse(bytes.NewReader(sampleVersion(t, 1)), "v1")
	if err != nil || len(bs1) != 2 || bs1[0].Find != nil {
		t.Fatalf("version 1: %v, %d buckets", err, len(bs1))
	}
	v1.Trailer.Inputs[0].SHA256 = "cd" // another input
	v1.Trailer.Findings = []report.Finding{{Kind: "kept", Summary: "as the run judged it"}}
	m, warns, err := Merge(v2, v1)
	if err != nil || len(warns) != 1 || !strings.Contains(warns[0], "not judged again") || !strings.Contains(warns[0], "v1.vsum") {
		t.Fatalf("err %v warnings %q", err, warns)
	}
	rep, err := m.Report()
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].Kind != "kept" {
		t.Errorf("findings %+v, want the version 1 part's, kept", rep.Findings)
	}
	rep.Close()
	// Two version 2 parts: judged again; the states written by a merge
	// read back.
	v2b := write("v2b.vsum", sample(t))
	v2b.Trailer.Inputs[0].SHA256 = "ef"
	v2b.Trailer.Findings = []report.Finding{{Kind: "not kept"}}
	m2, warns, err := Merge(v2, v2b)
	if err != nil || len(warns) != 0 || !m2.hasFinds {
		t.Fatalf("err %v warnings %q", err, warns)
	}
	var out bytes.Buffer
	if err := m2.Write(&out); err != nil {
		t.Fatal(err)
	}
	back, bs2, err := Parse(&out, "merged")
	if err != nil || !back.Header.FindingsStates || len(bs2) != 2 || bs2[1].Find == nil {
		t.Fatalf("merged: %v, header %+v", err, back.Header)
	}
	rep, err = m2.Report()
	if err != nil {
		t.Fatal(err)
	}
	defer rep.Close()
	for _, f := range rep.Findings {
		if f.Kind == "not kept" {
			t.Errorf("findings %+v: a part's own findings kept, not judged again", rep.Findings)
		}
	}
}

// TestMergeCorruptBucket: a bucket a merge decodes only when it takes it
// (partBuckets) still fails with the file and the byte it is at.
func TestMergeCorruptBucket(t *testing.T) {
	var b bytes.Buffer
	h := Header{FormatVersion: FormatVersion, Visor: "t", Params: DefaultParams(60e9, 10, 5e9, 5e8), FindingsStates: true}
	w := &Writer{rw: newRecordWriter(&b, FormatVersion)}
	if err := w.rw.record(kindHeader, h.append(nil)); err != nil {
		t.Fatal(err)
	}
	msg, err := appendBucket(nil, &Bucket{Start: 0, End: 60e9, Net: net.NewState(), DNS: dns.NewState()})
	if err != nil {
		t.Fatal(err)
	}
	msg = sketch.AppendBytes(msg, 7, []byte{0x0a, 0x05, 0x08}) // a window cut short
	if err := w.rw.record(kindBucket, msg); err != nil {
		t.Fatal(err)
	}
	w.n = 1
	if err := w.Close(Trailer{Inputs: []report.Input{{Path: "x", SHA256: "x1"}}}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bad, good := filepath.Join(dir, "bad.vsum"), filepath.Join(dir, "good.vsum")
	os.WriteFile(bad, b.Bytes(), 0o644)
	os.WriteFile(good, sample(t), 0o644)
	a, err := Open(bad)
	if err != nil {
		t.Fatalf("the framing is sound, Open should not decode buckets: %v", err)
	}
	g, _ := Open(good)
	m, _, err := Merge(g, a)
	if err != nil {
		t.Fatal(err)
	}
	var got error
	for _, err := range m.Buckets() {
		if err != nil {
			got = err
			break
		}
	}
	if got == nil || !strings.Contains(got.Error(), "bad.vsum: bucket at byte") || !errors.Is(got, findings.ErrCorrupt) {
		t.Fatalf("error %v, want bad.vsum's bucket named, wrapping findings.ErrCorrupt", got)
	}
}

// zonesState is a findings state of one window at ts: a busy zone cut
// (six names, each asked and answered) and a quiet one (one name).
func zonesState(t testing.TB, ts int64) *findings.State {
	s := findings.NewState()
	c, srv := netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("198.51.100.1")
	names := []string{"www.quiet.example", "a.busy.example", "b.busy.example", "c.busy.example", "d.busy.example", "e.busy.example", "f.busy.example"}
	for i, name := range names {
		q := []byte{0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0}
		for _, l := range strings.Split(name, ".") {
			q = append(append(q, byte(len(l))), l...)
		}
		q = append(q, 0, 0, 1, 0, 1)
		r := bytes.Clone(q)
		r[2], r[3] = 0x81, 0x80
		for j, b := range [][]byte{q, r} {
			var v decode.DNS
			if !decode.ParseDNS(b, &v) {
				t.Fatal("cannot parse the test message")
			}
			m := visor.Message{TS: ts + int64(i)*1e7 + int64(j)*1e6, IPVersion: 4, Transport: visor.TransportUDP, Src: c, Dst: srv, WireLen: len(b), Data: b}
			if j == 1 {
				m.Src, m.Dst = srv, c
			}
			s.ObserveDNS(&m, &v, sketch.Hash(v.QName()), visor.DirUnknown)
		}
	}
	return s
}

// A writer writes the findings states of its inner buckets pruned, its
// first two and last two whole, and whole too the buckets KeepWhole names
// (an input's first or last packet, whose windows a later merge may add
// to).
func TestWriterPrunesInnerBuckets(t *testing.T) {
	h := Header{Visor: "test", Params: DefaultParams(60e9, 10, 5e9, 5e8), FindingsStates: true}
	whole := func(i int64) int {
		b, err := zonesState(t, i*60e9+15e9).AppendBinary(nil)
		if err != nil {
			t.Fatal(err)
		}
		return len(b)
	}
	for _, keep := range []bool{false, true} {
		var out bytes.Buffer
		w, err := NewWriter(&out, h)
		if err != nil {
			t.Fatal(err)
		}
		if keep {
			w.KeepWhole(190e9)
		}
		for i := int64(0); i < 6; i++ {
			bk := &Bucket{Start: i * 60e9, End: (i + 1) * 60e9, Net: net.NewState(), DNS: dns.NewState(), Find: zonesState(t, i*60e9+15e9)}
			if err := w.Bucket(bk); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(Trailer{}); err != nil {
			t.Fatal(err)
		}
		_, bs, err := Parse(&out, "t.vsum")
		if err != nil {
			t.Fatal(err)
		}
		for i, bk := range bs {
			b, err := bk.Find.AppendBinary(nil)
			if err != nil {
				t.Fatal(err)
			}
			pruned := i == 2 || i == 3 && !keep
			if got := len(b) < whole(int64(i)); got != pruned {
				t.Errorf("keep %v, bucket %d: %d bytes of %d whole: pruned %v, want %v", keep, i, len(b), whole(int64(i)), got, pruned)
			}
		}
	}
}
