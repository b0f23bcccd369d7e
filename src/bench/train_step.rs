//! One training step of any model on random spike inputs, and a timer around it.

use crate::engine::{Inputs, Rng, SparseSequences};
use crate::models::{ModelConfig, SequenceModel};
use crate::tasks::lra::LraTask;
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
    /// One-hot tokens (one 1.0 per step at a uniformly random column) instead of spikes.
    pub one_hot: bool,
    /// An LRA shape: its ELM preset (`lra_bench_config`), its steps and one-hot inputs; `task`
    /// and `density` are then unused, `time` still shortens the sequence.
    pub shape: Option<LraTask>,
    /// Where the step runs (`models::on_device::place`).
    pub device: crate::backend::Device,
}

/// The LRA task named `name` (listops, text, retrieval, image, pathfinder, path-x; an `lra-`
/// prefix is accepted).
pub fn lra_shape(name: &str) -> Result<LraTask> {
    let bare = name.strip_prefix("lra-").unwrap_or(name);
    match LraTask::ALL.iter().find(|t| t.name() == bare || (bare == "pathx" && **t == LraTask::PathX)) {
        Some(task) => Ok(*task),
        None => bail!(
            "unknown LRA shape `{name}` (shapes: {})",
            LraTask::ALL.iter().map(|t| format!("lra-{}", t.name())).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// The paper's LRA ELM for `task` at `time` steps (a document's, for Retrieval): the one-hot
/// width and classes of the task, d_m 150, one MLP layer of 300 (2 d_m), tau_s 5 (and lambda 5),
/// memory taus log-spaced between 1 and `time`, the last step read out. Retrieval wraps it as the
/// shared encoder of a two-tower (latent 75, head hidden 150). Then `key=value` overrides.
pub fn lra_bench_config(task: LraTask, kind: &str, time: usize, overrides: &[String]) -> Result<ModelConfig> {
    if kind != "elm" {
        bail!("the LRA shapes have an ELM preset only (--model elm), got `{kind}`");
    }
    let elm = serde_json::json!({"kind": "elm", "num_memory": 150, "mlp_hidden_size": 300, "mlp_num_layers": 1,
        "lambda_value": 5.0, "tau_s_value": 5.0, "memory_tau_min": 1.0, "memory_tau_max": time as f64});
    let table = if task == LraTask::Retrieval {
        serde_json::json!({"kind": "two-tower", "num_input": task.input_size(), "num_output": task.classes(),
            "latent": 75, "readout": "last-step", "encoder": elm})
    } else {
        let mut elm = elm;
        elm["num_input"] = task.input_size().into();
        elm["num_output"] = task.classes().into();
        elm["readout"] = "last-step".into();
        elm
    };
    let config: ModelConfig = serde_json::from_value(table)?;
    let config = config.with_overrides(overrides)?;
    config.validate()?;
    Ok(config)
}

/// One-hot tokens: exactly one non-zero (1.0) per step, at a column drawn uniformly from
/// `features` (LRA's inputs, without padding).
pub fn one_hot_tokens(batch: usize, time: usize, features: usize, seed: u64) -> SparseSequences {
    let mut rng = Rng::new(seed);
    let feature: Vec<u32> =
        (0..batch * time).map(|_| ((rng.uniform_f64() * features as f64) as usize).min(features - 1) as u32).collect();
    let value = vec![1.0f32; feature.len()];
    let row_start = (0..=batch * time).collect();
    SparseSequences::new(batch, time, features, row_start, feature, value)
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
    SparseSequences::new(batch, time, features, row_start, feature, value)
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
        // As the trainer places it on the CPU, so that `cargo bench` times what `elmbench bench` does.
        let model = crate::models::on_device::place(config.build(seed)?, &crate::backend::Device::Cpu)?;
        let inputs = random_spikes(batch, time, model.num_input(), density, signed, seed ^ 0x5eed);
        Self::with_inputs(model, inputs, seed)
    }

    /// A step of `model` on a fixed batch of `inputs` (2B sequences for a two-tower: B pairs).
    pub fn with_inputs(model: Box<dyn SequenceModel>, inputs: SparseSequences, seed: u64) -> Result<Self> {
        if inputs.batch == 0 || inputs.time == 0 {
            bail!(
                "a training step needs at least one sample of one step (batch {}, time {})",
                inputs.batch,
                inputs.time
            );
        }
        let (batch, time) = (inputs.batch, inputs.time);
        let mut rng = Rng::new(seed ^ 0x7a59);
        let (samples, steps) = model.reported_shape(batch, time);
        let reported = samples * steps * model.num_output();
        let target = (0..reported).map(|_| rng.normal() as f32).collect();
        let optimizer = Optimizer::adam(model.params(), 5e-4);
        // The trainer's loader thread makes a batch's by-feature form off the step's path; so here.
        inputs.by_feature();
        Ok(Self { model, optimizer, inputs, target })
    }

    /// Forward, loss, backward (no input gradient, as in training) and an Adam update; returns
    /// the loss before the update.
    pub fn run(&mut self) -> Result<f64> {
        crate::engine::workers::on_workers(|| self.run_here())
    }

    fn run_here(&mut self) -> Result<f64> {
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
    /// Where the step ran (`cpu`, `cuda:0`).
    pub device: String,
    pub iterations: usize,
    pub median_s: f64,
    pub min_s: f64,
    pub max_s: f64,
}

pub fn run_train_step_bench(options: &TrainStepOptions) -> Result<StepTimings> {
    if options.iterations == 0 {
        bail!("--iterations must be at least 1");
    }
    let (task, density, mut step) = match options.shape {
        Some(shape) => {
            let config = lra_bench_config(shape, &options.model, options.time, &options.overrides)?;
            let model = crate::models::on_device::place(config.build(options.seed)?, &options.device)?;
            // A two-tower's batch is B pairs: 2B documents.
            let sequences = if shape == LraTask::Retrieval { 2 * options.batch } else { options.batch };
            let inputs = one_hot_tokens(sequences, options.time, model.num_input(), options.seed ^ 0x5eed);
            (
                format!("lra-{}", shape.name()),
                1.0 / model.num_input() as f64,
                TrainStep::with_inputs(model, inputs, options.seed)?,
            )
        }
        None => {
            let config = bench_config(&options.task, &options.model, &options.overrides)?;
            let model = crate::models::on_device::place(config.build(options.seed)?, &options.device)?;
            let (inputs, density) = if options.one_hot {
                let n = model.num_input();
                (one_hot_tokens(options.batch, options.time, n, options.seed ^ 0x5eed), 1.0 / n as f64)
            } else {
                if !(0.0..=1.0).contains(&options.density) {
                    bail!("--density must be within [0, 1], got {}", options.density);
                }
                let signed = options.task.name() == "neuronio";
                let n = model.num_input();
                (
                    random_spikes(options.batch, options.time, n, options.density, signed, options.seed ^ 0x5eed),
                    options.density,
                )
            };
            (options.task.name().to_string(), density, TrainStep::with_inputs(model, inputs, options.seed)?)
        }
    };
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
        task,
        model: options.model.clone(),
        params: step.model.param_count(),
        batch: options.batch,
        time: options.time,
        density,
        threads: rayon::current_num_threads(),
        device: options.device.label(),
        iterations: n,
        median_s,
        min_s: seconds[0],
        max_s: seconds[n - 1],
    })
}
