// Package summary reads, writes and merges visor's summary files (.vsum):
// a run's mergeable state, per bucket every counter and every sketch, with
// the inputs, integrity, findings and the transactions open at the run's
// edges. The format is visor_summary.proto in this directory (framing,
// then zstd-compressed protobuf messages); docs/summaries.md is the guide.
//
// The API the rest of visor calls:
//
//	s, err := summary.Open(path)        // header and trailer; buckets stay on disk
//	m, warns, err := summary.Merge(a, b) // lazy: buckets merge as they are read
//	rep, err := m.Report()               // a report, transactions joined, findings judged
//	err = m.WriteFile(path)              // or a summary again
//
// A Summary reads its buckets from its file each time they are needed
// (Each), so a merge of many long summaries holds one bucket of each at a
// time. Merging is associative and commutative: any tree of merges of the
// same summaries gives the same report.
package summary

import (
	"cmp"
	"fmt"
	"io"
	"iter"
	"os"
	"runtime"
	"slices"
	"strings"

	"github.com/visor-dns/visor/analyzers"
	"github.com/visor-dns/visor/analyzers/dns"
	"github.com/visor-dns/visor/analyzers/findings"
	"github.com/visor-dns/visor/analyzers/net"
	"github.com/visor-dns/visor/report"
	"github.com/visor-dns/visor/sketch"
)

// Header is what a summary says before its buckets.
type Header struct {
	FormatVersion uint32
	Visor         string // the version of visor that wrote it
	Params        Params
	Labels        []Label
	// FindingsStates says that every bucket carries its findings state
	// (format version 2 or later), so that a merge judges the findings again.
	FindingsStates bool
}

// Params are the analysis settings of a summary. Those that change what a
// sketch or a transaction means must be equal for two summaries to merge.
type Params struct {
	BucketNS                 int64
	Top                      uint32
	TopKCapacity             uint32
	HLLPrecision             uint32
	QuantilesAccuracy        float64
	QuantilesMaxBins         uint32
	XactTimeoutNS, SlowNS    int64
	DNSPorts                 []uint32
	HostSpec, QNameSuffixes  []string
	QNameRegex, QNameExclude string
	BPF                      string
}

// Label is one --label k=v.
type Label struct{ Key, Value string }

// Trailer is what a summary says after its buckets.
type Trailer struct {
	Inputs    []report.Input
	Integrity map[string]uint64
	// Findings as the run judged them; a merge judges again when it has
	// the findings states (version 2 or later files, -j), else keeps these (see
	// Report).
	Findings []report.Finding
	// Open are the queries open when the run ended, Orphans the responses
	// near its start without a query: Report pairs them across summaries.
	Open, Orphans []dns.Edge
	Warnings      []string
	Buckets       uint64
}

// Bucket is one bucket's states.
type Bucket struct {
	Start, End int64
	Net        *net.State
	DNS        *dns.State
	// Find is the findings state (format version 2 or later; nil in version 1
	// files).
	Find *findings.State
	// PPS and QPS are the packets and queries a second of the bucket
	// (the rates' peaks); nil in files of visor before they were kept.
	PPS, QPS *analyzers.PerSecond

	raw   []byte // a bucket not decoded yet (partBuckets): its message
	where string // and where it was read, for errors
}

// Summary is one summary: a file, or a merge of summaries.
type Summary struct {
	Header  Header
	Trailer Trailer

	path     string                    // a file's, read again by buckets
	name     string                    // for errors and --split-by input
	parts    []*Summary                // a merge's
	finds    map[int64]*findings.State // in-process findings states by bucket start, or nil
	hasFinds bool
	tmp      bool // path is a temporary file to remove on Close
	flat     bool // a group of mergedBuckets: merged by one goroutine

	// Thresholds judge the findings again (nil: the defaults).
	Thresholds *findings.Thresholds
}

// DefaultParams are the params of sketches as this visor makes them, for
// the analysis settings given.
func DefaultParams(bucketNS int64, top int, timeoutNS, slowNS int64) Params {
	return Params{BucketNS: bucketNS, Top: uint32(top), TopKCapacity: dns.TopCapacity, HLLPrecision: sketch.HLLPrecision,
		QuantilesAccuracy: sketch.QuantilesAccuracy, QuantilesMaxBins: sketch.QuantilesMaxBins,
		XactTimeoutNS: timeoutNS, SlowNS: slowNS}
}

