# Targets a developer and CI use. `make demo` runs the hub with demo data;
# `make test` runs every test. Both install the front-end packages first.

GO ?= go

.PHONY: demo assets build test bench

# Run the hub on the embedded default with the demo council, on
# http://127.0.0.1:8080.
demo: assets
	$(GO) run ./cmd/joinedup serve --demo

# Install GOV.UK Frontend and axe-core at the versions in package-lock.json
# and copy the parts the pages serve into web/static/vendor, which go:embed
# includes in the binary.
assets:
	npm ci --no-audit --no-fund --loglevel=error
	./scripts/copy-assets

build: assets
	$(GO) build -o bin/joinedup ./cmd/joinedup

test: assets
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 40m ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
