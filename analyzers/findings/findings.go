// Package findings names attacks and incidents in the traffic: per-bucket
// evidence gathered by shards (State), merged per bucket, and detectors
// that read the buckets in order (Detector) and report findings with
// capture-time start, peak and end.
package findings

import (
	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/decode"
	"github.com/visor-dns/visor/report"
)

// State is one shard's (or a bucket's merged) evidence. It merges.
type State struct{}

// NewState returns an empty state.
func NewState() *State { return &State{} }

// ObserveFrame sees every packet (for TCP SYN floods and the like).
func (s *State) ObserveFrame(f *visor.Frame, dir visor.Direction) {}

// ObserveDNS sees every DNS message with its parsed view.
func (s *State) ObserveDNS(m *visor.Message, v *decode.DNS, dir visor.Direction) {}

// Merge adds o into s.
func (s *State) Merge(o *State) {}

// Reset empties s for reuse.
func (s *State) Reset() {}

// Detector reads the merged buckets in time order.
type Detector struct{}

// NewDetector returns a detector with default thresholds.
func NewDetector() *Detector { return &Detector{} }

// AddBucket takes one closed bucket's merged state and its report section.
func (d *Detector) AddBucket(start, end int64, s *State, sec *report.Section) {}

// Findings returns what the detectors found, most severe first.
func (d *Detector) Findings() []report.Finding { return []report.Finding{} }
