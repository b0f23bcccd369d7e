//! `elmbench bench`: speed measurements.

use crate::bench::{run_train_step_bench, TrainStepOptions};
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
    /// The model kind, on its NeuronIO preset (1278 inputs, 2 outputs): `elm` (d_m 100),
    /// `branch-elm` (d_m 20, 45 branches x 100 synapses), `lstm` / `chrono-lstm` (hidden 50),
    /// `lif`, `alif`, `tcn` (Beniaguev 7 x 128). `elmbench list` shows them all.
    #[arg(long)]
    pub model: String,
    /// Change a model setting, with the model's own keys (the ELM's are the official
    /// constructor's names: num_input, num_output, num_memory, num_branch, ...). Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Samples per batch.
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// Time steps per sample.
    #[arg(long, default_value_t = 500)]
    pub time: usize,
    /// Fraction of inputs that spike at each step (signed like NeuronIO: first half +1, second -1).
    #[arg(long, default_value_t = 0.02)]
    pub density: f64,
    /// Untimed steps before timing.
    #[arg(long, default_value_t = 3)]
    pub warmup: usize,
    /// Timed steps.
    #[arg(long, default_value_t = 10)]
    pub iterations: usize,
    /// Seed of the model initialisation and the random batch.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print one JSON object (median_s, min_s, max_s, iterations, ...) instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(command: BenchCommand) -> Result<()> {
    match command {
        BenchCommand::TrainStep(args) => {
            let timings = run_train_step_bench(&TrainStepOptions {
                model: args.model,
                overrides: args.overrides,
                batch: args.batch,
                time: args.time,
                density: args.density,
                warmup: args.warmup,
                iterations: args.iterations,
                seed: args.seed,
            })?;
            if args.json {
                println!("{}", serde_json::to_string(&timings)?);
            } else {
                println!(
                    "{} ({} params), batch {} x {} steps, density {}: median {:.4} s per training step (min {:.4}, max {:.4}; {} iterations, {} threads)",
                    timings.model,
                    timings.params,
                    timings.batch,
                    timings.time,
                    timings.density,
                    timings.median_s,
                    timings.min_s,
                    timings.max_s,
                    timings.iterations,
                    timings.threads
                );
            }
            Ok(())
        }
    }
}
