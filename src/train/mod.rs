//! Training: optimizers and losses (the training loop, schedules and checkpoints come with the
//! NeuronIO trainer).

pub mod adam;
pub mod loss;
pub mod neuronio_loss;
pub mod schedule;

pub use adam::Adam;
pub use neuronio_loss::neuronio_loss;
pub use schedule::CosineAnnealing;
