package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"testing"
)

// filled returns a bucket with every field of its section set, from seed:
// counts, whole and fractional floats, names (some repeated, some not),
// maps and lists both empty and nil, so a field the codec forgets shows.
func filled(seed int) Bucket {
	const t0 = int64(1709294400) * 1e9
	b := Bucket{Start: Timestamp(t0 + int64(seed)*60e9), End: Timestamp(t0 + int64(seed+1)*60e9)}
	n := uint64(seed)
	var fill func(v reflect.Value, path string)
	fill = func(v reflect.Value, path string) {
		n++
		switch v.Kind() {
		case reflect.Uint64:
			v.SetUint(n * 1000003)
		case reflect.Float64:
			switch n % 4 {
			case 0:
				v.SetFloat(float64(n))
			case 1:
				v.SetFloat(float64(n) / 7)
			case 2:
				v.SetFloat(math.Copysign(0, -1))
			default:
				v.SetFloat(1e300 * float64(n))
			}
		case reflect.String:
			v.SetString(fmt.Sprintf("%s-%d", path, n%3))
		case reflect.Map:
			switch n % 3 {
			case 0: // nil
			case 1:
				v.Set(reflect.MakeMap(v.Type()))
			default:
				m := reflect.MakeMap(v.Type())
				m.SetMapIndex(reflect.ValueOf("NOERROR"), reflect.ValueOf(n))
				m.SetMapIndex(reflect.ValueOf(fmt.Sprintf("TYPE%d", n%5)), reflect.ValueOf(uint64(1)))
				v.Set(m)
			}
		case reflect.Slice:
			switch n % 3 {
			case 0: // nil
			case 1:
				v.Set(reflect.MakeSlice(v.Type(), 0, 0))
			default:
				l := reflect.MakeSlice(v.Type(), 3, 3)
				for i := 0; i < 3; i++ {
					fill(l.Index(i), fmt.Sprintf("%s[%d]", path, i))
				}
				v.Set(l)
			}
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				fill(v.Field(i), path+"."+v.Type().Field(i).Name)
			}
		}
	}
	fill(reflect.ValueOf(&b.Section).Elem(), "s")
	return b
}

