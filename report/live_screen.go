package report

import (
	"bytes"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/term"
)

// LiveStatus is what a live capture knows beyond its report: the reader's
// own counters, for the header of the terminal view.
type LiveStatus struct {
	Source  string        // the interface or socket
	Up      time.Duration // wall time since the capture started
	Packets uint64        // captured so far
	Bytes   uint64
	PPS     float64 // packets per second over the last redraw
	Dropped uint64  // by the kernel
}

// WriteLiveScreen draws one screen of the live view: a header that stays at
// the top (the live counters, the last closed bucket), then the table of
// the closed buckets cut to the screen. Nothing is wider than o.Width and
// the screen holds at most height lines, so a terminal never scrolls the
// header away; the lines cut are counted on the last line. The screen is
// drawn in place (cursor home, each line cleared to its end, the rest of
// the screen cleared), so it does not flicker.
func WriteLiveScreen(w io.Writer, r *Report, st LiveStatus, o TableOptions, height int) error {
	o.Width = max(o.Width, minTableWidth)
	height = max(height, 8)
	sym := unicodeSymbols
	if o.ASCII {
		sym = asciiSymbols
	}
	sep := " " + sym.dot + " "
	var head []string
	head = append(head, joinFit([]string{
		"visor live on " + st.Source,
		"up " + duration(st.Up.Round(time.Second)),
		count(st.Packets) + " packets",
		bytesIEC(st.Bytes),
		rate(st.PPS) + " pkt/s now",
		"kernel dropped " + count(st.Dropped),
		"Ctrl-C stops",
	}, sep, o.Width)...)
	var lb *Bucket
	r.EachBucket(func(b *Bucket) error { c := *b; lb = &c; return nil })
	if n := r.NumBuckets(); lb != nil {
		d := &lb.DNS
		head = append(head, joinFit([]string{
			"last bucket " + hms(lb.Start) + " " + sym.arrow + " " + hms(lb.End) + " UTC",
			count(lb.Net.Packets) + " packets",
			count(d.Queries) + " queries",
			count(d.Responses) + " responses",
			"NXDOMAIN " + count(d.Rcodes["NXDOMAIN"]),
			"SERVFAIL " + count(d.Rcodes["SERVFAIL"]),
			"p99 in/out " + orDashLatency(d.Xacts.In.LatencyUS.P99) + "/" + orDashLatency(d.Xacts.Out.LatencyUS.P99),
		}, sep, o.Width)...)
		head = append(head, wrap("below: the "+count(uint64(n))+" closed bucket(s) of "+
			duration(time.Duration(r.BucketSeconds*1e9))+"; the open one joins them when it closes", "", o.Width)...)
	} else {
		head = append(head, wrap("no bucket closed yet (buckets of "+duration(time.Duration(r.BucketSeconds*1e9))+")", "", o.Width)...)
	}
	var tb bytes.Buffer
	if err := WriteTableWith(&tb, r, o); err != nil {
		return err
	}
	body := strings.Split(strings.TrimRight(tb.String(), "\n"), "\n")
	room := height - len(head) - 1 // a blank line under the header
	if room < 1 {
		head, room = head[:max(height-2, 1)], 1
	}
	if len(body) > room {
		cut := len(body) - (room - 1)
		body = append(body[:room-1], joinFit([]string{"... " + count(uint64(cut)) + " more lines", "a taller terminal shows them"}, ", ", o.Width)[0])
	}
	var b bytes.Buffer
	b.WriteString("\x1b[H")
	// No newline after the last line: on the terminal's last row it would
	// scroll the header away.
	for i, l := range append(append(head, ""), body...) {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(strings.ReplaceAll(l, nbsp, " "))
		b.WriteString("\x1b[K")
	}
	b.WriteString("\x1b[J")
	_, err := w.Write(b.Bytes())
	return err
}

// ScreenHeight is the number of lines of the terminal w (LINES, then the
// terminal's size), or 24.
func ScreenHeight(w io.Writer) int {
	if n, err := strconv.Atoi(os.Getenv("LINES")); err == nil && n > 0 {
		return n
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		if _, n, err := term.GetSize(int(f.Fd())); err == nil && n > 0 {
			return n
		}
	}
	return 24
}

// joinFit joins parts with sep into lines of at most width columns,
// breaking only between parts (a part wider than a line is cut).
func joinFit(parts []string, sep string, width int) []string {
	var out []string
	cur := ""
	for _, p := range parts {
		if utf8.RuneCountInString(p) > width {
			p = string([]rune(p)[:width])
		}
		if cur == "" {
			cur = p
			continue
		}
		if utf8.RuneCountInString(cur)+utf8.RuneCountInString(sep)+utf8.RuneCountInString(p) > width {
			out = append(out, cur)
			cur = p
			continue
		}
		cur += sep + p
	}
	if cur != "" {
		out = append(out, cur)
	}
	return out
}

// hms renders a capture time as hh:mm:ss UTC.
func hms(t Timestamp) string { return t.Time().Format("15:04:05") }

// orDashLatency is latency, or "-" when nothing was measured.
func orDashLatency(us float64) string {
	if us <= 0 {
		return "-"
	}
	return latency(us)
}
