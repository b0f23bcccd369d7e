//! Results of an experiment: one `row.json` per run (written when the run ends), assembled into
//! `runs.csv` (the same code for local runs and Slurm array tasks) and `summary.md`.

use super::plan::{Plan, RunSpec};
use crate::metrics::Metrics;
use crate::tasks::TaskConfig;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// One row of runs.csv.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    pub experiment: String,
    pub tier: String,
    pub group: String,
    pub model: String,
    pub config: String,
    pub config_hash: String,
    pub seed: u64,
    /// `synthetic (...)` or `real`: which data the run saw.
    pub data_source: String,
    /// Where the run computed: `cpu`, `cuda:0` (rows from before devices existed were all CPU).
    #[serde(default = "cpu_label")]
    pub device: String,
    pub test: Option<Metrics>,
    pub valid: Option<Metrics>,
    /// Running metrics of the best epoch's training batches (tasks that report them).
    #[serde(default)]
    pub train: Option<Metrics>,
    pub params: usize,
    pub params_paper_convention: usize,
    pub flops_per_sample: u64,
    pub wall_s: f64,
    /// ok, diverged or failed.
    pub status: String,
    pub git_commit: String,
    /// The keys the run sets, `key=value;...` (plots use them as x values).
    pub settings: String,
    pub error: String,
}

fn cpu_label() -> String {
    "cpu".into()
}

/// The columns of an experiment's runs.csv: the run's identity, the metrics of its tasks (test,
/// then valid, then the training batches' running metrics, each in the tasks' order), then the
/// run's size, time and status. An experiment of NeuronIO runs has exactly the columns it had
/// before tasks existed.
pub fn columns(tasks: &[TaskConfig]) -> Vec<String> {
    let mut evaluated: Vec<&str> = Vec::new();
    let mut running: Vec<&str> = Vec::new();
    for task in tasks {
        for m in task.metrics() {
            if !evaluated.contains(m) {
                evaluated.push(m);
            }
        }
        for m in task.train_metrics() {
            if !running.contains(m) {
                running.push(m);
            }
        }
    }
    let mut c: Vec<String> =
        ["experiment", "tier", "group", "model", "config", "config_hash", "seed", "data_source", "device"]
            .map(String::from)
            .to_vec();
    for split in ["test", "valid"] {
        c.extend(evaluated.iter().map(|m| format!("{split}_{m}")));
    }
    c.extend(running.iter().map(|m| format!("train_{m}")));
    c.extend(
        [
            "params",
            "params_paper_convention",
            "flops_per_sample",
            "wall_s",
            "status",
            "git_commit",
            "settings",
            "error",
        ]
        .map(String::from),
    );
    c
}

impl RunRow {
    /// Column -> cell (what runs.csv holds and golden files select).
    pub fn cells(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        let mut put = |k: &str, v: String| {
            m.insert(k.to_string(), v);
        };
        put("experiment", self.experiment.clone());
        put("tier", self.tier.clone());
        put("group", self.group.clone());
        put("model", self.model.clone());
        put("config", self.config.clone());
        put("config_hash", self.config_hash.clone());
        put("seed", self.seed.to_string());
        put("data_source", self.data_source.clone());
        put("device", self.device.clone());
        for (split, metrics) in [("test", &self.test), ("valid", &self.valid), ("train", &self.train)] {
            for (name, value) in metrics.iter().flat_map(|m| m.iter()) {
                put(&format!("{split}_{name}"), format!("{value:.6}"));
            }
        }
        put("params", self.params.to_string());
        put("params_paper_convention", self.params_paper_convention.to_string());
        put("flops_per_sample", self.flops_per_sample.to_string());
        put("wall_s", format!("{:.1}", self.wall_s));
        put("status", self.status.clone());
        put("git_commit", self.git_commit.clone());
        put("settings", self.settings.clone());
        put("error", self.error.clone());
        m
    }

