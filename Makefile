# elmbench: build, test and benchmark targets. `make test` is what CI runs.
CARGO ?= cargo

.PHONY: build install test test-cuda-kernels test-slurm fmt-check clippy bench nightly fuzz

build:
	$(CARGO) build --release

# The one set-up command: build, then put `elmbench` on PATH (PREFIX/bin, default ~/.local/bin).
PREFIX ?= $(HOME)/.local
install: build
	install -D -m 755 target/release/elmbench $(PREFIX)/bin/elmbench
	@case ":$$PATH:" in *":$(PREFIX)/bin:"*) ;; *) echo "note: add $(PREFIX)/bin to PATH to run elmbench by name";; esac

fmt-check:
	$(CARGO) fmt --all -- --check

# Both builds: the default one and the CUDA backend (feature `cuda`; builds with no toolkit).
clippy:
	$(CARGO) clippy --release --all-targets -- -D warnings
	$(CARGO) clippy --release --all-targets --features cuda -- -D warnings

# The whole test suite in release mode (gradient checks and reference comparisons are numeric work).
test: fmt-check clippy
	$(CARGO) test --release
	$(MAKE) test-cuda-kernels
	$(MAKE) test-slurm

# Every CUDA kernel compiles with NVRTC and assembles with ptxas for sm_80 and sm_90 (registers
# per kernel printed), and a broken kernel fails the same check; no GPU needed. NVRTC from
# LD_LIBRARY_PATH, ptxas from ELMBENCH_PTXAS or PATH (NVIDIA's 12.8 wheels; .ci/run installs them
# and sets ELMBENCH_REQUIRE_NVRTC=1); without them the check says SKIPPED.
test-cuda-kernels:
	$(CARGO) test --release --features cuda --lib backend:: -- --nocapture

# `reproduce --emit slurm` on a real single-node Slurm started for the test and stopped after it
# (scripts/test_slurm.sh). Needs Debian's slurmctld, slurmd, slurm-client and munge (SLURM_INSTALL=1
# installs them, as root); without them it says SKIPPED (CI sets ELMBENCH_REQUIRE_SLURM=1, which makes that a failure).
test-slurm: build
	SLURM_INSTALL=$(SLURM_INSTALL) bash scripts/test_slurm.sh

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

# Every experiment at the quick tier, retrained from scratch into NIGHTLY_RESULTS (a night that
# reused last night's finished runs would measure nothing), each experiment's metrics appended to
# the history (HISTORY_DIR/<experiment>.<tier>.csv) as night NIGHTLY_RUN (default: UTC time and
# commit), then every golden check, then the nightly summary (HISTORY_DIR/nightly-<run>.md and
# latest.md: checks, regression flags, changes since the previous night). Fails on any failed run,
# check or flag, but only after running them all, so the log shows every failure.
NIGHTLY_TIER ?= quick
NIGHTLY_EXPERIMENTS ?= $(EXPERIMENTS)
NIGHTLY_RESULTS ?= results/nightly
HISTORY_DIR ?= results/history
NIGHTLY_RUN ?=
ELMBENCH ?= ./target/release/elmbench

nightly: build
	@test -n "$(NIGHTLY_RESULTS)" || { echo "NIGHTLY_RESULTS must name a folder"; exit 2; }; \
	status=0; run="$(NIGHTLY_RUN)"; \
	[ -n "$$run" ] || run=$$(date -u +%Y%m%dT%H%M%SZ)-$$(git describe --always --dirty --abbrev=12 2>/dev/null || echo unknown); \
	echo "nightly $$run: tier $(NIGHTLY_TIER), results in $(NIGHTLY_RESULTS), history in $(HISTORY_DIR)"; \
	for e in $(NIGHTLY_EXPERIMENTS); do \
	  rm -rf "$(NIGHTLY_RESULTS)/$$e/$(NIGHTLY_TIER)"; \
	  $(ELMBENCH) reproduce $$e --tier $(NIGHTLY_TIER) --jobs $(JOBS) --results "$(NIGHTLY_RESULTS)" $(if $(DATA_DIR),--data-dir "$(DATA_DIR)") || status=1; \
	  $(ELMBENCH) history record $$e --tier $(NIGHTLY_TIER) --run-id "$$run" --results "$(NIGHTLY_RESULTS)" --history "$(HISTORY_DIR)" || status=1; \
	done; \
	for e in $(NIGHTLY_EXPERIMENTS); do $(ELMBENCH) check $$e --tier $(NIGHTLY_TIER) --results "$(NIGHTLY_RESULTS)" || status=1; done; \
	$(ELMBENCH) history summary $(NIGHTLY_EXPERIMENTS) --tier $(NIGHTLY_TIER) --run-id "$$run" --results "$(NIGHTLY_RESULTS)" --history "$(HISTORY_DIR)" || status=1; \
	exit $$status
