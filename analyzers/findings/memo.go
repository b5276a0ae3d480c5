package findings

import (
	"net/netip"

	"github.com/visor-dns/visor"
)

// memo holds small direct-mapped caches in front of a State's zone,
// address and prefix maps: consecutive messages mostly repeat a client, a
// server and a zone, and a cache hit costs a comparison where the map
// costs a hash. The cached pointers are the maps' own entries; whatever
// removes an entry from a map (Reset, Merge) clears the memo, and an
// address evicted from a full table hands its entry to the newcomer (so
// pointers to it stay valid; they are compared by address).
type memo struct {
	zones    [64]*zoneStat
	addrs    [1 << addrBits]*addrStat     // twice the table's bound
	last     [2]*addrStat                 // the last two addresses, latest first
	prefixes [1 << prefixBits]*prefixStat // as many as the table's bound
}

const addrBits, prefixBits = 9, 8

func (m *memo) clear() { *m = memo{} }

// addrSlot indexes an address's memo cell among 1<<bits: the top bits of
// a multiplicative hash, which every address byte reaches.
func addrSlot(a netip.Addr, bits uint) uint64 {
	hi, lo := visor.AddrWords(a)
	h := (hi ^ lo) * 0x9e3779b97f4a7c15
	return h >> (64 - bits)
}

// zoneSlot indexes a zone's memo cell by its length and last bytes.
func zoneSlot(suf []byte) int {
	n := len(suf)
	return (n*7 + int(suf[n-1]) + int(suf[n/2])*3) & 63
}

// shapeMemo is the number of names whose label shape a State remembers,
// direct-mapped by the name's hash.
const shapeMemo = 1024

// nameShape is what the tunnel and random-subdomain detectors measure of
// the labels under a name's zone; sub (their length; -1: not measured) guards
// against a hash collision as well as qh does.
type nameShape struct {
	qh uint64
	// gen is the window (window.gen) whose zone cut's distinct names and
	// sample have the name already: a name repeated in a window is
	// offered to them once, and finds its cut (z, whose name starts at
	// off in a name of nlen bytes) here.
	gen       uint64
	z         *zoneStat
	entropyMb uint32
	sub       int16 // -1: shape not measured
	longest   int16
	off, nlen int16
	failed    bool // gen's sample marked it failed
	// random is randomLooking of its first label, when randKnown: worked
	// out when the name first enters a sample, kept for later windows.
	random, randKnown bool
	addr              bool // addrShaped, with the shape
}
