//! The experiment harness: declarations are strict, a sweep killed half-way resumes without
//! redoing finished runs, and `check` fails readably on an impossible golden (the Slurm path is
//! in slurm_jobs.rs).

use elmbench::experiments::results::{assemble, read_runs_csv, tier_dir};
use elmbench::experiments::runner::{execute, RunnerOptions};
use elmbench::experiments::{plan, ExperimentSpec};
use std::path::Path;
use std::sync::OnceLock;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// One data root for the tests of this file (the smoke surrogate is synthesized on first use).
fn data_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

fn options(results: &Path, run_index: Option<usize>, jobs: usize) -> RunnerOptions {
    RunnerOptions { data_dir: data_dir().into(), results: results.into(), jobs, run_index, device: Default::default() }
}

#[test]
fn every_declared_experiment_plans_at_every_tier() {
    let names = elmbench::experiments::spec::list(root()).unwrap();
    assert!(names.len() >= 5, "{names:?}");
    for name in &names {
        let spec = ExperimentSpec::load(root(), name).unwrap();
        for tier in ["smoke", "quick", "paper"] {
            let p = plan(&spec, tier, None).unwrap();
            assert!(!p.runs.is_empty(), "{name} {tier}");
            let ids: std::collections::BTreeSet<_> = p.runs.iter().map(|r| &r.run_id).collect();
            assert_eq!(ids.len(), p.runs.len(), "{name} {tier}: run folders must be unique");
        }
    }
}

#[test]
fn unknown_keys_are_errors_that_name_them() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(root().join("benchmarks/fig2.toml")).unwrap();
    for (bad, word) in [
        (good.replace("seeds = 3", "seeds = 3\nseedz = 1"), "seedz"),
        (good.replace("name = \"elm\"\nmodel = \"elm\"", "name = \"elm\"\nmodel = \"elm\"\ncolour = 1"), "colour"),
        (good.replace("sweep = { num_memory = [10, 15,", "sweep = { num_memroy = [10, 15,"), "num_memroy"),
        (good.replace("[tiers.smoke]", "[tiers.smok]"), "smok"),
    ] {
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, bad).unwrap();
        let err = match ExperimentSpec::load_file(&path).and_then(|s| plan(&s, "paper", None).map(|_| ())) {
            Ok(()) => panic!("accepted `{word}`"),
            Err(e) => format!("{e:#}"),
        };
        assert!(err.contains(word), "{word}: {err}");
    }
}

#[test]
fn a_sweep_killed_half_way_resumes_without_redoing_finished_runs() {
    let results = tempfile::tempdir().unwrap();
    let spec = ExperimentSpec::load(root(), "fig2").unwrap();
    let p = plan(&spec, "smoke", None).unwrap();
    // "Killed" after the first run: only run 0 has finished.
    assert_eq!(execute(&p, &options(results.path(), Some(0), 1)).unwrap(), (1, 0));
    let first = std::fs::read(elmbench::experiments::results::run_dir(results.path(), &p, &p.runs[0]).join("row.json"))
        .unwrap();
    let (ran, skipped) = execute(&p, &options(results.path(), None, 2)).unwrap();
    assert_eq!((ran, skipped), (p.runs.len() - 1, 1));
    let again = std::fs::read(elmbench::experiments::results::run_dir(results.path(), &p, &p.runs[0]).join("row.json"))
        .unwrap();
    assert_eq!(first, again, "the finished run was redone");
    assert_eq!(execute(&p, &options(results.path(), None, 1)).unwrap(), (0, p.runs.len()));
    let rows = assemble(results.path(), &p, &spec.metrics, &spec.title).unwrap();
    assert!(rows.iter().all(|r| r.status == "ok" && r.data_source.starts_with("synthetic")));
    let summary = std::fs::read_to_string(tier_dir(results.path(), &p).join("summary.md")).unwrap();
    assert!(summary.contains("SYNTHETIC"), "{summary}");
}

