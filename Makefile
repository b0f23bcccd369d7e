# elmbench: build, test and benchmark targets. `make test` is what CI runs.
CARGO ?= cargo

.PHONY: build test fmt-check clippy bench

build:
	$(CARGO) build --release

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --release --all-targets -- -D warnings

# The whole test suite in release mode (gradient checks and reference comparisons are numeric work).
test: fmt-check clippy
	$(CARGO) test --release

bench:
	$(CARGO) bench

# Download, verify and unpack a real dataset: make fetch-shd (also fetch-neuronio, fetch-lra,
# fetch-cifar10, fetch-imdb, fetch-all). DATA_DIR=... picks the data root.
fetch-%:
	$(CARGO) run --release -- fetch $* $(if $(DATA_DIR),--data-dir $(DATA_DIR))
