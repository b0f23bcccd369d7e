//! Training-step benchmarks on the two workloads the official PyTorch implementation is compared
//! against (README, "Speed"): Branch-ELM d_m = 20 on the NeuronIO shape and ELM d_m = 100 on the
//! SHD shape, both with spike inputs 2% non-zero.

use criterion::{criterion_group, criterion_main, Criterion};
use elmbench::bench::{bench_config, TrainStep};

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("train_step");
    group.sample_size(20);

    // NeuronIO: batch 8, 500 steps, 1278 inputs, 45 branches x 100 synapses, d_m 20.
    let config = bench_config("branch-elm", &[]).unwrap();
    let mut step = TrainStep::new(&config, 8, 500, 0.02, 0).unwrap();
    group.bench_function("branch_elm_dm20_neuronio_b8_t500", |b| b.iter(|| step.run().unwrap()));

    // SHD: batch 8, 1000 steps, 700 inputs, 19 outputs, d_m 100.
    let config = bench_config("elm", &["num_input=700".into(), "num_output=19".into()]).unwrap();
    let mut step = TrainStep::new(&config, 8, 1000, 0.02, 0).unwrap();
    group.bench_function("elm_dm100_shd_b8_t1000", |b| b.iter(|| step.run().unwrap()));

    // The LSTM of the paper's Figure 2 (hidden 50) on the NeuronIO shape.
    let config = bench_config("lstm", &[]).unwrap();
    let mut step = TrainStep::new(&config, 8, 500, 0.02, 0).unwrap();
    group.bench_function("lstm_h50_neuronio_b8_t500", |b| b.iter(|| step.run().unwrap()));

    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
