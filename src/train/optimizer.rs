//! The optimizers of the paper's recipes, with PyTorch's semantics (no amsgrad, no maximize):
//! `torch.optim.Adam` (NeuronIO, LRA), `Adamax` (SHD) and `AdamW`. The same moment updates and the
//! same placement of eps as PyTorch, so a run follows PyTorch's trajectory up to float rounding.

use crate::engine::{ParamSet, Tensor};
use anyhow::{bail, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    #[default]
    Adam,
    /// Adam with the infinity norm: the second moment is a running maximum of |g|.
    Adamax,
    /// Adam with decoupled weight decay: p <- p (1 - lr wd) before the Adam step.
    Adamw,
}

#[derive(Clone, Debug)]
pub struct Optimizer {
    pub kind: OptimizerKind,
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    /// AdamW only.
    pub weight_decay: f32,
    /// The parameters of the state-space group (S5's trainer): Adam without weight decay at
    /// `state_space_lr`, whatever `kind` is. Empty: one group.
    state_space: Vec<bool>,
    pub state_space_lr: f32,
    step: u64,
    first_moment: Vec<Vec<f32>>,
    /// Adam, AdamW: the mean of g^2; Adamax: the running maximum of |g| (`exp_inf`).
    second_moment: Vec<Vec<f32>>,
}

impl Optimizer {
    pub fn new(kind: OptimizerKind, params: &ParamSet, lr: f32) -> Self {
        let zeros: Vec<Vec<f32>> = params.iter().map(|p| vec![0.0; p.value.len()]).collect();
        Self {
            kind,
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: if kind == OptimizerKind::Adamw { 0.01 } else { 0.0 },
            state_space: Vec::new(),
            state_space_lr: lr,
            step: 0,
            first_moment: zeros.clone(),
            second_moment: zeros,
        }
    }

    /// PyTorch's `Adam` with its defaults.
    pub fn adam(params: &ParamSet, lr: f32) -> Self {
        Self::new(OptimizerKind::Adam, params, lr)
    }

    /// Trains the parameters marked `true` (aligned with the parameter set) as a second group:
    /// Adam, no weight decay, at `lr`.
    pub fn with_state_space_group(mut self, members: Vec<bool>, lr: f32) -> Result<Self> {
        if members.len() != self.first_moment.len() {
            bail!("{} optimizer groups given for {} parameters", members.len(), self.first_moment.len());
        }
        self.state_space = members;
        self.state_space_lr = lr;
        Ok(self)
    }

    pub fn steps_taken(&self) -> u64 {
        self.step
    }

    /// The moment estimates, aligned with the parameter set (for saving a run).
    pub fn moments(&self) -> (&[Vec<f32>], &[Vec<f32>]) {
        (&self.first_moment, &self.second_moment)
    }

    /// Restores a saved optimizer state; the moments must match the parameter shapes.
    pub fn restore(&mut self, step: u64, first: Vec<Vec<f32>>, second: Vec<Vec<f32>>) -> Result<()> {
        let fits = |m: &[Vec<f32>]| {
            m.len() == self.first_moment.len() && m.iter().zip(&self.first_moment).all(|(a, b)| a.len() == b.len())
        };
        if !fits(&first) || !fits(&second) {
            bail!("the saved optimizer state does not match the model's parameters");
        }
        self.step = step;
        self.first_moment = first;
        self.second_moment = second;
        Ok(())
    }

