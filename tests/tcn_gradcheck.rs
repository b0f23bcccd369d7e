//! Finite-difference checks of the TCN's backward pass with the shared `GradCheck`: dense and
//! sparse inputs (the first layer's sparse weight gradient is a different code path), ReLU (whose
//! kinks the check recognises and skips) and SiLU, with and without dilation; a head of another
//! size than NeuronIO's through every readout.
//!
//! Biases start at zero, so with sparse inputs every window without a spike puts a ReLU exactly
//! on its kink, and a bias perturbation crosses dozens of them at once (beyond what the kink
//! detection can tell from a wrong gradient). The tests draw the biases away from zero first.

use crate::model_gradcheck::GradCheck;
use elmbench::engine::Rng;
use elmbench::models::tcn::{Tcn, TcnConfig};
use elmbench::models::SequenceModel;
use elmbench::nn::Readout;

/// The model with every bias drawn uniformly from +-0.3, away from zero.
fn with_biases(mut tcn: Tcn, seed: u64) -> Tcn {
    let mut rng = Rng::new(seed);
    for p in tcn.params.iter_mut().filter(|p| p.name.ends_with(".bias")) {
        for v in p.value.data_mut() {
            let magnitude = rng.uniform(0.1, 0.3);
            *v = if rng.uniform_f64() < 0.5 { -magnitude } else { magnitude };
        }
    }
    tcn
}

fn small(dilation_base: usize, activation: &str) -> TcnConfig {
    serde_json::from_value(serde_json::json!({
        "num_input": 6, "num_layers": 3, "num_filters": 4, "first_filter_size": 4, "filter_size": 3,
        "dilation_base": dilation_base, "activation": activation}))
    .unwrap()
}

#[test]
fn tcn_relu_dense_and_sparse() {
    for spikes in [false, true] {
        let tcn = with_biases(Tcn::new(small(2, "relu"), 1).unwrap(), 7);
        let checked = GradCheck { spikes, ..Default::default() }.run("tcn relu", &tcn);
        assert!(checked > 150, "only {checked} elements checked");
    }
}

#[test]
fn tcn_silu_without_dilation() {
    for spikes in [false, true] {
        let tcn = with_biases(Tcn::new(small(1, "silu"), 2).unwrap(), 8);
        let checked = GradCheck { spikes, ..Default::default() }.run("tcn silu", &tcn);
        assert!(checked > 150, "only {checked} elements checked");
    }
}

/// A one-layer network (the FCN presets' shape): the heads read the first layer directly.
#[test]
fn single_layer_network() {
    let config: TcnConfig = serde_json::from_value(
        serde_json::json!({"num_input": 5, "num_layers": 1, "num_filters": 3, "first_filter_size": 6}),
    )
    .unwrap();
    let tcn = with_biases(Tcn::new(config, 3).unwrap(), 9);
    assert_eq!(tcn.params().len(), 4);
    GradCheck { spikes: true, ..Default::default() }.run("tcn 1 layer", &tcn);
}

/// A head of three outputs (not NeuronIO's two) through every readout, dense and sparse.
#[test]
fn any_number_of_outputs_through_every_readout() {
    for readout in [Readout::PerStep, Readout::LastStep, Readout::Mean] {
        let mut config = small(2, "relu");
        config.num_output = 3;
        config.readout = readout;
        let tcn = with_biases(Tcn::new(config, 4).unwrap(), 10);
        assert_eq!(tcn.params.by_name("head.weight").unwrap().value.shape(), [3, 4]);
        for spikes in [false, true] {
            let label = format!("tcn 3 outputs {readout:?} spikes {spikes}");
            let checked = GradCheck { spikes, ..Default::default() }.run(&label, &tcn);
            assert!(checked > 150, "{label}: only {checked} elements checked");
        }
    }
}
