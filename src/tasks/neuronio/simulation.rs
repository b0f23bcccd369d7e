//! A parsed NeuronIO file, kept sparse: what the official parser returns as dense arrays
//! (X[1278, 6000, sims] bool, y_spike[6000, sims], y_soma[6000, sims]).

/// One simulation.
#[derive(Clone, Debug, PartialEq)]
pub struct Simulation {
    /// Input spikes by time step: the channels that spiked at step t are
    /// `channel[step_start[t]..step_start[t + 1]]`, sorted and without repeats (the official input
    /// matrix is boolean). Channels 0..segments are excitatory, segments..2*segments inhibitory.
    pub step_start: Vec<u32>,
    pub channel: Vec<u16>,
    /// 1 at the steps where the soma spiked (the official `int(t - 0.5)` binning).
    pub output_spike: Vec<u8>,
    /// Soma voltage in mV, one value per step (float16 in the file, exact in f32).
    pub soma_mv: Vec<f32>,
}

impl Simulation {
    pub fn steps(&self) -> usize {
        self.soma_mv.len()
    }

    /// Channels that spiked at step t.
    pub fn spikes_at(&self, t: usize) -> &[u16] {
        &self.channel[self.step_start[t] as usize..self.step_start[t + 1] as usize]
    }
}

/// A parsed file.
#[derive(Clone, Debug, PartialEq)]
pub struct NeuronioFile {
    /// Dendritic segments (inputs = 2 x segments).
    pub segments: usize,
    pub simulations: Vec<Simulation>,
    /// Written by `elmbench synth` (its `Params['elmbenchSynthetic']`), not by the real simulator.
    pub synthetic: bool,
}

impl NeuronioFile {
    pub fn num_inputs(&self) -> usize {
        2 * self.segments
    }
}
