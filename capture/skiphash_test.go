package capture

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"testing"

	"github.com/visor-dns/visor"
)

// An input read to its end has the SHA-256 of its bytes; one whose hash
// was skipped has none, and the same packets.
func TestSkipHash(t *testing.T) {
	const path = "../testdata/lab-eth.pcap"
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Skip(err)
	}
	sum := sha256.Sum256(raw)
	for _, skip := range []bool{false, true} {
		src, err := Open(path, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if skip {
			src.(interface{ SkipHash() }).SkipHash()
		}
		n := 0
		for {
			var p visor.Packet
			if err := src.Next(&p); err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			n++
		}
		info := src.Info()
		src.Close()
		want := hex.EncodeToString(sum[:])
		if skip {
			want = ""
		}
		if info.SHA256 != want || n != 2567 {
			t.Errorf("skip %v: sha256 %q and %d packets, want %q and 2567", skip, info.SHA256, n, want)
		}
	}
}