    /// One update of every trainable parameter with its gradient.
    pub fn step(&mut self, params: &mut ParamSet, grads: &[Tensor]) {
        self.step += 1;
        let bias_correction1 = 1.0 - self.beta1.powi(self.step as i32);
        let bias_correction2_sqrt = (1.0 - self.beta2.powi(self.step as i32)).sqrt();
        let (beta1, beta2, eps) = (self.beta1, self.beta2, self.eps);
        let main = (self.kind, self.lr, self.weight_decay);
        let state_space = (OptimizerKind::Adam, self.state_space_lr, 0.0);
        for (i, (((param, grad), m), v)) in
            params.iter_mut().zip(grads).zip(&mut self.first_moment).zip(&mut self.second_moment).enumerate()
        {
            if !param.trainable {
                continue;
            }
            let (kind, lr, weight_decay) = if self.state_space.get(i) == Some(&true) { state_space } else { main };
            let rule = UpdateRule {
                kind,
                beta1,
                beta2,
                eps,
                step_size: lr / bias_correction1,
                decay: 1.0 - lr * weight_decay,
                bias_correction2_sqrt,
            };
            // Element-wise, so fixed chunks in parallel give the same bits on any thread count.
            param
                .value
                .data_mut()
                .par_chunks_mut(CHUNK)
                .zip(grad.data().par_chunks(CHUNK))
                .zip(m.par_chunks_mut(CHUNK))
                .zip(v.par_chunks_mut(CHUNK))
                .for_each(|(((p, g), m), v)| rule.apply(p, g, m, v));
        }
    }
}

/// Parameters per parallel task of an update: large tensors (the LSTM's 256K input weights, the
/// TCN's millions) are shared among the threads, small ones stay one task.
const CHUNK: usize = 1 << 15;

/// One parameter group's update, with this step's constants.
struct UpdateRule {
    kind: OptimizerKind,
    beta1: f32,
    beta2: f32,
    eps: f32,
    step_size: f32,
    /// AdamW's 1 - lr * weight_decay.
    decay: f32,
    bias_correction2_sqrt: f32,
}

