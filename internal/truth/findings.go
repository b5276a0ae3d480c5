package truth

import (
	"fmt"
	"strings"
	"time"

	"github.com/visor-dns/visor/report"
)

// FindingKey is what a finding is about: its zone (or first zone),
// target, source or prefix.
func FindingKey(f report.Finding) string { return EvidenceKey(f.Evidence) }

// EvidenceKey is what a finding with evidence ev is about (FindingKey).
func EvidenceKey(ev map[string]any) string {
	for _, k := range []string{"zone", "target", "source", "prefix"} {
		if v, ok := ev[k].(string); ok {
			return v
		}
	}
	if zs, ok := ev["zones"].([]any); ok && len(zs) > 0 {
		if z, ok := zs[0].(map[string]any); ok {
			return fmt.Sprint(z["name"])
		}
	}
	return ""
}

// Kinds lists findings as kind(key), for messages.
func Kinds(fs []report.Finding) string {
	var s []string
	for _, f := range fs {
		s = append(s, f.Kind+"("+FindingKey(f)+")")
	}
	return "[" + strings.Join(s, " ") + "]"
}

// Diff lists where the findings of a report made with buckets of width
// bucket differ from the attack: ordinary traffic gives none; an attack
// exactly one, of its kind and about its key, starting within one bucket
// of the launch (or up to late more after it: the first packet may leave
// after the launch), with start <= peak <= end, a severity and a summary.
func (a *Attack) Diff(fs []report.Finding, bucket, late time.Duration) []string {
	if a.Kind == "" {
		if len(fs) != 0 {
			return []string{"ordinary traffic gave findings " + Kinds(fs)}
		}
		return nil
	}
	if len(fs) != 1 {
		return []string{fmt.Sprintf("findings %s, want exactly one %s(%s)", Kinds(fs), a.Kind, a.Key())}
	}
	f := fs[0]
	if f.Kind != a.Kind || FindingKey(f) != a.Key() {
		return []string{fmt.Sprintf("finding %s(%s), want %s(%s)", f.Kind, FindingKey(f), a.Kind, a.Key())}
	}
	var out []string
	launch, err := time.Parse(time.RFC3339Nano, a.Start)
	if err != nil {
		return []string{fmt.Sprintf("the attack's start %q: %v", a.Start, err)}
	}
	start, peak, end := f.Start.Time(), f.Peak.Time(), f.End.Time()
	if d := start.Sub(launch); d < -bucket || d > bucket+late {
		out = append(out, fmt.Sprintf("start %s is %s from the launch %s, more than one bucket (+%s after)", f.Start, d, a.Start, late))
	}
	if peak.Before(start) || end.Before(peak) {
		out = append(out, fmt.Sprintf("start %s, peak %s, end %s out of order", f.Start, f.Peak, f.End))
	}
	if f.Severity == "" || f.Summary == "" {
		out = append(out, fmt.Sprintf("severity %q summary %q", f.Severity, f.Summary))
	}
	return out
}
