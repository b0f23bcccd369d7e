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
//! to f32 rounding.) Layers of several neurons are checked in both output modes and through
//! every readout, with each neuron's time constants set apart.

use crate::model_gradcheck::GradCheck;
use elmbench::models::lif::{Lif, LifConfig, LifOutputs, SpikeFunction};
use elmbench::models::SequenceModel;
use elmbench::nn::Readout;

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

/// A layer of `num_output` outputs in mode `outputs`, with every neuron's time constants moved
/// apart (so that a neuron reading another's decay would be caught).
fn layer(adaptive: bool, num_output: usize, outputs: LifOutputs, readout: Readout) -> Lif {
    let mut c = if adaptive { alif_config() } else { smooth_config() };
    c.num_output = num_output;
    c.outputs = outputs;
    c.readout = readout;
    let mut model = Lif::new(c, adaptive, 6).unwrap();
    for name in ["_proto_tau_m", "_proto_tau_a"] {
        if let Some(index) = model.params.index_of(name) {
            for (j, p) in model.params.get_mut(index).data_mut().iter_mut().enumerate() {
                *p += 0.4 * j as f32 - 0.5;
            }
        }
    }
    model
}

/// Layers of several neurons in both output modes, through every readout, dense and sparse:
/// the per-neuron weights, biases and time constants all match finite differences.
#[test]
fn layers_in_both_output_modes_and_every_readout() {
    for adaptive in [false, true] {
        for (num_output, outputs, neurons) in [(6, LifOutputs::SpikeAndMembrane, 3), (4, LifOutputs::Membrane, 4)] {
            for readout in [Readout::PerStep, Readout::LastStep, Readout::Mean] {
                let model = layer(adaptive, num_output, outputs, readout);
                assert_eq!((model.num_neurons(), model.num_output()), (neurons, num_output));
                // Weights (12 per neuron), biases and the time constants of every neuron.
                let per_neuron = 12 + 2 + usize::from(adaptive);
                for spikes in [false, true] {
                    let label =
                        format!("adaptive {adaptive}, {outputs:?} x {num_output}, {readout:?}, spikes {spikes}");
                    let checked = GradCheck { spikes, ..Default::default() }.run(&label, &model);
                    assert_eq!(checked, neurons * per_neuron, "{label}: every element is checked");
                }
            }
        }
    }
}

/// Neurons of a layer are independent single neurons: neuron j of a layer computes what a
/// one-neuron model with neuron j's parameters computes, output for output, and its outputs sit
/// at j * (outputs per neuron).
#[test]
fn a_layer_is_its_neurons_side_by_side() {
    for outputs in [LifOutputs::SpikeAndMembrane, LifOutputs::Membrane] {
        let per = outputs.per_neuron();
        let model = layer(true, 3 * per, outputs, Readout::PerStep);
        let x: Vec<f32> = (0..2 * 25 * 12).map(|i| ((i * 37 % 17) as f32 - 8.0) / 4.0).collect();
        let input = elmbench::engine::Inputs::dense(&x, 2, 25, 12).unwrap();
        let y = model.forward(&input).unwrap().y.clone();
        for j in 0..3 {
            let mut c = model.config.clone();
            c.num_output = per;
            let mut single = Lif::new(c, true, 0).unwrap();
            for p in model.params.iter() {
                let row: Vec<f32> = match p.value.shape() {
                    [_, n] => p.value.data()[j * n..(j + 1) * n].to_vec(),
                    _ => vec![p.value.data()[j]],
                };
                let shape: Vec<usize> = if p.value.shape().len() == 2 { vec![1, row.len()] } else { vec![1] };
                single.params.assign(&p.name, row, &shape).unwrap();
            }
            let alone = single.forward(&input).unwrap().y.clone();
            // Equal up to the order in which the input product sums (one output column or three).
            for (r, step) in alone.chunks_exact(per).enumerate() {
                for (a, b) in step.iter().zip(&y[r * 3 * per + j * per..][..per]) {
                    assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{outputs:?}: neuron {j}, row {r}: {a} vs {b}");
                }
            }
        }
    }
}

/// LIF and ALIF with memory units (`num_memory`, Figure S7), their weights c set away from their
/// zero start and their time constants inside the bounds (the log-spaced start puts the end units
/// 1e-6 from the bounds, where the scaled sigmoid is flat and every gradient is ~0): the memory
/// weights and time constants match finite differences along with every other parameter.
#[test]
fn memory_units_smooth_spikes_dense_and_sparse() {
    for adaptive in [false, true] {
        let mut c = if adaptive { alif_config() } else { smooth_config() };
        c.num_memory = 3;
        c.memory_tau_max = Some(30.0);
        let mut model = Lif::new(c, adaptive, 7).unwrap();
        let weight = model.params.index_of("memory.weight").unwrap();
        for (k, v) in model.params.get_mut(weight).data_mut().iter_mut().enumerate() {
            *v = 0.8 - 0.6 * k as f32;
        }
        let proto = model.params.index_of("_proto_tau_memory").unwrap();
        for (k, v) in model.params.get_mut(proto).data_mut().iter_mut().enumerate() {
            *v = -1.0 + 0.9 * k as f32;
        }
        for spikes in [false, true] {
            let checked = GradCheck { spikes, ..Default::default() }.run("lif with memory", &model);
            assert!(checked >= 20, "only {checked} elements checked");
        }
    }
}

/// A fresh neuron with memory units is the classic neuron (c starts at 0): same outputs, 2 K more
/// parameters; the key is serialised only when set.
#[test]
fn memory_units_start_as_the_classic_neuron() {
    use elmbench::engine::Inputs;
    for adaptive in [false, true] {
        let plain = LifConfig::new(1278);
        let mut with = plain.clone();
        with.num_memory = 4;
        let (a, b) = (Lif::new(plain.clone(), adaptive, 3).unwrap(), Lif::new(with.clone(), adaptive, 3).unwrap());
        assert_eq!(b.param_count(), a.param_count() + 2 * 4);
        assert_eq!(a.param_count(), if adaptive { 1281 } else { 1280 });
        let x: Vec<f32> = (0..2 * 30 * 1278).map(|i| if i % 53 == 0 { 1.0 } else { 0.0 }).collect();
        let input = Inputs::dense(&x, 2, 30, 1278).unwrap();
        assert_eq!(a.forward(&input).unwrap().y, b.forward(&input).unwrap().y);
        assert!(serde_json::to_value(&plain).unwrap().get("num_memory").is_none());
        assert_eq!(serde_json::to_value(&with).unwrap()["num_memory"], 4);
    }
    let mut bad = LifConfig::new(10);
    bad.memory_tau_max = Some(50.0);
    let err = format!("{:#}", Lif::new(bad, false, 0).err().unwrap());
    assert!(err.contains("num_memory"), "{err}");
}