// Name is the summary's file name (a merge's: its parts', joined).
func (s *Summary) Name() string { return s.name }

// Parts returns the summaries a merge was made of (nil for a file).
func (s *Summary) Parts() []*Summary { return s.parts }

// Open reads a summary file's header and trailer; its buckets are read
// when needed.
func Open(path string) (*Summary, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s := &Summary{path: path, name: path}
	if err := s.scan(f, path, nil); err != nil {
		return nil, err
	}
	return s, nil
}

// Parse reads a whole summary from r, keeping its buckets in memory: for
// tests and fuzzing (Open reads files without holding their buckets).
func Parse(r io.Reader, name string) (*Summary, []*Bucket, error) {
	s := &Summary{name: name}
	var bs []*Bucket
	err := s.scan(r, name, func(b *Bucket) error {
		bs = append(bs, b)
		return nil
	})
	return s, bs, err
}

// scan reads the header and trailer, and passes each bucket to fn (nil:
// the buckets are checked for framing only, not decompressed).
func (s *Summary) scan(r io.Reader, name string, fn func(*Bucket) error) error {
	return s.scanMode(r, name, fn, false)
}

// scanMode is scan; lazy passes each bucket undecoded (its start and its
// message: see lazyBucket).
func (s *Summary) scanMode(r io.Reader, name string, fn func(*Bucket) error, lazy bool) error {
	rr, err := openRecords(r, name)
	if err != nil {
		return err
	}
	kind, msg, err := rr.next()
	if err == io.EOF {
		return fmt.Errorf("%s: %w: no header record", name, ErrCorrupt)
	}
	if err != nil {
		return err
	}
	if kind != kindHeader {
		return fmt.Errorf("%s: %w: the first record is kind %d, not a header", name, ErrCorrupt, kind)
	}
	if err := s.Header.parse(msg); err != nil {
		return fmt.Errorf("%s: header: %w", name, err)
	}
	if err := s.Header.validate(); err != nil {
		return fmt.Errorf("%s: header: %w", name, err)
	}
	if s.Header.FormatVersion != uint32(rr.version) {
		return fmt.Errorf("%s: header: %w: format version %d in a file of version %d", name, ErrCorrupt, s.Header.FormatVersion, rr.version)
	}
	s.hasFinds = s.Header.FindingsStates
	var n uint64
	last := int64(0)
	for {
		at := rr.off
		kind, msg, err := rr.read(fn != nil)
		if err == io.EOF {
			return fmt.Errorf("%s: %w: truncated (no trailer record)", name, ErrCorrupt)
		}
		if err != nil {
			return err
		}
		switch kind {
		case kindBucket:
			n++
			if fn == nil {
				continue
			}
			var b *Bucket
			if lazy {
				b, err = lazyBucket(msg, fmt.Sprintf("%s: bucket at byte %d", name, at))
			} else {
				b, err = parseBucket(msg)
			}
			if err != nil {
				return fmt.Errorf("%s: bucket at byte %d: %w", name, at, err)
			}
			if n > 1 && b.Start <= last {
				return fmt.Errorf("%s: bucket at byte %d: %w: buckets out of order", name, at, ErrCorrupt)
			}
			last = b.Start
			if err := fn(b); err != nil {
				return err
			}
		case kindTrailer:
			if err := s.Trailer.parse(msg); err != nil {
				return fmt.Errorf("%s: trailer at byte %d: %w", name, at, err)
			}
			if s.Trailer.Buckets != n {
				return fmt.Errorf("%s: %w: the trailer counts %d buckets, the file has %d", name, ErrCorrupt, s.Trailer.Buckets, n)
			}
			if _, _, err := rr.next(); err != io.EOF {
				return fmt.Errorf("%s: %w: data after the trailer at byte %d", name, ErrCorrupt, rr.off)
			}
			return nil
		default:
			return fmt.Errorf("%s: record at byte %d: %w: a second header", name, at, ErrCorrupt)
		}
	}
}

