//! `benchmarks/<experiment>.toml`: what one table or figure of the paper runs.
//!
//! ```toml
//! name = "fig2"                      # must equal the file name
//! title = "Figure 2: ..."
//! task = "neuronio"                  # the task of every group that names none (neuronio, shd, shd-adding)
//! seeds = 3                          # per configuration, at the paper tier
//! metrics = ["test_auc", "test_soma_rmse"]   # columns of summary.md (runs.csv has all)
//!
//! [train]                            # training settings for every run (keys of [train] in configs/)
//! epochs = 35
//!
//! [[group]]                          # a family of runs: one series of a plot, rows of a table
//! name = "branch-elm"                # unique; selects the group in tiers and plots
//! task = "neuronio"                  # this group's task (default: the experiment's)
//! model = "branch-elm"               # a model kind; the task's preset of it is the starting point
//! set = { memory_tau_max = 150.0 }   # keys fixed for the whole group: model keys as they are,
//!                                    # task and training settings as "task.<key>", "train.<key>"
//! sweep = { num_memory = [10, 20] }  # keys swept (cartesian product; the same prefixes) ...
//! cases = [{ num_branch = 15 }]      # ... or an explicit list of settings (not both)
//! label = "d_m={num_memory}"         # row label; default: the swept settings
//! train = { learning_rate = 5e-3 }   # training settings of this group (over [train] and the tier's)
//! table_row = "ELM"                  # with [table]: this group's row and column
//! table_column = "image"
//!
//! [tiers.smoke]                      # per-tier overrides: smoke, quick, paper
//! seeds = 1
//! data = "smoke"                     # synthetic tier used when no real data is present
//! train = { epochs = 1 }             # merged over [train]
//! groups = ["branch-elm"]            # run only these groups
//! sweep = { branch-elm = { num_memory = [10] } }   # replace a group's sweep values
//! set = { branch-elm = { "task.valid_files" = 1 } }  # add to (or replace) a group's fixed keys
//! table_note = "what this tier shrinks"  # printed under summary.md's table(s)
//! slurm = { time = "1:00:00" }       # this tier's Slurm resources (over [slurm])
//!
//! [slurm]                            # resources of `reproduce --emit slurm` array tasks
//! cpus_per_task = 2                  # also mem = "8G", time = "24:00:00", partition, account,
//!                                    # gpus_per_task; command-line flags override
//!
//! [table]                            # a table laid out like the paper's (summary.md and a figure)
//! metric = "test_accuracy"           # the cells: mean +- std over seeds of this column
//! scale = 100.0                      # printed as percent
//! columns = ["image", "listops"]     # one per task; groups name theirs with `table_column`
//! chance = { image = 0.1 }           # a cell within `fail_margin` of chance prints FAIL
//! fail_margin = 0.01
//! cited = "tests/fixtures/paper/table1_lra.csv"   # rows of the paper (model, source, columns...)
//!
//! [[plot]]                           # figures written as PNG and SVG
//! name = "fig2c"
//! x = "params"                       # a runs.csv column, a swept model key, or "config" (one tick per label)
//! y = "test_auc"
//! log_x = true
//! x_label = "parameters"             # axis titles (default: a label with units for known columns)
//! y_label = "spike AUC"
//! groups = ["elm", "branch-elm"]     # default: all
//! # the paper's values as hollow reference marks (any number of CSVs; `rows` filters them)
//! paper = [{ file = "tests/fixtures/paper/appF_neuronio_elm.csv", x = "params", y = "spike_auc_mean", y_std = "spike_auc_std", group = "elm" }]
//! ```
//!
//! Unknown keys are errors everywhere; counts are bounded (seeds, runs) before anything is planned.

use crate::tasks::TASK_NAMES;
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

pub const TIERS: [&str; 3] = ["smoke", "quick", "paper"];

/// Seeds per configuration a declaration (or --seeds) may ask for.
pub const MAX_SEEDS: usize = 1000;

