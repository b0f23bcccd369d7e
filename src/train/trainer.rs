//! The one training loop, for every task and every model: batches from the task's seeded stream
//! (prepared on a background thread), the task's loss (plus any loss the model adds itself), Adam /
//! Adamax / AdamW with the run's learning-rate schedule, divergence detection; after every epoch
//! the model is scored on the validation split with the task's protocol and the best epoch by the
//! task's selection metric is kept; at the end that model is scored on the test split.
//!
//! A run lives in one folder. After every epoch `trainer_state.safetensors` (weights, optimizer
//! moments, stream position and history in one file, written atomically) is replaced, so a killed
//! run resumes where the last epoch ended and reaches the same final weights as an uninterrupted
//! run. `model.safetensors` and `best.safetensors` are elmbench checkpoints of the latest and the
//! best model; `result.json` is written when the run ends, `diverged` included.
//!
//! Training batches go through `forward_train` (dropout masks and any other training-time
//! randomness) with a seed drawn from the run seed and the optimizer step alone, so a resumed run
//! draws exactly the masks of an uninterrupted one; validation and test use `forward`.
//!
//! (The official trainers' "best" copy is `model.state_dict().copy()`, a shallow copy that keeps
//! pointing at the live tensors, so it always ends up evaluating the last epoch. We keep the best.)

use super::config::TrainConfig;
use super::optimizer::Optimizer;
use super::schedule::LrSchedule;
use super::state::{load_state, save_state, EpochRecord, RunState, RunStatus, STATE_FILE};
use crate::engine::{Inputs, Rng};
use crate::io::write_atomically;
use crate::metrics::Metrics;
use crate::models::{ParamGroup, SequenceModel};
use crate::tasks::{Batch, Split, Task, TrainStream};
use crate::weights::{read_checkpoint, write_checkpoint};
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Instant;

/// What `result.json` says at the end.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunResult {
    /// `running` when stopped early with --stop-after (resume it), `ok`, or `diverged`.
    pub status: RunStatus,
    pub task: String,
    pub data_source: String,
    pub params: usize,
    pub params_paper_convention: usize,
    pub epochs_done: usize,
    pub best_epoch: Option<usize>,
    /// The best epoch's running metrics of its training batches (tasks that report them).
    pub train: Option<Metrics>,
    pub valid: Option<Metrics>,
    pub test: Option<Metrics>,
    pub wall_s: f64,
    /// `cpu` or `cuda:<ordinal>`.
    #[serde(default = "cpu_label")]
    pub device: String,
}

fn cpu_label() -> String {
    "cpu".into()
}

pub struct TrainOptions {
    pub out: PathBuf,
    pub data_dir: PathBuf,
    pub resume: bool,
    /// Stop (resumably) once this many epochs are done, e.g. to fit a time-limited job.
    pub stop_after: Option<usize>,
    /// No progress bars (runs in parallel under `reproduce --jobs` report per run instead).
    pub quiet: bool,
    /// The run's name in log lines (`reproduce`: experiment, group, configuration, seed); unset,
    /// the run folder.
    pub label: Option<String>,
    /// Where the model math runs (`crate::backend::for_model` resolves `--device`).
    pub device: crate::backend::Device,
}

impl TrainOptions {
    /// A fresh, quiet run into `out` on the CPU (tests and scripts); change fields as needed:
    /// `TrainOptions { resume: true, ..TrainOptions::quiet(out, data) }`.
    pub fn quiet(out: impl Into<PathBuf>, data_dir: impl Into<PathBuf>) -> Self {
        Self {
            out: out.into(),
            data_dir: data_dir.into(),
            resume: false,
            stop_after: None,
            quiet: true,
            label: None,
            device: crate::backend::Device::Cpu,
        }
    }
}

/// How often a progress line is written within an epoch when no progress bar is drawn (output
/// piped to a log, or runs in parallel): every 60 s, or every `$ELMBENCH_PROGRESS_EVERY` seconds.
pub const PROGRESS_EVERY_ENV: &str = "ELMBENCH_PROGRESS_EVERY";

fn heartbeat_interval() -> std::time::Duration {
    let seconds = std::env::var(PROGRESS_EVERY_ENV).ok().and_then(|v| v.parse::<f64>().ok());
    std::time::Duration::from_secs_f64(seconds.filter(|s| s.is_finite() && *s >= 0.0).unwrap_or(60.0).min(1e6))
}

/// "1h 02m", "6m 10s", "12s": durations for log lines.
pub fn human_duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

fn progress_bar(len: u64, quiet: bool) -> ProgressBar {
    if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(len)
    }
}

/// The running totals of one epoch's training batches.
#[derive(Default)]
struct EpochTotals {
    loss: f64,
    batches: usize,
    correct: usize,
    samples: usize,
    classified: bool,
}

