//! Layers shared by models, each with its forward and backward pass side by side.

pub mod readout;

pub use readout::Readout;
