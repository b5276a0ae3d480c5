package engine

import (
	"context"
	"io"

	"github.com/visor-dns/visor/diff"
	"github.com/visor-dns/visor/report"
)

// DiffOptions say how two sides are compared and the comparison written.
type DiffOptions struct {
	Top     int    // names listed a top list (diff.Options.Limit)
	Version string // this visor, named in the diff whatever made a JSON side
	Format  string // table, json or markdown
	ASCII   bool   // table: ASCII only
}

// Diff loads the two sides (captures, summaries or JSON reports: Load)
// and compares them; the sides' spilled buckets are released before it
// returns.
func Diff(ctx context.Context, cfg *Config, before, after string, stdin io.Reader, stderr io.Writer, o DiffOptions) (*diff.Diff, error) {
	var sides [2]diff.Side
	for i, path := range []string{before, after} {
		l, err := Load(ctx, cfg, path, stdin, stderr)
		if err != nil {
			return nil, err
		}
		defer l.Report.Close()
		sides[i] = diff.Side{Label: path, Kind: l.Kind, Report: l.Report, Top: l.Top}
	}
	d := diff.Compute(sides[0], sides[1], diff.Options{Limit: o.Top})
	d.Tool = report.Tool{Name: "visor", Version: o.Version}
	return d, nil
}

// WriteDiff writes d in o.Format: the table is 80 columns wide, or a
// narrower terminal's width.
func WriteDiff(w io.Writer, d *diff.Diff, o DiffOptions) error {
	switch o.Format {
	case "json":
		return diff.WriteJSON(w, d)
	case "markdown":
		return diff.WriteMarkdown(w, d)
	}
	return diff.WriteTable(w, d, diff.TableOptions{Width: min(80, report.TableWidth(w)), ASCII: o.ASCII || !report.UTF8Locale()})
}