func storeOf(t *testing.T, spillAt int, bs []Bucket) *BucketStore {
	t.Helper()
	s := NewBucketStore()
	s.SpillAt, s.Dir = spillAt, t.TempDir()
	for i := range bs {
		s.Append(&bs[i])
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestBucketStoreRoundTrip(t *testing.T) {
	var bs []Bucket
	for i := 0; i < 300; i++ {
		bs = append(bs, filled(i))
	}
	bs[7].Start, bs[7].End = -1, 0 // before 1970 and at 0
	bs[8].End = 1<<62 + 1          // far off, odd nanoseconds
	for _, spill := range []int{-1, 1 << 10, 1 << 20} {
		t.Run(fmt.Sprint("spill ", spill), func(t *testing.T) {
			s := storeOf(t, spill, bs)
			for pass := 0; pass < 2; pass++ { // read twice: Each starts over
				i := 0
				err := s.Each(func(b *Bucket) error {
					if !reflect.DeepEqual(*b, bs[i]) {
						t.Fatalf("bucket %d differs:\n got %+v\nwant %+v", i, *b, bs[i])
					}
					if math.Signbit(b.Net.Rates.PPS.P50) != math.Signbit(bs[i].Net.Rates.PPS.P50) {
						t.Fatalf("bucket %d: the sign of a zero is lost", i)
					}
					i++
					return nil
				})
				if err != nil || i != len(bs) || s.Len() != len(bs) {
					t.Fatalf("pass %d: %d buckets, Len %d, err %v", pass, i, s.Len(), err)
				}
			}
		})
	}
}

func TestBucketStoreDropLast(t *testing.T) {
	bs := []Bucket{filled(1), filled(2), filled(3)}
	for _, spill := range []int{-1, 1} { // in memory; every bucket in the file
		s := storeOf(t, spill, bs)
		s.DropLast()
		s.Append(&bs[2]) // the dictionary forgot what the dropped bucket added
		s.DropLast()
		var got []Bucket
		s.Each(func(b *Bucket) error { got = append(got, *b); return nil })
		if !reflect.DeepEqual(got, bs[:2]) {
			t.Errorf("spill %d: after DropLast: %d buckets, or they differ", spill, len(got))
		}
	}
}

// referenceJSON is WriteJSON as it was with every bucket in memory: one
// encoding of the whole report.
func referenceJSON(t *testing.T, r *Report) []byte {
	t.Helper()
	n := normalized(r)
	n.Buckets = nil
	r.EachBucket(func(b *Bucket) error {
		nb := *b
		nb.Section = normalizedSection(b.Section)
		n.Buckets = append(n.Buckets, nb)
		return nil
	})
	if n.Buckets == nil {
		n.Buckets = []Bucket{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&n); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestStoredReportWriters checks that a report whose buckets are stored
// writes the same bytes, in every format, as the same report in memory.
func TestStoredReportWriters(t *testing.T) {
	mem := omReport()
	mem.Summary = mem.Buckets[1].Section
	mem.Findings = []Finding{{Kind: "k", Summary: `a "quoted" <summary>`, Evidence: map[string]any{"zone": "x"}}}
	many := &Report{Schema: Schema, BucketSeconds: 60}
	defer func(n int) { omChunk = n }(omChunk)
	omChunk = 64 // series of many chunks
	for i := 0; i < 300; i++ {
		many.Buckets = append(many.Buckets, filled(i))
		many.Buckets[i].Net.Rates.PPS.P50 = float64(i) // finite, for OpenMetrics
	}
	for name, r := range map[string]*Report{"omReport": mem, "empty": {Schema: Schema}, "many": many} {
		t.Run(name, func(t *testing.T) {
			st := *r
			st.Buckets, st.Stored = nil, storeOf(t, 1<<12, r.Buckets)
			extra := []Label{{"capture", "lab"}}
			for _, top := range []int{0, 2} {
				fams, err := Families(r, extra, top)
				if err != nil {
					t.Fatal(err)
				}
				var want, got, gotMem bytes.Buffer
				if err := WriteOpenMetrics(&want, fams); err != nil {
					t.Fatal(err)
				}
				if err := WriteOpenMetricsReport(&got, &st, extra, top); err != nil {
					t.Fatal(err)
				}
				if err := WriteOpenMetricsReport(&gotMem, r, extra, top); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Bytes(), want.Bytes()) || !bytes.Equal(gotMem.Bytes(), want.Bytes()) {
					t.Errorf("top %d: WriteOpenMetricsReport differs from WriteOpenMetrics(Families)", top)
				}
				sfams, err := Families(&st, extra, top)
				if err != nil || !reflect.DeepEqual(sfams, fams) {
					t.Errorf("top %d: Families of the stored report differ (%v)", top, err)
				}
			}
			want := referenceJSON(t, r)
			for what, rep := range map[string]*Report{"memory": r, "stored": &st} {
				var got bytes.Buffer
				if err := WriteJSON(&got, rep); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Bytes(), want) {
					t.Errorf("%s: WriteJSON differs from one encoding of the whole report", what)
				}
			}
			var a, b bytes.Buffer
			if WriteTable(&a, r, 10) != nil || WriteTable(&b, &st, 10) != nil || !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Error("WriteTable differs")
			}
		})
	}
}

// TestBucketStoreMemory checks that a store's heap does not grow with its
// buckets once they spill: 40,000 buckets (four weeks of minutes) add less
// than a spill buffer and a dictionary, where their Go form takes tens of MB.
func TestBucketStoreMemory(t *testing.T) {
	b := filled(2)
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	s := NewBucketStore()
	s.SpillAt, s.Dir = 256<<10, t.TempDir()
	defer s.Close()
	for i := 0; i < 1000; i++ {
		s.Append(&b)
	}
	before := heap()
	for i := 0; i < 40000; i++ {
		s.Append(&b)
	}
	after := heap()
	if s.written == 0 {
		t.Fatal("nothing spilled")
	}
	if grew := int64(after) - int64(before); grew > 2<<20 {
		t.Errorf("heap grew by %d bytes for 40000 buckets (%d a bucket)", grew, grew/40000)
	}
	runtime.KeepAlive(s)
}