/// `elmbench check fig2 --tier smoke` against a fresh smoke run passes, and an impossible
/// golden fails (non-zero exit, readable table).
#[test]
fn check_passes_on_a_fresh_smoke_run_and_fails_on_an_impossible_golden() {
    let results = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_elmbench");
    let reproduce = std::process::Command::new(bin)
        .args(["reproduce", "fig2", "--tier", "smoke", "--root"])
        .arg(root())
        .arg("--data-dir")
        .arg(data_dir())
        .arg("--results")
        .arg(results.path())
        .output()
        .unwrap();
    assert!(reproduce.status.success(), "{}", String::from_utf8_lossy(&reproduce.stderr));
    assert!(String::from_utf8_lossy(&reproduce.stderr).contains("SYNTHETIC"));
    let check = |golden: &Path| {
        std::process::Command::new(bin)
            .args(["check", "fig2", "--tier", "smoke", "--golden"])
            .arg(golden)
            .arg("--results")
            .arg(results.path())
            .output()
            .unwrap()
    };
    let ok = check(&root().join("golden/fig2.smoke.toml"));
    assert!(ok.status.success(), "{}\n{}", String::from_utf8_lossy(&ok.stdout), String::from_utf8_lossy(&ok.stderr));
    let impossible = results.path().join("impossible.toml");
    std::fs::write(
        &impossible,
        "[[entry]]\nselector = { group = \"branch-elm\" }\nmetric = \"test_auc\"\nmin = 1.5\nprovenance = \"impossible\"\n",
    )
    .unwrap();
    let bad = check(&impossible);
    assert!(!bad.status.success());
    let table = String::from_utf8_lossy(&bad.stdout);
    assert!(table.contains("| FAIL | group=branch-elm | test_auc |") && table.contains(">= 1.5"), "{table}");
}

/// Every golden file parses, and every group/config it selects is planned at its tier (a
/// renamed configuration must not leave a golden that can never match).
#[test]
fn every_golden_selects_planned_configurations() {
    use elmbench::golden::GoldenFile;
    let mut files = 0;
    for entry in std::fs::read_dir(root().join("golden")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let Some((experiment, tier)) = name.strip_suffix(".toml").and_then(|n| n.split_once('.')) else { continue };
        let golden = GoldenFile::load(&path).unwrap();
        let spec = ExperimentSpec::load(root(), experiment).unwrap();
        let p = plan(&spec, tier, None).unwrap();
        let selectors =
            golden.entry.iter().flat_map(|e| [Some(&e.selector), e.less_than.as_ref(), e.greater_than.as_ref()]);
        for selector in selectors.flatten() {
            let found = p.runs.iter().any(|r| {
                selector.get("group").is_none_or(|g| g.as_str() == Some(r.group.as_str()))
                    && selector.get("config").is_none_or(|c| c.as_str() == Some(r.label.as_str()))
            });
            assert!(found, "{name}: {selector:?} selects no planned run");
        }
        files += 1;
    }
    assert!(files >= 12, "only {files} experiment golden files");
}

/// Every shipped training configuration loads (unknown keys would fail) and builds its model,
/// with the interface its task needs, and the same model as the task's preset of its kind.
#[test]
fn every_training_config_loads_and_builds() {
    let mut n = 0;
    for (folder, inputs) in [("configs/neuronio", 1278), ("configs/shd", 700)] {
        for entry in std::fs::read_dir(root().join(folder)).unwrap() {
            let path = entry.unwrap().path();
            let config = elmbench::train::config::TrainConfig::load(&path, &[]).unwrap();
            let model = config.model.build(0).unwrap();
            assert_eq!(model.num_input(), inputs, "{}", path.display());
            if folder == "configs/shd" {
                let preset = config.task.model_preset(config.model.kind()).unwrap();
                assert_eq!(config.model, preset, "{}: differs from the task's preset", path.display());
            }
            n += 1;
        }
    }
    assert!(n >= 10, "only {n} configs");
}

