//! The LSTM's backward pass against finite differences: through the `SequenceModel` trait with
//! the shared `GradCheck` (every parameter tensor, sampled), for lstm and chrono-lstm, one and two
//! biases, dense and sparse inputs, every readout, the training pass with recurrent dropout; and
//! the input gradient of `Lstm::backward` directly.

use crate::model_gradcheck::GradCheck;
use elmbench::engine::{Inputs, Rng};
use elmbench::models::lstm::{Lstm, LstmConfig};
use elmbench::models::ModelConfig;

fn config(kind: &str, two_biases: bool) -> ModelConfig {
    serde_json::from_value(serde_json::json!({
        "kind": kind, "num_input": 9, "num_output": 3, "hidden_size": 6, "two_biases": two_biases,
        "chrono_t_max": if kind == "chrono-lstm" { Some(40.0) } else { None }}))
    .unwrap()
}

#[test]
fn lstm_and_chrono_lstm_pass_the_shared_check() {
    for kind in ["lstm", "chrono-lstm"] {
        for two_biases in [false, true] {
            for spikes in [false, true] {
                let label = format!("{kind} two_biases={two_biases} spikes={spikes}");
                let model = config(kind, two_biases).build(3).unwrap();
                // Batch 5: two groups of the recurrence (4 + 1 samples), so group seams are covered.
                let check = GradCheck { batch: 5, time: 20, spikes, ..Default::default() };
                let checked = check.run(&label, model.as_ref());
                assert!(checked > 140, "{label}: only {checked} elements checked");
            }
        }
    }
}

#[test]
fn input_gradient_matches_finite_differences() {
    let cfg = LstmConfig { chrono_t_max: Some(30.0), ..LstmConfig::new(5, 2, 4) };
    let lstm = Lstm::new(cfg, true, 8).unwrap();
    let (batch, time, features) = (2, 12, 5);
    let mut rng = Rng::new(4);
    let x: Vec<f32> = (0..batch * time * features).map(|_| rng.normal() as f32).collect();
    let g: Vec<f32> = (0..batch * time * 2).map(|_| rng.normal() as f32).collect();
    let loss = |x: &[f32]| -> f64 {
        let pass = lstm.forward(&Inputs::dense(x, batch, time, features).unwrap()).unwrap();
        pass.y.iter().zip(&g).map(|(y, g)| *y as f64 * *g as f64).sum()
    };
    let input = Inputs::dense(&x, batch, time, features).unwrap();
    let pass = lstm.forward(&input).unwrap();
    let dx = lstm.backward(&pass, &input, &g, true).unwrap().x.unwrap();
    let h = 1e-3f32;
    for e in 0..x.len() {
        let (mut plus, mut minus) = (x.clone(), x.clone());
        plus[e] += h;
        minus[e] -= h;
        let numeric = (loss(&plus) - loss(&minus)) / (2.0 * h as f64);
        let analytic = dx[e] as f64;
        assert!((numeric - analytic).abs() <= 2e-3 + 1e-2 * analytic.abs(), "dx[{e}]: {numeric:e} vs {analytic:e}");
    }
}

/// Every readout, dense and sparse.
#[test]
fn every_readout() {
    for readout in ["last-step", "mean"] {
        for spikes in [false, true] {
            let label = format!("lstm {readout} spikes={spikes}");
            let mut json = serde_json::to_value(config("lstm", false)).unwrap();
            json["readout"] = readout.into();
            let model = serde_json::from_value::<ModelConfig>(json).unwrap().build(3).unwrap();
            let checked = GradCheck { batch: 5, time: 20, spikes, ..Default::default() }.run(&label, model.as_ref());
            assert!(checked > 140, "{label}: only {checked} elements checked");
        }
    }
}

/// Training with recurrent dropout: a fixed seed fixes the masks, so the training pass is a smooth
/// function of the weights whose gradient the backward pass (with the masks) must give. Batch 5
/// spans two groups of the recurrence, so the masks of both groups and the group seam are covered.
#[test]
fn recurrent_dropout_training_pass() {
    for (kind, two_biases, readout) in [("lstm", false, "per-step"), ("chrono-lstm", true, "last-step")] {
        for spikes in [false, true] {
            let label = format!("{kind} recurrent_dropout 0.3 {readout} spikes={spikes}");
            let mut json = serde_json::to_value(config(kind, two_biases)).unwrap();
            json["recurrent_dropout"] = 0.3.into();
            json["readout"] = readout.into();
            let model = serde_json::from_value::<ModelConfig>(json).unwrap().build(3).unwrap();
            let check = GradCheck { batch: 5, time: 20, spikes, train_seed: Some(17), ..Default::default() };
            let checked = check.run(&label, model.as_ref());
            assert!(checked > 140, "{label}: only {checked} elements checked");
        }
    }
}
