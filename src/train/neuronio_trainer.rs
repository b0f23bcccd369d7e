//! Training a model on NeuronIO as the official trainer does: Adam, cosine annealing over the
//! whole run, the NeuronIO loss, batches of 500 ms windows; after every epoch the model is scored
//! on validation files with the official protocol and the one with the lowest soma RMSE is kept;
//! at the end that model is scored on the test files.
//!
//! A run lives in one folder. After every epoch `trainer_state.safetensors` (weights, optimizer
//! moments, sampler and history in one file, written atomically) is replaced, so a killed run
//! resumes where the last epoch ended and reaches the same final weights as an uninterrupted
//! run. `model.safetensors` and `best.safetensors` are elmbench checkpoints of the latest and
//! the best model; `result.json` is written when the run ends, `diverged` included.
//!
//! (The official trainer's "best" copy is `model.state_dict().copy()`, a shallow copy that keeps
//! pointing at the live tensors, so it always ends up evaluating the last epoch. We keep the best.)

use super::config::TrainConfig;
use super::{neuronio_loss, Adam, CosineAnnealing};
use crate::data::neuronio::cache::{cache_dir, read_cached};
use crate::data::neuronio::dataset::{locate, DataSource};
use crate::data::neuronio::evaluation::evaluate;
use crate::data::neuronio::{NeuronioFile, NeuronioSampler, SamplerConfig, SamplerState};
use crate::engine::Inputs;
use crate::metrics::NeuronioMetrics;
use crate::models::{Buffer, SequenceModel};
use crate::weights::checkpoint::{model_tensors, write_atomically};
use crate::weights::{read_checkpoint, write_checkpoint};
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    Ok,
    /// The loss became NaN or infinite: no result is reported.
    Diverged,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    pub train_loss: f64,
    pub learning_rate: f64,
    pub valid: NeuronioMetrics,
    pub wall_s: f64,
}

/// Everything besides tensors that a resumed run needs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    pub epochs_done: usize,
    pub status: RunStatus,
    pub optimizer_steps: u64,
    pub sampler: SamplerState,
    pub best_epoch: Option<usize>,
    pub best_valid_rmse: Option<f64>,
    pub history: Vec<EpochRecord>,
    pub data_source: String,
    /// The loss of the run's first batch, before any update: the yardstick of divergence.
    pub reference_loss: Option<f64>,
    /// Wall time spent by earlier invocations of this run (before a resume), in seconds.
    #[serde(default)]
    pub wall_s: f64,
}

/// What `result.json` says at the end.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunResult {
    /// `running` when stopped early with --stop-after (resume it), `ok`, or `diverged`.
    pub status: RunStatus,
    pub data_source: String,
    pub params: usize,
    pub params_paper_convention: usize,
    pub epochs_done: usize,
    pub best_epoch: Option<usize>,
    pub valid: Option<NeuronioMetrics>,
    pub test: Option<NeuronioMetrics>,
    pub wall_s: f64,
}

pub struct TrainOptions {
    pub out: PathBuf,
    pub data_dir: PathBuf,
    pub resume: bool,
    /// Stop (resumably) once this many epochs are done, e.g. to fit a time-limited job.
    pub stop_after: Option<usize>,
    /// No progress bars (runs in parallel under `reproduce --jobs` report per run instead).
    pub quiet: bool,
}

const STATE_FILE: &str = "trainer_state.safetensors";

fn progress_bar(len: u64, quiet: bool) -> ProgressBar {
    if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(len)
    }
}

fn load_files(paths: &[PathBuf], what: &str, cache: &Path, quiet: bool) -> Result<Vec<NeuronioFile>> {
    let bar = progress_bar(paths.len() as u64, quiet);
    bar.set_style(ProgressStyle::with_template(&format!(
        "reading {what} files [{{bar:30}}] {{pos}}/{{len}} {{elapsed}}"
    ))?);
    let files = paths
        .par_iter()
        .map(|p| {
            let f = read_cached(p, cache);
            bar.inc(1);
            f
        })
        .collect::<Result<Vec<_>>>();
    bar.finish_and_clear();
    files
}

