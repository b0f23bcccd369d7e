//! Training-step benchmarks (forward + backward + Adam) on the workloads the official PyTorch
//! implementation is compared against (README, "Speed"): the Branch-ELM d_m = 20 and the LSTM on
//! the NeuronIO shape, and the Figure 5 models on the SHD shape (batch 8, 700 channels, 1000 steps
//! at 1 ms bins, 20 classes read at the last step), all with inputs 2% non-zero.

use criterion::{criterion_group, criterion_main, Criterion};
use elmbench::bench::{bench_config, TrainStep};
use elmbench::tasks::TaskConfig;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("train_step");
    group.sample_size(20);

    let neuronio = TaskConfig::named("neuronio").unwrap();
    // NeuronIO: batch 8, 500 steps, 1278 inputs, 45 branches x 100 synapses, d_m 20.
    let config = bench_config(&neuronio, "branch-elm", &[]).unwrap();
    let mut step = TrainStep::new(&config, 8, 500, 0.02, true, 0).unwrap();
    group.bench_function("branch_elm_dm20_neuronio_b8_t500", |b| b.iter(|| step.run().unwrap()));
    // The LSTM of the paper's Figure 2 (hidden 50) on the NeuronIO shape.
    let config = bench_config(&neuronio, "lstm", &[]).unwrap();
    let mut step = TrainStep::new(&config, 8, 500, 0.02, true, 0).unwrap();
    group.bench_function("lstm_h50_neuronio_b8_t500", |b| b.iter(|| step.run().unwrap()));

    // SHD at 1 ms bins: ELM d_m 100, Branch-ELM 100 x 15, LSTM hidden 250.
    let shd = elmbench::overrides::apply(&TaskConfig::named("shd").unwrap(), &["bin_ms=1".into()]).unwrap();
    for (kind, name) in [
        ("elm", "elm_dm100_shd_b8_t1000"),
        ("branch-elm", "branch_elm_shd_b8_t1000"),
        ("lstm", "lstm_h250_shd_b8_t1000"),
    ] {
        let config = bench_config(&shd, kind, &[]).unwrap();
        let mut step = TrainStep::new(&config, 8, shd.steps_per_sample(), 0.02, false, 0).unwrap();
        group.bench_function(name, |b| b.iter(|| step.run().unwrap()));
    }

    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
