//! Training batches from NeuronIO files with the official semantics (`neuronio_data_loader.py`):
//! a file is drawn, then a run of batches is cut from it; each batch takes `batch` different
//! simulations (no replacement within a batch) and for each a window of `window` steps whose start
//! is uniform in [ignore_start, steps - window); inputs are +1 (excitatory) or -1 (inhibitory);
//! soma targets go through `soma_training_target`.
//!
//! Unlike the official loader (which its authors call "highly nondeterministic for multiple
//! workers"), one seeded generator draws every choice in order, so a seed gives the same batches
//! whatever the thread count. Batches can be prepared on a background thread while the model
//! trains (`spawn_prefetch`) without changing which batches come out.

use super::{soma_training_target, NeuronioFile};
use crate::engine::{Rng, SparseSequences};
use anyhow::{bail, Result};
use std::sync::mpsc;
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq)]
pub struct SamplerConfig {
    pub batch: usize,
    pub window: usize,
    /// Steps at the start of each simulation never used (the official 500 ms).
    pub ignore_start: usize,
    /// Batches cut from a file before the next is drawn: the official
    /// int(file_load_fraction * sims * steps / (batch * window)).
    pub batches_per_file: usize,
    pub seed: u64,
}

impl SamplerConfig {
    /// The official settings: batch 8, 500 ms windows after the first 500 ms, load fraction 0.3.
    pub fn official(seed: u64) -> Self {
        let (batch, window) = (8, 500);
        let batches_per_file = (0.3 * (128.0 * 6000.0) / (batch * window) as f64) as usize;
        Self { batch, window, ignore_start: 500, batches_per_file, seed }
    }
}

/// One training batch.
#[derive(Clone, Debug, PartialEq)]
pub struct NeuronioBatch {
    /// Inputs (batch, window, 1278), +1 / -1 by synapse type.
    pub inputs: SparseSequences,
    /// Spike targets (batch, window), 0 or 1.
    pub spike: Vec<f32>,
    /// Soma targets (batch, window) in training units.
    pub soma: Vec<f32>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SamplerState {
    pub rng: [u64; 4],
    pub current_file: usize,
    pub left_in_file: usize,
}

pub struct NeuronioSampler {
    files: Arc<Vec<NeuronioFile>>,
    config: SamplerConfig,
    rng: Rng,
    current_file: usize,
    left_in_file: usize,
}

impl NeuronioSampler {
    pub fn new(files: Arc<Vec<NeuronioFile>>, config: SamplerConfig) -> Result<Self> {
        if files.is_empty() {
            bail!("no NeuronIO files to sample from");
        }
        for (i, f) in files.iter().enumerate() {
            if f.simulations.len() < config.batch {
                bail!("file {i} has {} simulations, fewer than the batch size {}", f.simulations.len(), config.batch);
            }
            if let Some(s) = f.simulations.iter().find(|s| s.steps() < config.ignore_start + config.window + 1) {
                bail!(
                    "file {i} has a simulation of {} steps, too short for windows of {} after {}",
                    s.steps(),
                    config.window,
                    config.ignore_start
                );
            }
        }
        if config.batches_per_file == 0 {
            bail!("batches_per_file must be at least 1");
        }
        let rng = Rng::new(config.seed);
        Ok(Self { files, config, rng, current_file: 0, left_in_file: 0 })
    }

    pub fn next_batch(&mut self) -> NeuronioBatch {
        if self.left_in_file == 0 {
            self.current_file = self.rng.below(self.files.len() as u64) as usize;
            self.left_in_file = self.config.batches_per_file;
        }
        self.left_in_file -= 1;
        let file = &self.files[self.current_file];
        let c = &self.config;
        let sims = distinct(&mut self.rng, file.simulations.len(), c.batch);
        let segments = file.segments;
        let mut row_start = Vec::with_capacity(c.batch * c.window + 1);
        let (mut feature, mut value) = (Vec::new(), Vec::new());
        let mut spike = Vec::with_capacity(c.batch * c.window);
        let mut soma = Vec::with_capacity(c.batch * c.window);
        row_start.push(0);
        for &s in &sims {
            let sim = &file.simulations[s];
            let span = sim.steps() - c.window - c.ignore_start;
            let start = c.ignore_start + self.rng.below(span as u64) as usize;
            for t in start..start + c.window {
                for &channel in sim.spikes_at(t) {
                    feature.push(channel as u32);
                    value.push(if (channel as usize) < segments { 1.0 } else { -1.0 });
                }
                row_start.push(feature.len());
                spike.push(sim.output_spike[t] as f32);
                soma.push(soma_training_target(sim.soma_mv[t]));
            }
        }
        let inputs = SparseSequences::new(c.batch, c.window, 2 * segments, row_start, feature, value);
        NeuronioBatch { inputs, spike, soma }
    }

    /// Moves the sampler to a thread that prepares the next `count` batches, keeping up to
    /// `depth` ready; the thread hands the sampler back, in the state after exactly `count`
    /// batches, so that a run can save it and resume exactly.
    pub fn spawn_prefetch(
        mut self,
        count: usize,
        depth: usize,
    ) -> (mpsc::Receiver<NeuronioBatch>, std::thread::JoinHandle<Self>) {
        let (sender, receiver) = mpsc::sync_channel(depth.max(1));
        let handle = std::thread::spawn(move || {
            for _ in 0..count {
                if sender.send(self.next_batch()).is_err() {
                    break;
                }
            }
            self
        });
        (receiver, handle)
    }