func (h *Header) validate() error {
	if h.FormatVersion > FormatVersion || h.FormatVersion < oldestVersion {
		return fmt.Errorf("%w: the header says format version %d, this visor reads %d to %d", ErrVersion, h.FormatVersion, oldestVersion, FormatVersion)
	}
	if h.FindingsStates && h.FormatVersion < 2 {
		return corrupt("findings states in a format version %d file", h.FormatVersion)
	}
	p := &h.Params
	if p.BucketNS < 1e9 || p.BucketNS%1e9 != 0 {
		return corrupt("bucket width %d ns is not a whole number of seconds", p.BucketNS)
	}
	if p.Top < 1 || p.Top > 1<<20 {
		return corrupt("top %d", p.Top)
	}
	if p.XactTimeoutNS <= 0 || p.SlowNS <= 0 {
		return corrupt("transaction timeout and slow threshold must be positive")
	}
	return nil
}

// Buckets yields the summary's buckets in ascending start time: a file's
// read from it again, a merge's merged from its parts'. Each bucket is
// new: the caller may keep or change it.
func (s *Summary) Buckets() iter.Seq2[*Bucket, error] {
	if s.parts != nil {
		return s.mergedBuckets()
	}
	return s.fileBuckets(false)
}

// partBuckets is Buckets for a merge: a file's buckets are not decoded
// until the merge takes them (Bucket.decode), so that it holds the
// messages of one bucket of each part, not their decoded states. A
// bucket's message is the file reader's buffer: the caller decodes it
// before it asks for the next bucket (kway does).
func (s *Summary) partBuckets() iter.Seq2[*Bucket, error] {
	if s.parts != nil || s.finds != nil {
		return s.Buckets()
	}
	return s.fileBuckets(true)
}

func (s *Summary) fileBuckets(lazy bool) iter.Seq2[*Bucket, error] {
	return func(yield func(*Bucket, error) bool) {
		f, err := os.Open(s.path)
		if err != nil {
			yield(nil, err)
			return
		}
		defer f.Close()
		stop := fmt.Errorf("stop")
		var t Summary
		err = t.scanMode(f, s.name, func(b *Bucket) error {
			if f := s.finds[b.Start]; f != nil {
				// Owned by the map: the caller gets a copy.
				b.Find = findings.NewState()
				b.Find.Merge(f)
			}
			if !yield(b, nil) {
				return stop
			}
			return nil
		}, lazy)
		if err != nil && err != stop {
			yield(nil, err)
		}
	}
}

// mergedBuckets merges the parts' buckets by start time (a k-way merge
// holding one bucket of each part). With several cores and enough parts,
// the parts are cut into one group a core, each group merged by a
// goroutine of its own, and the groups' buckets merged here: the same
// buckets (merging is associative and commutative), the decoding and most
// of the merging spread over the cores.
func (s *Summary) mergedBuckets() iter.Seq2[*Bucket, error] {
	srcs := make([]iter.Seq2[*Bucket, error], 0, len(s.parts))
	if g := mergeGroups(len(s.parts)); g > 1 && !s.flat {
		for i := 0; i < g; i++ {
			sub := &Summary{parts: s.parts[i*len(s.parts)/g : (i+1)*len(s.parts)/g], hasFinds: s.hasFinds, flat: true}
			srcs = append(srcs, ahead(sub.Buckets()))
		}
	} else {
		for _, p := range s.parts {
			srcs = append(srcs, p.partBuckets())
		}
	}
	return kway(srcs, s.hasFinds)
}

// mergeGroups is how many goroutines merge n parts: one a core, each with
// 2 parts at least.
func mergeGroups(n int) int {
	return min(runtime.GOMAXPROCS(0), n/2)
}

// ahead runs seq in a goroutine of its own, one bucket ahead of its
// reader.
func ahead(seq iter.Seq2[*Bucket, error]) iter.Seq2[*Bucket, error] {
	return func(yield func(*Bucket, error) bool) {
		type item struct {
			b   *Bucket
			err error
		}
		ch := make(chan item, 1)
		done := make(chan struct{})
		go func() {
			defer close(ch)
			for b, err := range seq {
				select {
				case ch <- item{b, err}:
				case <-done:
					return
				}
				if err != nil {
					return
				}
			}
		}()
		defer func() {
			close(done)
			for range ch {
			}
		}()
		for it := range ch {
			if !yield(it.b, it.err) {
				return
			}
		}
	}
}

