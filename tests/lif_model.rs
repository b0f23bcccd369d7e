//! The LIF/ALIF neurons: Table S4's parameter counts, the dynamics against values worked out by
//! hand, the FLOP formula, config errors that name the setting, and a checkpoint round trip.

use crate::support::fixture;
use elmbench::engine::Inputs;
use elmbench::models::lif::{Lif, LifConfig};
use elmbench::models::{ModelConfig, SequenceModel};

/// Table S4's count for `model` (first column's exact name).
fn table_s4_params(model: &str) -> usize {
    let text = std::fs::read_to_string(fixture("paper/tableS4_tiny_models.csv")).unwrap();
    let line = text.lines().find(|l| l.starts_with(model)).unwrap_or_else(|| panic!("{model} not in Table S4"));
    line.rsplit(',').next().unwrap().trim().parse().unwrap()
}

#[test]
fn neuronio_presets_have_the_counts_of_table_s4() {
    for (kind, row) in [("lif", "LIF (classic)"), ("alif", "ALIF (classic)")] {
        let model = elmbench::tasks::neuronio::model_preset(kind).unwrap().build(0).unwrap();
        assert_eq!(model.num_input(), 1278);
        assert_eq!(model.num_output(), 2);
        let expected = table_s4_params(row);
        assert_eq!(model.param_count(), expected, "{kind}");
        assert_eq!(model.param_count_paper_convention(), expected, "{kind}");
        assert_eq!(model.config().kind(), kind);
    }
    assert_eq!(table_s4_params("LIF (classic)"), 1280);
    assert_eq!(table_s4_params("ALIF (classic)"), 1281);
}

#[test]
fn flops_follow_the_documented_formula() {
    for (adaptive, per_step_extra) in [(false, 8u64), (true, 13)] {
        let model = Lif::new(LifConfig::new(1278), adaptive, 0).unwrap();
        let f = model.flops(500);
        assert_eq!(f.total(), 500 * (2 * 1278 + per_step_extra), "adaptive {adaptive}: {:?}", f.components);
    }
}

/// One input, w = 1, b = 0, alpha = rho = 1/2, theta = 1.27, k = 10, beta = 10, input 4, 4, 0, 0.
#[test]
fn dynamics_match_hand_computed_values() {
    let half_life_tau = 1.0 / std::f64::consts::LN_2; // exp(-1 / tau) = 1/2
    let mut c = LifConfig::new(1);
    c.tau_m_init = half_life_tau;
    let x = [4.0f32, 4.0, 0.0, 0.0];
    let input = Inputs::dense(&x, 1, 4, 1).unwrap();
    let set = |m: &mut Lif| {
        m.params.assign("input.weight", vec![1.0], &[1, 1]).unwrap();
        m.params.assign("input.bias", vec![0.0], &[1]).unwrap();
    };
    // LIF: u = 2 (spike, v = 0.73), 2.365 (spike, v = 1.095), 0.5475, 0.27375.
    let mut lif = Lif::new(c.clone(), false, 0).unwrap();
    set(&mut lif);
    let y = lif.forward(&input).unwrap().y.clone();
    let expected = [7.3, 2.0, 10.95, 2.365, -7.225, 0.5475, -9.9625, 0.27375];
    for (i, (a, e)) in y.iter().zip(&expected).enumerate() {
        assert!((a - e).abs() < 1e-4, "lif output {i}: {a} vs {e}");
    }
    // ALIF: the first spike raises the threshold by 10 * 0.5 = 5, so step 1 does not spike and
    // its membrane is not reset; the threshold then decays by half per step.
    c.tau_a_min = Some(1.0);
    c.tau_a_init = Some(half_life_tau);
    c.adaptation_strength = Some(10.0);
    let mut alif = Lif::new(c, true, 0).unwrap();
    set(&mut alif);
    let y = alif.forward(&input).unwrap().y.clone();
    let expected = [7.3, 2.0, -39.05, 2.365, -25.875, 1.1825, -19.2875, 0.59125];
    for (i, (a, e)) in y.iter().zip(&expected).enumerate() {
        assert!((a - e).abs() < 1e-4, "alif output {i}: {a} vs {e}");
    }
}

#[test]
fn bad_settings_are_named() {
    let lif: Result<ModelConfig, _> =
        serde_json::from_value(serde_json::json!({"kind": "lif", "num_input": 4, "tau_a_init": 50.0}));
    let err = lif.unwrap().build(0).err().unwrap().to_string();
    assert!(err.contains("tau_a_init") && err.contains("alif"), "{err}");
    let err = serde_json::from_value::<ModelConfig>(serde_json::json!({"kind": "alif", "num_input": 4, "tau": 1}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("tau"), "{err}");
    let base = elmbench::tasks::neuronio::model_preset("alif").unwrap();
    for (set, needle) in [
        ("tau_m_init=500", "tau_m"),
        ("tau_a_min=0", "tau_a"),
        ("threshold=-1", "threshold"),
        ("spike_function=sigmoid", "sigmoid"),
        ("num_input=0", "num_input"),
        ("adaptation_strength=-2", "adaptation_strength"),
    ] {
        let err = base.with_overrides(&[set.to_string()]).unwrap_err().to_string();
        assert!(err.contains(needle), "{set}: {err}");
    }
    let model = base.build(0).unwrap();
    let x = vec![0.0; 3 * 5];
    let err = model.forward(&Inputs::dense(&x, 1, 5, 3).unwrap()).err().unwrap().to_string();
    assert!(err.contains("num_input = 1278"), "{err}");
}

#[test]
fn checkpoints_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alif.safetensors");
    let mut config = LifConfig::new(6);
    config.tau_a_init = Some(80.0);
    let model = ModelConfig::Alif(config).build(9).unwrap();
    elmbench::weights::checkpoint::write_checkpoint(model.as_ref(), &path).unwrap();
    let loaded = elmbench::weights::read_checkpoint(&path).unwrap();
    assert_eq!(loaded.config(), model.config());
    assert_eq!(loaded.params(), model.params());
}
