package analyzers

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/report"
)

// snapshots is what a live view reads while the analysis runs: copies of
// the closed buckets and the summary up to the last of them, which the
// merger publishes under mu when EnableSnapshots was called.
type snapshots struct {
	on      atomic.Bool
	mu      sync.Mutex
	buckets []report.Bucket
	summary report.Section
	closed  uint64 // buckets closed so far

	// Reader side (Advance): the bucket Advance opened with no packet yet.
	idle        bool
	idleBucket  int64
	idlePackets uint64
}

// EnableSnapshots makes the merger publish every closed bucket and the
// summary so far for Snapshot. Call it before the first Observe; it costs
// one summary rendering per closed bucket.
func (a *Analysis) EnableSnapshots() { a.snap.on.Store(true) }

// publish runs on the merger goroutine when bucket b has been merged into
// the summary.
func (a *Analysis) publish(b report.Bucket) {
	if !a.snap.on.Load() {
		return
	}
	sum := report.Section{Net: a.sumNet.Report(a.opts.Top), DNS: a.sumDNS.Report(a.opts.Top)}
	a.sumEnc.Fill(&sum, a.opts.Top)
	a.snap.mu.Lock()
	a.snap.buckets = append(a.snap.buckets, b)
	a.snap.summary = sum
	a.snap.closed++
	a.snap.mu.Unlock()
}

// Snapshot returns the report so far: the closed buckets and their
// summary. It has no inputs, tool, integrity or findings (the caller adds
// what it knows) and is safe to call from any goroutine; the open bucket is
// not in it. Without EnableSnapshots it is empty.
func (a *Analysis) Snapshot() *report.Report {
	a.snap.mu.Lock()
	defer a.snap.mu.Unlock()
	return &report.Report{
		Schema:        report.Schema,
		Integrity:     map[string]uint64{},
		BucketSeconds: float64(a.opts.Bucket) / 1e9,
		Summary:       a.snap.summary,
		Buckets:       append([]report.Bucket(nil), a.snap.buckets...),
		Findings:      []report.Finding{},
	}
}

// ClosedBuckets is the number of buckets published so far.
func (a *Analysis) ClosedBuckets() uint64 {
	a.snap.mu.Lock()
	defer a.snap.mu.Unlock()
	return a.snap.closed
}

// Advance moves the capture-time clock to now without a packet, closing the
// open bucket once now has passed its end: a live capture's buckets close
// on time even when the interface goes quiet. The caller picks now (the
// wall clock less the longest delay a packet can spend in the capture
// ring); a packet stamped before the new open bucket is counted in it, as
// any late packet is. Like Observe, it must not run concurrently with it.
func (a *Analysis) Advance(now int64) {
	if !a.started {
		return
	}
	b := floorDiv(now, a.opts.Bucket) * a.opts.Bucket
	if b <= a.bucket {
		return
	}
	if a.idle() {
		// Nothing arrived since the last Advance: no empty bucket is listed.
		a.bucket, a.snap.idleBucket = b, b
		return
	}
	a.closeBucket(markBucket)
	a.bucket = b
	a.snap.idle, a.snap.idleBucket, a.snap.idlePackets = true, b, a.packets
}

// idle tells whether the open bucket was opened by Advance and has no
// packet yet.
func (a *Analysis) idle() bool {
	s := &a.snap
	return s.idle && s.idleBucket == a.bucket && s.idlePackets == a.packets
}

// ObserveLive is Observe for a capture whose clock Advance also moves: a
// packet after a quiet spell opens its own bucket without closing the
// empty one Advance had opened.
func (a *Analysis) ObserveLive(p *visor.Packet) {
	if a.idle() {
		if b := floorDiv(p.TS, a.opts.Bucket) * a.opts.Bucket; b > a.bucket {
			a.bucket, a.snap.idleBucket = b, b
		}
	}
	a.Observe(p)
}

// FinishLive is Finish for a run that used Advance: an open bucket that no
// packet reached is not listed. Its buckets are in Buckets (a live view
// holds them all in memory anyway).
func (a *Analysis) FinishLive() *report.Report {
	empty := a.idle()
	rep := a.Finish()
	if err := rep.LoadBuckets(); err != nil && a.opts.Warn != nil {
		a.opts.Warn(fmt.Sprintf("visor: %v", err))
	}
	if n := len(rep.Buckets); empty && n > 0 && rep.Buckets[n-1].Net.Packets == 0 {
		rep.Buckets = rep.Buckets[:n-1]
	}
	return rep
}