impl EpochTotals {
    fn metrics(&self, names: &[&str]) -> Metrics {
        let mut m = Metrics::new();
        for &name in names {
            match name {
                "loss" => m.set(name, self.loss / self.batches.max(1) as f64),
                "accuracy" if self.classified => m.set(name, self.correct as f64 / self.samples.max(1) as f64),
                _ => {}
            }
        }
        m
    }
}

/// Labels the stream of training-time seeds, so that it cannot coincide with another stream
/// derived from the run seed.
const TRAINING_RANDOMNESS_STREAM: u64 = 0x6472_6f70_6f75_7473; // "dropouts"

/// The seed of the training-time randomness of optimizer step `step` (0-based): a function of the
/// run seed and the step only, not of the epoch boundaries or of where a run was resumed.
fn training_seed(run_seed: u64, step: u64) -> u64 {
    Rng::derive(run_seed ^ TRAINING_RANDOMNESS_STREAM, step).next_u64()
}

/// Why an epoch ended early.
enum EpochEnd {
    Complete,
    Diverged(String),
}

/// Refuses a run folder that already holds a run (unless resuming) or, when resuming, holds none:
/// checked before any data is read or made.
pub fn check_run_folder(out: &std::path::Path, resume: bool) -> Result<()> {
    let state_path = out.join(STATE_FILE);
    if !resume && state_path.exists() {
        bail!("{} already holds a run; pass --resume to continue it or choose another --out", out.display());
    }
    if resume && !state_path.exists() {
        bail!("--resume: {} has no {STATE_FILE}", out.display());
    }
    Ok(())
}

