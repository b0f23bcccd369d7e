//! Weights in and out: our checkpoint format (safetensors + JSON config) and the official
//! PyTorch state dicts.

pub mod checkpoint;

pub use checkpoint::{read_checkpoint, write_checkpoint};
