package export

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/visor-dns/visor"
)

// synthBatches makes n records in batches of BatchRows: every column null
// and not, runs of equal values and none, names that overflow a dictionary.
func synthBatches(n int, findings bool) []*Batch {
	rng := rand.New(rand.NewPCG(1, 2))
	var out []*Batch
	var x *Batch
	for i := range n {
		if x == nil || len(x.Rows) == BatchRows {
			x = &Batch{}
			if findings {
				x.FindingIDs = []string{"01-random_subdomain", "02-query_flood"}
			}
			out = append(out, x)
		}
		r := Record{HasQuery: rng.IntN(10) > 0, HasResponse: rng.IntN(3) > 0, HasQuestion: rng.IntN(50) > 0,
			Transport: uint8(1 + rng.IntN(2)), IPVersion: uint8(4 + 2*rng.IntN(2)), Dir: visor.Direction(rng.IntN(3)),
			ClientPort: uint16(rng.Uint32()), ServerPort: 53, ID: uint16(rng.Uint32()), QType: uint16(rng.IntN(300)),
			QClass: 1, QFlags: uint16(rng.Uint32()), RFlags: uint16(rng.Uint32()), ANCount: uint16(rng.IntN(4)),
			UDPSize: 1232, EDNS: rng.IntN(2) == 0, DO: rng.IntN(2) == 0, QuerySize: int32(40 + rng.IntN(40)),
			ResponseSize: int32(rng.IntN(1500)), Input: int32(i / 100_000), QueryTime: 1e18 + int64(i)*1000,
			QueryPacket: uint64(2*i + 1), ResponsePacket: uint64(2*i + 2), FindingBits: uint64(rng.IntN(4))}
		if r.HasResponse {
			r.ResponseTime = r.QueryTime + int64(rng.IntN(1e9))
		}
		if !r.HasQuery && rng.IntN(2) == 0 {
			r.QueryTime = 0
		}
		if (i/1000)%3 != 0 { // stretches of one address, and of many
			r.Client = netip.AddrFrom4([4]byte{198, 51, 100, byte(rng.IntN(200))})
		} else {
			r.Client = netip.MustParseAddr("2001:db8::1")
		}
		r.Server = netip.AddrFrom4([4]byte{198, 51, 100, 1})
		if rng.IntN(5) == 0 {
			r.ECS = netip.PrefixFrom(netip.AddrFrom4([4]byte{203, 0, 113, 0}), 24)
		}
		if r.HasQuestion {
			name := fmt.Sprintf("x%d.victim.example", i)
			if i%7 == 0 || i > 120_000 { // a name that repeats, then only those
				name = fmt.Sprintf("www%d.example", i%5)
			}
			off := uint32(len(x.Text))
			x.Text = append(x.Text, name...)
			r.QName = span{off, uint32(len(name))}
			zl := uint32(len("victim.example"))
			if name[0] == 'w' {
				zl = uint32(len(name))
			}
			r.Zone = span{off + uint32(len(name)) - zl, zl}
			raw := bytes.ToUpper([]byte(name))
			r.RawName = span{uint32(len(x.Text)), uint32(len(raw))}
			x.Text = append(x.Text, raw...)
		}
		x.Rows = append(x.Rows, r)
	}
	return out
}

func writeParquet(t *testing.T, batches []*Batch, inputs []string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter("parquet", &buf, inputs)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range batches {
		if err := w.Write(x); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// parquet-go reads back every value visor's Parquet encoder wrote, as the
// columns give them: several row groups, nulls, RLE and bit-packed levels
// and indices, dictionaries and the PLAIN fallback of an overflowing one;
// the schema is Schema's; two writes give the same bytes.
func TestParquetReadBack(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rows     int
		findings bool
	}{{"empty", 0, false}, {"one", 1, true}, {"groups", 2*RowGroupRows + 12345, true}, {"no findings", 3000, false}} {
		t.Run(tc.name, func(t *testing.T) {
			batches := synthBatches(tc.rows, tc.findings)
			inputs := []string{"a.pcap", "b,\"c\".pcap"}
			b := writeParquet(t, batches, inputs)
			if again := writeParquet(t, batches, inputs); !bytes.Equal(b, again) {
				t.Fatal("two writes of the same rows differ")
			}
			f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			// (the root's name aside)
			_, have, _ := strings.Cut(f.Schema().String(), "{")
			if _, want, _ := strings.Cut(schema().String(), "{"); have != want {
				t.Errorf("schema\n%s\nwant\n%s", have, want)
			}
			if f.NumRows() != int64(tc.rows) {
				t.Fatalf("%d rows, want %d", f.NumRows(), tc.rows)
			}
			var got []parquet.Row
			for _, rg := range f.RowGroups() {
				rows := rg.Rows()
				buf := make([]parquet.Row, 1000)
				for {
					n, err := rows.ReadRows(buf)
					for _, r := range buf[:n] {
						got = append(got, r.Clone())
					}
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
				}
				rows.Close()
			}
			i := 0
			for _, x := range batches {
				for ri := range x.Rows {
					checkRow(t, i, got[i], &x.Rows[ri], x, inputs)
					i++
				}
			}
		})
	}
}

func checkRow(t *testing.T, i int, got parquet.Row, r *Record, x *Batch, inputs []string) {
	t.Helper()
	if len(got) != len(Columns) {
		t.Fatalf("row %d has %d values", i, len(got))
	}
	for ci := range Columns {
		c, v := &Columns[ci], got[ci]
		var want string
		var ok bool
		if c.Kind == KindString {
			var b []byte
			b, ok = c.Text(nil, r, x, inputs)
			want = string(b)
		} else {
			var n int64
			n, ok = c.Num(r)
			want = fmt.Sprint(n)
			if c.Kind == KindBool {
				want = fmt.Sprint(n != 0)
			}
		}
		var have string
		switch {
		case v.IsNull():
		case c.Kind == KindString:
			have = string(v.ByteArray())
		case c.Kind == KindBool:
			have = fmt.Sprint(v.Boolean())
		default:
			have = fmt.Sprint(v.Int64())
		}
		if v.IsNull() == ok || (ok && have != want) {
			t.Fatalf("row %d column %s: %q (null %v), want %q (null %v)", i, c.Name, have, v.IsNull(), want, !ok)
		}
	}
}