pub fn train(config: &TrainConfig, options: &TrainOptions) -> Result<RunResult> {
    let started = Instant::now();
    config.validate()?;
    crate::backend::check_runs_on(&options.device, config.model.kind())?;
    let t = &config.train;
    check_run_folder(&options.out, options.resume)?;
    std::fs::create_dir_all(&options.out).with_context(|| format!("creating {}", options.out.display()))?;
    let state_path = options.out.join(STATE_FILE);
    let task = config.task.open(&options.data_dir, options.quiet)?;
    let source = task.data_source().describe();
    if task.data_source().is_synthetic() {
        eprintln!(
            "NOTE: training on SYNTHETIC {} data ({source}); results are not comparable to the paper's.",
            config.task.dataset().name()
        );
    }
    let mut model = crate::models::on_device::place(config.model.build(t.seed)?, &options.device)?;
    task.check_model(model.as_ref())?;
    let mut optimizer = Optimizer::new(t.optimizer, model.params(), t.learning_rate as f32);
    if let Some(wd) = t.weight_decay {
        optimizer.weight_decay = wd as f32;
    }
    if let Some(rate) = t.ssm_learning_rate {
        let groups = model.param_groups();
        if !groups.contains(&ParamGroup::StateSpace) {
            bail!("train.ssm_learning_rate is set, but model `{}` has no state-space parameters", config.model.kind());
        }
        let members = groups.iter().map(|g| *g == ParamGroup::StateSpace).collect();
        optimizer = optimizer.with_state_space_group(members, rate as f32)?;
    }
    let batches_per_epoch = t.batches_per_epoch.unwrap_or_else(|| task.default_batches_per_epoch(t.batch_size));
    let mut stream = task.train_stream(t.batch_size, t.seed)?;
    let mut state = RunState {
        epochs_done: 0,
        status: RunStatus::Running,
        optimizer_steps: 0,
        stream: stream.state()?,
        best_epoch: None,
        best_valid: None,
        history: Vec::new(),
        data_source: source.clone(),
        reference_loss: None,
        wall_s: 0.0,
    };
    let mut wall_before = 0.0;
    if options.resume {
        state = load_state(&state_path, config, model.as_mut(), &mut optimizer)?;
        stream.restore(&state.stream)?;
        wall_before = state.wall_s;
        eprintln!("resuming {} after epoch {}", options.out.display(), state.epochs_done);
    }
    write_atomically(&options.out.join("config.json"), serde_json::to_string_pretty(config)?.as_bytes())?;

    let label = options.label.clone().unwrap_or_else(|| options.out.display().to_string());
    let bar_hidden = options.quiet || !std::io::stderr().is_terminal();
    let heartbeat = heartbeat_interval();
    let session_start = Instant::now();
    let epochs_at_start = state.epochs_done;
    let selection = config.task.selection();
    let total_steps = (t.epochs * batches_per_epoch) as u64;
    let warmup_steps = (t.warmup_epochs as u64).saturating_mul(batches_per_epoch as u64);
    let schedule = LrSchedule { schedule: t.schedule, total_steps, warmup_steps };
    let stop_at = options.stop_after.map_or(t.epochs, |n| n.min(t.epochs));
    while state.epochs_done < stop_at && state.status == RunStatus::Running {
        let epoch = state.epochs_done;
        let epoch_start = Instant::now();
        let bar = progress_bar(batches_per_epoch as u64, options.quiet);
        bar.set_style(ProgressStyle::with_template(
            "epoch {prefix} [{bar:30}] {pos}/{len} loss {msg} {elapsed} (eta {eta})",
        )?);
        bar.set_prefix(format!("{}/{}", epoch + 1, t.epochs));
        let mut totals = EpochTotals::default();
        let mut last_rate = t.learning_rate;
        let mut last_heartbeat = Instant::now();
        let end = run_epoch(stream.as_mut(), batches_per_epoch, t.prefetch, |i, batch| {
            // One hand-off to the worker threads per step (`engine::workers`).
            crate::engine::workers::on_workers(|| {
                last_rate = schedule.at(t.learning_rate, state.optimizer_steps);
                optimizer.lr = last_rate as f32;
                if let Some(rate) = t.ssm_learning_rate {
                    optimizer.state_space_lr = schedule.at(rate, state.optimizer_steps) as f32;
                }
                let input = Inputs::Sparse(&batch.inputs);
                let pass = model.forward_train(&input, training_seed(t.seed, state.optimizer_steps))?;
                let batch_loss = task.loss(pass.output(), &batch)?;
                let loss = batch_loss.loss + pass.auxiliary_loss();
                if state.reference_loss.is_none() && loss.is_finite() {
                    state.reference_loss = Some(loss);
                }
                let blown_up = state.reference_loss.is_some_and(|r| loss > r * t.divergence_factor);
                if !loss.is_finite() || blown_up {
                    return Ok(Some(format!("the loss is {loss:e} at epoch {}, batch {}", epoch + 1, i + 1)));
                }
                let grads = model.backward(pass.as_ref(), &input, &batch_loss.grad)?;
                model.update_running_state(pass.as_ref())?;
                drop(pass);
                optimizer.step(model.params_mut(), &grads);
                state.optimizer_steps += 1;
                totals.loss += loss;
                totals.batches += 1;
                if let Some(correct) = batch_loss.correct {
                    totals.classified = true;
                    totals.correct += correct;
                    // Items classified: one per class label (a two-tower reads two sequences an item).
                    totals.samples += match &batch.targets {
                        crate::tasks::Targets::Classes(labels) => labels.len(),
                        crate::tasks::Targets::Values(_) => batch.inputs.batch,
                    };
                }
                bar.inc(1);
                if i % 50 == 0 {
                    bar.set_message(format!("{:.5}", totals.loss / totals.batches as f64));
                }
                if bar_hidden && last_heartbeat.elapsed() >= heartbeat {
                    last_heartbeat = Instant::now();
                    let elapsed = epoch_start.elapsed().as_secs_f64();
                    let rate = (i + 1) as f64 / elapsed;
                    eprintln!(
                        "[{label}] epoch {}/{}: batch {}/{batches_per_epoch}, loss {:.5}, {rate:.1} batches/s, epoch ETA {}",
                        epoch + 1,
                        t.epochs,
                        i + 1,
                        totals.loss / totals.batches as f64,
                        human_duration((batches_per_epoch - i - 1) as f64 / rate)
                    );
                }
                Ok(None)
            })
        })?;
        bar.finish_and_clear();
        if let EpochEnd::Diverged(why) = end {
            state.status = RunStatus::Diverged;
            eprintln!("[{label}] DIVERGED: {why}");
            break;
        }
        if model.params().iter().any(|p| p.value.data().iter().any(|v| !v.is_finite())) {
            state.status = RunStatus::Diverged;
            eprintln!("[{label}] DIVERGED: non-finite weights after epoch {}", epoch + 1);
            break;
        }
        let valid = match evaluate_split(task.as_ref(), model.as_ref(), Split::Valid) {
            Ok(m) => m,
            Err(e) => {
                state.status = RunStatus::Diverged;
                eprintln!("[{label}] DIVERGED: validation failed after epoch {}: {e:#}", epoch + 1);
                break;
            }
        };
        let record = EpochRecord {
            epoch: epoch + 1,
            train_loss: totals.loss / batches_per_epoch as f64,
            train: totals.metrics(config.task.train_metrics()),
            learning_rate: last_rate,
            valid: valid.clone(),
            wall_s: epoch_start.elapsed().as_secs_f64(),
        };
        let shown: Vec<String> = config
            .task
            .metrics()
            .iter()
            .take(2)
            .filter_map(|m| Some(format!("valid {m} {:.4}", valid.get(m)?)))
            .collect();
        let per_epoch = session_start.elapsed().as_secs_f64() / (epoch + 1 - epochs_at_start) as f64;
        eprintln!(
            "[{label}] epoch {}/{}: train loss {:.5}, {} ({:.1} s, {:.1} batches/s, ETA {})",
            epoch + 1,
            t.epochs,
            record.train_loss,
            shown.join(", "),
            record.wall_s,
            batches_per_epoch as f64 / record.wall_s.max(1e-9),
            human_duration(per_epoch * (stop_at - epoch - 1) as f64)
        );
        let score =
            valid.get(selection.metric).with_context(|| format!("the task reports no `{}`", selection.metric))?;
        if selection.improves(score, state.best_valid) {
            state.best_valid = Some(score);
            state.best_epoch = Some(epoch + 1);
            write_checkpoint(model.as_ref(), &options.out.join("best.safetensors"))?;
        }
        state.history.push(record);
        state.epochs_done += 1;
        state.stream = stream.state()?;
        write_checkpoint(model.as_ref(), &options.out.join("model.safetensors"))?;
        state.wall_s = wall_before + started.elapsed().as_secs_f64();
        save_state(&state_path, config, &state, model.as_ref(), &optimizer)?;
    }
    if state.status == RunStatus::Running && state.epochs_done == t.epochs {
        state.status = RunStatus::Ok;
    }
    state.wall_s = wall_before + started.elapsed().as_secs_f64();
    save_state(&state_path, config, &state, model.as_ref(), &optimizer)?;

    let mut result = RunResult {
        status: state.status.clone(),
        task: config.task.name().to_string(),
        data_source: source,
        params: model.param_count(),
        params_paper_convention: model.param_count_paper_convention(),
        epochs_done: state.epochs_done,
        best_epoch: state.best_epoch,
        train: None,
        valid: None,
        test: None,
        wall_s: 0.0,
        device: options.device.label(),
    };
    if state.status == RunStatus::Ok {
        let best_record = state.history.iter().find(|r| Some(r.epoch) == state.best_epoch);
        result.valid = best_record.map(|r| r.valid.clone());
        result.train = best_record.map(|r| r.train.clone()).filter(|m| !m.is_empty());
        if task.has_split(Split::Test) {
            let best = read_checkpoint(&options.out.join("best.safetensors"))?;
            let best = crate::models::on_device::place(best, &options.device)?;
            result.test = Some(evaluate_split(task.as_ref(), best.as_ref(), Split::Test)?);
        } else {
            eprintln!("the data has no test split; reporting validation only");
        }
    }
    // The whole run's time, resumed invocations included.
    result.wall_s = wall_before + started.elapsed().as_secs_f64();
    write_atomically(&options.out.join("result.json"), serde_json::to_string_pretty(&result)?.as_bytes())?;
    Ok(result)
}

