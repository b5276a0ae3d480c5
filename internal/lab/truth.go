package lab

import (
	"testing"

	"github.com/visor-dns/visor/internal/truth"
)

// TsharkTruth computes tshark's truth of the capture at path, writes it
// beside the capture as PATH.truth.json (the committed form) and keeps both.
func TsharkTruth(t testing.TB, path string) *truth.Capture {
	t.Helper()
	c, err := truth.Tshark(path)
	if err != nil {
		t.Fatal(err)
	}
	keepTruth(t, path, ".truth.json", c)
	return c
}

// DnstapTruth computes dnstap-read's truth of the dnstap file at path,
// writes it beside the file as PATH.dnstap-read.json and keeps both.
func DnstapTruth(t testing.TB, path string) *truth.Tap {
	t.Helper()
	tp, err := truth.DnstapRead(path)
	if err != nil {
		t.Fatal(err)
	}
	keepTruth(t, path, ".dnstap-read.json", tp)
	return tp
}

// keepTruth writes v as path+ext and keeps the file and its truth (Keep).
func keepTruth(t testing.TB, path, ext string, v any) {
	t.Helper()
	if err := truth.Write(path+ext, v); err != nil {
		t.Fatal(err)
	}
	Keep(t, path, path+ext)
}
