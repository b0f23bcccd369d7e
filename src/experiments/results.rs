//! Results of an experiment: one `row.json` per run (written when the run ends), assembled into
//! `runs.csv` (the same code for local runs and Slurm array tasks) and `summary.md`.

use super::plan::{Plan, RunSpec};
use crate::metrics::NeuronioMetrics;
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
    /// `synthetic (...)` or `real (...)`: which data the run saw.
    pub data_source: String,
    pub test: Option<NeuronioMetrics>,
    pub valid: Option<NeuronioMetrics>,
    pub params: usize,
    pub params_paper_convention: usize,
    pub flops_per_sample: u64,
    pub wall_s: f64,
    /// ok, diverged or failed.
    pub status: String,
    pub git_commit: String,
    /// The model keys the run sets, `key=value;...` (plots use them as x values).
    pub settings: String,
    pub error: String,
}

/// Metric columns, in order: test then valid.
pub const METRICS: &[&str] = &[
    "auc",
    "soma_rmse",
    "soma_mae",
    "soma_explained_variance_percent",
    "tp_at_fp_0025",
    "auc_at_fp_0025",
    "tp_at_fp_0100",
    "auc_at_fp_0100",
];

fn metric(m: &NeuronioMetrics, name: &str) -> f64 {
    match name {
        "auc" => m.auc,
        "soma_rmse" => m.soma_rmse,
        "soma_mae" => m.soma_mae,
        "soma_explained_variance_percent" => m.soma_explained_variance_percent,
        "tp_at_fp_0025" => m.tp_at_fp_0025,
        "auc_at_fp_0025" => m.auc_at_fp_0025,
        "tp_at_fp_0100" => m.tp_at_fp_0100,
        "auc_at_fp_0100" => m.auc_at_fp_0100,
        _ => f64::NAN,
    }
}

pub fn columns() -> Vec<String> {
    let mut c: Vec<String> = ["experiment", "tier", "group", "model", "config", "config_hash", "seed", "data_source"]
        .map(String::from)
        .to_vec();
    for split in ["test", "valid"] {
        c.extend(METRICS.iter().map(|m| format!("{split}_{m}")));
    }
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
        for (split, metrics) in [("test", &self.test), ("valid", &self.valid)] {
            for name in METRICS {
                let cell = metrics.as_ref().map(|m| format!("{:.6}", metric(m, name))).unwrap_or_default();
                put(&format!("{split}_{name}"), cell);
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
    crate::weights::checkpoint::write_atomically(&dir.join(ROW_FILE), serde_json::to_string_pretty(row)?.as_bytes())
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
    let dir = tier_dir(results, plan);
    std::fs::create_dir_all(&dir)?;
    let columns = columns();
    let mut csv = columns.join(",") + "\n";
    for row in &rows {
        let cells = row.cells();
        csv.push_str(&crate::csv_text::line(columns.iter().map(|c| cells[c].as_str())));
    }
    crate::weights::checkpoint::write_atomically(&dir.join("runs.csv"), csv.as_bytes())?;
    let summary = summary(plan, &rows, metrics, title);
    crate::weights::checkpoint::write_atomically(&dir.join("summary.md"), summary.as_bytes())?;
    Ok(rows)
}

/// Reads runs.csv back as column -> cell maps.
pub fn read_runs_csv(path: &Path) -> Result<Vec<BTreeMap<String, String>>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut lines = crate::csv_text::parse(&text).into_iter();
    let header = lines.next().with_context(|| format!("{} is empty", path.display()))?;
    Ok(lines.map(|cells| header.iter().cloned().zip(cells).collect()).collect())
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
