//! Learning-rate schedules.

use super::config::Schedule;

/// Cosine annealing from `base` to `min` over `total_steps` optimizer steps, as PyTorch's
/// `CosineAnnealingLR` (the official trainers set T_max to the whole run). PyTorch evaluates the
/// same curve through a recursive product; the closed form here agrees with it up to float rounding.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CosineAnnealing {
    pub base: f64,
    pub min: f64,
    pub total_steps: u64,
}

impl CosineAnnealing {
    /// The learning rate for optimizer step `step` (0 for the first update).
    pub fn at(&self, step: u64) -> f64 {
        if self.total_steps == 0 {
            return self.base;
        }
        let phase = std::f64::consts::PI * step as f64 / self.total_steps as f64;
        self.min + (self.base - self.min) * (1.0 + phase.cos()) / 2.0
    }
}

/// The learning rate of optimizer step `step` of a run of `total_steps` under `schedule`.
pub fn learning_rate(schedule: Schedule, base: f64, step: u64, total_steps: u64) -> f64 {
    match schedule {
        Schedule::Cosine => CosineAnnealing { base, min: 0.0, total_steps }.at(step),
        Schedule::Constant => base,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_at_base_halves_midway_and_ends_at_min() {
        let s = CosineAnnealing { base: 5e-4, min: 0.0, total_steps: 100 };
        assert_eq!(s.at(0), 5e-4);
        assert!((s.at(50) - 2.5e-4).abs() < 1e-18);
        assert!(s.at(100).abs() < 1e-18);
        // cos(pi/4): (1 + sqrt(2)/2) / 2 of the base at a quarter.
        assert!((s.at(25) - 5e-4 * (1.0 + 0.5f64.sqrt()) / 2.0).abs() < 1e-18);
        assert_eq!(learning_rate(Schedule::Constant, 2e-3, 70, 100), 2e-3);
    }
}
