//! Finite-difference checks of the LIF/ALIF backward pass (BPTT through membrane, reset,
//! surrogate spike and adaptation) with the shared `GradCheck`, on dense and sparse inputs.
//!
//! The step function's true derivative is zero almost everywhere, so a finite difference cannot
//! check a surrogate gradient on the step-function neuron. The `smooth` spike function replaces
//! the step by the surrogate's primitive S, whose derivative is exactly what the backward pass
//! uses; on it every path (reset, adaptation, time constants) must match finite differences. The
//! threshold is lowered and the surrogate widened so that S varies over the membrane's range and
//! those paths carry real weight. The reset is not detached here (`detach_reset = false`), so the
//! check covers the full BPTT; detaching only drops that one term. The step-function neuron
//! itself is checked where its spike paths vanish (threshold 3, out of the membrane's reach, and
//! a surrogate so narrow that it is ~6e-6 there): the membrane, current and tau paths of the exact
//! code that trains. (A far higher threshold would not do: u - theta would lose u's last digits
//! to f32 rounding.)

use crate::model_gradcheck::GradCheck;
use elmbench::models::lif::{Lif, LifConfig, SpikeFunction};
use elmbench::models::SequenceModel;

fn smooth_config() -> LifConfig {
    let mut c = LifConfig::new(12);
    c.spike_function = SpikeFunction::Smooth;
    c.threshold = 0.3;
    c.surrogate_steepness = 3.0;
    c.spike_logit_scale = 2.0;
    c.tau_m_init = 4.0;
    c.detach_reset = false;
    c
}

fn alif_config() -> LifConfig {
    let mut c = smooth_config();
    c.tau_a_init = Some(6.0);
    c.tau_a_max = Some(50.0);
    c.adaptation_strength = Some(2.0);
    c
}

#[test]
fn lif_smooth_spikes_dense_and_sparse() {
    for spikes in [false, true] {
        let lif = Lif::new(smooth_config(), false, 3).unwrap();
        assert_eq!(lif.params().len(), 3);
        let checked = GradCheck { spikes, ..Default::default() }.run("lif", &lif);
        assert!(checked >= 14, "only {checked} elements checked");
    }
}

#[test]
fn alif_smooth_spikes_dense_and_sparse() {
    for spikes in [false, true] {
        let alif = Lif::new(alif_config(), true, 4).unwrap();
        assert_eq!(alif.params().len(), 4);
        let checked = GradCheck { spikes, ..Default::default() }.run("alif", &alif);
        assert!(checked >= 15, "only {checked} elements checked");
    }
}

#[test]
fn step_function_neuron_below_threshold() {
    for adaptive in [false, true] {
        let mut c = if adaptive { alif_config() } else { smooth_config() };
        c.spike_function = SpikeFunction::Heaviside;
        c.threshold = 3.0;
        c.surrogate_steepness = 1e4;
        let model = Lif::new(c, adaptive, 5).unwrap();
        for spikes in [false, true] {
            GradCheck { spikes, ..Default::default() }.run("step-function lif", &model);
        }
    }
}

/// The adaptation path carries weight in the smooth check: its time constant's gradient is not
/// negligible (a check that passes because everything is ~0 would prove nothing).
#[test]
fn adaptation_gradient_is_material() {
    let alif = Lif::new(alif_config(), true, 4).unwrap();
    let x: Vec<f32> = (0..2 * 25 * 12).map(|i| ((i * 37 % 17) as f32 - 8.0) / 4.0).collect();
    let input = elmbench::engine::Inputs::dense(&x, 2, 25, 12).unwrap();
    let pass = alif.forward(&input).unwrap();
    let dy = vec![1.0; pass.y.len()];
    let grads = alif.backward(&pass, &input, &dy).unwrap();
    let tau_a_grad = grads[alif.params.index_of("_proto_tau_a").unwrap()].data()[0];
    assert!(tau_a_grad.abs() > 1e-3, "d loss / d proto_tau_a = {tau_a_grad}");
}
