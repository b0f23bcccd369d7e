//! Finite-difference checks of the SNN's backward pass (BPTT through membranes, partial resets,
//! recurrent and feed-forward synapses, Dale's signs, rectified weights, time constants, the
//! output filter, the readout and the spike penalty) with the shared `GradCheck`.
//!
//! As for the single LIF (`lif_gradcheck`), a finite difference cannot check a surrogate gradient
//! of step-function spikes, whose true derivative is zero almost everywhere. The `smooth` spike
//! function makes the forward pass the surrogate's primitive, so the backward pass must be the
//! exact gradient; the reset is kept in the backward pass (`detach_reset = false`) so every path
//! is covered. The threshold is lowered and the surrogate widened so that spikes vary over the
//! membranes' range, some weight parameters are negative (rectified to zero: their gradient must
//! be zero) and the time constants are spread. Dense normal inputs and sparse {-1, 0, 1} inputs,
//! each readout, and a batch of 5 (two lane groups, the second padded) are checked.

use crate::gradcheck_catches::{Fault, Faulty};
use crate::model_gradcheck::GradCheck;
use elmbench::engine::{Inputs, Rng};
use elmbench::models::lif::SpikeFunction;
use elmbench::models::snn::{Snn, SnnConfig};
use elmbench::models::{ForwardPass, SequenceModel};
use elmbench::nn::Readout;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// 5 recurrent neurons (2 inhibitory) and 2 outputs, 4 synapses each, on 6 inputs.
fn exact_config(readout: Readout) -> SnnConfig {
    let mut c = SnnConfig::new(6, 2);
    c.num_neurons = 7;
    c.synapses_per_neuron = 4;
    c.inhibitory_fraction = 0.4;
    c.threshold = 0.5;
    c.tau_m_init = 4.0;
    c.tau_m_max = 50.0;
    c.tau_out = 3.0;
    c.output_gain = 2.5;
    c.spike_l1 = 0.5;
    c.surrogate_steepness = 3.0;
    c.spike_function = SpikeFunction::Smooth;
    c.detach_reset = false;
    c.readout = readout;
    c
}

/// The network with every parameter moved off its initial value: weights in [0.15, 0.65] and
/// every fifth one at -0.3 (a dead, rectified synapse), time constants spread around 4 ms.
fn exact_model(readout: Readout) -> Snn {
    let mut snn = Snn::new(exact_config(readout), 3).unwrap();
    let mut rng = Rng::new(17);
    for p in snn.params.iter_mut() {
        let is_weight = p.name == "_proto_w_s";
        for (i, v) in p.value.data_mut().iter_mut().enumerate() {
            *v = if is_weight {
                if i % 5 == 4 {
                    -0.3
                } else {
                    rng.uniform(0.15, 0.65)
                }
            } else {
                *v + rng.uniform(-0.8, 0.8)
            };
        }
    }
    snn
}

#[test]
fn smooth_spikes_every_readout_dense_and_sparse() {
    for readout in [Readout::PerStep, Readout::LastStep, Readout::Mean] {
        let snn = exact_model(readout);
        assert_eq!(snn.param_count(), 7 * 4 + 7);
        for spikes in [false, true] {
            let label = format!("snn {readout:?} spikes={spikes}");
            let checked = GradCheck { spikes, ..Default::default() }.run(&label, &snn);
            assert!(checked >= 33, "{label}: only {checked} elements checked");
        }
    }
}

#[test]
fn a_partly_filled_lane_group_gets_exact_gradients() {
    let snn = exact_model(Readout::PerStep);
    GradCheck { batch: 5, time: 15, spikes: true, seed: 4, ..Default::default() }.run("snn batch 5", &snn);
}

/// The spike penalty's gradient: with a heavy penalty (spike_l1 = 20, a loss of several units)
/// the check still passes, and the penalty changes the gradients materially (so the check above
/// tests its gradient rather than passing over a negligible term).
#[test]
fn spike_penalty_gradient_is_exact_and_material() {
    let mut heavy = exact_model(Readout::PerStep);
    heavy.config.spike_l1 = 20.0;
    GradCheck { spikes: true, ..Default::default() }.run("snn heavy penalty", &heavy);
    let mut none = heavy.clone();
    none.config.spike_l1 = 0.0;

    let x: Vec<f32> = (0..2 * 25 * 6).map(|i| ((i * 37 % 17) as f32 - 8.0) / 6.0).collect();
    let input = Inputs::dense(&x, 2, 25, 6).unwrap();
    let gradients = |m: &Snn| {
        let pass = m.forward(&input).unwrap();
        let dy = vec![0.1; pass.y.len()];
        (pass.auxiliary_loss(), m.backward(&pass, &input, &dy).unwrap())
    };
    let ((penalty, with), (zero, without)) = (gradients(&heavy), gradients(&none));
    assert_eq!(zero, 0.0);
    assert!(penalty > 1.0, "penalty {penalty}");
    let largest = with
        .iter()
        .zip(&without)
        .flat_map(|(a, b)| a.data().iter().zip(b.data()).map(|(a, b)| (a - b).abs()))
        .fold(0.0f32, f32::max);
    assert!(largest > 0.05, "the penalty moves no gradient by more than {largest}");
}

/// The check is sharp enough to catch a wrong gradient: either tensor's gradient 10% off (the
/// shared `Faulty` wrapper), and the reset's term left out of BPTT (`detach_reset`, correct for
/// training, is not the exact gradient of the smooth model).
#[test]
fn wrong_gradients_are_caught() {
    let snn = exact_model(Readout::PerStep);
    for name in ["_proto_w_s", "_proto_tau_m"] {
        let faulty = Faulty { inner: Box::new(snn.clone()), fault: Fault::ScaledGradient(name) };
        let outcome = catch_unwind(AssertUnwindSafe(|| GradCheck::default().run("faulty snn", &faulty)));
        assert!(outcome.is_err(), "a wrong gradient of {name} passed the check");
    }
    let mut detached = snn.clone();
    detached.config.detach_reset = true;
    let outcome = catch_unwind(AssertUnwindSafe(|| GradCheck::default().run("detached snn", &detached)));
    assert!(outcome.is_err(), "leaving the reset out of BPTT went unnoticed: the reset path carries no weight");
}
