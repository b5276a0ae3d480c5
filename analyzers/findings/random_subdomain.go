package findings

import (
	"fmt"
	"math"
	"slices"

	"github.com/visor-dns/visor/report"
	"github.com/visor-dns/visor/sketch"
)

// random_subdomain: names made up under a zone cut (water torture,
// pseudo-random subdomain attack), judged on the population of the names
// under the cut in a window, not on how often each repeats: enough
// distinct names, most of them machine-made (more than in the capture's
// other cuts), and failing or never repeating. Bots that share one list
// of names are found as well as bots that each make their own. Over the
// whole capture the same rule finds a low-and-slow attack that no window
// shows (lowAndSlow).
type randomSubdomain struct{}

// RandomSubdomainEvidence is the evidence of a random_subdomain finding.
type RandomSubdomainEvidence struct {
	ZoneEvidence
	FailureShare float64 `json:"failure_share"`
	// FailedNameShare is the share of a sample of the distinct names
	// whose answer failed.
	FailedNameShare float64 `json:"failed_name_share"`
	RandomShare     float64 `json:"random_share"`
	BaselineRandom  float64 `json:"baseline_random_share"`
	// Pace is "burst" (found in windows of winSec seconds) or
	// "low_and_slow" (found only over the whole capture).
	Pace string `json:"pace"`
}

func init() { register(randomSubdomain{}) }

func (randomSubdomain) order() int         { return 20 }
func (randomSubdomain) evidence() evidence { return &RandomSubdomainEvidence{} }
func (randomSubdomain) present(r *winRec, key string) bool {
	return r.zones[key] != nil
}

func (randomSubdomain) kind() string { return KindRandomSubdomain }

// randomShare returns the share of z's sampled distinct names that look
// machine-made.
func randomShare(sm *nameSample) float64 {
	k, _, _ := sm.randoms()
	return share(uint64(k), uint64(sm.n))
}

// isRandom is the rule over one zone cut's population.
func (d *Detector) isRandom(zone string, distinct, q, r, failed uint64, sm *nameSample, minNames float64) bool {
	t := &d.t
	rs := randomShare(sm)
	return float64(distinct) >= minNames && rs >= t.RSRandom && rs-d.baseline(zone) >= t.RSRandomDelta &&
		(failShare(failed, r, sm) >= t.RSFail || share(distinct, q) >= t.RSUnique)
}

// madeOfWords is the rule for names made of words (a dictionary DGA:
// bluehorse-42, cloudapplecar), whose characters do not look machine-made:
// enough distinct names, nearly all of them failing, in a cut whose
// answers mostly fail, with long labels (reversed addresses under a
// blocklist and PTR sweeps, digits of at most 3, are not).
func (d *Detector) madeOfWords(z *zoneStat) bool {
	t := &d.t
	return float64(z.distinct()) >= t.RSNames && z.sample.n >= sampleK/2 && z.sample.failShare() >= t.RSWordFail &&
		share(z.nx+z.sf, z.r) >= t.RSFail && share(z.maxLabel, z.labelN) >= t.RSWordLen
}

// failShare is the larger of the share of failed answers and the share of
// the sampled distinct names that failed: ordinary names asked often under
// the same cut do not hide failing random ones.
func failShare(failed, r uint64, sm *nameSample) float64 {
	return max(share(failed, r), sm.failShare())
}

func (randomSubdomain) judge(d *Detector, r *winRec, held func(string, float64)) {
	for _, z := range sortedZones(r.zones) {
		if slices.Contains(r.causes, z) {
			continue // a tunnel
		}
		if d.isRandom(z.zone, z.distinct(), z.q, z.r, z.nx+z.sf, &z.sample, d.t.RSNames) || d.madeOfWords(z) {
			held(z.zone, float64(z.distinct())/max(d.t.RSNames, 1))
			r.causes = append(r.causes, z)
			r.nxExpl += z.nx
			r.sfExpl += z.sf
		}
	}
}

