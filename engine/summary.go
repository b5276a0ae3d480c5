package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/visor-dns/visor/analyzers"
	"github.com/visor-dns/visor/capture"
	"github.com/visor-dns/visor/report"
	"github.com/visor-dns/visor/summary"
)

// The summary API other commands build on (visor merge, diff, check
// --baseline): read a summary file, merge summaries, render a report.
//
//	s, err := engine.ReadSummary("a.vsum")
//	m, warnings, err := engine.MergeSummaries(s, t)
//	rep, err := m.Report()
//
// These names are kept stable.

// Summary is a summary file's content, or a merge of them (package
// summary), for the commands that write one.
type Summary = summary.Summary

// ReadSummary opens a summary file (its header and trailer; the buckets
// are read when a report or a merge needs them).
func ReadSummary(path string) (*summary.Summary, error) { return summary.Open(path) }

// MergeSummaries merges summaries (associative and commutative); the
// warnings say which inputs were seen twice.
func MergeSummaries(sums ...*summary.Summary) (*summary.Summary, []string, error) {
	return summary.Merge(sums...)
}

// ReadSummaries opens and merges summary files.
func ReadSummaries(paths []string) (*summary.Summary, []string, error) {
	var sums []*summary.Summary
	for _, p := range paths {
		s, err := summary.Open(p)
		if err != nil {
			return nil, nil, &InputError{err}
		}
		sums = append(sums, s)
	}
	m, warns, err := summary.Merge(sums...)
	if err != nil {
		return nil, nil, &InputError{err}
	}
	return m, warns, nil
}

// IsSummary tells whether path is a summary file, by its magic.
func IsSummary(path string) bool {
	if path == "-" {
		return false
	}
	// Only a regular file: opening a FIFO would wait for its writer.
	if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
		return false
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, len(summary.Magic))
	_, err = io.ReadFull(f, b)
	return err == nil && string(b) == summary.Magic
}

// summaryInputs tells whether cfg's inputs are summary files (all of
// them; a mix of summaries and captures is refused).
func (c *Config) summaryInputs() (bool, error) {
	n := 0
	for _, in := range c.Inputs {
		if IsSummary(in) {
			n++
		}
	}
	switch {
	case n == 0:
		return false, nil
	case n < len(c.Inputs):
		return false, &InputError{errors.New("the inputs mix summaries and captures: give summaries alone (visor merge) or analyse the captures into summaries first")}
	}
	return true, nil
}

// readInputSummaries merges cfg's inputs, which are summaries, saying the
// merge's warnings on stderr.
func (c *Config) readInputSummaries(stderr io.Writer) (*summary.Summary, error) {
	s, warns, err := ReadSummaries(c.Inputs)
	if err != nil {
		return nil, err
	}
	for _, w := range warns {
		fmt.Fprintf(stderr, "visor: %s\n", w)
	}
	s.Thresholds = c.thresholds
	return s, nil
}

// SummaryReport renders a summary as a report whose tool is this visor,
// with its parts (--split-by) when cfg asks for them.
func (c *Config) SummaryReport(s *summary.Summary) (*report.Report, error) {
	s.Thresholds = c.thresholds
	rep, err := s.Report()
	if err != nil {
		return nil, err
	}
	rep.Tool = c.tool()
	if c.SplitBy != "" {
		if rep.Parts, err = SplitReport(s, c.SplitBy); err != nil {
			rep.Close()
			return nil, err
		}
	}
	return rep, nil
}

