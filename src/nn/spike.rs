//! The spike of a spiking neuron and its surrogate derivative, shared by the LIF / ALIF layer and
//! the SNN so that `spike_function` and `surrogate_steepness` mean the same in both.

use serde::{Deserialize, Serialize};

/// What the forward pass uses as the spike nonlinearity. The backward pass always uses the
/// surrogate derivative; `smooth` makes the forward pass the surrogate's own primitive, so that
/// the backward pass is the exact gradient (what the finite-difference checks verify).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpikeFunction {
    /// s = 1 when the membrane reaches the threshold, else 0 (the LIF neuron proper).
    #[default]
    Heaviside,
    /// s = 1/2 + 1/2 * g x / (1 + g |x|), whose derivative is the fast-sigmoid surrogate.
    Smooth,
}

#[derive(Clone, Copy, Debug)]
pub struct Spike {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_surrogate_is_the_smooth_spikes_derivative() {
        let smooth = Spike { function: SpikeFunction::Smooth, steepness: 10.0 };
        let step = Spike { function: SpikeFunction::Heaviside, steepness: 10.0 };
        assert_eq!((step.value(0.0), step.value(-1e-6), step.value(2.0)), (1.0, 0.0, 1.0));
        // By hand at x = 0: S = 1/2, S' = g/2 = 5; at x = 0.1: S = 1/2 + 1/2 * 1/2 = 0.75,
        // S' = 5 / 4.
        assert_eq!((smooth.value(0.0), smooth.surrogate(0.0)), (0.5, 5.0));
        assert!((smooth.value(0.1) - 0.75).abs() < 1e-6 && (smooth.surrogate(0.1) - 1.25).abs() < 1e-6);
        for x in [-0.7f32, -0.05, 0.03, 0.4] {
            let h = 1e-3;
            let numeric = (smooth.value(x + h) - smooth.value(x - h)) / (2.0 * h);
            assert!((numeric - smooth.surrogate(x)).abs() < 1e-2 * smooth.surrogate(x), "{x}");
        }
    }
}
