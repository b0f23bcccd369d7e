//! Speed measurements: a full training step (forward, backward, Adam update) on random spike
//! inputs, timed over repeated iterations. Used by `elmbench bench train-step` and by the
//! criterion benchmark in `benches/train_step.rs`.

mod train_step;

pub use train_step::{
    bench_config, lra_bench_config, lra_shape, one_hot_tokens, random_spikes, run_train_step_bench, spike_batch,
    StepTimings, TrainStep, TrainStepOptions,
};