/// Feeds `count` batches of `stream` to `step` while a background thread prepares up to `depth`
/// ahead; `step` returns `Some(reason)` to stop the epoch as diverged. When the epoch completes
/// the stream stands exactly after its `count`-th batch (what a resumed run restores).
fn run_epoch(
    stream: &mut dyn TrainStream,
    count: usize,
    depth: usize,
    mut step: impl FnMut(usize, Batch) -> Result<Option<String>>,
) -> Result<EpochEnd> {
    std::thread::scope(|scope| {
        let (sender, receiver) = mpsc::sync_channel::<Result<Batch>>(depth.max(1));
        scope.spawn(move || {
            for _ in 0..count {
                let batch = stream.next_batch();
                if let Ok(batch) = &batch {
                    // Made here, beside the step that runs meanwhile, not inside the next one.
                    batch.inputs.by_feature();
                }
                let failed = batch.is_err();
                if sender.send(batch).is_err() || failed {
                    break;
                }
            }
        });
        for i in 0..count {
            let batch = receiver.recv().context("the batch stream stopped")??;
            if let Some(reason) = step(i, batch)? {
                return Ok(EpochEnd::Diverged(reason));
            }
        }
        Ok(EpochEnd::Complete)
    })
}

/// Scores a model on a split of a task (what `elmbench eval` runs), on the worker threads.
pub fn evaluate_split(task: &dyn Task, model: &dyn SequenceModel, split: Split) -> Result<Metrics> {
    task.check_model(model)?;
    crate::engine::workers::on_workers(|| task.evaluate(model, split))
}

#[cfg(test)]
mod duration_tests {
    use super::human_duration;

    #[test]
    fn durations_read_as_a_person_writes_them() {
        assert_eq!(human_duration(0.4), "0s");
        assert_eq!(human_duration(59.4), "59s");
        assert_eq!(human_duration(370.0), "6m 10s");
        assert_eq!(human_duration(3720.0), "1h 02m");
        assert_eq!(human_duration(-3.0), "0s");
    }
}
