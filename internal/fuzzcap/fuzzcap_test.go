package fuzzcap

import (
	"bytes"
	"math/rand/v2"
	"os"
	"testing"
)

func lab(t *testing.T, name string) *Capture {
	t.Helper()
	b, err := os.ReadFile("../../testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ReadPcap(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRoundTrip(t *testing.T) {
	for _, name := range []string{"lab-tcp.pcap", "lab-eth.pcap", "lab-sll2.pcap"} {
		t.Run(name, func(t *testing.T) {
			c := lab(t, name)
			if len(c.Packets) < 100 {
				t.Fatalf("%d packets", len(c.Packets))
			}
			d, err := ReadPcap(c.Pcap())
			if err != nil {
				t.Fatal(err)
			}
			if d.LinkType != c.LinkType || len(d.Packets) != len(c.Packets) {
				t.Fatalf("link %d, %d packets; want %d, %d", d.LinkType, len(d.Packets), c.LinkType, len(c.Packets))
			}
			for i := range c.Packets {
				if d.Packets[i].TS != c.Packets[i].TS || !bytes.Equal(d.Packets[i].Data, c.Packets[i].Data) {
					t.Fatalf("packet %d differs", i)
				}
			}
		})
	}
}

// TestPrograms runs random programs: every one is valid, leaves the seeds
// alone and yields packets the parser still reads.
func TestPrograms(t *testing.T) {
	seeds := []*Capture{lab(t, "lab-tcp.pcap"), lab(t, "lab-eth.pcap")}
	before := seeds[0].Pcap()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 3000; i++ {
		prog := make([]byte, 4+rng.IntN(40))
		for j := range prog {
			prog[j] = byte(rng.Uint32())
		}
		c := Run(seeds, prog)
		if len(c.Packets) == 0 {
			t.Fatalf("program %x: no packets", prog)
		}
		if _, err := ReadPcap(c.Pcap()); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(before, seeds[0].Pcap()) {
		t.Fatal("a program changed its seed")
	}
}

// TestSeq2to31 is issue 16's two packets: a SYN and the next segment 2^31
// further on, made by one program from the lab capture.
func TestSeq2to31(t *testing.T) {
	c := lab(t, "lab-tcp.pcap")
	for i, p := range c.Packets {
		l, ok := parse(c.LinkType, p.Data)
		if !ok || !l.isTCP() || p.Data[l.l4+13] != SYN {
			continue
		}
		w := c.Window(i, 8)
		before := w.Clone()
		w.Apply([]byte{OpSeq, 0, 0})
		for k := range w.Packets {
			a, _ := parse(w.LinkType, before.Packets[k].Data)
			if a.isTCP() && a.end > a.pay {
				b := w.Packets[k].Data
				if got, was := be32(b[a.l4+4:]), be32(before.Packets[k].Data[a.l4+4:]); got-was != 1<<31 {
					t.Fatalf("seq %d, was %d", got, was)
				}
				return
			}
		}
		t.Fatal("no data segment after the SYN")
	}
	t.Fatal("no SYN")
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