    /// What a resumed run needs to continue the same sequence of batches.
    pub fn state(&self) -> SamplerState {
        SamplerState { rng: self.rng.state(), current_file: self.current_file, left_in_file: self.left_in_file }
    }

    pub fn restore(&mut self, state: &SamplerState) -> Result<()> {
        if state.current_file >= self.files.len() {
            bail!("the saved sampler points at file {}, but there are {} files", state.current_file, self.files.len());
        }
        self.rng = Rng::from_state(state.rng);
        self.current_file = state.current_file;
        self.left_in_file = state.left_in_file;
        Ok(())
    }
}

/// `count` distinct indices below `n`, in draw order (a partial Fisher-Yates shuffle).
fn distinct(rng: &mut Rng, n: usize, count: usize) -> Vec<usize> {
    let mut pool: Vec<usize> = (0..n).collect();
    for i in 0..count {
        let j = i + rng.below((n - i) as u64) as usize;
        pool.swap(i, j);
    }
    pool.truncate(count);
    pool
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::neuronio::{Simulation, SOMA_BIAS_MV, SOMA_SCALE};

    /// A file whose every value encodes where it came from: the soma at step t of simulation s
    /// is -70 + s + t / 1000 mV, and channel (s + t) % 4 spikes at every step.
    fn coded_file(sims: usize, steps: usize) -> NeuronioFile {
        let simulations = (0..sims)
            .map(|s| {
                let mut step_start = vec![0u32];
                let mut channel = Vec::new();
                for t in 0..steps {
                    channel.push(((s + t) % 4) as u16);
                    step_start.push(channel.len() as u32);
                }
                Simulation {
                    step_start,
                    channel,
                    output_spike: (0..steps).map(|t| (t % 7 == 0) as u8).collect(),
                    soma_mv: (0..steps).map(|t| -70.0 + s as f32 + t as f32 / 1000.0).collect(),
                }
            })
            .collect();
        NeuronioFile { segments: 2, simulations, synthetic: true }
    }

    #[test]
    fn windows_and_targets_follow_the_official_rules() {
        let files = Arc::new(vec![coded_file(10, 300)]);
        let config = SamplerConfig { batch: 4, window: 50, ignore_start: 100, batches_per_file: 3, seed: 1 };
        let mut sampler = NeuronioSampler::new(files, config).unwrap();
        for _ in 0..20 {
            let b = sampler.next_batch();
            let mut seen_sims = Vec::new();
            for k in 0..4 {
                // Decode the simulation and window start from the soma values.
                let first = (b.soma[k * 50] / SOMA_SCALE) + SOMA_BIAS_MV;
                let sim = (first + 70.0).floor() as usize;
                let start = ((first + 70.0 - sim as f32) * 1000.0).round() as usize;
                assert!((100..300 - 50).contains(&start), "start {start}");
                seen_sims.push(sim);
                for t in 0..50 {
                    let step = start + t;
                    let expected_mv = (-70.0 + sim as f32 + step as f32 / 1000.0).min(-55.0);
                    assert_eq!(b.soma[k * 50 + t], soma_training_target(expected_mv));
                    assert_eq!(b.spike[k * 50 + t], step.is_multiple_of(7) as u8 as f32);
                    let row: Vec<(usize, f32)> = b.inputs.row(k * 50 + t).collect();
                    let channel = (sim + step) % 4;
                    assert_eq!(row, vec![(channel, if channel < 2 { 1.0 } else { -1.0 })]);
                }
            }
            seen_sims.sort();
            seen_sims.dedup();
            assert_eq!(seen_sims.len(), 4, "simulations repeat within a batch");
        }
    }
    #[test]
    fn soma_target_by_hand() {
        // -60 mV: (-60 + 67.7) * 0.1 = 0.77; above threshold caps at -55: 1.27.
        assert!((soma_training_target(-60.0) - 0.77).abs() < 1e-6);
        assert!((soma_training_target(20.0) - 1.27).abs() < 1e-6);
    }

    #[test]
    fn prefetching_yields_the_same_batches() {
        let files = Arc::new(vec![coded_file(10, 300), coded_file(12, 300)]);
        let config = SamplerConfig { batch: 3, window: 20, ignore_start: 10, batches_per_file: 2, seed: 9 };
        let mut direct = NeuronioSampler::new(files.clone(), config.clone()).unwrap();
        let expected: Vec<NeuronioBatch> = (0..7).map(|_| direct.next_batch()).collect();
        let (receiver, handle) = NeuronioSampler::new(files.clone(), config.clone()).unwrap().spawn_prefetch(4, 2);
        let mut got: Vec<NeuronioBatch> = (0..4).map(|_| receiver.recv().unwrap()).collect();
        let back = handle.join().unwrap();
        // Resuming from the returned state continues the same sequence.
        let mut resumed = NeuronioSampler::new(files, config).unwrap();
        resumed.restore(&back.state()).unwrap();
        got.extend((0..3).map(|_| resumed.next_batch()));
        assert_eq!(got, expected);
    }
}