pub fn train(config: &TrainConfig, options: &TrainOptions) -> Result<RunResult> {
    let started = Instant::now();
    let t = &config.train;
    if t.batch_size == 0 || t.batches_per_epoch == 0 || t.epochs == 0 || t.window <= t.loss_burn_in {
        bail!("train: batch_size, batches_per_epoch and epochs must be positive and window > loss_burn_in");
    }
    std::fs::create_dir_all(&options.out).with_context(|| format!("creating {}", options.out.display()))?;
    let splits = locate(&options.data_dir)?;
    let cache = cache_dir(&options.data_dir);
    let source = splits.source.describe();
    if matches!(splits.source, DataSource::Synthetic(_)) {
        eprintln!("NOTE: training on SYNTHETIC NeuronIO data ({source}); results are not comparable to the paper's.");
    }
    let train_files = Arc::new(load_files(&splits.train, "training", &cache, options.quiet)?);
    let valid_paths: Vec<PathBuf> = splits.valid.iter().take(t.valid_files.max(1)).cloned().collect();
    if valid_paths.is_empty() {
        bail!("no validation files (full_ergodic_train_batch_1) below {}", splits.root.display());
    }
    let valid_files = load_files(&valid_paths, "validation", &cache, options.quiet)?;

    let mut model = config.model.build(t.seed)?;
    let mut adam = Adam::new(model.params(), t.learning_rate as f32);
    let per_file = (t.file_load_fraction * (128.0 * 6000.0) / (t.batch_size * t.window) as f64).max(1.0) as usize;
    let sampler_config = SamplerConfig {
        batch: t.batch_size,
        window: t.window,
        ignore_start: 500,
        batches_per_file: per_file,
        seed: t.seed,
    };
    let mut sampler = NeuronioSampler::new(train_files, sampler_config)?;
    let mut state = RunState {
        epochs_done: 0,
        status: RunStatus::Running,
        optimizer_steps: 0,
        sampler: sampler.state(),
        best_epoch: None,
        best_valid_rmse: None,
        history: Vec::new(),
        data_source: source.clone(),
        reference_loss: None,
        wall_s: 0.0,
    };
    let state_path = options.out.join(STATE_FILE);
    let mut wall_before = 0.0;
    if options.resume {
        if !state_path.exists() {
            bail!("--resume: {} has no {STATE_FILE}", options.out.display());
        }
        state = load_state(&state_path, config, model.as_mut(), &mut adam)?;
        sampler.restore(&state.sampler)?;
        wall_before = state.wall_s;
        eprintln!("resuming {} after epoch {}", options.out.display(), state.epochs_done);
    } else if state_path.exists() {
        bail!("{} already holds a run; pass --resume to continue it or choose another --out", options.out.display());
    }
    std::fs::write(options.out.join("config.json"), serde_json::to_string_pretty(config)?)?;

    let schedule =
        CosineAnnealing { base: t.learning_rate, min: 0.0, total_steps: (t.epochs * t.batches_per_epoch) as u64 };
    let stop_at = options.stop_after.map_or(t.epochs, |n| n.min(t.epochs));
    while state.epochs_done < stop_at && state.status == RunStatus::Running {
        let epoch = state.epochs_done;
        let epoch_start = Instant::now();
        let (batches, handle) = sampler.spawn_prefetch(t.batches_per_epoch, t.prefetch);
        let bar = progress_bar(t.batches_per_epoch as u64, options.quiet);
        bar.set_style(ProgressStyle::with_template(
            "epoch {prefix} [{bar:30}] {pos}/{len} loss {msg} {elapsed} (eta {eta})",
        )?);
        bar.set_prefix(format!("{}/{}", epoch + 1, t.epochs));
        let mut loss_sum = 0.0;
        let mut learning_rate = t.learning_rate;
        for i in 0..t.batches_per_epoch {
            let batch = batches.recv().context("the batch sampler stopped")?;
            learning_rate = schedule.at(state.optimizer_steps);
            adam.lr = learning_rate as f32;
            let input = Inputs::Sparse(&batch.inputs);
            let pass = model.forward(&input)?;
            let (loss, dy) =
                neuronio_loss(pass.output(), &batch.spike, &batch.soma, t.batch_size, t.window, t.loss_burn_in);
            if state.reference_loss.is_none() && loss.is_finite() {
                state.reference_loss = Some(loss);
            }
            let blown_up = state.reference_loss.is_some_and(|r| loss > r * t.divergence_factor);
            if !loss.is_finite() || blown_up {
                state.status = RunStatus::Diverged;
                eprintln!("DIVERGED: the loss is {loss:e} at epoch {}, batch {}", epoch + 1, i + 1);
                break;
            }
            let grads = model.backward(pass.as_ref(), &input, &dy)?;
            drop(pass);
            adam.step(model.params_mut(), &grads);
            state.optimizer_steps += 1;
            loss_sum += loss;
            bar.inc(1);
            if i % 50 == 0 {
                bar.set_message(format!("{:.5}", loss_sum / (i + 1) as f64));
            }
        }
        bar.finish_and_clear();
        drop(batches);
        sampler = handle.join().map_err(|_| anyhow::anyhow!("the batch sampler panicked"))?;
        if state.status == RunStatus::Diverged {
            break;
        }
        if model.params().iter().any(|p| p.value.data().iter().any(|v| !v.is_finite())) {
            state.status = RunStatus::Diverged;
            eprintln!("DIVERGED: non-finite weights after epoch {}", epoch + 1);
            break;
        }
        let valid = match evaluate(model.as_ref(), &valid_files, t.eval_burn_in, t.window) {
            Ok(m) => m,
            Err(e) => {
                state.status = RunStatus::Diverged;
                eprintln!("DIVERGED: validation failed after epoch {}: {e:#}", epoch + 1);
                break;
            }
        };
        let record = EpochRecord {
            epoch: epoch + 1,
            train_loss: loss_sum / t.batches_per_epoch as f64,
            learning_rate,
            valid,
            wall_s: epoch_start.elapsed().as_secs_f64(),
        };
        eprintln!(
            "epoch {}/{}: train loss {:.5}, valid RMSE {:.4}, valid AUC {:.4} ({:.1} s)",
            epoch + 1,
            t.epochs,
            record.train_loss,
            valid.soma_rmse,
            valid.auc,
            record.wall_s
        );
        if state.best_valid_rmse.is_none_or(|best| valid.soma_rmse < best) {
            state.best_valid_rmse = Some(valid.soma_rmse);
            state.best_epoch = Some(epoch + 1);
            write_checkpoint(model.as_ref(), &options.out.join("best.safetensors"))?;
        }
        state.history.push(record);
        state.epochs_done += 1;
        state.sampler = sampler.state();
        write_checkpoint(model.as_ref(), &options.out.join("model.safetensors"))?;
        state.wall_s = wall_before + started.elapsed().as_secs_f64();
        save_state(&state_path, config, &state, model.as_ref(), &adam)?;
    }
    if state.status == RunStatus::Running && state.epochs_done == t.epochs {
        state.status = RunStatus::Ok;
    }
    state.wall_s = wall_before + started.elapsed().as_secs_f64();
    save_state(&state_path, config, &state, model.as_ref(), &adam)?;

    let mut result = RunResult {
        status: state.status.clone(),
        data_source: source,
        params: model.param_count(),
        params_paper_convention: model.param_count_paper_convention(),
        epochs_done: state.epochs_done,
        best_epoch: state.best_epoch,
        valid: None,
        test: None,
        wall_s: 0.0,
    };
    if state.status == RunStatus::Ok {
        let best = read_checkpoint(&options.out.join("best.safetensors"))?;
        result.valid = state.history.iter().find(|r| Some(r.epoch) == state.best_epoch).map(|r| r.valid);
        if splits.test.is_empty() {
            eprintln!("no test files (Data_test) found; reporting validation only");
        } else {
            let test_files = load_files(&splits.test, "test", &cache, options.quiet)?;
            result.test = Some(evaluate(best.as_ref(), &test_files, t.eval_burn_in, t.window)?);
        }
    }
    // The whole run's time, resumed invocations included.
    result.wall_s = wall_before + started.elapsed().as_secs_f64();
    write_atomically(&options.out.join("result.json"), serde_json::to_string_pretty(&result)?.as_bytes())?;
    Ok(result)
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn save_state(
    path: &Path,
    config: &TrainConfig,
    state: &RunState,
    model: &dyn SequenceModel,
    adam: &Adam,
) -> Result<()> {
    let (first, second) = adam.moments();
    let mut owned: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    for (name, dtype, shape, bytes) in model_tensors(model) {
        owned.push((format!("param.{name}"), dtype, shape, bytes));
    }
    for (i, p) in model.params().iter().enumerate() {
        owned.push((format!("adam.m.{}", p.name), Dtype::F32, vec![first[i].len()], f32_bytes(&first[i])));
        owned.push((format!("adam.v.{}", p.name), Dtype::F32, vec![second[i].len()], f32_bytes(&second[i])));
    }
    let views = owned
        .iter()
        .map(|(n, dtype, shape, bytes)| Ok((n.clone(), TensorView::new(*dtype, shape.clone(), bytes)?)))
        .collect::<Result<Vec<_>>>()?;
    let metadata = HashMap::from([
        ("config".to_string(), serde_json::to_string(config)?),
        ("run_state".to_string(), serde_json::to_string(state)?),
    ]);
    write_atomically(path, &safetensors::serialize(views, Some(metadata))?)
}

fn load_state(path: &Path, config: &TrainConfig, model: &mut dyn SequenceModel, adam: &mut Adam) -> Result<RunState> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let (_, header) = SafeTensors::read_metadata(&bytes).with_context(|| format!("{} is corrupt", path.display()))?;
    let meta = header.metadata().clone().unwrap_or_default();
    let saved: TrainConfig = serde_json::from_str(meta.get("config").context("no config in the trainer state")?)?;
    if &saved != config {
        bail!(
            "--resume: the configuration differs from the one {} was started with (see its config.json)",
            path.display()
        );
    }
    let state: RunState = serde_json::from_str(meta.get("run_state").context("no run state in the trainer state")?)?;
    let tensors = SafeTensors::deserialize(&bytes)?;
    let view = |name: &str| tensors.tensor(name).with_context(|| format!("the trainer state lacks `{name}`"));
    let read = |name: &str| -> Result<Vec<f32>> {
        Ok(view(name)?.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    };
    for (name, saved) in model.buffers() {
        let data = view(&format!("param.{name}"))?.data().to_vec();
        let restored = match saved {
            Buffer::I64(_) => {
                Buffer::I64(data.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes"))).collect())
            }
            Buffer::Bool(_) => Buffer::Bool(data.iter().map(|&b| b != 0).collect()),
        };
        model.set_buffer(&name, restored)?;
    }
    let names: Vec<(String, Vec<usize>)> =
        model.params().iter().map(|p| (p.name.clone(), p.value.shape().to_vec())).collect();
    let (mut first, mut second) = (Vec::new(), Vec::new());
    for (name, shape) in &names {
        model.params_mut().assign(name, read(&format!("param.{name}"))?, shape)?;
        first.push(read(&format!("adam.m.{name}"))?);
        second.push(read(&format!("adam.v.{name}"))?);
    }
    adam.restore(state.optimizer_steps, first, second)?;
    Ok(state)
}
