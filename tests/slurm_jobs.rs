//! `reproduce --emit slurm` without a cluster: array tasks assemble the same runs.csv as a local
//! run, two tasks that finish at the same moment lose no row, and the emitted jobs carry absolute
//! paths, a log folder made before submission, a dependent assembly job and the resources asked
//! for. The scripts against a real Slurm: `make test-slurm` (scripts/test_slurm.sh).

use elmbench::experiments::results::{assemble, read_runs_csv, run_dir, tier_dir, HOLD_ENV, ROW_FILE};
use elmbench::experiments::runner::{execute, RunnerOptions};
use elmbench::experiments::{plan, ExperimentSpec};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// One data root for the tests of this file (the smoke surrogate is synthesized on first use).
fn data_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

fn options(results: &Path, run_index: Option<usize>) -> RunnerOptions {
    RunnerOptions {
        data_dir: data_dir().into(),
        results: results.into(),
        jobs: 1,
        run_index,
        device: Default::default(),
    }
}

/// The binary, run from the repository with the tests' data root and one thread.
fn elmbench() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_elmbench"));
    command.current_dir(root()).env("RAYON_NUM_THREADS", "1").env("ELMBENCH_DATA", data_dir()).env_remove(HOLD_ENV);
    command
}

/// Reads runs.csv without the one column that may differ between two executions.
fn runs_without_wall_time(tier_path: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut rows = read_runs_csv(&tier_path.join("runs.csv")).unwrap();
    for row in rows.iter_mut() {
        row.remove("wall_s");
    }
    rows
}

