package analyzers

import (
	"context"
	"io"
	"os"
	"testing"

	"github.com/visor-dns/visor"
	"github.com/visor-dns/visor/capture"
)

// replay yields the packets of a capture held in memory, again and again,
// each pass later in time, so the pipeline runs without I/O.
type replay struct {
	pkts  []visor.Packet
	i, n  int
	shift int64
	span  int64
}

func (r *replay) Next(p *visor.Packet) error {
	if r.n == 0 {
		return io.EOF
	}
	if r.i == len(r.pkts) {
		r.i, r.shift = 0, r.shift+r.span
	}
	*p = r.pkts[r.i]
	p.TS += r.shift
	r.i++
	r.n--
	return nil
}

// loadCapture reads up to max packets of path into memory.
func loadCapture(b *testing.B, path string, max int) []visor.Packet {
	src, err := capture.Open(path, 0, nil)
	if err != nil {
		b.Skip(err)
	}
	defer src.Close()
	var out []visor.Packet
	for len(out) < max {
		var p visor.Packet
		if err := src.Next(&p); err != nil {
			break
		}
		p.Data = append([]byte(nil), p.Data...)
		out = append(out, p)
	}
	return out
}

// BenchmarkPipelineLabMix runs the whole analysis (decode, shards, merge)
// over the lab's ordinary mix; ns/op is per packet.
func BenchmarkPipelineLabMix(b *testing.B) {
	if _, err := os.Stat("../testdata/lab-eth.pcap"); err != nil {
		b.Skip("no testdata")
	}
	runPipeline(b, loadCapture(b, "../testdata/lab-eth.pcap", 1<<30))
}

// runPipeline analyses b.N packets, pkts again and again.
func runPipeline(b *testing.B, pkts []visor.Packet) {
	span := pkts[len(pkts)-1].TS - pkts[0].TS + 1e9
	b.ReportAllocs()
	b.ResetTimer()
	a := New(Options{DNSPorts: []uint16{53}})
	a.Run(context.Background(), &replay{pkts: pkts, n: b.N, span: span})
	a.Finish()
}

// BenchmarkPipelineCapture runs the whole analysis over the first million
// packets of the capture named by $VISOR_BENCH_PCAP (scripts/bench.sh makes
// large ones: its flood has a new name in almost every query), replayed
// from memory; ns/op is per packet. Skipped when the variable is unset.
func BenchmarkPipelineCapture(b *testing.B) {
	path := os.Getenv("VISOR_BENCH_PCAP")
	if path == "" {
		b.Skip("VISOR_BENCH_PCAP is not set")
	}
	runPipeline(b, loadCapture(b, path, 1_000_000))
}
