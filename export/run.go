package export

import (
	"context"
	"errors"

	"github.com/visor-dns/visor/analyzers"
)

// Stats count an export's work.
type Stats struct {
	Rows    uint64 // records written
	Matched uint64 // rows with both a query and a response
	// Integrity is the analysis' count of what was not fully analysed,
	// by reason (as the report's integrity).
	Integrity map[string]uint64
}

// batches in flight between the analysis and the writer: one filling,
// one being written, two queued.
const batches = 4

// Run reads r to its end (or ctx's cancellation), analyses it with opts
// (their Transactions is set here) and writes a record per transaction
// to w, encoding on a goroutine of its own beside the analysis. With
// findings (of an analysis of the same inputs with the same options; at
// most 64), the findings column names those each row belongs to. It does
// not close w. The error is r's, or w's (WriteError wraps it).
func Run(ctx context.Context, r analyzers.Reader, opts analyzers.Options, w Writer, findings []Finding) (Stats, error) {
	var st Stats
	full, free := make(chan *Batch, batches), make(chan *Batch, batches)
	for range batches {
		free <- &Batch{Rows: make([]Record, 0, BatchRows)}
	}
	s := &sink{full: full, free: free, stats: &st}
	if len(findings) > maxFindings {
		findings = findings[:maxFindings]
	}
	if findings != nil {
		s.findings, s.ids = findings, make([]string, len(findings))
		for i, f := range findings {
			s.ids[i] = f.ID
		}
	}
	s.cur = <-free
	s.cur.FindingIDs = s.ids
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	werr := make(chan error, 1)
	go func() {
		var err error
		for x := range full {
			if err == nil {
				if err = w.Write(x); err != nil {
					cancel() // the rest would be read for nothing
				}
			}
			free <- x
		}
		werr <- err
	}()
	opts.Transactions = s
	a := analyzers.New(opts)
	rerr := a.Run(ctx, r)
	rep := a.Finish()
	st.Integrity = rep.Integrity
	rep.Close()
	if len(s.cur.Rows) > 0 {
		full <- s.cur
	}
	close(full)
	if err := <-werr; err != nil {
		return st, &WriteError{err}
	}
	return st, rerr
}

// WriteError is a failure to write the records, not to read the inputs.
type WriteError struct{ Err error }

func (e *WriteError) Error() string { return "writing the records: " + e.Err.Error() }
func (e *WriteError) Unwrap() error { return e.Err }

// IsWriteError reports whether err is a failure to write the records.
func IsWriteError(err error) bool {
	var we *WriteError
	return errors.As(err, &we)
}
