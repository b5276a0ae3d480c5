package diff

import "testing"

func TestChanges(t *testing.T) {
	d := &Diff{
		Counters:  []Counter{{Name: "dns.queries", Before: 3, After: 3}, {Name: "dns.responses", Before: 3, After: 2, Delta: -1}},
		Estimates: []Estimate{{Name: "dns.cardinality.qname", Before: 10, After: 11}, {Name: "net.cardinality.src_ips", Before: 1, After: 9, Changed: true}},
		Tops:      []TopDiff{{List: "dns.top.qname", WithinError: 2}, {List: "dns.top.clients", Vanished: []NameChange{{Name: "198.51.100.10"}}}},
	}
	got := d.Changes()
	want := []string{"dns.responses: 3 -> 2", "net.cardinality.src_ips: 1 -> 9", "dns.top.clients changed: "}
	if len(got) != len(want) {
		t.Fatalf("%q, want %d changes", got, len(want))
	}
	for i := range want {
		if len(got[i]) < len(want[i]) || got[i][:len(want[i])] != want[i] {
			t.Errorf("change %d: %q, want %q...", i, got[i], want[i])
		}
	}
	if c := (&Diff{Counters: d.Counters[:1], Estimates: d.Estimates[:1], Tops: d.Tops[:1]}).Changes(); len(c) != 0 {
		t.Errorf("no change: %q", c)
	}
}