func (randomSubdomain) finding(d *Detector, ep *episode) *Finding {
	start, peak, end, pq := d.cutWhen(ep, true)
	var z *zoneStat
	for _, r := range ep.wins {
		if x := r.zones[ep.key]; x != nil {
			if z == nil {
				z = x.clone()
			} else {
				z.merge(x)
			}
		}
	}
	ev := zoneEvidence(d, z)
	ev.Windows, ev.PeakQPS, ev.Pace = ep.nHeld, pq, "burst"
	conf := d.sampleConfidence(z.zone, &z.sample)
	words := ev.RandomShare < d.t.RSRandom
	if words {
		// judged on failures and label length alone: less sure
		conf = min(0.8, z.sample.failShare())
	}
	f := &Finding{Kind: KindRandomSubdomain, Severity: severity(ep.score), Start: start, Peak: peak, End: end, Evidence: ev,
		Explains: explains(ep), Confidence: min(confidence(ep.score, ep.nHeld), conf)}
	describeRandom(f, ev)
	if words {
		f.Why = fmt.Sprintf("%d distinct names under %s with labels of %.0f characters on average, only %.0f%% of a sample of them machine-made by their characters but %.0f%% of them failing (names made of words: a dictionary DGA); %.0f%% of all answers failed, %.2f distinct names per query.",
			ev.DistinctNames, ev.Zone, share(z.maxLabel, z.labelN), 100*ev.RandomShare, 100*ev.FailedNameShare, 100*ev.FailureShare, ev.DistinctPerQuery)
	}
	return f
}

func zoneEvidence(d *Detector, z *zoneStat) *RandomSubdomainEvidence {
	return &RandomSubdomainEvidence{ZoneEvidence: zoneCommon(z),
		FailureShare: round(share(z.nx+z.sf, z.r)), FailedNameShare: round(z.sample.failShare()), RandomShare: round(randomShare(&z.sample)),
		BaselineRandom: round(d.baseline(z.zone)),
	}
}

func describeRandom(f *Finding, ev *RandomSubdomainEvidence) {
	pace := ""
	if ev.Pace == "low_and_slow" {
		pace = "Low-and-slow "
	}
	f.Summary = fmt.Sprintf("%sRandom-subdomain attack on %s: %d distinct names in %d queries from %d source(s), %.0f%% of answers NXDOMAIN or SERVFAIL.",
		pace, ev.Zone, ev.DistinctNames, ev.Queries, ev.Sources, 100*ev.FailureShare)
	f.Why = fmt.Sprintf("%d distinct names under %s, %.0f%% of a sample of them machine-made (%.0f%% in the capture's other zones) and %.0f%% of them failing; %.0f%% of all answers failed, %.2f distinct names per query.",
		ev.DistinctNames, ev.Zone, 100*ev.RandomShare, 100*ev.BaselineRandom, 100*ev.FailedNameShare, 100*ev.FailureShare, ev.DistinctPerQuery)
	f.Next = []string{
		"carve the zone's queries (--carve DIR) and look at the names and the sources asking them",
		"check the resolvers' outbound queries and the authoritative servers of " + ev.Zone + " for load",
		"rate-limit or filter queries for *." + ev.Zone + " at the resolvers while it lasts",
	}
}

// cutWhen returns when an episode of a zone cut's finding started, peaked
// and ended, and its peak queries a second, from the cut's queries a
// second less their floor (excess): ordinary queries under the cut, asked
// before the attack as during it, do not move its start back to the
// first window's beginning. With fails, when the queries do not stand
// out of the cut's ordinary level (ordinary traffic of at least half the
// attack's peak), the cut's failed answers a second tell instead: an
// attack's names fail, ordinary ones mostly do not.
func (d *Detector) cutWhen(ep *episode, fails bool) (start, peak, end int64, peakQPS float64) {
	qs := func(r *winRec) *series {
		if z := r.zones[ep.key]; z != nil {
			return &z.qs
		}
		return nil
	}
	_, _, _, peakQPS, _ = d.when(ep, qs)
	s, out := d.excess(ep, qs)
	if !out && fails {
		fs := func(r *winRec) *series {
			if z := r.zones[ep.key]; z != nil {
				return &z.fails
			}
			return nil
		}
		if f, ok := d.excess(ep, fs); ok {
			s = f
		}
	}
	start, peak, end, _, _ = d.when(ep, s)
	return start, peak, end, peakQPS
}

