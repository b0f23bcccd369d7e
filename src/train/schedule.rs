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

/// The official S5 trainer's per-step schedule (`s5/train.py`, `train_helpers.py`), its
/// offsets included: the learning rate is set *after* each update from a step counter, so the
/// first update runs at the base rate; then `base * (k + 1) / W` for the counters k of the
/// `W = warmup_epochs * batches` warm-up updates; then cosine annealing to 0 whose counter keeps
/// counting from W (`count = min(k, E)` with `E = total - W`), so the decay reaches 0 after
/// `total - W` updates and stays there for the last W.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WarmupCosine {
    pub base: f64,
    pub warmup_steps: u64,
    pub total_steps: u64,
}

impl WarmupCosine {
    /// The learning rate of update `step` (0 for the first).
    pub fn at(&self, step: u64) -> f64 {
        let Some(counter) = step.checked_sub(1) else {
            return self.base;
        };
        let w = self.warmup_steps;
        if counter < w {
            return self.base * (counter + 1) as f64 / w as f64;
        }
        let end = self.total_steps.saturating_sub(w);
        if end == 0 {
            return self.base;
        }
        let count = counter.min(end) as f64;
        self.base * 0.5 * (1.0 + (std::f64::consts::PI * count / end as f64).cos())
    }
}

/// The learning-rate curve of a run: the schedule and the run's length in optimizer steps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LrSchedule {
    pub schedule: Schedule,
    pub total_steps: u64,
    /// Updates of warm-up (`warmup-cosine` only).
    pub warmup_steps: u64,
}

impl LrSchedule {
    /// The learning rate of optimizer step `step` for a group whose base rate is `base`.
    pub fn at(&self, base: f64, step: u64) -> f64 {
        match self.schedule {
            Schedule::Cosine => CosineAnnealing { base, min: 0.0, total_steps: self.total_steps }.at(step),
            Schedule::Constant => base,
            Schedule::WarmupCosine => {
                WarmupCosine { base, warmup_steps: self.warmup_steps, total_steps: self.total_steps }.at(step)
            }
        }
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
        let constant = LrSchedule { schedule: Schedule::Constant, total_steps: 100, warmup_steps: 0 };
        assert_eq!(constant.at(2e-3, 70), 2e-3);
    }

    /// The official loop, replayed as it is written: epochs of `per_epoch` steps; after every
    /// update the rate is recomputed from the counter with the epoch's decay function
    /// (`linear_warmup` in the warm-up epochs, `cosine_annealing` after, lr_min 0).
    fn official_s5_rates(base: f64, per_epoch: u64, epochs: u64, warmup_end: u64) -> Vec<f64> {
        let mut rate = base;
        let mut counter = 0u64;
        let mut used = Vec::new();
        for epoch in 0..epochs {
            for _ in 0..per_epoch {
                used.push(rate);
                rate = if epoch < warmup_end {
                    let end_step = per_epoch * warmup_end;
                    base * (counter + 1) as f64 / end_step as f64
                } else {
                    let end_step = per_epoch * epochs - per_epoch * warmup_end;
                    let count = counter.min(end_step) as f64;
                    base * 0.5 * (1.0 + (std::f64::consts::PI * count / end_step as f64).cos())
                };
                counter += 1;
            }
        }
        used
    }

    #[test]
    fn warmup_cosine_follows_the_official_s5_loop() {
        for (per_epoch, epochs, warmup_end) in [(4, 5, 1), (3, 6, 2), (5, 3, 0), (1, 2, 1)] {
            let expected = official_s5_rates(9e-4, per_epoch, epochs, warmup_end);
            let schedule = LrSchedule {
                schedule: Schedule::WarmupCosine,
                total_steps: per_epoch * epochs,
                warmup_steps: per_epoch * warmup_end,
            };
            for (step, want) in expected.iter().enumerate() {
                let got = schedule.at(9e-4, step as u64);
                assert!(
                    (got - want).abs() < 1e-15,
                    "{per_epoch}x{epochs} warm-up {warmup_end}: step {step}: {got} vs {want}"
                );
            }
        }
        // By hand, 4 steps an epoch, 1 warm-up epoch: base, base/4, base/2, 3 base/4, base, then
        // cosine from count 4 of 16.
        let s = LrSchedule { schedule: Schedule::WarmupCosine, total_steps: 20, warmup_steps: 4 };
        assert_eq!(s.at(1.0, 0), 1.0);
        assert_eq!(s.at(1.0, 1), 0.25);
        assert_eq!(s.at(1.0, 4), 1.0);
        assert!((s.at(1.0, 5) - 0.5 * (1.0 + (std::f64::consts::PI * 4.0 / 16.0).cos())).abs() < 1e-15);
        assert_eq!(s.at(1.0, 19), 0.0);
    }
}
