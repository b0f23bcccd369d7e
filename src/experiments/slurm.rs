//! `reproduce --emit slurm`: one array task per run. Each task runs
//! `elmbench reproduce <experiment> --run-index $SLURM_ARRAY_TASK_ID`, which writes that run's
//! row and re-assembles runs.csv from every row present (the same code as a local run), so the
//! last task to finish leaves the complete file; `--assemble-only` rebuilds it at any time.

use super::plan::Plan;
use std::path::Path;

pub struct SlurmOptions<'a> {
    pub seeds: Option<usize>,
    pub data_dir: &'a Path,
    pub results: &'a Path,
    pub cpus_per_task: usize,
    pub time_limit: &'a str,
}

/// Quotes a path for a POSIX shell.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

pub fn script(plan: &Plan, o: &SlurmOptions) -> String {
    let last = plan.runs.len().saturating_sub(1);
    let logs = o.results.join(&plan.experiment).join(&plan.tier).join("slurm");
    let seeds = o.seeds.map(|s| format!(" --seeds {s}")).unwrap_or_default();
    format!(
        "#!/bin/bash\n\
         # elmbench {exp} at tier {tier}: {n} runs, one array task each.\n\
         # Submit from the repository root: sbatch {{this file}}. Rebuild runs.csv at any time with\n\
         #   elmbench reproduce {exp} --tier {tier}{seeds} --results {results} --assemble-only\n\
         #SBATCH --job-name=elmbench-{exp}-{tier}\n\
         #SBATCH --array=0-{last}\n\
         #SBATCH --cpus-per-task={cpus}\n\
         #SBATCH --time={time}\n\
         #SBATCH --output={logs}/%A_%a.log\n\
         set -euo pipefail\n\
         mkdir -p {logs_q}\n\
         export RAYON_NUM_THREADS=\"${{SLURM_CPUS_PER_TASK:-{cpus}}}\"\n\
         elmbench reproduce {exp} --tier {tier}{seeds} --data-dir {data} --results {results_q} \\\n    \
         --run-index \"$SLURM_ARRAY_TASK_ID\"\n",
        exp = plan.experiment,
        tier = plan.tier,
        n = plan.runs.len(),
        results = o.results.display(),
        results_q = shell_quote(&o.results.display().to_string()),
        cpus = o.cpus_per_task,
        time = o.time_limit,
        logs = logs.display(),
        logs_q = shell_quote(&logs.display().to_string()),
        data = shell_quote(&o.data_dir.display().to_string()),
    )
}