pub type Settings = BTreeMap<String, toml::Value>;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentSpec {
    pub name: String,
    pub title: String,
    pub task: String,
    pub seeds: usize,
    pub metrics: Vec<String>,
    #[serde(default)]
    pub train: Settings,
    pub group: Vec<GroupSpec>,
    #[serde(default)]
    pub tiers: BTreeMap<String, TierSpec>,
    #[serde(default)]
    pub plot: Vec<PlotSpec>,
    pub table: Option<TableSpec>,
    /// Resources of `--emit slurm` array tasks (cpus_per_task, mem, time, partition, account,
    /// gpus_per_task); a tier's `[tiers.<t>.slurm]` and the command line override them.
    #[serde(default)]
    pub slurm: super::slurm::SlurmResources,
}

/// A results table laid out like one of the paper's: rows of models, a column per task.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    pub metric: String,
    #[serde(default = "unit_scale")]
    pub scale: f64,
    pub columns: Vec<String>,
    #[serde(default)]
    pub chance: BTreeMap<String, f64>,
    #[serde(default)]
    pub fail_margin: f64,
    /// A CSV of the paper's rows: `model`, `source`, one column per table column, `params_note`.
    pub cited: Option<String>,
}

fn unit_scale() -> f64 {
    1.0
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    pub name: String,
    /// The group's task; default: the experiment's.
    pub task: Option<String>,
    pub model: String,
    #[serde(default)]
    pub set: Settings,
    #[serde(default)]
    pub sweep: BTreeMap<String, Vec<toml::Value>>,
    #[serde(default)]
    pub cases: Vec<Settings>,
    pub label: Option<String>,
    /// Training settings for this group only (e.g. its learning rate), applied last.
    #[serde(default)]
    pub train: Settings,
    /// With a [table]: the row and column this group's runs fill.
    pub table_row: Option<String>,
    pub table_column: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierSpec {
    pub seeds: Option<usize>,
    /// The synthetic tier (`smoke`, `quick`, `paper`) to use when real data is absent.
    pub data: Option<String>,
    #[serde(default)]
    pub train: Settings,
    pub groups: Option<Vec<String>>,
    #[serde(default)]
    pub sweep: BTreeMap<String, BTreeMap<String, Vec<toml::Value>>>,
    /// Per group: keys added to (or replacing) the group's `set`.
    #[serde(default)]
    pub set: BTreeMap<String, Settings>,
    /// What the tier changes from the paper's protocol, printed under the experiment's table
    /// (e.g. a downscaled Path-X), so a shrunken run is never read as the paper's.
    pub table_note: Option<String>,
    /// This tier's Slurm resources (over the experiment's `[slurm]`).
    #[serde(default)]
    pub slurm: super::slurm::SlurmResources,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlotSpec {
    pub name: String,
    pub x: String,
    pub y: String,
    #[serde(default)]
    pub log_x: bool,
    pub x_label: Option<String>,
    pub y_label: Option<String>,
    pub groups: Option<Vec<String>>,
    pub title: Option<String>,
    /// The paper's values drawn as hollow reference marks beside ours.
    #[serde(default)]
    pub paper: Vec<PaperRef>,
}

/// Most paper references one plot may name.
pub const MAX_PAPER_REFS: usize = 16;

/// A CSV of the paper's numbers (`tests/fixtures/paper/...`) drawn on a plot: column `x` against
/// column `y` (numbers like `5.9K` or `16.04M` are read as such; `FAIL` and blanks are skipped),
/// optionally `y_std` as error bars. On a `config` axis, `x` holds configuration labels.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperRef {
    /// Relative to the repository root.
    pub file: String,
    pub x: String,
    pub y: String,
    pub y_std: Option<String>,
    /// Drawn in this group's colour and marker (default: black, labelled "paper").
    pub group: Option<String>,
    /// Only the rows whose columns hold these values (e.g. `{ model = "B-ELM" }`).
    #[serde(default)]
    pub rows: BTreeMap<String, String>,
}

impl ExperimentSpec {
    /// Reads `benchmarks/<name>.toml` below `root`.
    pub fn load(root: &Path, name: &str) -> Result<Self> {
        let path = root.join("benchmarks").join(format!("{name}.toml"));
        if !path.exists() {
            let known = list(root).unwrap_or_default().join(", ");
            bail!("no experiment `{name}` ({} does not exist); experiments: {known}", path.display());
        }
        Self::load_file(&path)
    }

    pub fn load_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let spec: ExperimentSpec =
            toml::from_str(&text).with_context(|| format!("invalid experiment {}", path.display()))?;
        spec.validate().with_context(|| format!("invalid experiment {}", path.display()))?;
        Ok(spec)
    }

    fn validate(&self) -> Result<()> {
        if !(1..=MAX_SEEDS).contains(&self.seeds) {
            bail!("seeds = {} must be within 1..={MAX_SEEDS}", self.seeds);
        }
        self.slurm.validate("[slurm]")?;
        let names: Vec<&str> = self.group.iter().map(|g| g.name.as_str()).collect();
        for (i, g) in self.group.iter().enumerate() {
            if names[..i].contains(&g.name.as_str()) {
                bail!("two groups are named `{}`", g.name);
            }
            let task = self.task_of(g);
            if !TASK_NAMES.contains(&task) {
                bail!("group `{}`: unknown task `{task}` (tasks: {})", g.name, TASK_NAMES.join(", "));
            }
            if !g.sweep.is_empty() && !g.cases.is_empty() {
                bail!("group `{}` has both `sweep` and `cases`; use one", g.name);
            }
        }
        for (tier, t) in &self.tiers {
            if !TIERS.contains(&tier.as_str()) {
                bail!("unknown tier `{tier}` (tiers: {})", TIERS.join(", "));
            }
            if t.seeds.is_some_and(|n| !(1..=MAX_SEEDS).contains(&n)) {
                bail!("tiers.{tier}.seeds must be within 1..={MAX_SEEDS}");
            }
            t.slurm.validate(&format!("[tiers.{tier}.slurm]"))?;
            for g in t.groups.iter().flatten().chain(t.sweep.keys()).chain(t.set.keys()) {
                if !names.contains(&g.as_str()) {
                    bail!("tiers.{tier} names the unknown group `{g}`");
                }
            }
            if let Some(d) = &t.data {
                if !TIERS.contains(&d.as_str()) {
                    bail!("tiers.{tier}.data = {d:?} is not a tier");
                }
            }
        }
        if let Some(table) = &self.table {
            for g in &self.group {
                match (&g.table_row, &g.table_column) {
                    (Some(_), Some(c)) if !table.columns.contains(c) => {
                        bail!("group `{}`: table_column `{c}` is not one of [table] columns", g.name)
                    }
                    (Some(_), Some(_)) | (None, None) => {}
                    _ => bail!("group `{}` names only one of table_row and table_column", g.name),
                }
            }
        }
        for p in &self.plot {
            for g in p.groups.iter().flatten().chain(p.paper.iter().filter_map(|r| r.group.as_ref())) {
                if !names.contains(&g.as_str()) {
                    bail!("plot `{}` names the unknown group `{g}`", p.name);
                }
            }
            if p.paper.len() > MAX_PAPER_REFS {
                bail!("plot `{}` names {} paper references (at most {MAX_PAPER_REFS})", p.name, p.paper.len());
            }
        }
        Ok(())
    }

    /// The task a group runs.
    pub fn task_of<'a>(&'a self, group: &'a GroupSpec) -> &'a str {
        group.task.as_deref().unwrap_or(&self.task)
    }

    /// The tasks of the experiment's groups, each once, in declaration order.
    pub fn tasks(&self) -> Vec<&str> {
        let mut tasks: Vec<&str> = Vec::new();
        for g in &self.group {
            let t = self.task_of(g);
            if !tasks.contains(&t) {
                tasks.push(t);
            }
        }
        tasks
    }

    pub fn tier(&self, tier: &str) -> Result<TierSpec> {
        if !TIERS.contains(&tier) {
            bail!("unknown tier `{tier}` (tiers: {})", TIERS.join(", "));
        }
        Ok(self.tiers.get(tier).cloned().unwrap_or_default())
    }
}

/// Experiment names under `root/benchmarks`.
pub fn list(root: &Path) -> Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("benchmarks"))?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.strip_suffix(".toml").map(str::to_string))
        .collect();
    names.sort();
    Ok(names)
}

/// A TOML value as a `--set` literal.
pub fn literal(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