// kway merges the sources' buckets by start time, holding one bucket of
// each; keepFinds keeps the merged findings states.
func kway(srcs []iter.Seq2[*Bucket, error], keepFinds bool) iter.Seq2[*Bucket, error] {
	return func(yield func(*Bucket, error) bool) {
		type head struct {
			next func() (*Bucket, error, bool)
			stop func()
			b    *Bucket
		}
		var hs []*head
		defer func() {
			for _, h := range hs {
				h.stop()
			}
		}()
		for _, src := range srcs {
			next, stop := iter.Pull2(src)
			h := &head{next: next, stop: stop}
			hs = append(hs, h)
			b, err, ok := next()
			if err != nil {
				yield(nil, err)
				return
			}
			if ok {
				h.b = b
			}
		}
		for {
			var start int64
			found := false
			for _, h := range hs {
				if h.b != nil && (!found || h.b.Start < start) {
					start, found = h.b.Start, true
				}
			}
			if !found {
				return
			}
			var out *Bucket
			for _, h := range hs {
				if h.b == nil || h.b.Start != start {
					continue
				}
				if err := h.b.decode(); err != nil {
					yield(nil, err)
					return
				}
				if out == nil {
					out = h.b
				} else {
					mergeBucket(out, h.b)
					putFind(h.b.Find)
					putDNS(h.b.DNS)
					putNet(h.b.Net)
					h.b.Find, h.b.DNS, h.b.Net = nil, nil, nil
				}
				b, err, ok := h.next()
				if err != nil {
					yield(nil, err)
					return
				}
				h.b = nil
				if ok {
					h.b = b
				}
			}
			if !keepFinds {
				putFind(out.Find)
				out.Find = nil
			}
			if !yield(out, nil) {
				return
			}
		}
	}
}

func mergeBucket(dst, o *Bucket) {
	dst.End = max(dst.End, o.End)
	dst.Net.Merge(o.Net)
	dst.DNS.Merge(o.DNS)
	if dst.Find != nil && o.Find != nil {
		dst.Find.Merge(o.Find)
	}
	for _, x := range []struct{ d, o **analyzers.PerSecond }{{&dst.PPS, &o.PPS}, {&dst.QPS, &o.QPS}} {
		if *x.o == nil {
			continue
		}
		if *x.d == nil {
			*x.d = &analyzers.PerSecond{}
		}
		(*x.d).Merge(*x.o)
	}
}

// Merge returns the merge of the summaries: their buckets merge when read.
// Summaries whose params differ are refused, the reason said. A summary
// whose inputs (by sha256) were all seen in an earlier one adds nothing
// and is named in a warning; one that shares only some inputs is merged
// and the warning says those inputs are counted twice.
func Merge(sums ...*Summary) (*Summary, []string, error) {
	if len(sums) == 0 {
		return nil, nil, fmt.Errorf("no summary to merge")
	}
	var warns []string
	m := &Summary{Header: sums[0].Header, hasFinds: true, Thresholds: sums[0].Thresholds}
	m.Header.Labels = slices.Clone(m.Header.Labels)
	m.Trailer.Integrity = map[string]uint64{}
	seen := map[string]string{}
	var names, old []string
	for _, s := range sums {
		if err := compatible(&m.Header.Params, &s.Header.Params); err != nil {
			return nil, nil, fmt.Errorf("%s cannot merge with %s: %w", s.name, sums[0].name, err)
		}
		dup, fresh := 0, 0
		for _, in := range s.Trailer.Inputs {
			if in.SHA256 == "" {
				fresh++
				continue
			}
			if _, ok := seen[in.SHA256]; ok {
				dup++
			} else {
				fresh++
			}
		}
		if dup > 0 && fresh == 0 {
			warns = append(warns, fmt.Sprintf("%s: every input was seen already (same sha256, e.g. %s): counted once, this summary is left out", s.name, seen[s.Trailer.Inputs[0].SHA256]))
			continue
		}
		if dup > 0 {
			warns = append(warns, fmt.Sprintf("%s: %d of its inputs were seen already (same sha256) and are counted twice: its counts cannot be separated by input", s.name, dup))
		}
		for _, in := range s.Trailer.Inputs {
			if _, ok := seen[in.SHA256]; !ok && in.SHA256 != "" {
				seen[in.SHA256] = s.name + ": " + in.Path
			}
		}
		m.parts = append(m.parts, s)
		names = append(names, s.name)
		if !s.hasFinds {
			m.hasFinds = false
		}
		if !s.hasFinds {
			old = append(old, s.name)
		}
	}
	if len(old) > 0 && len(sums) > 1 {
		more := ""
		if len(old) > 1 {
			more = fmt.Sprintf(" and %d more", len(old)-1)
		}
		warns = append(warns, fmt.Sprintf("%s%s: no findings states (format version 1, or a merge of such a summary): the merge's findings are those the runs judged, not judged again on the merged data (analyse the captures again with this visor to have them)", old[0], more))
	}
	m.name = strings.Join(names, "+")
	m.mergeHeaders()
	m.mergeTrailers()
	if len(m.parts) == 1 && len(warns) == 0 {
		return m.parts[0], nil, nil
	}
	return m, warns, nil
}

