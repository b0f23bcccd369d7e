"""Writes an SHD-sized HDF5 file for measuring the reader's load time and memory.

The real `shd_train.h5` has 8156 samples of a few thousand spikes each (DATASETS.md 2.2); it is
not in the repository, so this writes a file of that size in the same schema as h5py writes it:
`spikes/times` vlen float16 (seconds), `spikes/units` vlen uint16, `labels` uint16,
`extra/speaker` uint16, `extra/keys` 20 strings. Spike counts are uniform in [5000, 10000].

    python scripts/make_realsize_shd.py OUT.h5 [--chunked]

`--chunked` stores the per-sample datasets chunked (64 samples per chunk) with the shuffle and
gzip filters, as h5py does when asked to compress. Deterministic (seed 0).
"""

import sys

import h5py
import numpy as np

SAMPLES = 8156


def main():
    out = sys.argv[1]
    chunked = "--chunked" in sys.argv[2:]
    rng = np.random.default_rng(0)
    counts = rng.integers(5000, 10001, size=SAMPLES)
    filters = dict(chunks=(64,), compression="gzip", shuffle=True) if chunked else {}
    with h5py.File(out, "w") as f:
        times = f.create_dataset("spikes/times", (SAMPLES,), dtype=h5py.vlen_dtype(np.float16), **filters)
        units = f.create_dataset("spikes/units", (SAMPLES,), dtype=h5py.vlen_dtype(np.uint16), **filters)
        for i, n in enumerate(counts):
            t = np.sort(rng.uniform(0.0, 1.4, size=n)).astype(np.float16)
            times[i] = t
            units[i] = rng.integers(0, 700, size=n).astype(np.uint16)
        f.create_dataset("labels", data=rng.integers(0, 20, size=SAMPLES).astype(np.uint16), **filters)
        f.create_dataset("extra/speaker", data=rng.integers(0, 12, size=SAMPLES).astype(np.uint16), **filters)
        words = [f"english-{k}" for k in range(10)] + [f"german-{k}" for k in range(10)]
        f.create_dataset("extra/keys", data=np.array(words, dtype=object), dtype=h5py.string_dtype())
    print(f"{out}: {SAMPLES} samples, {counts.sum()} spikes")


if __name__ == "__main__":
    main()
