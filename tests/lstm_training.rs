//! The LSTM trains through the NeuronIO trainer (the same path as the ELM's): a few epochs on
//! smoke-tier synthetic data finish with status Ok and a finite, falling loss; with recurrent
//! dropout, a resumed run draws the masks of an uninterrupted one.

use crate::support::smoke_neuronio;
use elmbench::train::config::TrainConfig;
use elmbench::train::{train, RunStatus, TrainOptions};
use std::path::Path;

#[test]
fn a_tiny_lstm_run_completes_through_the_trainer() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/neuronio/lstm_h50.toml");
    for kind in ["lstm", "chrono-lstm"] {
        let sets: Vec<String> = [
            &format!("model.kind={kind}"),
            "model.chrono_t_max=500",
            "model.hidden_size=8",
            "train.epochs=2",
            "train.batches_per_epoch=15",
            "train.prefetch=3",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let sets = if kind == "lstm" { sets.into_iter().filter(|s| !s.contains("chrono")).collect() } else { sets };
        let config = TrainConfig::load(&path, &sets).unwrap();
        assert_eq!(config.model.kind(), kind);
        let out = tempfile::tempdir().unwrap();
        let options = TrainOptions::quiet(out.path(), smoke_neuronio());
        let result = train(&config, &options).unwrap();
        assert_eq!(result.status, RunStatus::Ok, "{kind}");
        assert!(result.valid.is_some() && result.test.is_some(), "{kind}: a finished run reports metrics");
    }
}

/// Training batches draw their dropout masks from the run seed and the optimizer step: a run
/// stopped after epoch 2 and resumed ends with the weights of an uninterrupted run, and those
/// differ from the same run without dropout (so the trainer does draw masks).
#[test]
fn a_resumed_run_with_recurrent_dropout_ends_bit_identical() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/neuronio/lstm_h50.toml");
    let config = |dropout: f64| {
        let sets = vec![
            "model.hidden_size=8".to_string(),
            format!("model.recurrent_dropout={dropout}"),
            "train.epochs=3".to_string(),
            "train.batches_per_epoch=8".to_string(),
            "train.prefetch=3".to_string(),
        ];
        TrainConfig::load(&path, &sets).unwrap()
    };
    let options = |dir: &Path, resume, stop_after| TrainOptions {
        resume,
        stop_after,
        ..TrainOptions::quiet(dir, smoke_neuronio())
    };
    let weights = |dir: &Path| elmbench::weights::read_checkpoint(&dir.join("model.safetensors")).unwrap();
    let dropout = config(0.3);
    let straight = tempfile::tempdir().unwrap();
    assert_eq!(train(&dropout, &options(straight.path(), false, None)).unwrap().status, RunStatus::Ok);
    let interrupted = tempfile::tempdir().unwrap();
    assert_eq!(train(&dropout, &options(interrupted.path(), false, Some(2))).unwrap().status, RunStatus::Running);
    assert_eq!(train(&dropout, &options(interrupted.path(), true, None)).unwrap().status, RunStatus::Ok);
    let (a, b) = (weights(straight.path()), weights(interrupted.path()));
    assert_eq!(a.params(), b.params(), "resumed weights differ from the uninterrupted run's");
    let plain = tempfile::tempdir().unwrap();
    assert_eq!(train(&config(0.0), &options(plain.path(), false, None)).unwrap().status, RunStatus::Ok);
    assert_ne!(weights(plain.path()).params(), a.params(), "recurrent dropout changed nothing in training");
}
