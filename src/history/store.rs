//! The history files: `<history>/<experiment>.<tier>.csv`, one row per (night, run, metric):
//!
//! ```text
//! run_id,date,commit,tier,experiment,group,model,config,seed,metric,value,device,data_source,wall_s,status
//! 20261201T021305Z-496f40c,2026-12-01T02:13:05Z,496f40c,quick,fig2,elm,elm,d_m=10,0,test_auc,0.812345,cpu,synthetic (...),41.0,ok
//! ```
//!
//! `run_id` names one nightly invocation (the Makefile makes one per `make nightly`: the start time
//! and the commit), so two nights at the same commit are two entries per metric. Recording is
//! idempotent per run id: recording the same run id again replaces that night's entries of the
//! experiment (a re-run of one step of a nightly does not count twice). Rows keep the file's order,
//! which is the nights' order. The file is rewritten whole and atomically under a lock
//! (`crate::io::FileLock`), never edited in place.

use super::clock;
use crate::io::FileLock;
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const COLUMNS: [&str; 15] = [
    "run_id",
    "date",
    "commit",
    "tier",
    "experiment",
    "group",
    "model",
    "config",
    "seed",
    "metric",
    "value",
    "device",
    "data_source",
    "wall_s",
    "status",
];

/// Largest history file read (about 300,000 entries; a nightly of fig2 at quick adds ~100).
pub const MAX_HISTORY_BYTES: u64 = 64 << 20;
/// Largest runs.csv recorded.
pub const MAX_RUNS_BYTES: u64 = 16 << 20;
/// Longest run id (it names files: `nightly-<run id>.md`).
pub const MAX_RUN_ID_CHARS: usize = 100;

/// One metric of one run of one night.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub run_id: String,
    pub date: String,
    pub commit: String,
    pub tier: String,
    pub experiment: String,
    pub group: String,
    pub model: String,
    pub config: String,
    pub seed: String,
    pub metric: String,
    pub value: f64,
    pub device: String,
    pub data_source: String,
    pub wall_s: String,
    pub status: String,
}

impl Entry {
    fn cells(&self) -> Vec<String> {
        vec![
            self.run_id.clone(),
            self.date.clone(),
            self.commit.clone(),
            self.tier.clone(),
            self.experiment.clone(),
            self.group.clone(),
            self.model.clone(),
            self.config.clone(),
            self.seed.clone(),
            self.metric.clone(),
            // Enough digits to give back the f64 runs.csv's 6 decimals were parsed into.
            format!("{}", self.value),
            self.device.clone(),
            self.data_source.clone(),
            self.wall_s.clone(),
            self.status.clone(),
        ]
    }
}

/// `<history>/<experiment>.<tier>.csv`.
pub fn history_path(history: &Path, experiment: &str, tier: &str) -> PathBuf {
    history.join(format!("{experiment}.{tier}.csv"))
}

/// Refuses a file larger than `max` bytes before anything reads it.
pub fn bounded_size(path: &Path, max: u64) -> Result<()> {
    let size = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.len();
    if size > max {
        bail!("{} is {size} bytes (at most {max} are read)", path.display());
    }
    Ok(())
}

/// A run id must be usable in a file name and a CSV cell.
pub fn validate_run_id(run_id: &str) -> Result<()> {
    let ok = !run_id.is_empty()
        && run_id.chars().count() <= MAX_RUN_ID_CHARS
        && run_id.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if !ok {
        bail!("run id {run_id:?}: use 1 to {MAX_RUN_ID_CHARS} of A-Z a-z 0-9 . _ -");
    }
    Ok(())
}

/// Every entry of a history file, in file order; a missing file is an empty history.
pub fn read_history(path: &Path) -> Result<Vec<Entry>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    bounded_size(path, MAX_HISTORY_BYTES)?;
    let mut reader = csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    let header: Vec<String> =
        reader.headers().with_context(|| format!("{}: no header", path.display()))?.iter().map(String::from).collect();
    if header != COLUMNS {
        bail!("{}: header is {:?}, a history file's is {:?}", path.display(), header.join(","), COLUMNS.join(","));
    }
    let mut entries = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.with_context(|| format!("{}: line {line}", path.display()))?;
        let cell = |k: usize| record.get(k).unwrap_or_default().to_string();
        let text = cell(10);
        let value: f64 = text
            .parse()
            .with_context(|| format!("{}: line {line}: `value` = {text:?} is not a number", path.display()))?;
        entries.push(Entry {
            run_id: cell(0),
            date: cell(1),
            commit: cell(2),
            tier: cell(3),
            experiment: cell(4),
            group: cell(5),
            model: cell(6),
            config: cell(7),
            seed: cell(8),
            metric: cell(9),
            value,
            device: cell(11),
            data_source: cell(12),
            wall_s: cell(13),
            status: cell(14),
        });
    }
    Ok(entries)
}

/// The metric columns of a runs.csv row: `test_*`, `valid_*` and `train_*` with a number.
fn metric_cells(row: &BTreeMap<String, String>) -> impl Iterator<Item = (&String, f64)> {
    row.iter()
        .filter(|(k, _)| ["test_", "valid_", "train_"].iter().any(|p| k.starts_with(p)))
        .filter_map(|(k, v)| Some((k, v.trim().parse::<f64>().ok().filter(|x| x.is_finite())?)))
}

