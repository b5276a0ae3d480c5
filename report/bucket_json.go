package report

import (
	"encoding/json"
	"io"
)

// WriteBucketJSON writes one bucket as it appears in the JSON report, on
// one line (JSON lines, e.g. `visor live --stream`), with a newline.
func WriteBucketJSON(w io.Writer, b *Bucket) error {
	nb := *b
	nb.Section = normalizedSection(b.Section)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(&nb)
}
