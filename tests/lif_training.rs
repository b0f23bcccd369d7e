//! Short NeuronIO runs of the LIF and ALIF neurons through the common trainer, from their config
//! files: each completes and predicts the validation soma better than the same neuron untrained.

use crate::support::smoke_neuronio;
use elmbench::train::config::TrainConfig;
use elmbench::train::{train, RunStatus, TrainOptions};
use std::path::Path;

/// Trains `config_file` with `overrides` and returns the validation soma RMSE (mV) before and
/// after.
pub fn short_run(config_file: &str, overrides: &[&str]) -> (f64, f64) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/neuronio").join(config_file);
    let sets: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    let config = TrainConfig::load(&path, &sets).unwrap();
    let out = tempfile::tempdir().unwrap();
    let options = TrainOptions::quiet(out.path(), smoke_neuronio());
    let result = train(&config, &options).unwrap();
    assert_eq!(result.status, RunStatus::Ok, "{config_file}");
    let splits = elmbench::tasks::neuronio::dataset::locate(smoke_neuronio()).unwrap();
    let valid: Vec<_> =
        splits.valid.iter().map(|p| elmbench::tasks::neuronio::read_neuronio_file(p).unwrap()).collect();
    let untrained = config.model.build(config.train.seed).unwrap();
    let before = elmbench::tasks::neuronio::evaluation::evaluate(untrained.as_ref(), &valid, 150, 500).unwrap();
    let after = result.valid.unwrap();
    eprintln!(
        "{config_file}: soma RMSE {:.3} -> {:.3} mV, spike AUC {:.4} -> {:.4}",
        before.soma_rmse, after["soma_rmse"], before.auc, after["auc"]
    );
    (before.soma_rmse, after["soma_rmse"])
}

#[test]
fn lif_and_alif_learn_the_soma() {
    for file in ["lif.toml", "alif.toml"] {
        let (before, after) = short_run(file, &["train.epochs=2", "train.batches_per_epoch=60", "train.prefetch=3"]);
        assert!(after < 0.95 * before, "{file}: RMSE {after} after training, {before} before");
    }
}
