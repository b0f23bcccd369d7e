//! Where model math runs. `device` resolves `--device cpu|cuda|auto`; the CPU backend is the
//! engine in `crate::engine` (rayon + GEMM on host slices); `cuda` is the CUDA backend (feature
//! `cuda`: cudarc, NVRTC-compiled kernels from `kernel_sources`, cuBLAS), or, without the
//! feature, a stand-in with the same names that says the build has no CUDA. `launch` computes
//! the kernels' launch configurations in plain, unit-tested Rust. `accelerator` is what a model's
//! device passes ask of a GPU (each model's `device.rs`, put behind the trainer by
//! `models::on_device`); `staging` puts a batch's non-zeros on the device; `compare` is how
//! device results are judged against the CPU's.

pub mod accelerator;
pub mod compare;
pub mod device;
pub mod elm_layout;
pub mod kernel_sources;
pub mod launch;
pub mod staging;

/// The kernels run on the CPU against their twins (tests only).
#[cfg(test)]
pub(crate) mod emulation;

#[cfg(feature = "cuda")]
pub mod cuda;
#[cfg(not(feature = "cuda"))]
#[path = "cuda_absent.rs"]
pub mod cuda;

pub use device::{select, Device, DeviceChoice};

use anyhow::{bail, Result};

/// The model kinds with a device path (`SequenceModel::on_accelerator`), forward and backward.
/// Their kernels are compiled and assembled in CI and checked on the CPU emulator of the kernels;
/// on a GPU each run verifies its first step against the CPU model (`models::on_device`) before
/// it trusts the device. Other kinds are refused by name rather than silently run on the CPU.
pub const CUDA_MODELS: &[&str] =
    &["elm", "branch-elm", "lstm", "chrono-lstm", "lif", "alif", "tcn", "snn", "s5", "two-tower"];

/// Whether `device` can run a model of `kind`.
pub fn check_runs_on(device: &Device, kind: &str) -> Result<()> {
    if device.is_cuda() && !CUDA_MODELS.contains(&kind) {
        bail!(
            "{}: the CUDA backend does not run model `{kind}` yet (use --device cpu, or auto, which falls back to the CPU)",
            device.describe()
        );
    }
    Ok(())
}

/// `auto` after a model is known: the CUDA device when it runs the model, else the CPU, saying so.
pub fn for_model(choice: DeviceChoice, kind: &str) -> Result<Device> {
    let device = select(choice)?;
    if choice == DeviceChoice::Auto && check_runs_on(&device, kind).is_err() {
        eprintln!("--device auto: the CUDA backend does not run `{kind}` yet; using the CPU");
        return Ok(Device::Cpu);
    }
    check_runs_on(&device, kind)?;
    Ok(device)
}
