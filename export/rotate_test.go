package export

import (
	"bytes"
	"fmt"
	"testing"
)

type memPart struct {
	bytes.Buffer
	closed, aborted bool
}

func (m *memPart) Close() error { m.closed = true; return nil }
func (m *memPart) Abort()       { m.aborted = true }

// Rotation: every part holds at most N rows and is a whole file (a CSV
// header each); the parts hold every row once, in order.
func TestRotating(t *testing.T) {
	full, st := exportFile(t, "../testdata/lab-eth.pcap", "csv")
	lines := bytes.Split(bytes.TrimSuffix(full, []byte("\n")), []byte("\n"))
	header, rows := lines[0], lines[1:]
	for _, n := range []int64{1, 7, 100, int64(len(rows)), int64(len(rows)) + 5} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var parts []*memPart
			w, err := NewRotating("csv", []string{"../testdata/lab-eth.pcap"}, n, func(int) (Part, error) {
				parts = append(parts, &memPart{})
				return parts[len(parts)-1], nil
			})
			if err != nil {
				t.Fatal(err)
			}
			// The rows again, through the rotating writer, in batches that
			// straddle the parts.
			x := exportBatch(t, "../testdata/lab-eth.pcap")
			for len(x.Rows) > 0 {
				k := min(len(x.Rows), 37)
				if err := w.Write(&Batch{Rows: x.Rows[:k], Text: x.Text}); err != nil {
					t.Fatal(err)
				}
				x.Rows = x.Rows[k:]
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			want := (uint64(len(rows)) + uint64(n) - 1) / uint64(n)
			if uint64(len(parts)) != want {
				t.Fatalf("%d parts, want %d", len(parts), want)
			}
			var got [][]byte
			for i, p := range parts {
				ls := bytes.Split(bytes.TrimSuffix(p.Bytes(), []byte("\n")), []byte("\n"))
				if !p.closed || p.aborted || !bytes.Equal(ls[0], header) || int64(len(ls)-1) > n {
					t.Fatalf("part %d: closed %v, aborted %v, %d rows, header %q", i+1, p.closed, p.aborted, len(ls)-1, ls[0])
				}
				got = append(got, ls[1:]...)
			}
			if len(got) != len(rows) || uint64(len(got)) != st.Rows {
				t.Fatalf("%d rows in the parts, %d in one file", len(got), len(rows))
			}
			for i := range got {
				if !bytes.Equal(got[i], rows[i]) {
					t.Fatalf("row %d differs:\n%s\n%s", i+1, got[i], rows[i])
				}
			}
		})
	}
}

// batchWriter keeps every batch's rows and text in one batch.
type batchWriter struct{ x Batch }

func (b *batchWriter) Write(x *Batch) error {
	base := uint32(len(b.x.Text))
	b.x.Text = append(b.x.Text, x.Text...)
	for _, r := range x.Rows {
		r.QName.off += base
		r.Zone.off += base
		r.RawName.off += base
		b.x.Rows = append(b.x.Rows, r)
	}
	return nil
}

func (b *batchWriter) Close() error { return nil }
