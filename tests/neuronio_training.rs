//! The NeuronIO trainer: a killed run resumes to exactly the weights of an uninterrupted one, a
//! learning rate of 1e6 is reported as diverged (not as a result), and a short run learns.

use crate::support::smoke_neuronio;
use elmbench::train::config::TrainConfig;
use elmbench::train::{train, RunStatus, TrainOptions};
use elmbench::weights::read_checkpoint;
use std::path::Path;

fn small_config(overrides: &[&str]) -> TrainConfig {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/neuronio/branch_elm_dm20.toml");
    let mut sets: Vec<String> =
        ["model.num_memory=4", "train.epochs=3", "train.batches_per_epoch=12", "train.prefetch=3"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    sets.extend(overrides.iter().map(|s| s.to_string()));
    TrainConfig::load(&path, &sets).unwrap()
}

#[test]
fn a_resumed_run_ends_bit_identical_to_an_uninterrupted_one() {
    let config = small_config(&[]);
    let options = |dir: &Path, resume, stop_after| TrainOptions {
        resume,
        stop_after,
        ..TrainOptions::quiet(dir, smoke_neuronio())
    };
    let straight = tempfile::tempdir().unwrap();
    assert_eq!(train(&config, &options(straight.path(), false, None)).unwrap().status, RunStatus::Ok);
    // Stopped after epoch 2 of 3, then resumed in a new call (fresh model, optimizer, sampler).
    let interrupted = tempfile::tempdir().unwrap();
    let first_part = train(&config, &options(interrupted.path(), false, Some(2))).unwrap();
    assert_eq!(first_part.status, RunStatus::Running);
    assert!(
        train(&config, &options(interrupted.path(), false, None)).is_err(),
        "a second start must not overwrite the run"
    );
    let resumed = train(&config, &options(interrupted.path(), true, None)).unwrap();
    assert_eq!(resumed.status, RunStatus::Ok);
    // The reported wall time covers both invocations, not only the resumed one.
    assert!(resumed.wall_s >= first_part.wall_s, "{} s < {} s", resumed.wall_s, first_part.wall_s);
    for name in ["model.safetensors", "best.safetensors"] {
        let a = read_checkpoint(&straight.path().join(name)).unwrap();
        let b = read_checkpoint(&interrupted.path().join(name)).unwrap();
        assert_eq!(a.params(), b.params(), "{name}: resumed weights differ from the uninterrupted run's");
    }
    // A changed configuration cannot resume the run.
    let other = small_config(&["train.learning_rate=1e-3"]);
    assert!(train(&other, &options(interrupted.path(), true, None)).is_err());
}

#[test]
fn an_absurd_learning_rate_is_reported_as_diverged() {
    let config = small_config(&["train.learning_rate=1e6", "train.epochs=2"]);
    let out = tempfile::tempdir().unwrap();
    let result = train(&config, &TrainOptions::quiet(out.path(), smoke_neuronio())).unwrap();
    assert_eq!(result.status, RunStatus::Diverged);
    assert!(result.test.is_none() && result.valid.is_none(), "a diverged run reports no metrics");
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("result.json")).unwrap()).unwrap();
    assert_eq!(written["status"], "diverged");
    // `elmbench train` fails on it (exit status 1), naming it, so scripts can trust its status.
    let file = out.path().join("diverging.toml");
    std::fs::write(&file, toml::to_string(&config).unwrap()).unwrap();
    let again = tempfile::tempdir().unwrap();
    // The command finds surrogates under <data>/synthetic/<tier>: point that at the smoke copy.
    let data = tempfile::tempdir().unwrap();
    std::fs::create_dir(data.path().join("synthetic")).unwrap();
    std::os::unix::fs::symlink(smoke_neuronio(), data.path().join("synthetic/smoke")).unwrap();
    let args = elmbench::commands::train::TrainArgs {
        config: file,
        overrides: Vec::new(),
        out: again.path().into(),
        resume: false,
        stop_after: None,
        data_dir: Some(data.path().into()),
        tier: elmbench::tasks::Tier::Smoke,
        device: elmbench::backend::DeviceChoice::Cpu,
    };
    let err = format!("{:#}", elmbench::commands::train::run(args).unwrap_err());
    assert!(err.contains("DIVERGED"), "{err}");
}

#[test]
fn a_short_run_learns_and_says_its_data_is_synthetic() {
    let config = small_config(&["train.epochs=2", "train.batches_per_epoch=60", "model.num_memory=8"]);
    let out = tempfile::tempdir().unwrap();
    let result = train(&config, &TrainOptions::quiet(out.path(), smoke_neuronio())).unwrap();
    assert_eq!(result.status, RunStatus::Ok);
    assert!(result.data_source.starts_with("synthetic"), "{}", result.data_source);
    // The trained model predicts the validation soma better than the same model untrained.
    let splits = elmbench::tasks::neuronio::dataset::locate(smoke_neuronio()).unwrap();
    let valid: Vec<_> =
        splits.valid.iter().map(|p| elmbench::tasks::neuronio::read_neuronio_file(p).unwrap()).collect();
    let untrained = config.model.build(config.train.seed).unwrap();
    let before = elmbench::tasks::neuronio::evaluation::evaluate(untrained.as_ref(), &valid, 150, 500).unwrap();
    let after = result.valid.unwrap();
    assert!(
        after["soma_rmse"] < 0.95 * before.soma_rmse,
        "RMSE {} after training, {} before",
        after["soma_rmse"],
        before.soma_rmse
    );
}
