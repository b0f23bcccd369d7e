//! The spike nonlinearity and its surrogate derivative, the same shape as the single LIF neuron's
//! (`models::lif`), so that `surrogate_steepness` and `spike_function` mean the same in both.

use crate::models::lif::SpikeFunction;

#[derive(Clone, Copy, Debug)]
pub(super) struct Spike {
    pub function: SpikeFunction,
    /// g, per unit of membrane.
    pub steepness: f32,
}

impl Spike {
    /// The spike at distance `x` from the threshold: H(x) (a spike at x = 0, as in the LIF), or
    /// the smooth S(x) = 1/2 + 1/2 g x / (1 + g |x|) whose derivative is the surrogate.
    #[inline]
    pub fn value(&self, x: f32) -> f32 {
        match self.function {
            SpikeFunction::Heaviside => {
                if x >= 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            SpikeFunction::Smooth => {
                let g = self.steepness;
                0.5 + 0.5 * g * x / (1.0 + g * x.abs())
            }
        }
    }

    /// The fast-sigmoid surrogate (g/2) / (1 + g |x|)^2 (Zenke & Ganguli's SuperSpike shape,
    /// scaled to integrate to 1 like the step it stands in for).
    #[inline]
    pub fn surrogate(&self, x: f32) -> f32 {
        let g = self.steepness;
        let d = 1.0 + g * x.abs();
        0.5 * g / (d * d)
    }
}
