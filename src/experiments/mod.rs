//! Declarative experiments (`benchmarks/*.toml`): plan the runs of a table or figure at a tier,
//! run them, assemble results, plot, and check them against golden files.

pub mod assembly;
pub mod paper_table;
pub mod plan;
pub mod plots;
pub mod results;
pub mod runner;
pub mod slurm;
pub mod spec;

pub use plan::{plan, Plan, RunSpec};
pub use spec::ExperimentSpec;