// excess returns s less its floor: the fewest counts a second over the
// episode's seconds within the capture (an ordinary level, when the cut
// has one all along), plus three times its square root (about its Poisson
// noise). When that is 0 (a second without any) it returns s; when it is
// half the peak or more, or the episode has no second in the capture,
// nothing stands out of the ordinary level: it returns s and false.
func (d *Detector) excess(ep *episode, s func(*winRec) *series) (func(*winRec) *series, bool) {
	least, best := uint32(math.MaxUint32), uint32(0)
	for _, r := range ep.wins {
		x := s(r)
		for i := range winSec {
			if t := r.start(i); t+1e9 <= max(r.first, d.first) || t > min(r.last, d.last) {
				continue // outside the capture
			}
			v := uint32(0)
			if x != nil {
				v = x[i]
			}
			least, best = min(least, v), max(best, v)
		}
	}
	if least == math.MaxUint32 {
		return s, false
	}
	floor := uint32(math.Ceil(float64(least) + 3*math.Sqrt(float64(least))))
	if floor == 0 {
		return s, true
	}
	if 2*floor > best {
		return s, false
	}
	out := make(map[*winRec]*series, len(ep.wins))
	for _, r := range ep.wins {
		if x := s(r); x != nil {
			c := *x
			for i := range c {
				c[i] -= min(c[i], floor)
			}
			out[r] = &c
		}
	}
	return func(r *winRec) *series { return out[r] }, true
}

// explains lists the floods the episode's cause made unnecessary.
func explains(ep *episode) []report.Explained {
	var out []report.Explained
	for _, r := range ep.wins {
		for _, x := range r.explained {
			if x.zone != ep.key {
				continue
			}
			i := slices.IndexFunc(out, func(e report.Explained) bool { return e.Kind == x.kind && e.Key == x.key })
			if i < 0 {
				out = append(out, report.Explained{Kind: x.kind, Key: x.key})
				i = len(out) - 1
			}
			out[i].Count += x.count
		}
	}
	return out
}

// longStat follows a zone cut over the whole capture, over the windows
// where machine-made names showed up: its counts (for low-and-slow
// attacks).
type longStat struct {
	zone                  string
	active                int    // windows with machine-made names
	q, r, nx, sf          uint64 // over those windows
	udp, tcp, v4, v6      uint64
	labelN, subLen, entMb uint64
	names, srcs           *sketch.Cardinality
	actSample             nameSample
	top                   addrTop
	first, last           int64 // first sightings of its first and last machine-made names
}

// follow folds a window's zone cut into the capture-wide state.
func (d *Detector) follow(w *window, z *zoneStat) {
	k, first, last := z.sample.randoms()
	d.base.add(z.zone, uint64(k), uint64(z.sample.n))
	if !z.sample.active() {
		return
	}
	l := d.long[z.zone]
	if l == nil {
		if len(d.long) >= maxLong {
			d.dropped.Zones += z.q + z.r
			return
		}
		l = &longStat{zone: z.zone, first: math.MaxInt64, last: math.MinInt64, names: sketch.NewCardinality(), srcs: sketch.NewCardinality()}
		d.long[z.zone] = l
	}
	l.active++
	l.q += z.q
	l.r += z.r
	l.nx += z.nx
	l.sf += z.sf
	l.udp += z.udp
	l.tcp += z.tcp
	l.v4 += z.v4
	l.v6 += z.v6
	l.labelN += z.labelN
	l.subLen += z.subLen
	l.entMb += z.entropyMb
	l.names.Merge(z.names)
	l.srcs.Merge(z.srcs)
	l.actSample.merge(&z.sample)
	l.top.merge(&z.top)
	l.first = min(l.first, first)
	l.last = max(l.last, last)
}

