package lab

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"github.com/visor-dns/visor/internal/truth"
)

// Found is a finding as the JSON report writes it (read on its own, so the
// scorecard does not depend on how the report's model holds times).
type Found struct {
	Kind     string         `json:"kind"`
	Severity string         `json:"severity"`
	Summary  string         `json:"summary"`
	Start    time.Time      `json:"start"`
	Peak     time.Time      `json:"peak"`
	End      time.Time      `json:"end"`
	Evidence map[string]any `json:"evidence"`
}

// Key is what the finding is about: its zone (or first zone), target,
// source or prefix (truth.EvidenceKey).
func (f *Found) Key() string { return truth.EvidenceKey(f.Evidence) }

// ReportFindings reads the findings of a JSON report.
func ReportFindings(report []byte) ([]Found, error) {
	var r struct {
		Findings []Found `json:"findings"`
	}
	if err := json.Unmarshal(report, &r); err != nil {
		return nil, fmt.Errorf("the report's findings: %w", err)
	}
	return r.Findings, nil
}

// The scorecard's rules (docs/findings-scorecard.md).
const (
	// StartTolerance is how far a finding's start may be from the launch.
	StartTolerance = 2 * time.Second
	// SameTime is how far a finding's start or end at one bucket size may
	// be from the same finding's at the smallest bucket size.
	SameTime = time.Second
	// SameCount is the relative difference allowed between a finding's main
	// count at one bucket size and at the smallest.
	SameCount = 0.05
)

// ScoreBuckets are the bucket sizes every scenario is analysed with.
var ScoreBuckets = []time.Duration{time.Second, 10 * time.Second, time.Minute, 5 * time.Minute}

// mainCount is the evidence key holding a finding kind's main count.
var mainCount = map[string]string{
	"random_subdomain": "queries",
	"dns_tunneling":    "queries",
	"nxdomain_flood":   "nxdomain",
	"servfail_storm":   "servfail",
	"query_flood":      "queries",
	"reflection":       "responses",
	"tcp_syn_flood":    "syns",
}

// Row is one scenario analysed at one bucket size.
type Row struct {
	Scenario string
	Bucket   time.Duration
	Expect   []string // kind(key) of each expected finding
	Found    []string // kind(key) of each finding
	// StartErr is, for each expected finding found, its start minus the
	// launch.
	StartErr []time.Duration
	// FalsePositives counts the findings no expectation matches.
	FalsePositives int
	// Misses say why the row fails; none: it passes.
	Misses  []string
	matched []*Found // per expectation, nil when not found
}

// Pass says whether the row holds.
func (r *Row) Pass() bool { return len(r.Misses) == 0 }

// Score compares the findings of one analysis with the truth: every
// expected finding present (kind and key), starting within StartTolerance
// of its launch, with start <= peak <= end; no other finding.
func Score(c *CorpusTruth, bucket time.Duration, fs []Found) Row {
	r := Row{Scenario: c.Scenario, Bucket: bucket, matched: make([]*Found, len(c.Expect))}
	for i := range fs {
		r.Found = append(r.Found, fs[i].Kind+"("+fs[i].Key()+")")
	}
	used := make([]bool, len(fs))
	for i, e := range c.Expect {
		r.Expect = append(r.Expect, e.Kind+"("+e.Key()+")")
		for j := range fs {
			if !used[j] && fs[j].Kind == e.Kind && fs[j].Key() == e.Key() {
				used[j], r.matched[i] = true, &fs[j]
				break
			}
		}
		f := r.matched[i]
		if f == nil {
			r.Misses = append(r.Misses, "no "+r.Expect[i])
			continue
		}
		launch, err := time.Parse(time.RFC3339Nano, e.Launch)
		if err != nil {
			r.Misses = append(r.Misses, fmt.Sprintf("launch %q: %v", e.Launch, err))
			continue
		}
		start, peak, end := f.Start, f.Peak, f.End
		d := start.Sub(launch)
		r.StartErr = append(r.StartErr, d)
		if d < -StartTolerance || d > StartTolerance {
			r.Misses = append(r.Misses, fmt.Sprintf("%s starts %s from the launch", r.Expect[i], round(d)))
		}
		if peak.Before(start) || end.Before(peak) {
			r.Misses = append(r.Misses, fmt.Sprintf("%s: start %s, peak %s, end %s out of order", r.Expect[i], TimeString(start), TimeString(peak), TimeString(end)))
		}
	}
	for j := range fs {
		if !used[j] {
			r.FalsePositives++
		}
	}
	if r.FalsePositives > 0 {
		var fp []string
		for j := range fs {
			if !used[j] {
				fp = append(fp, r.Found[j])
			}
		}
		r.Misses = append(r.Misses, "false positives "+strings.Join(fp, " "))
	}
	return r
}

