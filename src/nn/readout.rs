//! Which of a model's per-step outputs a task sees: every step (NeuronIO fits a trace), the last
//! step (the ELM paper's classifiers: "CE on the last output"), or the mean over time.
//!
//! A model computes its outputs at every step, (batch, time, outputs); the readout reduces them to
//! (batch, steps, outputs) with `steps` = time, 1 or 1, and its backward pass spreads the
//! gradient of the reduced outputs back over the steps. It has no parameters.

use anyhow::{ensure, Result};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Readout {
    /// Every step's outputs.
    #[default]
    PerStep,
    /// Only the last step's outputs.
    LastStep,
    /// The mean of the outputs over all steps.
    Mean,
}

impl Readout {
    /// For serde's `skip_serializing_if`: configs that do not set a readout keep their old form
    /// (and their old hashes).
    pub fn is_per_step(&self) -> bool {
        *self == Readout::PerStep
    }

    /// Steps per sample after the readout.
    pub fn steps(&self, time: usize) -> usize {
        match self {
            Readout::PerStep => time,
            Readout::LastStep | Readout::Mean => 1,
        }
    }

    /// (batch, time, outputs) -> (batch, steps, outputs).
    pub fn forward(&self, y: Vec<f32>, batch: usize, time: usize, outputs: usize) -> Result<Vec<f32>> {
        ensure!(
            y.len() == batch * time * outputs,
            "readout: {} outputs, expected {batch} x {time} x {outputs}",
            y.len()
        );
        if time == 0 && *self != Readout::PerStep {
            anyhow::bail!("readout {self:?} of a sequence of zero steps");
        }
        Ok(match self {
            Readout::PerStep => y,
            Readout::LastStep => {
                y.chunks_exact(time * outputs).flat_map(|sample| sample[(time - 1) * outputs..].to_vec()).collect()
            }
            Readout::Mean => {
                let mut out = vec![0.0f32; batch * outputs];
                for (b, sample) in y.chunks_exact(time * outputs).enumerate() {
                    let acc = &mut out[b * outputs..(b + 1) * outputs];
                    let mut sum = vec![0.0f64; outputs];
                    for step in sample.chunks_exact(outputs) {
                        for (s, v) in sum.iter_mut().zip(step) {
                            *s += *v as f64;
                        }
                    }
                    for (a, s) in acc.iter_mut().zip(&sum) {
                        *a = (*s / time as f64) as f32;
                    }
                }
                out
            }
        })
    }

    /// The gradient of the per-step outputs, (batch, time, outputs), from the gradient of the
    /// reduced outputs, (batch, steps, outputs).
    pub fn backward(&self, dy: &[f32], batch: usize, time: usize, outputs: usize) -> Result<Vec<f32>> {
        let steps = self.steps(time);
        ensure!(
            dy.len() == batch * steps * outputs,
            "readout: the output gradient has {} values, expected {batch} x {steps} x {outputs}",
            dy.len()
        );
        Ok(match self {
            Readout::PerStep => dy.to_vec(),
            Readout::LastStep => {
                let mut full = vec![0.0f32; batch * time * outputs];
                for b in 0..batch {
                    let at = (b * time + time - 1) * outputs;
                    full[at..at + outputs].copy_from_slice(&dy[b * outputs..(b + 1) * outputs]);
                }
                full
            }
            Readout::Mean => {
                let scale = 1.0 / time as f32;
                let mut full = Vec::with_capacity(batch * time * outputs);
                for b in 0..batch {
                    for _ in 0..time {
                        full.extend(dy[b * outputs..(b + 1) * outputs].iter().map(|g| g * scale));
                    }
                }
                full
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Two samples, three steps, two outputs: sample b, step t, output o holds 100b + 10t + o.
    fn outputs() -> Vec<f32> {
        (0..2).flat_map(|b| (0..3).flat_map(move |t| (0..2).map(move |o| (100 * b + 10 * t + o) as f32))).collect()
    }

    #[test]
    fn reductions_by_hand() {
        assert_eq!(Readout::PerStep.forward(outputs(), 2, 3, 2).unwrap(), outputs());
        assert_eq!(Readout::LastStep.forward(outputs(), 2, 3, 2).unwrap(), vec![20.0, 21.0, 120.0, 121.0]);
        // Mean over t of 10t is 10.
        assert_eq!(Readout::Mean.forward(outputs(), 2, 3, 2).unwrap(), vec![10.0, 11.0, 110.0, 111.0]);
        assert!(Readout::Mean.forward(outputs(), 2, 2, 2).is_err());
    }

    #[test]
    fn backward_is_the_transpose_of_forward() {
        // <R y, g> = <y, R^T g> for every readout R: the defining property of a linear map's
        // backward pass.
        let y = outputs();
        for readout in [Readout::PerStep, Readout::LastStep, Readout::Mean] {
            let steps = readout.steps(3);
            let g: Vec<f32> = (0..2 * steps * 2).map(|i| (i as f32 * 0.37).sin()).collect();
            let reduced = readout.forward(y.clone(), 2, 3, 2).unwrap();
            let lhs: f64 = reduced.iter().zip(&g).map(|(a, b)| (*a as f64) * (*b as f64)).sum();
            let spread = readout.backward(&g, 2, 3, 2).unwrap();
            let rhs: f64 = y.iter().zip(&spread).map(|(a, b)| (*a as f64) * (*b as f64)).sum();
            assert!((lhs - rhs).abs() < 1e-3 * lhs.abs().max(1.0), "{readout:?}: {lhs} vs {rhs}");
        }
    }
}
