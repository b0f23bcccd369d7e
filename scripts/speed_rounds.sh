#!/usr/bin/env bash
# The README's speed table, measured as it was: for each workload, rounds of elmbench, the official
# PyTorch code, elmbench again, 2 threads on both sides, and the ratio of each round (the official
# median over the mean of the two elmbench medians around it). Interleaving matters here: this
# kind of shared virtual machine changes speed within minutes, and so does PyTorch's side, so a
# ratio is only meaningful between runs of the same round.
#
#   scripts/speed_rounds.sh --elm-repo PATH [--rounds 3] [--python PY] [--elmbench BIN]
#
# PATH is a checkout of the official repository (AaronSpieler/elmneuron); PY a Python with torch
# (default: python3). Prints one line per run and a Markdown table of the ratios at the end.
set -euo pipefail

rounds=3
python=python3
elmbench=target/release/elmbench
elm_repo=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --elm-repo) elm_repo="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        --python) python="$2"; shift 2 ;;
        --elmbench) elmbench="$2"; shift 2 ;;
        *) echo "speed_rounds.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
if [[ -z "$elm_repo" ]]; then
    echo "speed_rounds.sh: --elm-repo PATH (a checkout of AaronSpieler/elmneuron) is required" >&2
    exit 2
fi
if [[ ! -x "$elmbench" ]]; then
    echo "speed_rounds.sh: $elmbench is not built (cargo build --release)" >&2
    exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"

median_of() { sed -n 's/.*"median_s": *\([0-9.eE+-]*\).*/\1/p' | tail -1; }
ours() { RAYON_NUM_THREADS=2 "$elmbench" bench train-step "$@" --json | median_of; }
official() {
    "$python" "$here/time_official_elm.py" --elm-repo "$elm_repo" --threads 2 --warmup 10 "$@" 2>/dev/null | median_of
}

# name | elmbench arguments | official arguments
workloads=(
    "Branch-ELM d_m 20, NeuronIO 8 x 500|--model branch-elm --iterations 300 --warmup 10|--task neuronio --model branch-elm"
    "LSTM h 50, NeuronIO 8 x 500|--model lstm --iterations 100 --warmup 10|--task neuronio --model lstm --iterations 20"
    "ELM d_m 100, SHD 8 x 1000|--model elm --task shd --task-set bin_ms=1 --iterations 30 --warmup 5|--task shd --bin-ms 1"
    "ELM d_m 150, LRA Image 32 x 1024|--model elm --shape lra-image --batch 32 --iterations 7 --warmup 2|--task lra-image --batch 32 --iterations 5"
)

declare -A ratios
for ((round = 1; round <= rounds; round++)); do
    for workload in "${workloads[@]}"; do
        IFS='|' read -r name ours_args official_args <<<"$workload"
        # shellcheck disable=SC2086 # the argument lists are meant to split
        before=$(ours $ours_args)
        # shellcheck disable=SC2086
        theirs=$(official $official_args)
        # shellcheck disable=SC2086
        after=$(ours $ours_args)
        ratio=$(awk -v a="$before" -v b="$after" -v t="$theirs" 'BEGIN { printf "%.1f", t / ((a + b) / 2) }')
        echo "round $round: $name: elmbench ${before}s ${after}s, official ${theirs}s, ratio ${ratio}x"
        ratios["$name"]+="${ratios["$name"]:+, }$ratio"
    done
done

echo
echo "| workload | ratio per round (official / elmbench) |"
echo "|---|---|"
for workload in "${workloads[@]}"; do
    name="${workload%%|*}"
    echo "| $name | ${ratios["$name"]} |"
done
