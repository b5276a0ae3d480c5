package lab

import (
	"testing"

	"github.com/visor-dns/visor/internal/truth"
)

// TsharkTruth computes tshark's truth of the capture at path, writes it
// beside the capture as PATH.truth.json (the committed form) and keeps both.
func TsharkTruth(t testing.TB, path string) *truth.Capture {
	t.Helper()
	return keepTruth(t, path, ".truth.json", truth.Tshark)
}

// DnstapTruth computes dnstap-read's truth of the dnstap file at path,
// writes it beside the file as PATH.dnstap-read.json and keeps both.
func DnstapTruth(t testing.TB, path string) *truth.Tap {
	t.Helper()
	return keepTruth(t, path, ".dnstap-read.json", truth.DnstapRead)
}

// keepTruth computes the truth of the file at path, writes it as path+ext
// and keeps the file and its truth (Keep).
func keepTruth[T any](t testing.TB, path, ext string, compute func(string) (*T, error)) *T {
	t.Helper()
	v, err := compute(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := truth.Write(path+ext, v); err != nil {
		t.Fatal(err)
	}
	Keep(t, path, path+ext)
	return v
}
