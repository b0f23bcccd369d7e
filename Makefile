# elmbench: build, test and benchmark targets. `make test` is what CI runs.
CARGO ?= cargo

.PHONY: build install test fmt-check clippy bench nightly fuzz

build:
	$(CARGO) build --release

# The one set-up command: build, then put `elmbench` on PATH (PREFIX/bin, default ~/.local/bin).
PREFIX ?= $(HOME)/.local
install: build
	install -D -m 755 target/release/elmbench $(PREFIX)/bin/elmbench
	@case ":$$PATH:" in *":$(PREFIX)/bin:"*) ;; *) echo "note: add $(PREFIX)/bin to PATH to run elmbench by name";; esac

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --release --all-targets -- -D warnings

# The whole test suite in release mode (gradient checks and reference comparisons are numeric work).
test: fmt-check clippy
	$(CARGO) test --release

bench:
	$(CARGO) bench

# The parser fuzz harness (tests/fuzz) for FUZZ_SECONDS seconds shared among the parsers (make
# test runs a few seconds of it); failing inputs land in target/fuzz/failures.
FUZZ_SECONDS ?= 60
fuzz:
	ELMBENCH_FUZZ_SECONDS=$(FUZZ_SECONDS) $(CARGO) test --release --test fuzz

# Download, verify and unpack a real dataset: make fetch-shd (also fetch-neuronio, fetch-lra,
# fetch-cifar10, fetch-imdb, fetch-all). DATA_DIR=... picks the data root.
fetch-%:
	$(CARGO) run --release -- fetch $* $(if $(DATA_DIR),--data-dir $(DATA_DIR))

# Experiments (benchmarks/<name>.toml): make reproduce-fig2 [TIER=smoke|quick|paper] [JOBS=2]
# [SEEDS=N] [DATA_DIR=...]; results in results/<name>/<tier>/. Real NeuronIO under
# $(DATA_DIR)/neuronio is used when present, otherwise a synthetic surrogate (said loudly).
TIER ?= quick
JOBS ?= 1
EXPERIMENTS := fig2 fig3 fig4 tableS4 fig5 table1 tableS5 tableS6 tableS7 figS2 figS4 figS5 figS7 figS8
RUN_FLAGS = --tier $(TIER) --jobs $(JOBS) $(if $(SEEDS),--seeds $(SEEDS)) $(if $(DATA_DIR),--data-dir $(DATA_DIR))

reproduce-%: build
	./target/release/elmbench reproduce $* $(RUN_FLAGS)

check-%: build
	./target/release/elmbench check $* --tier $(TIER)

# Every experiment at the quick tier, then every golden check; fails on any regression (it runs
# all checks first, so the log shows every failure).
nightly: build
	@status=0; \
	for e in $(EXPERIMENTS); do ./target/release/elmbench reproduce $$e --tier quick --jobs $(JOBS) $(if $(DATA_DIR),--data-dir $(DATA_DIR)) || status=1; done; \
	for e in $(EXPERIMENTS); do ./target/release/elmbench check $$e --tier quick || status=1; done; \
	exit $$status
