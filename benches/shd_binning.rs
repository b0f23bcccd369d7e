//! The official SHD binning on a training batch: 8 samples of SHD size (7,500 float16 spikes,
//! the real training file's average order of magnitude, spread over 1.4 s on 700 channels),
//! binned at the paper's 2 ms and at 10 ms and appended to a sparse batch, alone (SHD) and in
//! pairs (SHD-Adding). It has to cost far less than a training step (milliseconds).

use criterion::{criterion_group, criterion_main, Criterion};
use elmbench::io::float16::f32_to_f16;
use elmbench::tasks::shd::{append_sequence, empty_batch, BinScratch, BinnedSample, Binning, ShdSample, SpikeTimes};
use std::hint::black_box;

const SPIKES: usize = 7_500;

/// Deterministic pseudo-random spikes: (float16 times in [0, 1.4) s, units in 0..700).
fn spikes(seed: u64) -> (Vec<u16>, Vec<u16>) {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 33) as u32
    };
    let times = (0..SPIKES).map(|_| f32_to_f16(next() as f32 / (1u64 << 31) as f32 * 1.4)).collect();
    let units = (0..SPIKES).map(|_| (next() % 700) as u16).collect();
    (times, units)
}

fn bench(c: &mut Criterion) {
    let data: Vec<(Vec<u16>, Vec<u16>)> = (0..16).map(spikes).collect();
    let samples: Vec<ShdSample<'_>> = data
        .iter()
        .enumerate()
        .map(|(k, (t, u))| ShdSample { index: k, times: SpikeTimes::F16(t), units: u, label: 0, speaker: None })
        .collect();
    let mut group = c.benchmark_group("shd_binning");
    for bin_ms in [2, 10] {
        let binning = Binning::new(bin_ms).unwrap();
        let steps = binning.steps();
        let mut scratch = BinScratch::default();
        let mut binned = vec![BinnedSample::default(); 16];
        group.bench_function(format!("SHD batch of 8 at {bin_ms} ms"), |b| {
            b.iter(|| {
                let mut batch = empty_batch(steps);
                for (sample, out) in samples[..8].iter().zip(&mut binned) {
                    binning.bin_into(sample, &mut scratch, out);
                    append_sequence(&mut batch, &[(0, out)]).unwrap();
                }
                black_box(batch)
            })
        });
        group.bench_function(format!("SHD-Adding batch of 8 pairs at {bin_ms} ms"), |b| {
            b.iter(|| {
                for (sample, out) in samples.iter().zip(&mut binned) {
                    binning.bin_into(sample, &mut scratch, out);
                }
                let mut batch = empty_batch(2 * steps);
                for pair in binned.chunks_exact(2) {
                    append_sequence(&mut batch, &[(0, &pair[0]), (steps, &pair[1])]).unwrap();
                }
                black_box(batch)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
