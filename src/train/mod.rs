//! Training: the one loop for every task and model, its configuration, optimizers, schedules,
//! losses and the saved state that makes a run resumable.

pub mod config;
pub mod loss;
pub mod optimizer;
pub mod schedule;
pub mod state;
pub mod trainer;

pub use config::{TrainConfig, TrainSettings};
pub use optimizer::{Optimizer, OptimizerKind};
pub use schedule::CosineAnnealing;
pub use state::RunStatus;
pub use trainer::{evaluate_split, train, RunResult, TrainOptions};
