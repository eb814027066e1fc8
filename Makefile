# Sluice developer and CI entry points. CI runs .ci/run, which runs `make test`.

GO ?= go

# Leaf packages whose tests need no broker, browser or network.
UNIT_DIRS := bridge topics registry auth

.PHONY: test test-deps vet test-unit build run

## test: install missing test tools, vet, then run every test (unit and
## integration against a real Kafka broker) with the race detector.
test: test-deps vet
	$(GO) test -race -count=1 -timeout 20m ./...
	$(GO) test -count=1 -run 'AllocationBudget' ./bridge/ ./registry/

## test-deps: install kcat, Chromium, Java and Maven when missing and warm the
## Kafka broker classpath.
test-deps:
	scripts/install-test-deps.sh

vet:
	$(GO) vet ./...

## test-unit: fast tests of the leaf packages. Directories without Go packages
## yet are left out; a package that does not build still fails (go list -e).
test-unit:
	@pkgs=$$(for d in $(UNIT_DIRS); do \
		if [ -d "$$d" ]; then $(GO) list -e -f '{{.ImportPath}}' "./$$d/..." 2>/dev/null; fi; \
	done); \
	if [ -z "$$pkgs" ]; then echo "test-unit: no Go packages yet under $(UNIT_DIRS)"; exit 0; fi; \
	echo $(GO) test -race $$pkgs; \
	$(GO) test -race $$pkgs

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o bin/sluice ./cmd/sluice

run:
	$(GO) run ./cmd/sluice serve