/// The entries of one night from the rows of an experiment's runs.csv.
pub fn entries_of_rows(
    rows: &[BTreeMap<String, String>],
    source: &Path,
    experiment: &str,
    tier: &str,
    run_id: &str,
    date: &str,
) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let cell = |k: &str| row.get(k).cloned().unwrap_or_default();
        for (column, expected) in [("experiment", experiment), ("tier", tier)] {
            if cell(column) != expected {
                bail!("{}: row {} has {column} = {:?}, expected {expected:?}", source.display(), i + 1, cell(column));
            }
        }
        // A device column, once runs record one; until then every run is on the CPU.
        let device = row.get("device").filter(|d| !d.is_empty()).cloned().unwrap_or_else(|| "cpu".into());
        for (metric, value) in metric_cells(row) {
            entries.push(Entry {
                run_id: run_id.to_string(),
                date: date.to_string(),
                commit: cell("git_commit"),
                tier: tier.to_string(),
                experiment: experiment.to_string(),
                group: cell("group"),
                model: cell("model"),
                config: cell("config"),
                seed: cell("seed"),
                metric: metric.clone(),
                value,
                device: device.clone(),
                data_source: cell("data_source"),
                wall_s: cell("wall_s"),
                status: cell("status"),
            });
        }
    }
    Ok(entries)
}

/// What `record` did.
pub struct Recorded {
    pub path: PathBuf,
    pub run_id: String,
    pub added: usize,
    pub replaced: usize,
    pub nights: usize,
}

/// Appends the metrics of `<results>/<experiment>/<tier>/runs.csv` to the experiment's history as
/// night `run_id` (default: now and the runs' commit), replacing an earlier recording of the same
/// run id.
pub fn record(results: &Path, history: &Path, experiment: &str, tier: &str, run_id: Option<&str>) -> Result<Recorded> {
    let runs = results.join(experiment).join(tier).join("runs.csv");
    if !runs.exists() {
        bail!("no results at {}: run `elmbench reproduce {experiment} --tier {tier}` first", runs.display());
    }
    bounded_size(&runs, MAX_RUNS_BYTES)?;
    let rows = crate::io::csv_table::read_csv_maps(&runs)?;
    let now = clock::now_seconds();
    let commit = rows
        .iter()
        .find_map(|r| r.get("git_commit").filter(|c| !c.is_empty()).cloned())
        .unwrap_or_else(crate::experiments::runner::git_commit);
    let run_id = run_id.map(str::to_string).unwrap_or_else(|| clock::default_run_id(now, &commit));
    validate_run_id(&run_id)?;
    let new = entries_of_rows(&rows, &runs, experiment, tier, &run_id, &clock::iso_utc(now))?;
    std::fs::create_dir_all(history).with_context(|| format!("creating {}", history.display()))?;
    let path = history_path(history, experiment, tier);
    let _lock = FileLock::beside(&path)?;
    let mut entries = read_history(&path)?;
    let before = entries.len();
    entries.retain(|e| e.run_id != run_id);
    let replaced = before - entries.len();
    let added = new.len();
    entries.extend(new);
    let csv = crate::io::csv_table::to_csv(&COLUMNS, entries.iter().map(Entry::cells))?;
    crate::io::write_atomically(&path, csv.as_bytes())?;
    let nights = super::trend::nights(&entries).len();
    Ok(Recorded { path, run_id, added, replaced, nights })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_file_name_safe() {
        assert!(validate_run_id("20261201T021305Z-496f40c").is_ok());
        for bad in ["", "../x", "a b", "a,b", &"x".repeat(101)] {
            assert!(validate_run_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn rows_become_one_entry_per_metric_and_name_a_foreign_row() {
        let row = |exp: &str| {
            BTreeMap::from(
                [
                    ("experiment", exp),
                    ("tier", "smoke"),
                    ("group", "elm"),
                    ("model", "elm"),
                    ("config", "d_m=10"),
                    ("seed", "0"),
                    ("test_auc", "0.750000"),
                    ("valid_soma_rmse", "2.5"),
                    ("train_accuracy", ""),
                    ("params", "100"),
                    ("git_commit", "abc"),
                    ("wall_s", "1.0"),
                    ("status", "ok"),
                ]
                .map(|(k, v)| (k.to_string(), v.to_string())),
            )
        };
        let e = entries_of_rows(&[row("fig2")], Path::new("r.csv"), "fig2", "smoke", "n1", "d").unwrap();
        let got: Vec<(&str, f64, &str)> = e.iter().map(|e| (e.metric.as_str(), e.value, e.device.as_str())).collect();
        assert_eq!(got, vec![("test_auc", 0.75, "cpu"), ("valid_soma_rmse", 2.5, "cpu")]);
        let err = entries_of_rows(&[row("fig3")], Path::new("r.csv"), "fig2", "smoke", "n1", "d").unwrap_err();
        assert!(format!("{err}").contains("r.csv: row 1 has experiment = \"fig3\""), "{err}");
    }
}
