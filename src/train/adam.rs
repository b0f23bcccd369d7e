//! Adam with PyTorch's semantics (`torch.optim.Adam`, no weight decay, no amsgrad): the same
//! moment updates and the same placement of eps, so a run follows PyTorch's trajectory up to
//! float rounding.

use crate::engine::{ParamSet, Tensor};

#[derive(Clone, Debug)]
pub struct Adam {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    step: u64,
    first_moment: Vec<Vec<f32>>,
    second_moment: Vec<Vec<f32>>,
}

impl Adam {
    pub fn new(params: &ParamSet, lr: f32) -> Self {
        let zeros: Vec<Vec<f32>> = params.iter().map(|p| vec![0.0; p.value.len()]).collect();
        Self { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 0, first_moment: zeros.clone(), second_moment: zeros }
    }

    pub fn steps_taken(&self) -> u64 {
        self.step
    }

    /// The moment estimates, aligned with the parameter set (for saving a run).
    pub fn moments(&self) -> (&[Vec<f32>], &[Vec<f32>]) {
        (&self.first_moment, &self.second_moment)
    }

    /// Restores a saved optimizer state; the moments must match the parameter shapes.
    pub fn restore(&mut self, step: u64, first: Vec<Vec<f32>>, second: Vec<Vec<f32>>) -> anyhow::Result<()> {
        let fits = |m: &[Vec<f32>]| {
            m.len() == self.first_moment.len() && m.iter().zip(&self.first_moment).all(|(a, b)| a.len() == b.len())
        };
        if !fits(&first) || !fits(&second) {
            anyhow::bail!("the saved optimizer state does not match the model's parameters");
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
        let step_size = self.lr / bias_correction1;
        for (((param, grad), m), v) in
            params.iter_mut().zip(grads).zip(&mut self.first_moment).zip(&mut self.second_moment)
        {
            if !param.trainable {
                continue;
            }
            for (((p, g), m), v) in
                param.value.data_mut().iter_mut().zip(grad.data()).zip(m.iter_mut()).zip(v.iter_mut())
            {
                // PyTorch updates the first moment with lerp: m + (1 - beta1) (g - m).
                *m += (1.0 - self.beta1) * (g - *m);
                *v = self.beta2 * *v + (1.0 - self.beta2) * g * g;
                let denom = v.sqrt() / bias_correction2_sqrt + self.eps;
                *p -= step_size * *m / denom;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_steps_match_the_closed_form() {
        // With a constant gradient g, Adam's bias-corrected moments are exactly g and g^2, so
        // every step moves a parameter by lr * g / (|g| + eps) = lr * sign(g) (up to eps).
        let mut params = ParamSet::default();
        params.push("w", Tensor::from_vec(&[2], vec![1.0, -1.0]).unwrap(), true);
        params.push("fixed", Tensor::from_vec(&[1], vec![3.0]).unwrap(), false);
        let grads = vec![Tensor::from_vec(&[2], vec![0.5, -2.0]).unwrap(), Tensor::from_vec(&[1], vec![1.0]).unwrap()];
        let mut adam = Adam::new(&params, 0.1);
        for _ in 0..3 {
            adam.step(&mut params, &grads);
        }
        let w = params.get(0).data();
        assert!((w[0] - (1.0 - 0.3)).abs() < 1e-5, "{w:?}");
        assert!((w[1] - (-1.0 + 0.3)).abs() < 1e-5, "{w:?}");
        assert_eq!(params.get(1).data(), &[3.0]);
    }
}
