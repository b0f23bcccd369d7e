//! Training: optimizers, losses, schedules, the training configuration and the NeuronIO trainer.

pub mod adam;
pub mod config;
pub mod loss;
pub mod neuronio_loss;
pub mod neuronio_trainer;
pub mod schedule;

pub use adam::Adam;
pub use neuronio_loss::neuronio_loss;
pub use schedule::CosineAnnealing;
