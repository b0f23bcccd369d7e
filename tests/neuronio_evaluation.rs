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