#[test]
fn array_tasks_assemble_the_same_runs_csv_as_a_local_run() {
    let spec = ExperimentSpec::load(root(), "fig2").unwrap();
    let p = plan(&spec, "smoke", None).unwrap();
    let (local, array) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    execute(&p, &options(local.path(), None)).unwrap();
    assemble(local.path(), &p, &spec.metrics, &spec.title).unwrap();

    // Every task as its array.sbatch line runs it (out of order, as a scheduler may).
    for index in (0..p.runs.len()).rev() {
        let out = elmbench()
            .args(["reproduce", "fig2", "--tier", "smoke", "--results"])
            .arg(array.path())
            .args(["--run-index", &index.to_string()])
            .output()
            .unwrap();
        assert!(out.status.success(), "task {index}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let (local_rows, array_rows) =
        (runs_without_wall_time(&tier_dir(local.path(), &p)), runs_without_wall_time(&tier_dir(array.path(), &p)));
    assert_eq!(local_rows, array_rows);
    assert_eq!(array_rows.len(), p.runs.len());
}

/// Two array tasks finish together: task A reads the rows before task B's row lands and writes
/// runs.csv after B. Without the tier's lock A's write drops B's row (the test widens that window
/// to a certainty with HOLD_ENV); with it, B waits for A and writes every row.
#[test]
fn two_tasks_finishing_at_the_same_moment_lose_no_row() {
    let spec = ExperimentSpec::load(root(), "fig2").unwrap();
    let p = plan(&spec, "smoke", None).unwrap();
    let results = tempfile::tempdir().unwrap();
    execute(&p, &options(results.path(), None)).unwrap();
    let late_row = run_dir(results.path(), &p, &p.runs[1]).join(ROW_FILE);
    let aside = late_row.with_extension("aside");
    std::fs::rename(&late_row, &aside).unwrap();

    let assemble_only = |hold: Option<&str>| {
        let mut command = elmbench();
        command.args(["reproduce", "fig2", "--tier", "smoke", "--assemble-only", "--results"]).arg(results.path());
        if let Some(ms) = hold {
            command.env(HOLD_ENV, ms);
        }
        command.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap()
    };
    let mut first = assemble_only(Some("1500"));
    // Wait until A has read the rows (without run 1's) and holds before writing.
    let mut stderr = BufReader::new(first.stderr.take().unwrap());
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 && !line.contains(HOLD_ENV) {
        line.clear();
    }
    assert!(line.contains(HOLD_ENV), "task A never reached the assembly");
    // B's row lands and B assembles while A holds.
    std::fs::rename(&aside, &late_row).unwrap();
    let second = assemble_only(None).wait_with_output().unwrap();
    assert!(second.status.success(), "{}", String::from_utf8_lossy(&second.stderr));
    assert!(first.wait().unwrap().success());

    let rows = read_runs_csv(&tier_dir(results.path(), &p).join("runs.csv")).unwrap();
    assert_eq!(rows.len(), p.runs.len(), "a row was lost: {rows:?}");
}

fn emit(results: &Path, extra: &[&str]) -> std::process::Output {
    let out = elmbench()
        .args(["reproduce", "fig2", "--tier", "smoke", "--emit", "slurm", "--results"])
        .arg(results)
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out
}

#[test]
fn emitted_jobs_use_absolute_paths_a_made_log_folder_and_a_dependent_assembly() {
    let results = tempfile::tempdir().unwrap();
    emit(results.path(), &[]);
    let dir = results.path().join("fig2/smoke/slurm");
    assert!(dir.join("logs").is_dir(), "the log folder must exist before sbatch runs");
    let array = std::fs::read_to_string(dir.join("array.sbatch")).unwrap();
    let assemble = std::fs::read_to_string(dir.join("assemble.sbatch")).unwrap();
    let submit = std::fs::read_to_string(dir.join("submit.sh")).unwrap();
    let canonical_root = root().canonicalize().unwrap();
    assert!(array.contains(&format!("#SBATCH --chdir={}\n", canonical_root.display())), "{array}");
    // The binary by its absolute path (a bare `elmbench` works only if PATH was exported).
    let binary = Path::new(env!("CARGO_BIN_EXE_elmbench")).canonicalize().unwrap();
    assert!(array.contains(&format!("exec '{}' reproduce fig2", binary.display())), "{array}");
    for script in [&array, &assemble] {
        for flag in ["--root '", "--data-dir '", "--results '"] {
            let path = script.split(flag).nth(1).and_then(|rest| rest.split('\'').next()).unwrap();
            assert!(Path::new(path).is_absolute(), "{flag}{path} in {script}");
        }
    }
    assert!(array.contains("--run-index \"$SLURM_ARRAY_TASK_ID\""), "{array}");
    assert!(array.contains("#SBATCH --array=0-3\n"), "fig2 smoke plans 4 runs: {array}");
    // Defaults at the smoke tier.
    assert!(array.contains("#SBATCH --cpus-per-task=2\n") && array.contains("#SBATCH --time=0:30:00\n"), "{array}");
    // The final job assembles and checks.
    assert!(assemble.contains("--assemble-only") && assemble.contains(" check fig2 --tier smoke"), "{assemble}");
    assert!(assemble.contains("golden/fig2.smoke.toml"), "{assemble}");
    assert!(submit.contains("mkdir -p") && submit.contains("--dependency=afterany:"), "{submit}");
}

#[test]
fn resources_come_from_the_experiment_file_and_the_flags_override_them() {
    let repo = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(repo.path().join("benchmarks")).unwrap();
    let text = std::fs::read_to_string(root().join("benchmarks/fig2.toml")).unwrap();
    let text = format!("{text}\n[slurm]\ncpus_per_task = 4\nmem = \"8G\"\npartition = \"cpu\"\n");
    let text = text.replace("[tiers.smoke]\n", "[tiers.smoke]\nslurm = { time = \"10\" }\n");
    std::fs::write(repo.path().join("benchmarks/fig2.toml"), text).unwrap();
    let results = tempfile::tempdir().unwrap();
    let root_flag = repo.path().to_str().unwrap();
    emit(results.path(), &["--root", root_flag, "--partition", "gpu", "--gpus-per-task", "1", "--account", "lab_7"]);
    let array = std::fs::read_to_string(results.path().join("fig2/smoke/slurm/array.sbatch")).unwrap();
    for line in [
        "#SBATCH --cpus-per-task=4",
        "#SBATCH --mem=8G",
        "#SBATCH --time=10",
        "#SBATCH --partition=gpu",
        "#SBATCH --account=lab_7",
        "#SBATCH --gpus-per-task=1",
    ] {
        assert!(array.lines().any(|l| l == line), "{line} missing from:\n{array}");
    }
    // A value that would break the script is refused by name, before anything is written.
    let bad = elmbench()
        .args(["reproduce", "fig2", "--tier", "smoke", "--emit", "slurm", "--time", "1 day", "--results"])
        .arg(results.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("time = \"1 day\""), "{stderr}");
}
