# visor: the two set-up commands are `make demo` and `make test`.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)

.PHONY: build demo test unit lab-test deps vet bench fuzz clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/visor ./cmd/visor

demo: build
	./bin/visor analyze testdata/lab-eth.pcap

deps:
	bash scripts/deps.sh

STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags lab ./...
	$(GO) vet -tags bench ./...
	$(GO) run $(STATICCHECK) ./...
	$(GO) run $(STATICCHECK) -tags lab ./...
	$(GO) run $(STATICCHECK) -tags bench ./...

# The fast tier (unit, golden and testdata-vs-truth tests; no root, no lab),
# then the lab tier (real servers in network namespaces; root: docs/labs.md).
test: deps vet build
	$(GO) test -count=1 ./...
	$(MAKE) lab-test
	bash scripts/replay-test.sh

unit:
	$(GO) test ./...

# the lab tier alone (root): every scenario in internal/lab/scenarios (docs/labs.md)
lab-test:
	@[ "$$(id -u)" = 0 ] || echo "lab-test: not root: the scenarios that need namespaces skip (docs/labs.md)" >&2
	$(GO) vet -tags lab ./internal/lab/...
	$(GO) test -tags lab -count=1 -timeout 30m ./internal/lab/...

FUZZTIME ?= 60
# every native fuzz target (found by grep), FUZZTIME seconds each
fuzz:
	bash scripts/fuzz.sh $(FUZZTIME)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
	@echo "End-to-end figures against tshark: bash scripts/bench.sh (builds large captures; minutes)"

clean:
	rm -rf bin

# the reference generated from the code: docs/cli, docs/man, docs/metrics.md, findings.md's thresholds
.PHONY: docs
docs:
	$(GO) run ./cmd/visor write-documentation docs