// compatible says why two summaries cannot merge, if they cannot.
func compatible(a, b *Params) error {
	switch {
	case a.BucketNS != b.BucketNS:
		return fmt.Errorf("bucket widths differ (%ds and %ds)", a.BucketNS/1e9, b.BucketNS/1e9)
	case a.TopKCapacity != b.TopKCapacity:
		return fmt.Errorf("top list capacities differ (%d and %d items)", a.TopKCapacity, b.TopKCapacity)
	case a.HLLPrecision != b.HLLPrecision:
		return fmt.Errorf("cardinality precisions differ (%d and %d)", a.HLLPrecision, b.HLLPrecision)
	case a.QuantilesAccuracy != b.QuantilesAccuracy || a.QuantilesMaxBins != b.QuantilesMaxBins:
		return fmt.Errorf("quantile sketches differ (accuracy %v/%v, bins %d/%d)", a.QuantilesAccuracy, b.QuantilesAccuracy, a.QuantilesMaxBins, b.QuantilesMaxBins)
	case a.XactTimeoutNS != b.XactTimeoutNS:
		return fmt.Errorf("transaction timeouts differ (%v and %v ns)", a.XactTimeoutNS, b.XactTimeoutNS)
	case a.SlowNS != b.SlowNS:
		return fmt.Errorf("slow thresholds differ (%v and %v ns)", a.SlowNS, b.SlowNS)
	}
	return nil
}

// mergeHeaders keeps the labels every part has with the same value, and
// the longest top.
func (m *Summary) mergeHeaders() {
	var keep []Label
	for _, l := range m.parts[0].Header.Labels {
		all := true
		for _, p := range m.parts[1:] {
			if !slices.Contains(p.Header.Labels, l) {
				all = false
				break
			}
		}
		if all {
			keep = append(keep, l)
		}
	}
	m.Header.Labels = keep
	for _, p := range m.parts {
		m.Header.Params.Top = max(m.Header.Params.Top, p.Header.Params.Top)
		if cmp.Compare(p.Header.Visor, m.Header.Visor) > 0 {
			m.Header.Visor = p.Header.Visor
		}
	}
}

// mergeTrailers joins the parts' inputs (in first-packet order), sums
// their integrity (a _max_ count takes the largest), and keeps their
// findings and edge transactions for Report.
func (m *Summary) mergeTrailers() {
	t := &m.Trailer
	for _, p := range m.parts {
		pt := &p.Trailer
		t.Inputs = append(t.Inputs, pt.Inputs...)
		for k, v := range pt.Integrity {
			if strings.Contains(k, "_max_") {
				t.Integrity[k] = max(t.Integrity[k], v)
			} else {
				t.Integrity[k] += v
			}
		}
		t.Findings = append(t.Findings, pt.Findings...)
		t.Open = append(t.Open, pt.Open...)
		t.Orphans = append(t.Orphans, pt.Orphans...)
		t.Warnings = append(t.Warnings, pt.Warnings...)
	}
	slices.SortStableFunc(t.Inputs, func(a, b report.Input) int {
		if c := cmp.Compare(a.FirstTS, b.FirstTS); c != 0 {
			return c
		}
		return cmp.Compare(a.Path, b.Path)
	})
	sortFindings(t.Findings)
	t.Findings = slices.CompactFunc(t.Findings, func(a, b report.Finding) bool {
		return a.Kind == b.Kind && a.Start == b.Start && a.End == b.End && a.Summary == b.Summary
	})
	sortEdges(t.Open)
	sortEdges(t.Orphans)
	slices.Sort(t.Warnings)
	t.Warnings = slices.Compact(t.Warnings)
}

