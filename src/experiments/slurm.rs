//! `reproduce --emit slurm`: a sweep as Slurm jobs, in `<results>/<experiment>/<tier>/slurm/`:
//!
//! - `array.sbatch`: one array task per run. Each runs `elmbench reproduce <experiment>
//!   --run-index $SLURM_ARRAY_TASK_ID`, which writes that run's row and re-assembles runs.csv from
//!   every row present under the tier's lock (`super::assembly`), so no row is ever lost.
//! - `assemble.sbatch`: a final job, submitted with `--dependency=afterany` on the array, that
//!   assembles runs.csv, summary.md and the figures (`--assemble-only`) and runs the golden check;
//!   its state is the sweep's verdict.
//! - `submit.sh`: makes the log folder (Slurm opens a job's `--output` before the job's script
//!   runs, so a `mkdir` inside the script is too late) and submits both.
//!
//! Every path in them is absolute (the binary, the repository, the data, the results) and the
//! jobs run with `--chdir` at the repository, so nothing depends on the submission folder or on
//! the PATH exported at submission.

use super::plan::Plan;
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Resources of the array tasks, from the experiment file (`[slurm]`, `[tiers.<t>.slurm]`) and
/// the command line; each key is optional and the most specific one wins.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SlurmResources {
    pub cpus_per_task: Option<usize>,
    /// Memory per node as Slurm writes it (`4G`, `500M`); default: the cluster's.
    pub mem: Option<String>,
    /// Wall-time limit as Slurm writes it (`30`, `2:00:00`, `1-12:00:00`).
    pub time: Option<String>,
    pub partition: Option<String>,
    pub account: Option<String>,
    pub gpus_per_task: Option<usize>,
}

/// CPUs a task may ask for (a large node has a few hundred).
pub const MAX_CPUS_PER_TASK: usize = 1024;
/// GPUs a task may ask for.
pub const MAX_GPUS_PER_TASK: usize = 64;

impl SlurmResources {
    /// Keys of `over` replace those of `self`.
    pub fn overlay(&self, over: &SlurmResources) -> SlurmResources {
        SlurmResources {
            cpus_per_task: over.cpus_per_task.or(self.cpus_per_task),
            mem: over.mem.clone().or_else(|| self.mem.clone()),
            time: over.time.clone().or_else(|| self.time.clone()),
            partition: over.partition.clone().or_else(|| self.partition.clone()),
            account: over.account.clone().or_else(|| self.account.clone()),
            gpus_per_task: over.gpus_per_task.or(self.gpus_per_task),
        }
    }

    /// Refuses values Slurm would reject or that would break the script's `#SBATCH` lines;
    /// `context` names where they came from.
    pub fn validate(&self, context: &str) -> Result<()> {
        if let Some(n) = self.cpus_per_task {
            if !(1..=MAX_CPUS_PER_TASK).contains(&n) {
                bail!("{context}: cpus_per_task = {n} must be within 1..={MAX_CPUS_PER_TASK}");
            }
        }
        if let Some(n) = self.gpus_per_task {
            if n > MAX_GPUS_PER_TASK {
                bail!("{context}: gpus_per_task = {n} must be within 0..={MAX_GPUS_PER_TASK}");
            }
        }
        if let Some(mem) = &self.mem {
            if !is_memory(mem) {
                bail!("{context}: mem = {mem:?} is not a Slurm memory size (a count with an optional K, M, G or T)");
            }
        }
        if let Some(time) = &self.time {
            if !is_time_limit(time) {
                bail!(
                    "{context}: time = {time:?} is not a Slurm time limit (minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS)"
                );
            }
        }
        for (key, value) in [("partition", &self.partition), ("account", &self.account)] {
            if let Some(name) = value {
                let fine = |c: char| c.is_ascii_alphanumeric() || "_-.,".contains(c);
                if name.is_empty() || !name.chars().all(fine) {
                    bail!("{context}: {key} = {name:?} may hold only letters, digits and _ - . ,");
                }
            }
        }
        Ok(())
    }
}

