//! Training: optimizers and losses (the training loop, schedules and checkpoints come with the
//! NeuronIO trainer).

pub mod adam;
pub mod loss;

pub use adam::Adam;
