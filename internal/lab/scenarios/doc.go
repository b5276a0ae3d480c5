// Package scenarios is visor's lab tier: each test builds a lab (package
// lab), makes real DNS traffic and checks visor against it. The tests are
// behind the build tag `lab` and need root:
//
//	sudo go test -tags lab -count=1 ./internal/lab/...
//
// VISOR_LAB_OUT=DIR keeps the captures and their truth files in DIR
// (VISOR_LAB_OUT=$PWD/testdata remakes the committed test data).
package scenarios
