//! Running a plan: pick each dataset's data (real when present, else a synthetic surrogate, said
//! loudly), skip runs that already have a result, resume interrupted ones, run independent runs in
//! parallel, and write one row per run.

use super::plan::{Plan, RunSpec};
use super::results::{finished_row, run_dir, write_row, RunRow};
use crate::tasks::{resolve_data, Dataset};
use crate::train::{train, RunStatus, TrainOptions};
use anyhow::{bail, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

pub struct RunnerOptions {
    pub data_dir: PathBuf,
    pub results: PathBuf,
    pub jobs: usize,
    /// Run only this index of the plan (a Slurm array task).
    pub run_index: Option<usize>,
    /// Where the runs compute (resolved per run: `auto` depends on the model).
    pub device: crate::backend::DeviceChoice,
}

pub fn git_commit() -> String {
    let out = std::process::Command::new("git").args(["describe", "--always", "--dirty", "--abbrev=12"]).output();
    match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        _ => "unknown".into(),
    }
}

/// Runs what is not finished yet; returns (ran, skipped).
pub fn execute(plan: &Plan, options: &RunnerOptions) -> Result<(usize, usize)> {
    let selected: Vec<&RunSpec> = match options.run_index {
        Some(i) => match plan.runs.get(i) {
            Some(run) => vec![run],
            None => bail!("--run-index {i}: the plan has {} runs (0..{})", plan.runs.len(), plan.runs.len()),
        },
        None => plan.runs.iter().collect(),
    };
    let mut todo = Vec::new();
    let mut skipped = 0;
    for run in selected {
        if finished_row(&run_dir(&options.results, plan, run))?.is_some() {
            skipped += 1;
        } else {
            todo.push(run);
        }
    }
    if skipped > 0 {
        eprintln!("{skipped} run(s) already finished; skipping them");
    }
    if todo.is_empty() {
        return Ok((0, skipped));
    }
    let mut data_roots: HashMap<&'static str, PathBuf> = HashMap::new();
    for run in &todo {
        let dataset: Dataset = run.config.task.dataset();
        if !data_roots.contains_key(dataset.name()) {
            data_roots.insert(dataset.name(), resolve_data(dataset, &options.data_dir, plan.data_tier)?);
        }
    }
    let commit = git_commit();
    let jobs = options.jobs.max(1).min(todo.len());
    let bar = ProgressBar::new(todo.len() as u64);
    bar.set_style(ProgressStyle::with_template("{prefix} runs [{bar:30}] {pos}/{len} {elapsed} (eta {eta}) {msg}")?);
    bar.set_prefix(format!("{} {}", plan.experiment, plan.tier));
    let next = AtomicUsize::new(0);
    let errors = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(run) = todo.get(i) else { break };
                bar.set_message(run.run_id.clone());
                let data_root = &data_roots[run.config.task.dataset().name()];
                if let Err(e) = run_one(plan, run, data_root, options, &commit, jobs > 1) {
                    errors.lock().expect("no panics while holding it").push(format!("{}: {e:#}", run.run_id));
                }
                bar.inc(1);
            });
        }
    });
    bar.finish();
    let errors = errors.into_inner().expect("threads joined");
    for e in &errors {
        eprintln!("FAILED {e}");
    }
    Ok((todo.len(), skipped))
}

fn run_one(
    plan: &Plan,
    run: &RunSpec,
    data_root: &Path,
    options: &RunnerOptions,
    commit: &str,
    quiet: bool,
) -> Result<()> {
    let dir = run_dir(&options.results, plan, run);
    let resume = dir.join("trainer_state.safetensors").exists();
    if resume {
        eprintln!("resuming {}", run.run_id);
    }
    let device = crate::backend::for_model(options.device, run.config.model.kind())?;
    let model = run.config.model.build(run.seed)?;
    let mut row = RunRow {
        experiment: plan.experiment.clone(),
        tier: plan.tier.clone(),
        group: run.group.clone(),
        model: run.config.model.kind().to_string(),
        config: run.label.clone(),
        config_hash: run.config_hash.clone(),
        seed: run.seed,
        data_source: String::new(),
        device: device.label(),
        test: None,
        valid: None,
        train: None,
        params: model.param_count(),
        params_paper_convention: model.param_count_paper_convention(),
        flops_per_sample: model.flops(run.config.task.steps_per_sample()).total(),
        wall_s: 0.0,
        status: "failed".into(),
        git_commit: commit.to_string(),
        settings: run.settings.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(";"),
        error: String::new(),
    };
    let options = TrainOptions {
        out: dir.clone(),
        data_dir: data_root.to_path_buf(),
        resume,
        stop_after: None,
        quiet,
        label: Some(run_name(plan, run)),
        device,
    };
    match train(&run.config, &options) {
        Ok(result) => {
            row.data_source = result.data_source;
            row.test = result.test;
            row.valid = result.valid;
            row.train = result.train;
            row.wall_s = result.wall_s;
            row.status = match result.status {
                RunStatus::Ok => "ok".into(),
                RunStatus::Diverged => "diverged".into(),
                RunStatus::Running => "failed".into(),
            };
        }
        Err(e) => {
            row.error = format!("{e:#}");
            write_row(&dir, &row)?;
            return Err(e);
        }
    }
    write_row(&dir, &row)
}

/// A run's name in log lines: experiment, group, configuration and seed, so that a log of a sweep
/// says which run each line belongs to.
pub fn run_name(plan: &Plan, run: &RunSpec) -> String {
    format!("{} {} {} seed {}", plan.experiment, run.group, run.label, run.seed)
}
