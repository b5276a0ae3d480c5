package diff

import "fmt"

// Changes lists what differs between the two sides beyond the sketches'
// error: each counter whose delta is not 0, each estimate that changed and
// each top list where a name appeared, vanished or changed. It is empty
// when the sides agree (a capture and its own summary, a whole and the
// merge of its pieces).
func (d *Diff) Changes() []string {
	var out []string
	for _, c := range d.Counters {
		if c.Delta != 0 {
			out = append(out, fmt.Sprintf("%s: %d -> %d", c.Name, c.Before, c.After))
		}
	}
	for _, e := range d.Estimates {
		if e.Changed {
			out = append(out, fmt.Sprintf("%s: %v -> %v", e.Name, e.Before, e.After))
		}
	}
	for _, td := range d.Tops {
		if len(td.Appeared)+len(td.Vanished)+len(td.Changed) != 0 {
			out = append(out, fmt.Sprintf("%s changed: %+v", td.List, td))
		}
	}
	return out
}