/// Task settings swept as `task.<key>` reach the task, and the task's preset gives the model its
/// interface: SHD-Adding at 10 ms bins is 200 steps, the ELM's dt is 10 ms, it has 19 outputs read
/// at the last step; the SNN groups train without input dropout at their own learning rate.
#[test]
fn task_settings_sweep_into_the_task_and_the_models_interface() {
    use elmbench::models::ModelConfig;
    use elmbench::nn::Readout;
    use elmbench::tasks::TaskConfig;
    let spec = ExperimentSpec::load(root(), "fig5").unwrap();
    let p = plan(&spec, "paper", None).unwrap();
    let run = p.runs.iter().find(|r| r.group == "adding-elm" && r.label == "10 ms").unwrap();
    let TaskConfig::ShdAdding(settings) = &run.config.task else { panic!("{:?}", run.config.task) };
    assert_eq!(settings.bin_ms, 10);
    assert_eq!(run.config.task.steps_per_sample(), 200);
    let ModelConfig::Elm(elm) = &run.config.model else { panic!("{:?}", run.config.model) };
    assert_eq!((elm.delta_t, elm.num_input, elm.num_output, elm.readout), (10.0, 700, 19, Readout::LastStep));
    let snn = p.runs.iter().find(|r| r.group == "shd-snn" && r.label == "2 ms").unwrap();
    let TaskConfig::Shd(settings) = &snn.config.task else { panic!("{:?}", snn.config.task) };
    assert_eq!((settings.bin_ms, settings.input_dropout), (2, 0.0));
    assert_eq!(snn.config.train.learning_rate, 2e-3);
    assert_eq!(p.runs.iter().filter(|r| r.group == "adding-snn").count(), 4 * 5, "the SNN's four bin sizes, 5 seeds");
    // The same configuration at another seed shares its hash; another bin size does not.
    let other_seed = p.runs.iter().find(|r| r.group == "adding-elm" && r.label == "10 ms" && r.seed == 1).unwrap();
    let other_bin = p.runs.iter().find(|r| r.group == "adding-elm" && r.label == "20 ms").unwrap();
    assert_eq!(run.config_hash, other_seed.config_hash);
    assert_ne!(run.config_hash, other_bin.config_hash);
}

/// The appendix experiments (figS2, figS4, figS5 = Figures S5/S6, figS7, figS8; Figure S1 is two plots of
/// fig2) and the rebuttal's tables (tableS5, tableS6 with S5, tableS7) are listed, and each reproduces at the smoke tier and passes its smoke golden, as a user on a
/// fresh clone runs them: `elmbench reproduce <exp> --tier smoke && elmbench check <exp> --tier smoke`.
#[test]
fn appendix_and_rebuttal_experiments_reproduce_and_check_at_the_smoke_tier() {
    let bin = env!("CARGO_BIN_EXE_elmbench");
    let list = std::process::Command::new(bin).arg("list").current_dir(root()).output().unwrap();
    let listed = String::from_utf8_lossy(&list.stdout).to_string();
    let fig2 = std::fs::read_to_string(root().join("benchmarks/fig2.toml")).unwrap();
    assert!(fig2.contains("x = \"flops_per_sample\""), "Figure S1's plots are fig2's");
    let results = tempfile::tempdir().unwrap();
    for experiment in ["figS2", "figS4", "figS5", "figS7", "figS8", "tableS5", "tableS6", "tableS7"] {
        assert!(listed.contains(experiment), "`elmbench list` does not show {experiment}:\n{listed}");
        let reproduce = std::process::Command::new(bin)
            .args(["reproduce", experiment, "--tier", "smoke", "--jobs", "2", "--root"])
            .arg(root())
            .arg("--data-dir")
            .arg(data_dir())
            .arg("--results")
            .arg(results.path())
            .output()
            .unwrap();
        assert!(reproduce.status.success(), "{experiment}: {}", String::from_utf8_lossy(&reproduce.stderr));
        let check = std::process::Command::new(bin)
            .args(["check", experiment, "--tier", "smoke"])
            .current_dir(root())
            .arg("--results")
            .arg(results.path())
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "{experiment}:\n{}\n{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
    }
}