func sortFindings(fs []report.Finding) {
	slices.SortStableFunc(fs, func(a, b report.Finding) int {
		if c := cmp.Compare(a.Start, b.Start); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		return cmp.Compare(a.Summary, b.Summary)
	})
}

func sortEdges(es []dns.Edge) {
	slices.SortStableFunc(es, func(a, b dns.Edge) int {
		if c := cmp.Compare(a.TS, b.TS); c != 0 {
			return c
		}
		if c := a.Client.Compare(b.Client); c != 0 {
			return c
		}
		if c := a.Server.Compare(b.Server); c != 0 {
			return c
		}
		if c := cmp.Compare(a.ClientPort, b.ClientPort); c != 0 {
			return c
		}
		if c := cmp.Compare(a.ServerPort, b.ServerPort); c != 0 {
			return c
		}
		if c := cmp.Compare(a.ID, b.ID); c != 0 {
			return c
		}
		if c := cmp.Compare(a.QType, b.QType); c != 0 {
			return c
		}
		return cmp.Compare(a.QHash, b.QHash)
	})
}

// Writer writes a summary file: NewWriter writes the header, Bucket each
// bucket in ascending start time, Close the trailer. Its findings states
// are written pruned (findings.Prune) but in the first and last edge
// buckets, whose windows may continue in the summaries of the capture's
// other pieces (two: a piece's first packets may come a little before the
// last of the piece before it): the last buckets are held until later
// ones come, and written whole when none did.
type Writer struct {
	rw    *recordWriter
	n     uint64
	prune findings.Thresholds
	whole bool    // no pruning
	keep  []int64 // times whose buckets are written whole
	held  []heldBucket
	spare []heldBucket // buffers to reuse
}

// edge is how many buckets at each end a Writer writes whole.
const edge = 2

// heldBucket is a bucket written whole and, when pruned, pruned.
type heldBucket struct {
	full, part []byte
	pruned     bool
}

// inner returns what Bucket writes of h when later buckets came.
func (h *heldBucket) inner() []byte {
	if h.pruned {
		return h.part
	}
	return h.full
}

// NewWriter writes the magic, version and header to w.
func NewWriter(w io.Writer, h Header) (*Writer, error) {
	h.FormatVersion = FormatVersion
	sw := &Writer{rw: newRecordWriter(w, FormatVersion), prune: findings.DefaultThresholds()}
	if err := sw.rw.record(kindHeader, h.append(nil)); err != nil {
		return nil, err
	}
	return sw, nil
}

// Temporary makes w compress faster, for a summary read back once; with
// whole, it writes its findings states whole (-j's runs: their inputs may
// overlap in time, as two interfaces do, and their merge is judged as one
// run's).
func (w *Writer) Temporary(whole bool) { w.rw.small, w.whole = false, whole }

// KeepWhole makes w write whole the buckets that hold any of times: the
// first and last packets of a merge's inputs, whose windows may continue
// in a summary merged later (a merge of Monday and Wednesday, then with
// Tuesday).
func (w *Writer) KeepWhole(times ...int64) { w.keep = append(w.keep, times...) }

// PruneFor makes w prune its findings states by the lower of t's and the
// default minimums (rs-names, tun-queries, flood-min, flood-rate,
// refl-bytes, syn-min), so that either finds what it would.
func (w *Writer) PruneFor(t *findings.Thresholds) {
	if t != nil {
		w.prune = findings.DefaultThresholds().Lowest(*t)
	}
}

