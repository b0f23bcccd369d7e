//! SHD and SHD-Adding through the one trainer: a killed run resumes to exactly the weights of an
//! uninterrupted one (the stream's shuffles, pairs and dropout draws are saved with it), a short
//! run learns the smoke surrogate's digits, every Figure 5 model trains, and models that do not fit
//! the task are refused by name.

use crate::support::smoke_shd;
use elmbench::train::config::TrainConfig;
use elmbench::train::{train, RunStatus, TrainOptions};
use elmbench::weights::read_checkpoint;
use std::path::Path;

fn config(file: &str, sets: &[&str]) -> TrainConfig {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/shd").join(file);
    TrainConfig::load(&path, &sets.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
}

fn options(dir: &Path, resume: bool, stop_after: Option<usize>) -> TrainOptions {
    TrainOptions { resume, stop_after, ..TrainOptions::quiet(dir, smoke_shd()) }
}

#[test]
fn a_resumed_shd_run_ends_bit_identical_to_an_uninterrupted_one() {
    for task in [
        &["task.name=shd", "model.num_output=20"][..],
        &[
            "task.name=shd-adding",
            "model.num_output=19",
            "task.valid_batches=3",
            "task.test_batches=3",
            "train.batches_per_epoch=7",
        ],
    ] {
        let mut sets =
            vec!["model.num_memory=8", "task.bin_ms=50", "model.delta_t=50", "train.epochs=3", "train.prefetch=2"];
        sets.extend_from_slice(task);
        let config = config("elm.toml", &sets);
        let straight = tempfile::tempdir().unwrap();
        assert_eq!(train(&config, &options(straight.path(), false, None)).unwrap().status, RunStatus::Ok);
        let interrupted = tempfile::tempdir().unwrap();
        assert_eq!(train(&config, &options(interrupted.path(), false, Some(2))).unwrap().status, RunStatus::Running);
        let resumed = train(&config, &options(interrupted.path(), true, None)).unwrap();
        assert_eq!(resumed.status, RunStatus::Ok);
        for name in ["model.safetensors", "best.safetensors"] {
            let a = read_checkpoint(&straight.path().join(name)).unwrap();
            let b = read_checkpoint(&interrupted.path().join(name)).unwrap();
            assert_eq!(a.params(), b.params(), "{task:?} {name}: resumed weights differ");
        }
        let straight_result: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(straight.path().join("result.json")).unwrap()).unwrap();
        let resumed_result: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(interrupted.path().join("result.json")).unwrap()).unwrap();
        for split in ["train", "valid", "test"] {
            assert_eq!(straight_result[split], resumed_result[split], "{task:?}: {split} metrics");
        }
    }
}

#[test]
fn a_short_shd_run_learns_the_digits() {
    // 20 classes: chance is 0.05. Twelve epochs of the smoke surrogate's ~160 training samples at
    // 20 ms bins bring a small ELM to 0.31 validation and 0.23 test accuracy (measured). Pooled,
    // the 135 held-out samples at chance would give 6.75 +- 2.5 right; 0.15 (20 right) is more
    // than 5 standard deviations above it.
    let config = config("elm.toml", &["model.num_memory=20", "task.bin_ms=20", "model.delta_t=20", "train.epochs=12"]);
    let out = tempfile::tempdir().unwrap();
    let result = train(&config, &options(out.path(), false, None)).unwrap();
    assert_eq!(result.status, RunStatus::Ok);
    assert!(result.data_source.starts_with("synthetic"), "{}", result.data_source);
    let (valid, test) = (result.valid.unwrap()["accuracy"], result.test.unwrap()["accuracy"]);
    let (_, held_out) = elmbench::tasks::shd::split::validation_split(200, 0.2, 0).unwrap();
    let n_valid = held_out.len() as f64;
    assert_eq!(n_valid, 55.0, "the smoke tier's 200 training samples, split with the official seed");
    let pooled = (valid * n_valid + test * 80.0) / (n_valid + 80.0);
    assert!(pooled > 0.15, "held-out accuracy {pooled} (valid {valid}, test {test})");
    assert!(result.train.unwrap()["accuracy"] > 0.1);
}

#[test]
fn every_figure_5_model_trains_on_both_tasks() {
    for file in ["elm.toml", "branch_elm.toml", "lstm.toml", "snn.toml"] {
        for task in [
            &["task.name=shd"][..],
            &["task.name=shd-adding", "model.num_output=19", "task.valid_batches=2", "task.test_batches=2"],
        ] {
            let mut sets = vec!["task.bin_ms=100", "model.delta_t=100", "train.epochs=1", "train.batches_per_epoch=3"];
            if file == "lstm.toml" {
                sets.retain(|s| !s.starts_with("model.delta_t"));
            }
            sets.extend_from_slice(task);
            let out = tempfile::tempdir().unwrap();
            let result = train(&config(file, &sets), &options(out.path(), false, None)).unwrap();
            assert_eq!(result.status, RunStatus::Ok, "{file} {task:?}");
            let test = result.test.unwrap();
            assert!((0.0..=1.0).contains(&test["accuracy"]) && test["loss"].is_finite(), "{file} {task:?}: {test:?}");
        }
    }
}

#[test]
fn models_that_do_not_fit_the_task_are_refused() {
    let out = tempfile::tempdir().unwrap();
    for (sets, words) in [
        (&["model.num_output=19"][..], "20 outputs"),
        (&["model.readout=per-step"][..], "readout"),
        (&["task.name=shd-adding"][..], "19 outputs"),
    ] {
        let err = format!("{:#}", train(&config("elm.toml", sets), &options(out.path(), false, None)).unwrap_err());
        assert!(err.contains(words), "{sets:?}: {err}");
    }
}
