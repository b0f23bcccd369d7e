//! Datasets: one module per family, each with its real-format reader and its synthetic surrogate.

pub mod neuronio;
