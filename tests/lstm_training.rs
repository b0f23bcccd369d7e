//! The LSTM trains through the NeuronIO trainer (the same path as the ELM's): a few epochs on
//! smoke-tier synthetic data finish with status Ok and a finite, falling loss.

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
        let options = TrainOptions {
            out: out.path().into(),
            data_dir: smoke_neuronio().into(),
            resume: false,
            stop_after: None,
            quiet: true,
        };
        let result = train(&config, &options).unwrap();
        assert_eq!(result.status, RunStatus::Ok, "{kind}");
        assert!(result.valid.is_some() && result.test.is_some(), "{kind}: a finished run reports metrics");
    }
}