impl UpdateRule {
    /// Updates parameters `p` with gradients `g` and moments `m`, `v`, in place. One loop per
    /// kind, so that each is a straight vectorised loop.
    fn apply(&self, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
        let Self { kind, beta1, beta2, eps, step_size, decay, bias_correction2_sqrt } = *self;
        let elements = p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut());
        // Compiled for the widest vectors the CPU has: the same bits (no contraction).
        crate::engine::isa::with_best_isa(
            #[inline(always)]
            || match kind {
                OptimizerKind::Adam | OptimizerKind::Adamw => {
                    for (((p, g), m), v) in elements {
                        if kind == OptimizerKind::Adamw {
                            *p *= decay;
                        }
                        // PyTorch updates the first moment with lerp: m + (1 - beta1) (g - m).
                        *m += (1.0 - beta1) * (g - *m);
                        *v = beta2 * *v + (1.0 - beta2) * g * g;
                        let denom = v.sqrt() / bias_correction2_sqrt + eps;
                        *p -= step_size * *m / denom;
                    }
                }
                OptimizerKind::Adamax => {
                    for (((p, g), m), v) in elements {
                        *m += (1.0 - beta1) * (g - *m);
                        // exp_inf = max(beta2 exp_inf, |g| + eps); no second bias correction.
                        *v = (beta2 * *v).max(g.abs() + eps);
                        *p -= step_size * *m / *v;
                    }
                }
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> ParamSet {
        let mut params = ParamSet::default();
        params.push("w", Tensor::from_vec(&[2], vec![1.0, -1.0]).unwrap(), true);
        params.push("fixed", Tensor::from_vec(&[1], vec![3.0]).unwrap(), false);
        params
    }

    fn grads() -> Vec<Tensor> {
        vec![Tensor::from_vec(&[2], vec![0.5, -2.0]).unwrap(), Tensor::from_vec(&[1], vec![1.0]).unwrap()]
    }

    #[test]
    fn adam_first_steps_match_the_closed_form() {
        // With a constant gradient g, Adam's bias-corrected moments are exactly g and g^2, so
        // every step moves a parameter by lr * g / (|g| + eps) = lr * sign(g) (up to eps).
        let mut params = params();
        let mut adam = Optimizer::adam(&params, 0.1);
        for _ in 0..3 {
            adam.step(&mut params, &grads());
        }
        let w = params.get(0).data();
        assert!((w[0] - (1.0 - 0.3)).abs() < 1e-5, "{w:?}");
        assert!((w[1] - (-1.0 + 0.3)).abs() < 1e-5, "{w:?}");
        assert_eq!(params.get(1).data(), &[3.0]);
    }

    #[test]
    fn adamax_and_adamw_by_hand() {
        // Adamax, constant g: after t steps m = g (1 - b1^t), exp_inf = |g| + eps (beta2 |g| is
        // smaller), so each step moves lr * g / (|g| + eps) = lr * sign(g).
        let mut params = params();
        let mut adamax = Optimizer::new(OptimizerKind::Adamax, &params, 0.1);
        for _ in 0..3 {
            adamax.step(&mut params, &grads());
        }
        let w = params.get(0).data();
        assert!((w[0] - 0.7).abs() < 1e-5 && (w[1] + 0.7).abs() < 1e-5, "{w:?}");
        // A smaller gradient after a large one: exp_inf remembers beta2 * 2.0 for w[1]; the step
        // is lr * m_hat / exp_inf with m = 0.1 * (-0.1) + 0.9 * m_prev (PyTorch's formulas).
        let mut params = params_one(0.0);
        let mut adamax = Optimizer::new(OptimizerKind::Adamax, &params, 1.0);
        adamax.step(&mut params, &[Tensor::from_vec(&[1], vec![2.0]).unwrap()]);
        adamax.step(&mut params, &[Tensor::from_vec(&[1], vec![-0.1]).unwrap()]);
        // step 1: m = 0.2, exp_inf = 2 + 1e-8, p = -(0.2 / 0.1) / 2 = -1.
        // step 2: m = 0.2 + 0.1 (-0.1 - 0.2) = 0.17, exp_inf = 0.999 * 2, bias 1 - 0.81 = 0.19,
        //         p = -1 - (1 / 0.19) * 0.17 / 1.998.
        let expected = -1.0 - (0.17 / 0.19) / 1.998;
        assert!((params.get(0).data()[0] as f64 - expected).abs() < 1e-5, "{:?}", params.get(0).data());
        // AdamW: the decay multiplies before the Adam step: p = 1 (1 - 0.1 * 0.5) - 0.1 sign(g).
        let mut params = params_one(1.0);
        let mut adamw = Optimizer::new(OptimizerKind::Adamw, &params, 0.1);
        adamw.weight_decay = 0.5;
        adamw.step(&mut params, &[Tensor::from_vec(&[1], vec![3.0]).unwrap()]);
        assert!((params.get(0).data()[0] - (0.95 - 0.1)).abs() < 1e-6, "{:?}", params.get(0).data());
    }

    #[test]
    fn the_state_space_group_trains_with_adam_without_decay_at_its_own_rate() {
        // One step, so every Adam move is lr * sign(g): the main group (AdamW, lr 0.1, decay 0.5)
        // gives 1 (1 - 0.05) - 0.1; the state-space group (Adam, lr 0.01, no decay) 1 - 0.01.
        let mut params = ParamSet::default();
        params.push("w", Tensor::from_vec(&[1], vec![1.0]).unwrap(), true);
        params.push("Lambda_re", Tensor::from_vec(&[1], vec![1.0]).unwrap(), true);
        let mut adamw =
            Optimizer::new(OptimizerKind::Adamw, &params, 0.1).with_state_space_group(vec![false, true], 0.01).unwrap();
        adamw.weight_decay = 0.5;
        let grads = [Tensor::from_vec(&[1], vec![3.0]).unwrap(), Tensor::from_vec(&[1], vec![3.0]).unwrap()];
        adamw.step(&mut params, &grads);
        assert!((params.get(0).data()[0] - (0.95 - 0.1)).abs() < 1e-6, "{:?}", params.get(0).data());
        assert!((params.get(1).data()[0] - 0.99).abs() < 1e-6, "{:?}", params.get(1).data());
        assert!(Optimizer::adam(&params, 0.1).with_state_space_group(vec![true], 0.1).is_err());
    }

    fn params_one(value: f32) -> ParamSet {
        let mut params = ParamSet::default();
        params.push("w", Tensor::from_vec(&[1], vec![value]).unwrap(), true);
        params
    }
}