// Consistent adds a miss to every row of one scenario (rows in bucket
// order, the smallest first) where an expected finding differs from the
// same finding in the first row: its start or end by more than SameTime,
// its main count by more than SameCount. (Another number of findings is
// already a miss of one of the rows: each must hold exactly the expected.)
func Consistent(rows []Row) {
	if len(rows) < 2 {
		return
	}
	ref := &rows[0]
	for k := 1; k < len(rows); k++ {
		r := &rows[k]
		for i := range r.matched {
			a, b := ref.matched[i], r.matched[i]
			if a == nil || b == nil {
				continue
			}
			for _, p := range []struct {
				what   string
				ta, tb time.Time
			}{{"start", a.Start, b.Start}, {"end", a.End, b.End}} {
				if d := p.tb.Sub(p.ta); d > SameTime || d < -SameTime {
					r.Misses = append(r.Misses, fmt.Sprintf("%s %s %s from its %s at %s", r.Expect[i], p.what, round(d), p.what, BucketName(ref.Bucket)))
				}
			}
			if key, ok := mainCount[a.Kind]; ok {
				ca, oka := number(a.Evidence[key])
				cb, okb := number(b.Evidence[key])
				if oka && okb && math.Abs(cb-ca) > SameCount*math.Max(ca, 1) {
					r.Misses = append(r.Misses, fmt.Sprintf("%s %s %.0f, %.0f at %s", r.Expect[i], key, cb, ca, BucketName(ref.Bucket)))
				}
			}
		}
	}
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	}
	return 0, false
}

func round(d time.Duration) time.Duration { return d.Round(10 * time.Millisecond) }

// BucketName is a bucket size as the scorecard writes it (1s, 10s, 1m, 5m).
func BucketName(d time.Duration) string {
	switch {
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	default:
		return fmt.Sprintf("%ds", d/time.Second)
	}
}

// Scorecard is the rows as a Markdown table, then the misses.
func Scorecard(rows []Row) string {
	var b strings.Builder
	pass := 0
	for i := range rows {
		if rows[i].Pass() {
			pass++
		}
	}
	fmt.Fprintf(&b, "%d of %d rows pass.\n\n", pass, len(rows))
	b.WriteString("| scenario | bucket | expected | found | start error | false positives | verdict |\n")
	b.WriteString("|---|---|---|---|---:|---:|---|\n")
	for i := range rows {
		r := &rows[i]
		exp := strings.Join(r.Expect, " ")
		if exp == "" {
			exp = "none"
		}
		found := strings.Join(r.Found, " ")
		if found == "" {
			found = "none"
		}
		var se []string
		for _, d := range r.StartErr {
			se = append(se, fmt.Sprintf("%+.2fs", d.Seconds()))
		}
		verdict := "pass"
		if !r.Pass() {
			verdict = "**MISS**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d | %s |\n", r.Scenario, BucketName(r.Bucket), code(exp), code(found),
			strings.Join(se, " "), r.FalsePositives, verdict)
	}
	var miss []string
	for i := range rows {
		if r := &rows[i]; !r.Pass() {
			miss = append(miss, fmt.Sprintf("- %s at %s: %s", r.Scenario, BucketName(r.Bucket), strings.Join(r.Misses, "; ")))
		}
	}
	if len(miss) > 0 {
		b.WriteString("\nMisses:\n\n" + strings.Join(miss, "\n") + "\n")
	}
	return b.String()
}

func code(s string) string { return "`" + strings.ReplaceAll(s, "|", "\\|") + "`" }

// The markers between which WriteScorecard puts the scorecard.
const (
	ScorecardBegin = "<!-- scorecard: written by scripts/findings-scorecard.sh; do not edit -->"
	ScorecardEnd   = "<!-- end of scorecard -->"
)

// WriteScorecard puts card between the markers of the file at path (the
// rest of the file stays), or writes card alone when the file has no
// markers or does not exist.
func WriteScorecard(path, card string) error {
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	s := string(b)
	i, j := strings.Index(s, ScorecardBegin), strings.Index(s, ScorecardEnd)
	if i < 0 || j < i {
		return os.WriteFile(path, []byte(card), 0o644)
	}
	s = s[:i+len(ScorecardBegin)] + "\n" + card + s[j:]
	return os.WriteFile(path, []byte(s), 0o644)
}