fn is_memory(text: &str) -> bool {
    let digits = text.strip_suffix(['K', 'M', 'G', 'T']).unwrap_or(text);
    !digits.is_empty() && digits.len() <= 12 && digits.chars().all(|c| c.is_ascii_digit())
}

/// Slurm's time formats: `M`, `M:S`, `H:M:S`, `D-H`, `D-H:M`, `D-H:M:S` (numbers of 1-4 digits).
fn is_time_limit(text: &str) -> bool {
    let number = |s: &str| !s.is_empty() && s.len() <= 4 && s.chars().all(|c| c.is_ascii_digit());
    let (days, rest) = match text.split_once('-') {
        Some((d, r)) => (Some(d), r),
        None => (None, text),
    };
    if days.is_some_and(|d| !number(d)) {
        return false;
    }
    // With or without days, one to three colon-separated numbers follow.
    let parts: Vec<&str> = rest.split(':').collect();
    (1..=3).contains(&parts.len()) && parts.iter().all(|p| number(p))
}

/// The defaults when neither the experiment nor the command line says: 2 CPUs (what the quick
/// tier is timed with) and a wall time by tier (a short limit lets the scheduler backfill).
pub fn default_resources(tier: &str) -> SlurmResources {
    let time = match tier {
        "smoke" => "0:30:00",
        "quick" => "4:00:00",
        _ => "24:00:00",
    };
    SlurmResources { cpus_per_task: Some(2), time: Some(time.into()), ..SlurmResources::default() }
}

pub struct SlurmOptions {
    pub seeds: Option<usize>,
    /// The `elmbench` binary the jobs run.
    pub binary: PathBuf,
    /// The repository (benchmarks/, golden/, configs/); the jobs' working directory.
    pub root: PathBuf,
    pub data_dir: PathBuf,
    pub results: PathBuf,
    pub resources: SlurmResources,
    /// The golden file the final job checks against, if the experiment has one at this tier.
    pub golden: Option<PathBuf>,
    /// The array tasks' `--device`.
    pub device: crate::backend::DeviceChoice,
}

impl SlurmOptions {
    /// Makes every path absolute (relative ones are taken from the current directory), so the
    /// scripts work wherever and however they are submitted.
    pub fn absolute(mut self) -> Result<Self> {
        let cwd = std::env::current_dir().context("reading the current directory")?;
        for path in [&mut self.binary, &mut self.root, &mut self.data_dir, &mut self.results] {
            *path = absolute_path(&cwd, path);
        }
        if let Some(golden) = &mut self.golden {
            *golden = absolute_path(&cwd, golden);
        }
        Ok(self)
    }
}

fn absolute_path(cwd: &Path, path: &Path) -> PathBuf {
    let joined = if path.is_absolute() { path.to_path_buf() } else { cwd.join(path) };
    // Canonical where it exists (no `..` left for a node to resolve differently).
    joined.canonicalize().unwrap_or(joined)
}

/// Quotes text for a POSIX shell.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn quote_path(path: &Path) -> String {
    shell_quote(&path.display().to_string())
}

/// The three files, by name.
pub struct SlurmScripts {
    pub array: String,
    pub assemble: String,
    pub submit: String,
}

/// The folder the scripts and logs go to.
pub fn slurm_dir(results: &Path, plan: &Plan) -> PathBuf {
    super::results::tier_dir(results, plan).join("slurm")
}

/// `#SBATCH` paths may not contain white space (Slurm splits the line on it) or `%` (Slurm's
/// file-name patterns), so the folders they name are checked.
fn check_sbatch_path(path: &Path, what: &str) -> Result<()> {
    let text = path.display().to_string();
    if text.chars().any(|c| c.is_whitespace() || c == '%' || c == '\'' || c == '"') {
        bail!("{what} {text} holds white space, a quote or %, which #SBATCH lines cannot carry; pick another folder");
    }
    Ok(())
}

