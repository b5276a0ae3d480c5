// Package bench is visor's end-to-end speed and memory measurement against
// tshark on large captures made with real software: TestBench, behind the
// build tag `bench`, run as root by scripts/bench.sh:
//
//	sudo bash scripts/bench.sh [WORKDIR]
//	sudo go test -tags bench -run '^TestBench$' -count=1 -timeout 0 -v ./internal/lab/bench -args WORKDIR
//
// It is a measurement, not a gate: it fails only when it cannot measure.
// docs/performance.md says what it makes, how it measures, and its knobs.
package bench