// SplitReport renders the parts of s (the summaries it merged; s itself
// when it merged none) one report part per input (by "input": a part's
// inputs) or per label set (by "label": the parts with the same labels
// merged), in the order of their first input.
func SplitReport(s *summary.Summary, by string) ([]report.Part, error) {
	leaves := s.Parts()
	if leaves == nil {
		leaves = []*summary.Summary{s}
	}
	var keys []string
	groups := map[string][]*summary.Summary{}
	labels := map[string]map[string]string{}
	for _, l := range leaves {
		var k string
		switch by {
		case "label":
			var kv []string
			m := map[string]string{}
			for _, lb := range l.Header.Labels {
				kv = append(kv, lb.Key+"="+lb.Value)
				m[lb.Key] = lb.Value
			}
			k = strings.Join(kv, ",")
			labels[k] = m
		default:
			var ps []string
			for _, in := range l.Trailer.Inputs {
				ps = append(ps, in.Path)
			}
			k = strings.Join(ps, ",")
			if k == "" {
				k = l.Name()
			}
		}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], l)
	}
	var parts []report.Part
	for _, k := range keys {
		m, _, err := summary.Merge(groups[k]...)
		if err != nil {
			return nil, err
		}
		m.Header.Params.Top = s.Header.Params.Top
		m.Thresholds = s.Thresholds
		r, err := m.Report()
		if err != nil {
			return nil, err
		}
		if err := r.LoadBuckets(); err != nil {
			return nil, err
		}
		for i := range r.Inputs {
			if r.Inputs[i].LinkTypes == nil {
				r.Inputs[i].LinkTypes = map[string]uint64{}
			}
		}
		if r.Buckets == nil {
			r.Buckets = []report.Bucket{}
		}
		parts = append(parts, report.Part{By: by, Key: k, Labels: labels[k], Inputs: r.Inputs, Integrity: r.Integrity,
			Summary: r.Summary, Buckets: r.Buckets, Findings: r.Findings})
	}
	return parts, nil
}

// params are cfg's summary params.
func (c *Config) params() summary.Params {
	p := summary.DefaultParams(int64(c.Bucket), c.Top, int64(c.XactTimeout), int64(c.Slow))
	for _, port := range c.DNSPorts {
		p.DNSPorts = append(p.DNSPorts, uint32(port))
	}
	for _, h := range c.HostSpec {
		p.HostSpec = append(p.HostSpec, h.String())
	}
	p.QNameSuffixes = c.QNameSuffixes
	p.QNameRegex, p.QNameExclude, p.BPF = c.QNameRegex, c.QNameExclude, c.BPF
	return p
}

func (c *Config) header() (summary.Header, error) {
	h := summary.Header{FormatVersion: summary.FormatVersion, Visor: c.Version, Params: c.params(), FindingsStates: true}
	ls, err := report.ParseLabels(c.Labels)
	if err != nil {
		return h, err
	}
	for _, l := range ls {
		h.Labels = append(h.Labels, summary.Label{Key: l.Name, Value: l.Value})
	}
	return h, nil
}

// jobs is the number of analyses run at once for n inputs, from the CPUs
// -j gives (0: GOMAXPROCS): a run keeps about two CPUs busy (its reader,
// its shards), so -j N runs N/2 inputs at once, GOMAXPROCS/runs shards
// each; -j 1 and -j 2 read the inputs as one capture, on one or two CPUs.
func (c *Config) jobs(n int) int {
	j := c.Jobs
	if j <= 0 {
		j = runtime.GOMAXPROCS(0)
	}
	return max(1, min(j/2, n))
}

// AnalyzeSummary analyses cfg's inputs into a summary: with -j above 1
// and several inputs (or --split-by input), each input on its own, in
// parallel, their summaries merged; otherwise the inputs as one capture.
// The summary's buckets are in temporary files: Close it when done.
func AnalyzeSummary(ctx context.Context, cfg *Config, stdin io.Reader, stderr io.Writer) (*summary.Summary, error) {
	if !cfg.valid {
		if err := cfg.Validate(); err != nil {
			return nil, err
		}
	}
	if _, err := cfg.header(); err != nil {
		return nil, err
	}
	if ok, err := cfg.summaryInputs(); ok || err != nil {
		if err != nil {
			return nil, err
		}
		return cfg.readInputSummaries(stderr)
	}
	paths, skipped, err := capture.ExpandReport(cfg.Inputs)
	if err != nil {
		return nil, &InputError{err}
	}
	jobs := cfg.jobs(len(paths))
	if len(paths) <= 1 || (jobs == 1 && cfg.SplitBy != "input") {
		// One capture: the run says itself what it skips.
		s, _, err := analyzeOne(ctx, cfg, cfg.Inputs, false, stdin, stderr)
		if s != nil {
			s.Thresholds = cfg.thresholds
		}
		return s, err
	}
	n := uint64(0)
	for _, s := range skipped {
		if s.Counted() {
			fmt.Fprintf(stderr, "visor: %v\n", s)
			n++
		}
	}
	m, err := analyzeEach(ctx, cfg, paths, jobs, stdin, stderr)
	if err == nil && n > 0 {
		m.Trailer.Integrity[capture.ReasonInputSkipped] += n
	}
	if m != nil {
		m.Thresholds = cfg.thresholds
	}
	return m, err
}