pub fn scripts(plan: &Plan, o: &SlurmOptions) -> Result<SlurmScripts> {
    let last = plan.runs.len().saturating_sub(1);
    let dir = slurm_dir(&o.results, plan);
    let logs = dir.join("logs");
    check_sbatch_path(&logs, "the log folder")?;
    check_sbatch_path(&o.root, "the repository")?;
    let r = &o.resources;
    let mut directives = String::new();
    if let Some(n) = r.cpus_per_task {
        directives.push_str(&format!("#SBATCH --cpus-per-task={n}\n"));
    }
    for (flag, value) in [("mem", &r.mem), ("time", &r.time), ("partition", &r.partition), ("account", &r.account)] {
        if let Some(value) = value {
            directives.push_str(&format!("#SBATCH --{flag}={value}\n"));
        }
    }
    if let Some(n) = r.gpus_per_task.filter(|&n| n > 0) {
        directives.push_str(&format!("#SBATCH --gpus-per-task={n}\n"));
    }
    // The final job is short and light: one CPU, the same account and partition.
    let mut light = String::new();
    for (flag, value) in [("partition", &r.partition), ("account", &r.account)] {
        if let Some(value) = value {
            light.push_str(&format!("#SBATCH --{flag}={value}\n"));
        }
    }
    let seeds = o.seeds.map(|s| format!(" --seeds {s}")).unwrap_or_default();
    let (exp, tier) = (&plan.experiment, &plan.tier);
    let common = format!(
        "{exp} --tier {tier}{seeds} --root {root} --data-dir {data} --results {results}",
        root = quote_path(&o.root),
        data = quote_path(&o.data_dir),
        results = quote_path(&o.results),
    );
    let binary = quote_path(&o.binary);
    let device = match o.device {
        crate::backend::DeviceChoice::Cpu => String::new(),
        crate::backend::DeviceChoice::Cuda => " --device cuda".into(),
        crate::backend::DeviceChoice::Auto => " --device auto".into(),
    };
    let array = format!(
        "#!/bin/bash\n\
         # elmbench {exp} at tier {tier}: {n} runs, one array task each. Submit with submit.sh\n\
         # (it makes the log folder first and queues the final assembly job).\n\
         #SBATCH --job-name=elmbench-{exp}-{tier}\n\
         #SBATCH --array=0-{last}\n\
         #SBATCH --chdir={root}\n\
         #SBATCH --output={logs}/%A_%a.log\n\
         {directives}\
         set -euo pipefail\n\
         export RAYON_NUM_THREADS=\"${{SLURM_CPUS_PER_TASK:-1}}\"\n\
         exec {binary} reproduce {common}{device} --run-index \"$SLURM_ARRAY_TASK_ID\"\n",
        n = plan.runs.len(),
        root = o.root.display(),
        logs = logs.display(),
    );
    let check = match &o.golden {
        Some(golden) => format!(
            "{binary} check {exp} --tier {tier} --results {results} --golden {golden}\n",
            results = quote_path(&o.results),
            golden = quote_path(golden),
        ),
        None => format!("echo 'no golden file for {exp} at tier {tier}: nothing to check'\n"),
    };
    let assemble = format!(
        "#!/bin/bash\n\
         # The final job of the elmbench {exp} {tier} sweep: runs after every array task has ended\n\
         # (afterany), assembles runs.csv, summary.md and the figures, then runs the golden check.\n\
         # Failed runs are named in runs.csv's `error` column; resubmitting array.sbatch reruns\n\
         # only the runs without a finished row.\n\
         #SBATCH --job-name=elmbench-{exp}-{tier}-assemble\n\
         #SBATCH --chdir={root}\n\
         #SBATCH --output={logs}/assemble_%j.log\n\
         #SBATCH --cpus-per-task=1\n\
         #SBATCH --time=0:30:00\n\
         {light}\
         set -euo pipefail\n\
         export RAYON_NUM_THREADS=1\n\
         {binary} reproduce {common} --assemble-only\n\
         {check}",
        root = o.root.display(),
        logs = logs.display(),
    );
    let submit = format!(
        "#!/bin/bash\n\
         # Submits the elmbench {exp} {tier} sweep: the array, then the assembly job after it.\n\
         set -euo pipefail\n\
         mkdir -p {logs}\n\
         array=$(sbatch --parsable {array_file})\n\
         array=\"${{array%%;*}}\"\n\
         final=$(sbatch --parsable --dependency=afterany:\"$array\" {assemble_file})\n\
         final=\"${{final%%;*}}\"\n\
         echo \"submitted array job $array ({n} tasks) and assembly job $final\"\n\
         echo \"logs: {logs_plain}\"\n",
        logs = quote_path(&logs),
        logs_plain = logs.display(),
        array_file = quote_path(&dir.join("array.sbatch")),
        assemble_file = quote_path(&dir.join("assemble.sbatch")),
        n = plan.runs.len(),
    );
    Ok(SlurmScripts { array, assemble, submit })
}

