package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Numbers as the table prints them for people; the JSON keeps raw numbers.

// nbsp joins a number to its unit so that wrapping keeps them on one line;
// the table writes it as a space.
const nbsp = "\u00a0"

// count renders n with thousands separators: 101624 -> "101,624".
func count(n uint64) string {
	s := strconv.FormatUint(n, 10)
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	pre := len(s) % 3
	if pre > 0 {
		b.WriteString(s[:pre])
	}
	for i := pre; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

// share renders n of total as a percentage with one decimal ("76.9 %"),
// or "" when total is 0.
func share(n, total uint64) string {
	if total == 0 {
		return ""
	}
	return pct(float64(n) / float64(total))
}

// pct renders a ratio in [0, 1] as a percentage with one decimal.
func pct(r float64) string {
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return "-"
	}
	return strconv.FormatFloat(100*r, 'f', 1, 64) + nbsp + "%"
}

// decimal renders f with separators in its integer part and prec decimals
// (prec < 0: as few as needed, at most 3).
func decimal(f float64, prec int) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "-"
	}
	neg := f < 0
	if neg {
		f = -f
	}
	s := strconv.FormatFloat(f, 'f', prec, 64)
	if prec < 0 {
		s = strconv.FormatFloat(math.Round(f*1000)/1000, 'f', -1, 64)
	}
	whole, frac, _ := strings.Cut(s, ".")
	w, err := strconv.ParseUint(whole, 10, 64)
	if err == nil {
		whole = count(w)
	}
	if frac != "" {
		whole += "." + frac
	}
	if neg {
		return "-" + whole
	}
	return whole
}

// rate renders a per-second rate: whole numbers from 100 up, one decimal
// below.
func rate(f float64) string {
	if f >= 100 {
		return decimal(math.Round(f), 0)
	}
	return decimal(f, 1)
}

// bytesIEC renders a byte count in B, KiB, MiB, ... with one decimal.
func bytesIEC(n uint64) string {
	const unit = 1024
	if n < unit {
		return count(n) + nbsp + "B"
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f"+nbsp+"%ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// duration renders d in human units: "850 ms", "7.04 s", "4 min 59 s",
// "2 h 05 min", "3 d 4 h".
func duration(d time.Duration) string {
	if d < 0 {
		return "-" + duration(-d)
	}
	switch {
	case d < time.Millisecond:
		return decimal(float64(d)/1e3, 0) + nbsp + "µs"
	case d < time.Second:
		return decimal(float64(d)/1e6, 0) + nbsp + "ms"
	case d < time.Minute && d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + nbsp + "s"
	case d < 10*time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + nbsp + "s"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + nbsp + "s"
	case d < time.Hour:
		s := int64(d.Round(time.Second) / time.Second)
		if s%60 == 0 {
			return fmt.Sprintf("%d"+nbsp+"min", s/60)
		}
		return fmt.Sprintf("%d"+nbsp+"min"+nbsp+"%02d"+nbsp+"s", s/60, s%60)
	case d < 24*time.Hour:
		m := int64(d.Round(time.Minute) / time.Minute)
		if m%60 == 0 {
			return fmt.Sprintf("%d"+nbsp+"h", m/60)
		}
		return fmt.Sprintf("%d"+nbsp+"h"+nbsp+"%02d"+nbsp+"min", m/60, m%60)
	}
	h := int64(d.Round(time.Hour) / time.Hour)
	return fmt.Sprintf("%d"+nbsp+"d"+nbsp+"%d"+nbsp+"h", h/24, h%24)
}

// latency renders microseconds in human units.
func latency(us float64) string {
	if math.IsNaN(us) || math.IsInf(us, 0) {
		return "-"
	}
	switch {
	case us < 1000:
		return strconv.FormatFloat(us/1e3, 'f', 3, 64) + nbsp + "ms"
	case us < 1e6:
		return strconv.FormatFloat(us/1e3, 'f', 1, 64) + nbsp + "ms"
	}
	return strconv.FormatFloat(us/1e6, 'f', 2, 64) + nbsp + "s"
}
