//! One training step of any model on random spike inputs, and a timer around it.

use crate::engine::{Inputs, Rng, SparseSequences};
use crate::models::{ModelConfig, SequenceModel};
use crate::tasks::TaskConfig;
use crate::train::{loss, Optimizer};
use anyhow::{bail, Result};
use serde::Serialize;
use std::time::Instant;

/// A model kind's preset for `task` (NeuronIO: `elm` d_m 100, `branch-elm` d_m 20 with 45 x 100
/// synapses, `lstm` hidden 50, ...; SHD: the Figure 5 sizes) with `key=value` overrides.
pub fn bench_config(task: &TaskConfig, kind: &str, overrides: &[String]) -> Result<ModelConfig> {
    task.model_preset(kind)?.with_overrides(overrides)
}

#[derive(Clone, Debug)]
pub struct TrainStepOptions {
    /// The task whose model preset and input kind are timed.
    pub task: TaskConfig,
    /// A model kind (`elm`, `branch-elm`, `lstm`, ...).
    pub model: String,
    pub overrides: Vec<String>,
    pub batch: usize,
    pub time: usize,
    /// Fraction of non-zero inputs.
    pub density: f64,
    pub warmup: usize,
    pub iterations: usize,
    pub seed: u64,
}

/// Random spikes with the given density, signed like NeuronIO: the first half of the inputs are
/// excitatory (+1), the second half inhibitory (-1).
pub fn spike_batch(batch: usize, time: usize, features: usize, density: f64, seed: u64) -> SparseSequences {
    random_spikes(batch, time, features, density, true, seed)
}

/// Random spikes with the given density; `signed` as `spike_batch`, otherwise all +1 (SHD counts).
pub fn random_spikes(
    batch: usize,
    time: usize,
    features: usize,
    density: f64,
    signed: bool,
    seed: u64,
) -> SparseSequences {
    let mut rng = Rng::new(seed);
    let mut row_start = vec![0];
    let (mut feature, mut value) = (Vec::new(), Vec::new());
    for _ in 0..batch * time {
        for i in 0..features {
            if rng.uniform_f64() < density {
                feature.push(i as u32);
                value.push(if signed && i >= features / 2 { -1.0 } else { 1.0 });
            }
        }
        row_start.push(feature.len());
    }
    SparseSequences { batch, time, features, row_start, feature, value }
}

/// A model, its optimizer and one fixed batch: everything a timed training step touches.
pub struct TrainStep {
    pub model: Box<dyn SequenceModel>,
    optimizer: Optimizer,
    inputs: SparseSequences,
    target: Vec<f32>,
}

impl TrainStep {
    pub fn new(config: &ModelConfig, batch: usize, time: usize, density: f64, signed: bool, seed: u64) -> Result<Self> {
        if !(0.0..=1.0).contains(&density) {
            bail!("--density must be within [0, 1], got {density}");
        }
        let model = config.build(seed)?;
        let inputs = random_spikes(batch, time, model.num_input(), density, signed, seed ^ 0x5eed);
        let mut rng = Rng::new(seed ^ 0x7a59);
        let (samples, steps) = model.reported_shape(batch, time);
        let reported = samples * steps * model.num_output();
        let target = (0..reported).map(|_| rng.normal() as f32).collect();
        let optimizer = Optimizer::adam(model.params(), 5e-4);
        Ok(Self { model, optimizer, inputs, target })
    }

    /// Forward, loss, backward (no input gradient, as in training) and an Adam update; returns
    /// the loss before the update.
    pub fn run(&mut self) -> Result<f64> {
        let input = Inputs::Sparse(&self.inputs);
        let pass = self.model.forward(&input)?;
        let (loss, dy) = loss::mse(pass.output(), &self.target);
        let grads = self.model.backward(pass.as_ref(), &input, &dy)?;
        self.optimizer.step(self.model.params_mut(), &grads);
        Ok(loss)
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct StepTimings {
    pub task: String,
    pub model: String,
    pub params: usize,
    pub batch: usize,
    pub time: usize,
    pub density: f64,
    pub threads: usize,
    pub iterations: usize,
    pub median_s: f64,
    pub min_s: f64,
    pub max_s: f64,
}

pub fn run_train_step_bench(options: &TrainStepOptions) -> Result<StepTimings> {
    if options.iterations == 0 {
        bail!("--iterations must be at least 1");
    }
    let config = bench_config(&options.task, &options.model, &options.overrides)?;
    let signed = options.task.name() == "neuronio";
    let mut step = TrainStep::new(&config, options.batch, options.time, options.density, signed, options.seed)?;
    for _ in 0..options.warmup {
        step.run()?;
    }
    let mut seconds = Vec::with_capacity(options.iterations);
    for _ in 0..options.iterations {
        let start = Instant::now();
        step.run()?;
        seconds.push(start.elapsed().as_secs_f64());
    }
    seconds.sort_by(f64::total_cmp);
    let n = seconds.len();
    let median_s = if n % 2 == 1 { seconds[n / 2] } else { 0.5 * (seconds[n / 2 - 1] + seconds[n / 2]) };
    Ok(StepTimings {
        task: options.task.name().to_string(),
        model: options.model.clone(),
        params: step.model.param_count(),
        batch: options.batch,
        time: options.time,
        density: options.density,
        threads: rayon::current_num_threads(),
        iterations: n,
        median_s,
        min_s: seconds[0],
        max_s: seconds[n - 1],
    })
}
