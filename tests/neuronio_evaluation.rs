//! The official test protocol end to end: the authors' pretrained d_m = 20 Branch-ELM evaluated
//! on the NeuronIO fixture must give the metrics the official code gives.
//!
//! Expected values: the official `NeuronioEvaluator(test_file=<fixture>, burn_in_time=150,
//! input_window_size=500, desired_FP_list=[0.0025, 0.01]).evaluate(model)` with the official
//! `ELM` and `load_state_dict` of `neuronio_best_model_state.pt` (elmneuron @52e68a6, torch
//! 2.15, CPU), run on 2026-11-22. The fixture's spikes are random, so the scores are poor, but they
//! exercise every step: windows with burn-in, padding, soma rescaling, the spike-count filter and
//! the metrics. Tolerance 1e-4 relative: both sides compute the model in f32 in different orders.

use crate::support::fixture;
use elmbench::tasks::neuronio::evaluation::evaluate;
use elmbench::tasks::neuronio::read_neuronio_file;
use elmbench::weights::load::load_model;

#[test]
fn official_model_on_the_fixture_scores_as_officially() {
    let (elm, _) =
        load_model(&fixture("reference/official_models/num_memory_20/neuronio_best_model_state.pt")).unwrap();
    let dir = fixture("neuronio/full_ergodic_train_batch_1");
    let path = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "p"))
        .unwrap();
    let file = read_neuronio_file(&path).unwrap();
    let m = evaluate(elm.as_ref(), &[file], 150, 500).unwrap();
    let close = |name: &str, ours: f64, official: f64| {
        assert!((ours - official).abs() <= 1e-4 * official.abs().max(1e-3), "{name}: ours {ours}, official {official}");
    };
    close("AUC", m.auc, 0.49209094402977527);
    close("soma_RMSE", m.soma_rmse, 6.385768870880126);
    close("soma_MAE", m.soma_mae, 5.183771592132617);
    close("soma_explained_variance_percent", m.soma_explained_variance_percent, -94.87070557551243);
    close("TP @ 0.0025 FP", m.tp_at_fp_0025, 0.0);
    close("TP @ 0.0100 FP", m.tp_at_fp_0100, 0.0);
}

/// Issue 15, item 4: a data folder with only the test files is enough to evaluate (no training or
/// validation folder), and the scores are the official ones; training there says what is missing.
#[test]
fn a_test_only_folder_is_enough_to_evaluate() {
    let data = tempfile::tempdir().unwrap();
    let test = data.path().join("neuronio/test/Data_test");
    std::fs::create_dir_all(&test).unwrap();
    let source = std::fs::read_dir(fixture("neuronio/full_ergodic_train_batch_1"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "p"))
        .unwrap();
    std::fs::copy(&source, test.join(source.file_name().unwrap())).unwrap();
    let out = data.path().join("metrics.json");
    let bin = env!("CARGO_BIN_EXE_elmbench");
    let eval = std::process::Command::new(bin)
        .arg("eval")
        .arg("--checkpoint")
        .arg(fixture("reference/official_models/num_memory_20/neuronio_best_model_state.pt"))
        .arg("--data-dir")
        .arg(data.path())
        .args(["--split", "test", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(eval.status.success(), "{}", String::from_utf8_lossy(&eval.stderr));
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(report["data_source"], "real");
    let auc = report["metrics"]["auc"].as_f64().unwrap();
    assert!((auc - 0.49209094402977527).abs() <= 1e-4, "{report}");
    // Training on it fails by name, not by a missing-folder error at opening.
    let train = std::process::Command::new(bin)
        .args(["train", "--config"])
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/neuronio/branch_elm_dm20.toml"))
        .arg("--data-dir")
        .arg(data.path())
        .arg("--out")
        .arg(data.path().join("run"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&train.stderr);
    assert!(
        !train.status.success() && err.contains("no train files") && err.contains("full_ergodic_train_batch_2"),
        "{err}"
    );
}
