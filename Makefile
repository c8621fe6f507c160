# Community Inbox: `make run` starts everything with embedded stores; `make test` runs every test.
SHELL := /bin/bash
MODULES := shared services/inbox services/crm services/gateway devstack
BIN := $(CURDIR)/bin
export FERRETDB_BIN := $(BIN)/ferretdb
export GOFLAGS := -buildvcs=false

.PHONY: run test test-go fuzz bench deps build ferretdb lint clean

## run: build and start FerretDB (embedded, SQLite) and the three services; Ctrl-C stops all
run: $(BIN)/devstack
	$(BIN)/devstack

## test: install what is missing, then run every module's tests with -race and a short fuzz pass
test: deps ferretdb test-go fuzz

test-go:
	@set -e; for m in $(MODULES); do echo "== go test $$m"; (cd $$m && go vet ./... && go test -race -count=1 -timeout 20m ./...); done

fuzz:
	FUZZTIME=$${FUZZTIME:-3s} scripts/fuzz.sh

deps:
	scripts/install-deps.sh test

ferretdb: $(BIN)/ferretdb

# FerretDB is slow to build the first time; the binary is cached in bin/ until devstack/go.sum changes.
$(BIN)/ferretdb: devstack/go.mod devstack/go.sum devstack/embedded/*.go devstack/cmd/ferretdb/*.go
	cd devstack && go build -o $@ ./cmd/ferretdb

build:
	@for s in inbox crm gateway; do (cd services/$$s && go build -o $(BIN)/$$s ./cmd/$$s); done

$(BIN)/devstack: FORCE
	cd devstack && go build -o $@ ./cmd/devstack

FORCE:

## bench: benchmarks on FerretDB's PostgreSQL backend and real Redis; prints figures (see BENCHMARKS.md)
bench:
	scripts/install-deps.sh bench
	scripts/bench.sh

clean:
	rm -rf $(BIN)