// baseWeight is a cut's weight in the baseline and its share of
// machine-made names: each cut weighs as many names as its window
// samples held, at most sampleK, so a cut asked in every window weighs
// what a cut of sampleK names does.
func baseWeight(b *baseSum) (w, s float64) {
	if b.n == 0 {
		return 0, 0
	}
	return float64(min(b.n, sampleK)), float64(b.k) / float64(b.n)
}

// baseline returns the share of machine-made names among the sampled
// names of the capture's other zone cuts, each cut weighed by its sampled
// names up to sampleK (0.1 when they weigh less than 20 names). Past
// maxBase cuts, over the sample of them baseSums keeps.
func (d *Detector) baseline(zone string) float64 {
	if !d.based {
		d.baseW, d.baseS = 0, 0
		for _, b := range d.base.sorted() {
			w, s := baseWeight(b)
			d.baseW += w
			d.baseS += w * s
		}
		d.based = true
	}
	w, s := d.baseW, d.baseS
	if b := d.base.m[zone]; b != nil {
		bw, bs := baseWeight(b)
		w -= bw
		s -= bw * bs
	}
	if w < 20 {
		return 0.1
	}
	return max(s/w, 0)
}

// sampleConfidence is 1 minus the chance that a zone cut whose names are
// as machine-made as the other cuts' would show as many machine-made names
// in its sample (a binomial tail).
func (d *Detector) sampleConfidence(zone string, sm *nameSample) float64 {
	k, _, _ := sm.randoms()
	p := min(max(d.baseline(zone), 0.05), 0.95)
	tail := 0.0
	for i := k; i <= sm.n; i++ {
		tail += binom(sm.n, i) * math.Pow(p, float64(i)) * math.Pow(1-p, float64(sm.n-i))
	}
	return round2(min(max(1-tail, 0), 0.99))
}

func binom(n, k int) float64 {
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return r
}

// lowAndSlow returns a random_subdomain finding for each zone cut whose
// machine-made names, over the capture, pass the rule with RSSlowNames
// distinct names though no window did; done names the cuts that have a
// finding already.
func (d *Detector) lowAndSlow(done map[string]bool) []*Finding {
	var out []*Finding
	var zones []string
	for z := range d.long {
		zones = append(zones, z)
	}
	slices.Sort(zones)
	for _, zn := range zones {
		l := d.long[zn]
		if done[zn] {
			continue
		}
		dn := l.names.Estimate()
		if l.active < 2 || !d.isRandom(zn, dn, l.q, l.r, l.nx+l.sf, &l.actSample, d.t.RSSlowNames) ||
			failShare(l.nx+l.sf, l.r, &l.actSample) < d.t.RSFail {
			continue
		}
		z := &zoneStat{zone: zn, q: l.q, r: l.r, nx: l.nx, sf: l.sf, udp: l.udp, tcp: l.tcp, v4: l.v4, v6: l.v6,
			labelN: l.labelN, subLen: l.subLen, entropyMb: l.entMb, names: l.names, srcs: l.srcs, sample: l.actSample, top: l.top}
		ev := zoneEvidence(d, z)
		ev.Windows, ev.Pace = l.active, "low_and_slow"
		score := float64(dn) / max(d.t.RSSlowNames, 1)
		start, end := max(l.first, d.first), min(l.last, d.last)
		f := &Finding{Kind: KindRandomSubdomain, Severity: "medium", Start: start, Peak: start, End: max(end, start), Evidence: ev,
			Confidence: min(confidence(score, 1), d.sampleConfidence(zn, &l.actSample))}
		describeRandom(f, ev)
		out = append(out, f)
	}
	return out
}
