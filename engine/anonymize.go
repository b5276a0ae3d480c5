package engine

import (
	"github.com/visor-dns/visor/anonymize"
)

// newAnonymizer reads --anonymize's key file and --anonymize-prefix's
// lengths ("" for either leaves it out).
func newAnonymizer(keyFile, prefix string) (*anonymize.Anonymizer, error) {
	var key []byte
	if keyFile != "" {
		k, err := anonymize.ReadKey(keyFile)
		if err != nil {
			return nil, err
		}
		key = k
	}
	keep4, keep6 := 32, 128
	if prefix != "" {
		var err error
		if keep4, keep6, err = anonymize.ParsePrefix(prefix); err != nil {
			return nil, err
		}
	}
	return anonymize.New(key, keep4, keep6)
}