// analyzeEach analyses every path on its own, jobs at a time, and merges
// their summaries (in path order: the merge does not depend on it).
func analyzeEach(ctx context.Context, cfg *Config, paths []string, jobs int, stdin io.Reader, stderr io.Writer) (*summary.Summary, error) {
	sums := make([]*summary.Summary, len(paths))
	errs := make([]error, len(paths))
	sub := *cfg
	sub.Progress = "never" // several bars at once would mix on one line
	if cfg.Shards == 0 {
		sub.Shards = max(1, runtime.GOMAXPROCS(0)/jobs)
	}
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				sums[i], _, errs[i] = analyzeOne(ctx, &sub, []string{paths[i]}, true, stdin, stderr)
			}
		}()
	}
	for i := range paths {
		if ctx.Err() != nil {
			break
		}
		work <- i
	}
	close(work)
	wg.Wait()
	var ok []*summary.Summary
	var firstErr error
	for i, s := range sums {
		if errs[i] != nil && firstErr == nil {
			firstErr = errs[i]
		}
		if s != nil {
			ok = append(ok, s)
		}
	}
	if firstErr != nil || len(ok) == 0 {
		for _, s := range ok {
			s.Close()
		}
		if firstErr == nil {
			firstErr = &InputError{errors.New("no input was analysed")}
		}
		return nil, firstErr
	}
	m, warns, err := summary.Merge(ok...)
	if err != nil {
		return nil, err
	}
	if m.Trailer.Integrity[IntegrityInterrupted] > 0 {
		m.Trailer.Integrity[IntegrityInterrupted] = 1
	}
	for _, w := range warns {
		fmt.Fprintf(stderr, "visor: %s\n", w)
	}
	warnOverlaps(m, stderr)
	return m, nil
}

// warnOverlaps says which inputs overlap in time: analysed apart, the
// transactions between them (a query in one, its response in the other)
// are joined only near their edges.
func warnOverlaps(m *summary.Summary, stderr io.Writer) {
	in := m.Trailer.Inputs
	for i := 1; i < len(in); i++ {
		a, b := in[i-1], in[i]
		if a.Packets > 0 && b.Packets > 0 && b.FirstTS < a.LastTS {
			fmt.Fprintf(stderr, "visor: %s and %s overlap in capture time: analysed apart (-j), each is counted whole, but a query in one answered in the other is joined only near their edges; -j 1 reads them as one capture\n", a.Path, b.Path)
			return
		}
	}
}

// analyzeOne runs one analysis over inputs (merged in time order) and
// writes its summary, findings states included, to a temporary file.
//
// With whole, the summary keeps its findings states whole: the runs of -j
// may overlap in time (two interfaces), and their merge judges as one run.
func analyzeOne(ctx context.Context, cfg *Config, inputs []string, whole bool, stdin io.Reader, stderr io.Writer) (*summary.Summary, *report.Report, error) {
	h, err := cfg.header()
	if err != nil {
		return nil, nil, err
	}
	f, err := os.CreateTemp("", "visor-summary-*.vsum")
	if err != nil {
		return nil, nil, err
	}
	name := f.Name()
	fail := func(err error) (*summary.Summary, *report.Report, error) {
		f.Close()
		os.Remove(name)
		return nil, nil, err
	}
	w, err := summary.NewWriter(f, h)
	if err != nil {
		return fail(err)
	}
	w.PruneFor(cfg.thresholds)
	w.Temporary(whole)
	var werr error
	sub := *cfg
	sub.Inputs = inputs
	rep, a, err := analyze(ctx, &sub, stdin, stderr, func(b analyzers.BucketStates) {
		if werr == nil {
			werr = w.Bucket(&summary.Bucket{Start: b.Start, End: b.End, Net: b.Net, DNS: b.DNS, PPS: b.PPS, QPS: b.QPS, Find: b.Find})
		}
	})
	if err != nil {
		return fail(err)
	}
	defer rep.Close()
	if werr != nil {
		return fail(werr)
	}
	t := summary.Trailer{Inputs: rep.Inputs, Integrity: rep.Integrity, Findings: rep.Findings}
	t.Open, t.Orphans, _ = a.Carried()
	if err := w.Close(t); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	s, err := summary.OpenTemp(name)
	if err != nil {
		os.Remove(name)
		return nil, nil, err
	}
	s.SetName(inputsName(inputs))
	return s, rep, nil
}

func inputsName(inputs []string) string {
	if len(inputs) == 1 {
		return inputs[0]
	}
	return strconv.Itoa(len(inputs)) + " inputs"
}
