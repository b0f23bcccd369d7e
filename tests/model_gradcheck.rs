//! A finite-difference gradient check for any model behind the `SequenceModel` trait, shared by
//! the baselines' tests, and its application to the ELM through that trait (so the trait's
//! plumbing, not only `Elm::backward`, is checked).
//!
//! Central differences with step h on `sum(y * g)` accumulated in f64. The models compute in
//! f32: rounding of ~100 outputs of order 1 at 1e-7 each, divided by 2h = 2e-3, gives ~5e-4, so
//! the bar is |numeric - analytic| <= atol + rtol |analytic| with atol 2e-3, rtol 1e-2 unless a
//! caller has a reason to pass others. Large parameter tensors are checked on a deterministic
//! sample of their elements (`max_per_tensor`).
//!
//! ReLUs, spike surrogates and clamps make losses piecewise smooth: when a perturbation of +-h
//! crosses a kink, the central difference is not the derivative. Such elements are recognised by
//! their one-sided differences disagreeing (beyond what curvature and rounding explain) and are
//! skipped; at most 5% of the checked elements may be skipped, so a wrong gradient cannot hide.
//!
//! The loss weights g have one value per reported output (`pass.output().len()`), so readouts
//! that shorten the output (last step, mean) are checked through the trait's own readout. With
//! `train_seed` the check runs `forward_train` with that seed: the dropout masks are a function of
//! the seed alone, so every perturbed evaluation sees the same masks and the function being
//! differentiated is smooth in the parameters.

use elmbench::engine::{Inputs, Rng, SparseSequences};
use elmbench::models::{ForwardPass, ModelConfig, SequenceModel};

#[derive(Clone, Copy, Debug)]
pub struct GradCheck {
    pub batch: usize,
    pub time: usize,
    /// Spike-like inputs in {-1, 0, 1} fed as sparse sequences, or dense normal inputs.
    pub spikes: bool,
    pub h: f32,
    pub atol: f64,
    pub rtol: f64,
    pub max_per_tensor: usize,
    pub seed: u64,
    /// Run `forward_train` with this seed instead of `forward`.
    pub train_seed: Option<u64>,
}

impl Default for GradCheck {
    fn default() -> Self {
        Self {
            batch: 2,
            time: 25,
            spikes: false,
            h: 1e-3,
            atol: 2e-3,
            rtol: 1e-2,
            max_per_tensor: 60,
            seed: 11,
            train_seed: None,
        }
    }
}

impl GradCheck {
    /// Checks every trainable parameter (sampled) of `model`; returns how many elements were checked.
    pub fn run(&self, label: &str, model: &dyn SequenceModel) -> usize {
        self.check(label, model).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `run`, with the first disagreement as an error instead of a panic (for tests that a
    /// wrong gradient is caught).
    pub fn check(&self, label: &str, model: &dyn SequenceModel) -> Result<usize, String> {
        let mut rng = Rng::new(self.seed);
        let n_in = model.num_input();
        let x: Vec<f32> = (0..self.batch * self.time * n_in)
            .map(|_| {
                if self.spikes {
                    let u = rng.uniform_f64();
                    if u < 0.1 {
                        1.0
                    } else if u < 0.2 {
                        -1.0
                    } else {
                        0.0
                    }
                } else {
                    rng.normal() as f32
                }
            })
            .collect();
        let sparse = SparseSequences::from_dense(&x, self.batch, self.time, n_in);
        let input =
            if self.spikes { Inputs::Sparse(&sparse) } else { Inputs::dense(&x, self.batch, self.time, n_in).unwrap() };
        let run_forward = |m: &dyn SequenceModel| -> Box<dyn ForwardPass> {
            match self.train_seed {
                Some(seed) => m.forward_train(&input, seed).unwrap(),
                None => m.forward(&input).unwrap(),
            }
        };
        let pass = run_forward(model);
        let (samples, steps) = model.reported_shape(self.batch, self.time);
        assert_eq!(pass.output().len(), samples * steps * model.num_output(), "{label}: reported outputs");
        let g: Vec<f32> = (0..pass.output().len()).map(|_| rng.normal() as f32).collect();
        // The loss whose gradient `backward` returns: the outputs against g, plus any loss the
        // model adds itself (the SNN's spike penalty).
        let loss = |m: &dyn SequenceModel| -> f64 {
            let pass = run_forward(m);
            let outputs: f64 = pass.output().iter().zip(&g).map(|(y, g)| *y as f64 * *g as f64).sum();
            outputs + pass.auxiliary_loss()
        };
        let grads = model.backward(pass.as_ref(), &input, &g).unwrap();
        assert_eq!(grads.len(), model.params().len(), "{label}: one gradient per parameter");
        let mut probe = model.clone_model();
        let base = loss(model);
        let (mut checked, mut kinks) = (0, 0);
        for (index, param) in model.params().iter().enumerate() {
            assert_eq!(grads[index].shape(), param.value.shape(), "{label}: gradient shape of {}", param.name);
            if !param.trainable {
                continue;
            }
            let n = param.value.len();
            let stride = n.div_ceil(self.max_per_tensor).max(1);
            for e in (0..n).step_by(stride) {
                let original = param.value.data()[e];
                probe.params_mut().get_mut(index).data_mut()[e] = original + self.h;
                let plus = loss(probe.as_ref());
                probe.params_mut().get_mut(index).data_mut()[e] = original - self.h;
                let minus = loss(probe.as_ref());
                probe.params_mut().get_mut(index).data_mut()[e] = original;
                let numeric = (plus - minus) / (2.0 * self.h as f64);
                let analytic = grads[index].data()[e] as f64;
                let bar = self.atol + self.rtol * analytic.abs();
                let (forward, backward) = ((plus - base) / self.h as f64, (base - minus) / self.h as f64);
                if (numeric - analytic).abs() > bar && (forward - backward).abs() > 1.5 * bar {
                    kinks += 1;
                    continue;
                }
                if (numeric - analytic).abs() > bar {
                    return Err(format!(
                        "{label}: {}[{e}]: finite difference {numeric:.6e}, backward {analytic:.6e}",
                        param.name
                    ));
                }
                checked += 1;
            }
        }
        if kinks * 20 > checked {
            return Err(format!("{label}: {kinks} of {checked} elements sit on kinks; pick another seed"));
        }
        Ok(checked)
    }
}

#[test]
fn elm_through_the_trait_passes_the_shared_check() {
    let config: ModelConfig = serde_json::from_value(serde_json::json!({
        "kind": "branch-elm", "num_input": 12, "num_output": 2, "num_memory": 4, "num_branch": 3,
        "num_synapse_per_branch": 5, "input_to_synapse_routing": "neuronio", "learn_memory_tau": true,
        "memory_tau_max": 50.0}))
    .unwrap();
    let model = config.build(5).unwrap();
    let checked = GradCheck { spikes: true, ..Default::default() }.run("branch-elm", model.as_ref());
    assert!(checked > 50, "only {checked} elements checked");
}