/// `metric = "diverged"` in a golden is the share of the selected runs whose status is
/// `diverged`, counted by hand here.
#[test]
fn golden_diverged_metric_counts_diverged_runs() {
    use elmbench::golden::{check, GoldenFile};
    let row = |group: &str, status: &str| -> elmbench::golden::Row {
        [("group", group), ("status", status), ("test_auc", if status == "ok" { "0.9" } else { "" })]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let rows = vec![row("v1", "diverged"), row("v1", "ok"), row("v1", "diverged"), row("v2", "ok"), row("v2", "ok")];
    let golden: GoldenFile = toml::from_str(
        r#"
[[entry]]
selector = { group = "v1" }
metric = "diverged"
expected = 0.6666667
tolerance = 1e-6
provenance = "2 of 3"

[[entry]]
selector = { group = "v2" }
metric = "diverged"
max = 0.0
less_than = { group = "v1" }
provenance = "none of 2, fewer than v1"

[[entry]]
selector = { group = "v1" }
metric = "test_auc"
min = 0.0
provenance = "a diverged run has no metric: the mean is missing and the entry fails"
"#,
    )
    .unwrap();
    let outcomes = check(&golden, &rows);
    assert!(outcomes[0].pass, "{:?}", outcomes[0]);
    assert!((outcomes[0].actual.unwrap() - 2.0 / 3.0).abs() < 1e-12);
    assert!(outcomes[1].pass && outcomes[1].actual == Some(0.0), "{:?}", outcomes[1]);
    assert!(!outcomes[2].pass && outcomes[2].actual.is_none(), "{:?}", outcomes[2]);
}

/// `elmbench plot` redraws an experiment's figures from a committed runs.csv alone (no run
/// folders), and a runs.csv row read back is the row that wrote it.
#[test]
fn plot_redraws_the_figures_from_a_runs_csv_alone() {
    use elmbench::commands::plot::{run, PlotArgs};
    use elmbench::experiments::results::RunRow;
    let results = tempfile::tempdir().unwrap();
    for (experiment, figures) in [
        ("fig2", &["fig2c_auc", "fig2d_rmse", "figS1a_auc_flops", "figS1b_rmse_flops"][..]),
        ("tableS4", &["tableS4_soma_rmse", "tableS4_auc"][..]),
    ] {
        let dir = results.path().join(experiment).join("smoke");
        std::fs::create_dir_all(&dir).unwrap();
        let csv = root().join("results/reference").join(experiment).join("smoke/runs.csv");
        std::fs::copy(&csv, dir.join("runs.csv")).unwrap();
        for cells in read_runs_csv(&csv).unwrap() {
            let row = RunRow::from_cells(&cells).unwrap();
            let mut written: std::collections::BTreeMap<String, String> =
                cells.into_iter().filter(|(_, v)| !v.is_empty()).collect();
            // Rows from before runs.csv had a device column were all CPU runs.
            written.entry("device".into()).or_insert_with(|| "cpu".into());
            let back: std::collections::BTreeMap<String, String> =
                row.cells().into_iter().filter(|(_, v)| !v.is_empty()).collect();
            assert_eq!(back, written);
        }
        run(PlotArgs {
            experiment: experiment.into(),
            tier: "smoke".into(),
            results: results.path().into(),
            root: root().into(),
        })
        .unwrap();
        for figure in figures {
            for ext in ["png", "svg"] {
                let path = dir.join(format!("{figure}.{ext}"));
                let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                assert!(size > 4_000, "{} ({size} bytes)", path.display());
            }
        }
        let svg = std::fs::read_to_string(dir.join(format!("{}.svg", figures[0]))).unwrap();
        assert!(svg.contains("SYNTHETIC data") && svg.contains("paper"), "{experiment}");
    }
    // No runs.csv: an error that says what to run.
    let e = run(PlotArgs {
        experiment: "fig3".into(),
        tier: "smoke".into(),
        results: results.path().into(),
        root: root().into(),
    })
    .unwrap_err();
    assert!(format!("{e:#}").contains("runs.csv") && format!("{e:#}").contains("reproduce fig3"), "{e:#}");
}