/// Writes the three scripts and makes the log folder; returns the folder.
pub fn write_scripts(plan: &Plan, o: &SlurmOptions) -> Result<PathBuf> {
    let scripts = scripts(plan, o)?;
    let dir = slurm_dir(&o.results, plan);
    std::fs::create_dir_all(dir.join("logs")).with_context(|| format!("making {}", dir.join("logs").display()))?;
    for (name, text) in
        [("array.sbatch", &scripts.array), ("assemble.sbatch", &scripts.assemble), ("submit.sh", &scripts.submit)]
    {
        let path = dir.join(name);
        crate::io::write_atomically(&path, text.as_bytes())?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("making {} executable", path.display()))?;
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slurm_time_formats() {
        for good in ["30", "0:30", "2:00:00", "1-12", "1-12:30", "1-12:30:00", "24:00:00"] {
            assert!(is_time_limit(good), "{good}");
        }
        for bad in ["", "1:2:3:4", "a", "1-", "-1", "1h", "12:00:00\n#SBATCH --x", "1--2"] {
            assert!(!is_time_limit(bad), "{bad}");
        }
    }

    #[test]
    fn slurm_memory_formats() {
        for good in ["4G", "500M", "1024", "2T"] {
            assert!(is_memory(good), "{good}");
        }
        for bad in ["", "G", "4GB", "-1", "4 G", "1e9"] {
            assert!(!is_memory(bad), "{bad}");
        }
    }

    #[test]
    fn the_most_specific_resources_win() {
        let file = SlurmResources { cpus_per_task: Some(4), mem: Some("8G".into()), ..Default::default() };
        let flags = SlurmResources { cpus_per_task: Some(8), partition: Some("gpu".into()), ..Default::default() };
        let merged = default_resources("paper").overlay(&file).overlay(&flags);
        assert_eq!(merged.cpus_per_task, Some(8));
        assert_eq!(merged.mem.as_deref(), Some("8G"));
        assert_eq!(merged.partition.as_deref(), Some("gpu"));
        assert_eq!(merged.time.as_deref(), Some("24:00:00"));
    }

    #[test]
    fn resource_values_that_would_break_the_script_are_refused_by_name() {
        let bad = SlurmResources { partition: Some("a b\n#SBATCH --x".into()), ..Default::default() };
        let error = bad.validate("--partition").unwrap_err().to_string();
        assert!(error.contains("partition") && error.contains("--partition"), "{error}");
        let bad = SlurmResources { cpus_per_task: Some(0), ..Default::default() };
        assert!(bad.validate("x").unwrap_err().to_string().contains("cpus_per_task = 0"));
    }
}
