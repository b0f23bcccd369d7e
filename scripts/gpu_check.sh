#!/usr/bin/env bash
# The GPU checks of issue 13, for a machine with an NVIDIA GPU: the CUDA equivalence tests
# (every model's device forward and backward against the CPU model, at reference sizes and the
# paper's shapes) with ELMBENCH_REQUIRE_GPU=1, so a missing GPU fails instead of skipping; then
# the GPU speed table (`elmbench bench train-step --device cuda`, each run's first step verified
# against the CPU by models::on_device).
#
#   scripts/gpu_check.sh build   # here (needs the crate registry): builds the test binary and the
#                                # CUDA elmbench into gpu-carry/ (stripped), to carry to the GPU
#   scripts/gpu_check.sh run     # on the GPU machine, from the repository root
#
# The GPU machine needs the CUDA driver and NVRTC 12 (libnvrtc.so.12, e.g. from a CUDA toolkit or
# PyTorch's wheels there); NVIDIA's NVRTC library is ~100 MB, too big to carry with the binary.
# $NVRTC_LIB, if set at `run`, is added to LD_LIBRARY_PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
build)
    binary="$(cargo test --release --features cuda --lib --no-run --message-format=json 2>/dev/null |
        python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["lib"]:
        print(m["executable"])' | tail -1)"
    mkdir -p gpu-carry
    cp "$binary" gpu-carry/elmbench-lib-tests
    cargo build --release --features cuda --target-dir target/cuda
    cp target/cuda/release/elmbench gpu-carry/elmbench
    strip gpu-carry/elmbench-lib-tests gpu-carry/elmbench 2>/dev/null || true
    ls -la gpu-carry
    ;;
run)
    export LD_LIBRARY_PATH="${NVRTC_LIB:+$NVRTC_LIB:}${LD_LIBRARY_PATH:-}"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
    ELMBENCH_REQUIRE_GPU=1 ./gpu-carry/elmbench-lib-tests gpu_tests --test-threads 1 --nocapture
    # The speed table of issue 13 (steps per second = 1 / median); the first iteration is warm-up
    # (kernels compiled at open, the first step verified against the CPU).
    bench() { ./gpu-carry/elmbench bench train-step --device cuda --warmup 2 --iterations 10 "$@"; }
    bench --model branch-elm --batch 8
    bench --model branch-elm --batch 256
    bench --model lstm --batch 8
    bench --model elm --shape lra-image --batch 384
    bench --model elm --shape lra-path-x --batch 768 --iterations 3
    ;;
*)
    echo "usage: $0 build|run" >&2
    exit 2
    ;;
esac
