package engine

import (
	"os"

	"github.com/visor-dns/visor/analyzers"
	"github.com/visor-dns/visor/report"
	"github.com/visor-dns/visor/summary"
)

// liveRecorder writes a live run's closed buckets to a summary in a
// temporary file as they close (visor live --format summary), so that a
// long run holds no more of them in memory than its report does.
type liveRecorder struct {
	f   *os.File
	w   *summary.Writer
	err error // the first write error; the run goes on, the summary fails
	// skipEmpty leaves out buckets no packet reached (an interface run's).
	skipEmpty bool
}

func newLiveRecorder(cfg *Config) (*liveRecorder, error) {
	h, err := cfg.header()
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp("", "visor-summary-*.vsum")
	if err != nil {
		return nil, err
	}
	w, err := summary.NewWriter(f, h)
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	w.PruneFor(cfg.thresholds)
	return &liveRecorder{f: f, w: w}, nil
}

// bucket is the analysis' Options.Summary. With skipEmpty, a bucket no
// packet reached (the one Advance opened on a quiet interface when the run
// ended) is left out, as FinishLive leaves it out of the report.
func (r *liveRecorder) bucket(b analyzers.BucketStates) {
	if r.err != nil || (r.skipEmpty && b.Net.Packets == 0) {
		return
	}
	r.err = r.w.Bucket(&summary.Bucket{Start: b.Start, End: b.End, Net: b.Net, DNS: b.DNS, PPS: b.PPS, QPS: b.QPS, Find: b.Find})
}

// finish writes the trailer from the run's final report and the
// transactions at its edges, and opens the summary (removed by its Close).
func (r *liveRecorder) finish(rep *report.Report, a *analyzers.Analysis, name string) (*summary.Summary, error) {
	if r.err != nil {
		r.abort()
		return nil, r.err
	}
	t := summary.Trailer{Inputs: rep.Inputs, Integrity: rep.Integrity, Findings: rep.Findings}
	t.Open, t.Orphans, _ = a.Carried()
	if err := r.w.Close(t); err != nil {
		r.abort()
		return nil, err
	}
	path := r.f.Name()
	if err := r.f.Close(); err != nil {
		os.Remove(path)
		return nil, err
	}
	s, err := summary.OpenTemp(path)
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	s.SetName(name)
	return s, nil
}

// abort removes the unfinished summary.
func (r *liveRecorder) abort() {
	r.f.Close()
	os.Remove(r.f.Name())
}
