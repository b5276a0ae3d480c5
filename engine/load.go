package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/visor-dns/visor/report"
	"github.com/visor-dns/visor/summary"
)

// What Load read, by the bytes it found.
const (
	KindCapture = "capture" // captures (or a directory of them), analysed
	KindSummary = "summary" // a summary file (.vsum), turned into a report
	KindReport  = "report"  // a JSON report (visor.report/v1), read back
)

// Loaded is one side of a comparison as Load read it.
type Loaded struct {
	Report *report.Report
	Kind   string // KindCapture, KindSummary or KindReport
	// Top is the length the report's top lists were cut at (--top), or 0
	// when the side does not say (a JSON report).
	Top int
}

// Load returns the report of one side of a comparison (visor diff's BEFORE
// and AFTER, check's --baseline): a summary file turned into its report, a
// JSON report as it was written, or the analysis of path with cfg (path
// replacing cfg.Inputs) when it holds captures. What it is is told by the
// bytes, not the name. The caller closes the report.
func Load(ctx context.Context, cfg *Config, path string, stdin io.Reader, stderr io.Writer) (*Loaded, error) {
	kind, err := sniffSide(path)
	if err != nil {
		return nil, &InputError{err}
	}
	switch kind {
	case KindReport:
		rep, err := readJSONReport(path)
		if err != nil {
			return nil, &InputError{err}
		}
		return &Loaded{Report: rep, Kind: kind}, nil
	case KindSummary:
		s, err := ReadSummary(path)
		if err != nil {
			return nil, &InputError{err}
		}
		defer s.Close()
		rep, err := cfg.SummaryReport(s)
		if err != nil {
			return nil, &InputError{fmt.Errorf("%s: %w", path, err)}
		}
		return &Loaded{Report: rep, Kind: kind, Top: int(s.Header.Params.Top)}, nil
	}
	c := *cfg
	c.Inputs = []string{path}
	rep, err := Analyze(ctx, &c, stdin, stderr)
	if err != nil {
		return nil, err
	}
	return &Loaded{Report: rep, Kind: KindCapture, Top: cfg.Top}, nil
}

// sniffSide tells a summary (its magic) and a JSON report from captures
// by their first bytes; stdin and directories are captures.
func sniffSide(path string) (string, error) {
	if path == "-" {
		return KindCapture, nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() {
		return KindCapture, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head, _ := bufio.NewReader(f).Peek(64)
	if bytes.HasPrefix(head, []byte(summary.Magic)) {
		return KindSummary, nil
	}
	if t := bytes.TrimLeft(head, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		return KindReport, nil
	}
	return KindCapture, nil
}

// readJSONReport reads a JSON report, checked against the report's schema
// first so that any other JSON is refused with the reason.
func readJSONReport(path string) (*report.Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if err := report.Validate(b); err != nil {
		return nil, fmt.Errorf("%s: not a visor JSON report: %w", path, err)
	}
	var r report.Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}