    /// The row back from its runs.csv cells (what `elmbench plot` redraws figures from): metric
    /// columns are `test_*`, `valid_*` and `train_*`; a blank cell is a metric the run lacks.
    pub fn from_cells(cells: &BTreeMap<String, String>) -> Result<Self> {
        let text = |k: &str| cells.get(k).cloned().unwrap_or_default();
        let number = |k: &str| -> Result<f64> {
            let v = text(k);
            if v.is_empty() {
                return Ok(0.0);
            }
            v.parse::<f64>().with_context(|| format!("column `{k}`: `{v}` is not a number"))
        };
        let mut splits: [(&str, Metrics); 3] =
            [("test_", Metrics::new()), ("valid_", Metrics::new()), ("train_", Metrics::new())];
        for (column, value) in cells {
            for (prefix, metrics) in splits.iter_mut() {
                if let Some(name) = column.strip_prefix(*prefix) {
                    if !value.is_empty() {
                        let v = value
                            .parse::<f64>()
                            .with_context(|| format!("column `{column}`: `{value}` is not a number"))?;
                        metrics.set(name, v);
                    }
                }
            }
        }
        let [(_, test), (_, valid), (_, train)] = splits;
        let some = |m: Metrics| (!m.is_empty()).then_some(m);
        Ok(RunRow {
            experiment: text("experiment"),
            tier: text("tier"),
            group: text("group"),
            model: text("model"),
            config: text("config"),
            config_hash: text("config_hash"),
            seed: number("seed")? as u64,
            data_source: text("data_source"),
            device: Some(text("device")).filter(|d| !d.is_empty()).unwrap_or_else(cpu_label),
            test: some(test),
            valid: some(valid),
            train: some(train),
            params: number("params")? as usize,
            params_paper_convention: number("params_paper_convention")? as usize,
            flops_per_sample: number("flops_per_sample")? as u64,
            wall_s: number("wall_s")?,
            status: text("status"),
            git_commit: text("git_commit"),
            settings: text("settings"),
            error: text("error"),
        })
    }
}

/// `results/<experiment>/<tier>`.
pub fn tier_dir(results: &Path, plan: &Plan) -> PathBuf {
    results.join(&plan.experiment).join(&plan.tier)
}

pub fn run_dir(results: &Path, plan: &Plan, run: &RunSpec) -> PathBuf {
    tier_dir(results, plan).join("runs").join(&run.run_id)
}

pub const ROW_FILE: &str = "row.json";

/// The row of a finished run (ok or diverged), if any. Failed runs are retried.
pub fn finished_row(dir: &Path) -> Result<Option<RunRow>> {
    let path = dir.join(ROW_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let row: RunRow = serde_json::from_str(&text).with_context(|| format!("invalid {}", path.display()))?;
    Ok((row.status != "failed").then_some(row))
}

pub fn write_row(dir: &Path, row: &RunRow) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    crate::io::write_atomically(&dir.join(ROW_FILE), serde_json::to_string_pretty(row)?.as_bytes())
}

/// Reads every run's row (in plan order; runs without one are left out), writes runs.csv and
/// summary.md, and returns the rows.
pub fn assemble(results: &Path, plan: &Plan, metrics: &[String], title: &str) -> Result<Vec<RunRow>> {
    let mut rows = Vec::new();
    for run in &plan.runs {
        let path = run_dir(results, plan, run).join(ROW_FILE);
        if path.exists() {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            rows.push(serde_json::from_str::<RunRow>(&text).with_context(|| format!("invalid {}", path.display()))?);
        }
    }
    hold_for_race_tests();
    let dir = tier_dir(results, plan);
    std::fs::create_dir_all(&dir)?;
    let columns = columns(&plan_tasks(plan));
    let csv = crate::io::csv_table::to_csv(
        &columns,
        rows.iter().map(|row| {
            let cells = row.cells();
            columns.iter().map(|c| cells.get(c).cloned().unwrap_or_default()).collect()
        }),
    )?;
    crate::io::write_atomically(&dir.join("runs.csv"), csv.as_bytes())?;
    let summary = summary(plan, &rows, metrics, title);
    crate::io::write_atomically(&dir.join("summary.md"), summary.as_bytes())?;
    Ok(rows)
}

