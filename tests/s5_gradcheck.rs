//! S5's hand-written backward pass against finite differences, through the harness's trait and
//! its shared check (`model_gradcheck::GradCheck`), in training mode (BatchNorm with the batch's
//! statistics, whose gradient flows through them; dropout masks fixed by the seed), over every
//! parameter kind, both directions, each activation, both discretisations, every C init, pre-
//! and post-norm, BatchNorm and LayerNorm, pool and last. The shared check's bar (atol 2e-3,
//! rtol 1e-2 on sum(y g) computed in f32 with h = 1e-3) is argued there. The same check is shown
//! to fail on a wrong gradient and on a backward pass that forgets the dropout mask.

use crate::gradcheck_catches::{caught, Fault};
use crate::model_gradcheck::GradCheck;
use elmbench::models::ModelConfig;

fn config(overrides: serde_json::Value) -> serde_json::Value {
    let mut base = serde_json::json!({
        "kind": "s5", "d_input": 3, "d_output": 2, "d_model": 6, "ssm_size_base": 8, "blocks": 2,
        "n_layers": 2, "bidirectional": true, "activation_fn": "half_glu1", "p_dropout": 0.0,
        "dt_min": 0.1, "dt_max": 1.0
    });
    for (k, v) in overrides.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

fn check(label: &str, overrides: serde_json::Value, seed: u64) {
    let config: ModelConfig = serde_json::from_value(config(overrides)).unwrap();
    let model = config.build(seed).unwrap();
    let check = GradCheck { train_seed: Some(17), ..sensitive() };
    let checked = check.run(label, model.as_ref());
    assert!(checked > 100, "{label}: only {checked} elements checked");
}

/// Batch 3 x 12 steps, the shared bar. Steps of 0.1 to 1 (the official default is 0.001 to 0.1)
/// let the state-space parameters act over the 12 steps: their gradients are then of order 0.1 to
/// 1 (at the default, |d/d log_step| ~ 2e-3 sits at the bar's atol, and a wrong one would pass).
fn sensitive() -> GradCheck {
    GradCheck { batch: 3, time: 12, ..Default::default() }
}

#[test]
fn bidirectional_half_glu1_with_batchnorm_and_dropout() {
    check("s5 bidir half_glu1 dropout", serde_json::json!({"p_dropout": 0.25}), 1);
}

#[test]
fn unidirectional_half_glu2_bilinear_lecun_c() {
    check(
        "s5 unidir half_glu2 bilinear",
        serde_json::json!({"bidirectional": false, "activation_fn": "half_glu2", "discretization": "bilinear",
            "C_init": "lecun_normal", "p_dropout": 0.1}),
        2,
    );
}

#[test]
fn full_glu_complex_normal_c_postnorm_layernorm() {
    check(
        "s5 full_glu complex_normal postnorm layernorm",
        serde_json::json!({"activation_fn": "full_glu", "C_init": "complex_normal", "prenorm": false,
            "batchnorm": false, "p_dropout": 0.2}),
        3,
    );
}

#[test]
fn gelu_last_step_without_conjugate_symmetry_clipped_eigenvalues() {
    check(
        "s5 gelu last no-conj-sym clip",
        serde_json::json!({"activation_fn": "gelu", "mode": "last", "conj_sym": false, "clip_eigs": true,
            "bidirectional": false, "blocks": 1, "p_dropout": 0.3}),
        4,
    );
}

#[test]
fn evaluation_mode_with_running_statistics_at_the_official_steps() {
    let official_steps = serde_json::json!({"dt_min": 0.001, "dt_max": 0.1});
    let config: ModelConfig = serde_json::from_value(config(official_steps)).unwrap();
    let model = config.build(5).unwrap();
    let checked = GradCheck { batch: 2, time: 10, ..sensitive() }.run("s5 eval", model.as_ref());
    assert!(checked > 100);
}

#[test]
fn the_check_catches_a_wrong_s5_gradient_and_a_forgotten_mask() {
    let train = GradCheck { train_seed: Some(17), ..sensitive() };
    for tensor in ["encoder/layers_0/seq/B", "encoder/layers_0/seq/Lambda_re", "encoder/layers_1/seq/log_step"] {
        caught(tensor, config(serde_json::json!({})), Fault::ScaledGradient(tensor), train);
    }
    caught("s5 mask", config(serde_json::json!({"p_dropout": 0.5})), Fault::MaskForgotten, train);
}
