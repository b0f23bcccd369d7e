//! The shared finite-difference check fails on wrong gradients, so that its passes mean something.
//!
//! `Faulty` wraps a correct model and breaks its backward pass in one of three ways a real bug
//! could: one analytic term off by 10%, the gradient of another readout than the one the forward
//! pass applied, and a training pass whose backward forgets the dropout mask. The wrapped models
//! pass the same check unbroken (the control), and fail it broken.

use crate::model_gradcheck::GradCheck;
use anyhow::Result;
use elmbench::engine::{Inputs, ParamSet, Tensor};
use elmbench::models::{backward_through_readout, FlopCount, ForwardPass, ModelConfig, SequenceModel};
use elmbench::nn::Readout;

#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// The gradient of the named tensor, scaled by 1.1.
    ScaledGradient(&'static str),
    /// The forward pass reads out the mean over time; the backward pass spreads the gradient as
    /// the last step's readout would.
    LastStepGradientForMean,
    /// The backward pass of a training pass runs on an evaluation pass (no dropout mask).
    MaskForgotten,
}

pub struct Faulty {
    pub inner: Box<dyn SequenceModel>,
    pub fault: Fault,
}

impl SequenceModel for Faulty {
    fn config(&self) -> ModelConfig {
        self.inner.config()
    }
    fn num_input(&self) -> usize {
        self.inner.num_input()
    }
    fn num_output(&self) -> usize {
        self.inner.num_output()
    }
    fn params(&self) -> &ParamSet {
        self.inner.params()
    }
    fn params_mut(&mut self) -> &mut ParamSet {
        self.inner.params_mut()
    }
    fn readout(&self) -> Readout {
        self.inner.readout()
    }
    fn forward_steps(&self, x: &Inputs) -> Result<Box<dyn ForwardPass>> {
        self.inner.forward_steps(x)
    }
    fn forward_steps_train(&self, x: &Inputs, seed: u64) -> Result<Box<dyn ForwardPass>> {
        self.inner.forward_steps_train(x, seed)
    }
    fn reported_shape(&self, batch: usize, time: usize) -> (usize, usize) {
        self.inner.reported_shape(batch, time)
    }
    // The reported outputs are the inner model's own (a two-tower applies no readout of the
    // trait's); the wrong gradients come in below, after its own `backward` or in the steps'.
    fn forward(&self, x: &Inputs) -> Result<Box<dyn ForwardPass>> {
        self.inner.forward(x)
    }
    fn forward_train(&self, x: &Inputs, seed: u64) -> Result<Box<dyn ForwardPass>> {
        self.inner.forward_train(x, seed)
    }
    fn backward(&self, pass: &dyn ForwardPass, x: &Inputs, dy: &[f32]) -> Result<Vec<Tensor>> {
        match self.fault {
            Fault::ScaledGradient(name) => {
                let mut grads = self.inner.backward(pass, x, dy)?;
                let index = self.params().index_of(name).expect("a parameter of the model");
                grads[index].data_mut().iter_mut().for_each(|g| *g *= 1.1);
                Ok(grads)
            }
            _ => backward_through_readout(self, pass, x, dy),
        }
    }
    fn backward_steps(&self, pass: &dyn ForwardPass, x: &Inputs, dy: &[f32]) -> Result<Vec<Tensor>> {
        match self.fault {
            Fault::ScaledGradient(_) => unreachable!("scaled in `backward`"),
            Fault::LastStepGradientForMean => {
                // dy arrives spread as the mean spreads it (dy / T at every step); put it all
                // on the last step instead, T dy / T.
                assert_eq!(self.readout(), Readout::Mean);
                let (batch, time, _) = x.shape();
                let out = self.num_output();
                let mut last = vec![0.0f32; dy.len()];
                for b in 0..batch {
                    let at = (b * time + time - 1) * out;
                    for o in 0..out {
                        last[at + o] = dy[at + o] * time as f32;
                    }
                }
                self.inner.backward_steps(pass, x, &last)
            }
            Fault::MaskForgotten => {
                let plain = self.inner.forward_steps(x)?;
                self.inner.backward_steps(plain.as_ref(), x, dy)
            }
        }
    }
    fn flops(&self, time: usize) -> FlopCount {
        self.inner.flops(time)
    }
    fn clone_model(&self) -> Box<dyn SequenceModel> {
        Box::new(Faulty { inner: self.inner.clone_model(), fault: self.fault })
    }
}

fn build(json: serde_json::Value) -> Box<dyn SequenceModel> {
    serde_json::from_value::<ModelConfig>(json).unwrap().build(5).unwrap()
}

/// Passes unbroken, fails broken, on dense and sparse inputs.
pub fn caught(label: &str, json: serde_json::Value, fault: Fault, check: GradCheck) {
    for spikes in [false, true] {
        let check = GradCheck { spikes, ..check };
        let model = build(json.clone());
        let passed = check.check(label, model.as_ref());
        assert!(passed.is_ok(), "{label}, spikes {spikes}: the control fails: {passed:?}");
        let broken = Faulty { inner: model, fault };
        let failed = check.check(label, &broken);
        assert!(failed.is_err(), "{label}, spikes {spikes}: {fault:?} went unnoticed ({failed:?} elements)");
    }
}

#[test]
fn one_wrong_analytic_term_is_caught() {
    let lif = serde_json::json!({"kind": "alif", "num_input": 12, "num_output": 4, "spike_function": "smooth",
        "threshold": 0.3, "surrogate_steepness": 3.0, "spike_logit_scale": 2.0, "tau_m_init": 4.0,
        "detach_reset": false, "tau_a_init": 6.0, "tau_a_max": 50.0, "adaptation_strength": 2.0});
    caught("alif tau_a", lif, Fault::ScaledGradient("_proto_tau_a"), GradCheck::default());
    let tcn = serde_json::json!({"kind": "tcn", "num_input": 6, "num_layers": 2, "num_filters": 4,
        "first_filter_size": 3, "filter_size": 2, "activation": "silu", "num_output": 3});
    caught("tcn head", tcn, Fault::ScaledGradient("head.weight"), GradCheck::default());
    let lstm = serde_json::json!({"kind": "lstm", "num_input": 9, "num_output": 3, "hidden_size": 6,
        "recurrent_dropout": 0.3});
    let train = GradCheck { batch: 5, time: 20, train_seed: Some(2), ..Default::default() };
    caught("lstm w_hh", lstm, Fault::ScaledGradient("lstm.weight_hh_l0"), train);
}

#[test]
fn the_gradient_of_a_wrong_readout_is_caught() {
    let lstm = serde_json::json!({"kind": "lstm", "num_input": 9, "num_output": 3, "hidden_size": 6,
        "readout": "mean"});
    caught("lstm mean", lstm, Fault::LastStepGradientForMean, GradCheck::default());
    let lif = serde_json::json!({"kind": "lif", "num_input": 12, "num_output": 3, "outputs": "membrane",
        "spike_function": "smooth", "threshold": 0.3, "surrogate_steepness": 3.0, "tau_m_init": 4.0,
        "detach_reset": false, "readout": "mean"});
    caught("lif mean", lif, Fault::LastStepGradientForMean, GradCheck::default());
}

#[test]
fn a_backward_pass_without_the_dropout_mask_is_caught() {
    let lstm = serde_json::json!({"kind": "lstm", "num_input": 9, "num_output": 3, "hidden_size": 6,
        "recurrent_dropout": 0.3, "readout": "last-step"});
    let train = GradCheck { batch: 5, time: 20, train_seed: Some(9), ..Default::default() };
    caught("lstm mask", lstm, Fault::MaskForgotten, train);
}