/// The environment variable that makes `assemble` wait between reading the rows and writing
/// runs.csv. Only the race test sets it: it widens the window in which two array tasks that
/// finish together could interleave, so that a missing lock loses a row every time instead of
/// once in a thousand runs.
pub const HOLD_ENV: &str = "ELMBENCH_TEST_HOLD_ASSEMBLY_MS";

fn hold_for_race_tests() {
    if let Some(ms) = std::env::var(HOLD_ENV).ok().and_then(|v| v.parse::<u64>().ok()) {
        eprintln!("{HOLD_ENV}: holding the assembly for {ms} ms");
        std::thread::sleep(std::time::Duration::from_millis(ms.min(60_000)));
    }
}

/// The tasks of a plan's runs, each once, in run order.
pub fn plan_tasks(plan: &Plan) -> Vec<TaskConfig> {
    let mut tasks: Vec<TaskConfig> = Vec::new();
    for run in &plan.runs {
        if !tasks.iter().any(|t| t.name() == run.config.task.name()) {
            tasks.push(run.config.task.clone());
        }
    }
    tasks
}

/// Reads runs.csv back as column -> cell maps.
pub fn read_runs_csv(path: &Path) -> Result<Vec<BTreeMap<String, String>>> {
    crate::io::csv_table::read_csv_maps(path)
}

fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    // Sample standard deviation (ddof = 1), as the paper's "mean +- std over runs"; 0 for one run.
    let var = if values.len() > 1 { values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0) } else { 0.0 };
    (mean, var.sqrt())
}

/// The paper's table layout: one row per configuration, mean +- std over seeds.
pub fn summary(plan: &Plan, rows: &[RunRow], metrics: &[String], title: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {title}\n");
    let sources: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.data_source.as_str()).collect();
    for s in &sources {
        if s.starts_with("synthetic") {
            let _ = writeln!(out, "**SYNTHETIC DATA** ({s}): not comparable to the paper's numbers.\n");
        } else {
            let _ = writeln!(out, "Data: {s}\n");
        }
    }
    let _ = writeln!(out, "Tier `{}`; {} of {} runs finished.\n", plan.tier, rows.len(), plan.runs.len());
    let _ = writeln!(out, "| group | config | params | seeds | {} | diverged |", metrics.join(" | "));
    let _ = writeln!(out, "|---|---|---|---|{}---|", "---|".repeat(metrics.len()));
    let mut seen: Vec<(String, String)> = Vec::new();
    for run in &plan.runs {
        let key = (run.group.clone(), run.config_hash.clone());
        if seen.contains(&key) {
            continue;
        }
        seen.push(key.clone());
        let group_rows: Vec<&RunRow> = rows.iter().filter(|r| r.group == key.0 && r.config_hash == key.1).collect();
        let ok: Vec<BTreeMap<String, String>> =
            group_rows.iter().filter(|r| r.status == "ok").map(|r| r.cells()).collect();
        let diverged = group_rows.iter().filter(|r| r.status == "diverged").count();
        let params = group_rows.first().map(|r| r.params.to_string()).unwrap_or_default();
        let cells: Vec<String> = metrics
            .iter()
            .map(|m| {
                let values: Vec<f64> = ok.iter().filter_map(|c| c.get(m)?.parse().ok()).collect();
                if values.is_empty() {
                    "-".into()
                } else {
                    let (mean, std) = mean_std(&values);
                    format!("{mean:.4} +- {std:.4}")
                }
            })
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | {params} | {} | {} | {diverged} |",
            run.group,
            run.label,
            ok.len(),
            cells.join(" | ")
        );
    }
    out
}
