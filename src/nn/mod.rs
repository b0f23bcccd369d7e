//! Layers shared by models, each with its forward and backward pass side by side: the readout of
//! a model's per-step outputs, and the spike (with its surrogate derivative) of spiking neurons.

pub mod readout;
pub mod spike;

pub use readout::Readout;
pub use spike::{Spike, SpikeFunction};
