//! `elmbench bench`: speed measurements.

use crate::bench::{lra_shape, run_train_step_bench, TrainStepOptions};
use crate::tasks::TaskConfig;
use anyhow::Result;
use clap::{Args, Subcommand};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Time a full training step (forward + backward + Adam update) on random spike inputs and
    /// print the median seconds per step.
    TrainStep(TrainStepArgs),
}

#[derive(Args)]
pub struct TrainStepArgs {
    /// The model kind, on its preset for --task. NeuronIO (1278 inputs, 2 outputs): `elm` (d_m
    /// 100), `branch-elm` (d_m 20, 45 branches x 100 synapses), `lstm` / `chrono-lstm` (hidden
    /// 50), `lif`, `alif`, `tcn` (Beniaguev 7 x 128); SHD (700 inputs): the Figure 5 sizes.
    /// `elmbench list` shows them all.
    #[arg(long)]
    pub model: String,
    /// The task whose model preset and inputs are timed (neuronio, shd, shd-adding).
    #[arg(long, default_value = "neuronio")]
    pub task: String,
    /// Change a task setting (e.g. `bin_ms=1` for SHD's 1 ms bins, 1000 steps). Repeatable.
    #[arg(long = "task-set", value_name = "KEY=VALUE")]
    pub task_overrides: Vec<String>,
    /// Change a model setting, with the model's own keys (the ELM's are the official
    /// constructor's names: num_input, num_output, num_memory, num_branch, ...). Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Samples per batch.
    #[arg(long, default_value_t = 8, value_parser = super::at_least_one)]
    pub batch: usize,
    /// Time steps per sample (default: the task's, e.g. NeuronIO's 500 ms window).
    #[arg(long, value_parser = super::at_least_one)]
    pub time: Option<usize>,
    /// Fraction of inputs that spike at each step (NeuronIO: signed, first half +1, second -1;
    /// SHD: +1).
    #[arg(long, default_value_t = 0.02)]
    pub density: f64,
    /// One-hot inputs: exactly one non-zero (1.0) per step, at a uniformly random column of the
    /// model's num_input (LRA's tokens); replaces --density.
    #[arg(long)]
    pub one_hot: bool,
    /// An LRA shape with the paper's LRA ELM (d_m 150, MLP 300, tau_s 5, memory taus 1..T) and
    /// one-hot inputs: lra-image (16 x 1,024, 10 classes), lra-pathfinder (16 x 1,024, 2),
    /// lra-listops (25 x 2,000, 10), lra-text (169 x 4,096, 2), lra-retrieval (a two-tower
    /// around that ELM, 105 x 4,000 a document, --batch pairs), lra-path-x (8 x 16,384, 2).
    /// Replaces --task; --time and --set still apply (model --set keys are the ELM's, or the
    /// two-tower's with `encoder.` keys for Retrieval).
    #[arg(long)]
    pub shape: Option<String>,
    /// Untimed steps before timing.
    #[arg(long, default_value_t = 3)]
    pub warmup: usize,
    /// Timed steps.
    #[arg(long, default_value_t = 10, value_parser = super::at_least_one)]
    pub iterations: usize,
    /// Seed of the model initialisation and the random batch.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print one JSON object (median_s, min_s, max_s, iterations, ...) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Where the model math runs: cpu, cuda (fails with a clear message where no usable GPU or
    /// CUDA build is present), or auto (CUDA when it can run the model, else the CPU; says which).
    #[arg(long, value_enum, default_value = "cpu")]
    pub device: crate::backend::DeviceChoice,
}

pub fn run(command: BenchCommand) -> Result<()> {
    match command {
        BenchCommand::TrainStep(args) => {
            let task = crate::overrides::apply(&TaskConfig::named(&args.task)?, &args.task_overrides)?;
            task.validate()?;
            let shape = args.shape.as_deref().map(lra_shape).transpose()?;
            let time = args.time.unwrap_or_else(|| match shape {
                Some(shape) => shape.seq_len(),
                None => task.steps_per_sample(),
            });
            let device = crate::backend::for_model(args.device, &args.model)?;
            let timings = run_train_step_bench(&TrainStepOptions {
                task,
                model: args.model,
                overrides: args.overrides,
                batch: args.batch,
                time,
                density: args.density,
                warmup: args.warmup,
                iterations: args.iterations,
                seed: args.seed,
                one_hot: args.one_hot,
                shape,
                device,
            })?;
            if args.json {
                println!("{}", serde_json::to_string(&timings)?);
            } else {
                println!(
                    "{} on {} ({} params), batch {} x {} steps, density {}: median {:.4} s per training step (min {:.4}, max {:.4}; {} iterations, {} threads on {})",
                    timings.model,
                    timings.task,
                    timings.params,
                    timings.batch,
                    timings.time,
                    timings.density,
                    timings.median_s,
                    timings.min_s,
                    timings.max_s,
                    timings.iterations,
                    timings.threads,
                    timings.device
                );
            }
            Ok(())
        }
    }
}
