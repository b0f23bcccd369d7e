//! The CUDA backend's stand-in in a build without the `cuda` feature: the same names, each
//! returning an error that says how to get a CUDA build, so no call site needs a `cfg`.

use super::device::Device;
use anyhow::{bail, Result};

pub const BUILT_WITHOUT_CUDA: &str =
    "this elmbench was built without CUDA support; rebuild it with `cargo build --release --features cuda`";

pub fn probe(_ordinal: usize) -> Result<Device> {
    bail!("--device cuda: {BUILT_WITHOUT_CUDA}")
}

/// The accelerator on GPU `ordinal` and its limits.
pub fn accelerator(_ordinal: usize) -> Result<(Box<dyn super::accelerator::Accelerator>, super::launch::DeviceLimits)> {
    bail!("--device cuda: {BUILT_WITHOUT_CUDA}")
}