// Bucket writes one bucket (or one before it: see Writer).
func (w *Writer) Bucket(b *Bucket) error {
	if len(w.held) == edge {
		if err := w.rw.record(kindBucket, w.held[0].inner()); err != nil {
			return err
		}
		w.spare = append(w.spare, w.held[0])
		w.held = append(w.held[:0], w.held[1:]...)
	}
	var h heldBucket
	if n := len(w.spare); n > 0 {
		h, w.spare = w.spare[n-1], w.spare[:n-1]
	}
	var err error
	if h.full, err = appendBucketHead(h.full[:0], b); err != nil {
		return err
	}
	head := len(h.full)
	if h.full, err = appendBucketFind(h.full, b.Find, nil); err != nil {
		return err
	}
	kept := slices.ContainsFunc(w.keep, func(t int64) bool { return t >= b.Start && t < b.End })
	h.pruned = w.n >= edge && !kept && !w.whole && b.Find != nil && b.Find.Prunable(b.Start, b.End)
	if h.pruned {
		h.part = append(h.part[:0], h.full[:head]...)
		if h.part, err = appendBucketFind(h.part, b.Find, &findings.Prune{T: w.prune, Start: b.Start, End: b.End}); err != nil {
			return err
		}
	}
	w.held = append(w.held, h)
	w.n++
	return nil
}

// Close writes the held buckets whole, the trailer, and flushes; the
// caller closes the file.
func (w *Writer) Close(t Trailer) error {
	for _, h := range w.held {
		if err := w.rw.record(kindBucket, h.full); err != nil {
			return err
		}
	}
	w.held = w.held[:0]
	t.Buckets = w.n
	if err := w.rw.record(kindTrailer, t.append(nil)); err != nil {
		return err
	}
	return w.rw.flush()
}

// Write writes s as a summary file to w (a merge's buckets merged as they
// go), with the findings states when every part had them. The findings
// are those Report would give.
func (s *Summary) Write(w io.Writer) error {
	h := s.Header
	h.FindingsStates = s.hasFinds
	sw, err := NewWriter(w, h)
	if err != nil {
		return err
	}
	sw.PruneFor(s.Thresholds)
	for _, in := range s.Trailer.Inputs {
		if in.Packets > 0 {
			sw.KeepWhole(int64(in.FirstTS), int64(in.LastTS))
		}
	}
	t := s.Trailer
	if s.hasFinds && s.parts != nil {
		// Judged again on the merged states, as Report does (a file's
		// own are its run's).
		rep, err := s.Report()
		if err != nil {
			return err
		}
		t.Findings = rep.Findings
		rep.Close()
	}
	for b, err := range s.Buckets() {
		if err != nil {
			return err
		}
		if err := sw.Bucket(b); err != nil {
			return err
		}
		putFind(b.Find)
	}
	return sw.Close(t)
}

// WithFindings attaches in-memory findings states by bucket start to a
// summary made in this process (engine's -j), so that a merge judges the
// findings again on merged data.
func (s *Summary) WithFindings(m map[int64]*findings.State) {
	s.finds, s.hasFinds = m, m != nil
}

// OpenTemp opens a summary that lives in a temporary file, removed by
// Close.
func OpenTemp(path string) (*Summary, error) {
	s, err := Open(path)
	if err != nil {
		return nil, err
	}
	s.tmp = true
	return s, nil
}

// SetName names the summary in warnings and --split-by sections.
func (s *Summary) SetName(n string) { s.name = n }

// Close removes the temporary files of s and its parts.
func (s *Summary) Close() error {
	var err error
	for _, p := range s.parts {
		if e := p.Close(); e != nil && err == nil {
			err = e
		}
	}
	if s.tmp {
		s.tmp = false
		if e := os.Remove(s.path); e != nil && err == nil {
			err = e
		}
	}
	return err
}

// Rewrite copies the summary file src to w with its trailer changed by
// edit (e.g. inputs renamed): the header and buckets are copied as they
// are (checked, not decoded).
func Rewrite(w io.Writer, src string, edit func(*Trailer)) error {
	s, err := Open(src)
	if err != nil {
		return err
	}
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	rr, err := openRecords(f, src)
	if err != nil {
		return err
	}
	rw := newRecordWriter(w, rr.version)
	for {
		kind, msg, err := rr.next()
		if err != nil {
			return err
		}
		if kind == kindTrailer {
			break
		}
		if err := rw.record(kind, msg); err != nil {
			return err
		}
	}
	t := s.Trailer
	edit(&t)
	if err := rw.record(kindTrailer, t.append(nil)); err != nil {
		return err
	}
	return rw.flush()
}
