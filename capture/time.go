package capture

import (
	"errors"
	"math"

	"github.com/visor-dns/visor"
)

// Integrity reasons of the records a source skips and reads past
// (visor.InputInfo.Skipped).
const (
	// ReasonTimeRange: a record's time is not a Unix nanosecond time an
	// int64 holds (before 1677-09-21 or after 2262-04-11), or its
	// fraction of a second is one second or more.
	ReasonTimeRange = "timestamp_out_of_range"
	// ReasonDNSTapBadFrame: a well-framed dnstap data frame whose payload
	// is not a Dnstap MESSAGE visor can read.
	ReasonDNSTapBadFrame = "dnstap_bad_frame"
)

// errTimeRange is a record time out of range: the record is skipped.
var errTimeRange = errors.New("timestamp out of range")

// The whole seconds of the times an int64 of Unix nanoseconds holds; at
// the ends only part of the second is held.
const (
	maxSec = math.MaxInt64 / 1_000_000_000     // 9223372036, up to 854775807 ns
	minSec = math.MinInt64/1_000_000_000 - 1   // -9223372037, from 145224192 ns
	maxNs  = math.MaxInt64 % 1_000_000_000     // 854775807
	minNs  = 1e9 + math.MinInt64%1_000_000_000 // 145224192
)

// unixNanos is sec seconds and ns nanoseconds (0 <= ns < 1e9) after the
// epoch as Unix nanoseconds; false when an int64 does not hold that time
// (the caller skips the record rather than let the time wrap).
func unixNanos(sec, ns int64) (int64, bool) {
	switch {
	case sec > minSec && sec < maxSec:
		return sec*1e9 + ns, true
	case sec == maxSec && ns <= maxNs:
		return sec*1e9 + ns, true
	case sec == minSec && ns >= minNs:
		return (sec+1)*1e9 + (ns - 1e9), true
	}
	return 0, false
}

// offsetNanos is sec+off seconds and ns nanoseconds (0 <= ns < 1e9) as
// Unix nanoseconds, false when out of range: pcapng's unsigned timestamp
// plus its signed if_tsoffset, neither allowed to wrap.
func offsetNanos(sec uint64, off int64, ns int64) (int64, bool) {
	var s int64
	if off >= 0 {
		t := sec + uint64(off)
		if t < sec || t > maxSec {
			return 0, false
		}
		s = int64(t)
	} else {
		m := uint64(-off) // 2^63 for MinInt64, as wanted
		switch {
		case sec >= m:
			if sec-m > maxSec {
				return 0, false
			}
			s = int64(sec - m)
		case m-sec > -minSec:
			return 0, false
		default:
			s = -int64(m - sec)
		}
	}
	return unixNanos(s, ns)
}

// tapNanos is a dnstap time (uint64 seconds, fixed32 nanoseconds) as Unix
// nanoseconds, false when out of range.
func tapNanos(sec, nsec uint64) (int64, bool) {
	if nsec >= 1e9 || sec > maxSec {
		return 0, false
	}
	return unixNanos(int64(sec), int64(nsec))
}

// skipped counts a record a source read past, under its integrity reason.
func skipped(info *visor.InputInfo, reason string) {
	if info.Skipped == nil {
		info.Skipped = map[string]uint64{}
	}
	info.Skipped[reason]++
}
