//! The CUDA backend (feature `cuda`): cudarc with dynamic loading, so elmbench builds with no
//! CUDA toolkit and finds the driver, NVRTC and cuBLAS at run time; kernels are the embedded
//! sources of `super::kernel_sources`, compiled by NVRTC.
//!
//! cudarc panics when a library it needs cannot be loaded, so every entry point probes the
//! libraries first and turns their absence into an error that says which one is missing.

pub mod accelerator;
pub mod nvrtc;

use super::device::Device;
use anyhow::{bail, Context, Result};

/// Each library the backend loads, its probe, and what to tell a user who lacks it.
fn missing_library() -> Option<&'static str> {
    // SAFETY: each probe only tries to dlopen the library (and closes nothing cudarc uses later).
    unsafe {
        if !cudarc::driver::sys::is_culib_present() {
            return Some("no CUDA driver: libcuda.so could not be loaded (is an NVIDIA driver installed?)");
        }
        if !cudarc::nvrtc::sys::is_culib_present() {
            return Some(
                "NVRTC (libnvrtc.so.12) could not be loaded: install CUDA 12's NVRTC (the CUDA toolkit, or \
                 `pip install nvidia-cuda-nvrtc-cu12` with its lib folder on LD_LIBRARY_PATH)",
            );
        }
        if !cudarc::cublas::sys::is_culib_present() {
            return Some(
                "cuBLAS (libcublas.so.12) could not be loaded: install CUDA 12's cuBLAS (the CUDA toolkit, \
                 or `pip install nvidia-cublas-cu12` with its lib folder on LD_LIBRARY_PATH)",
            );
        }
    }
    None
}

/// The GPU `ordinal`, if the driver, NVRTC and cuBLAS load and the device exists.
pub fn probe(ordinal: usize) -> Result<Device> {
    if let Some(why) = missing_library() {
        bail!("--device cuda: {why}");
    }
    cudarc::driver::result::init().context("--device cuda: the CUDA driver failed to initialise")?;
    let count = cudarc::driver::result::device::get_count().context("--device cuda: counting GPUs")?;
    if count <= 0 {
        bail!("--device cuda: the CUDA driver loaded but reports no GPU");
    }
    if ordinal >= count as usize {
        bail!("--device cuda: GPU {ordinal} requested, the driver reports {count}");
    }
    let context =
        cudarc::driver::CudaContext::new(ordinal).with_context(|| format!("--device cuda: opening GPU {ordinal}"))?;
    let name = context.name().unwrap_or_else(|_| "unknown GPU".into());
    Ok(Device::Cuda { ordinal, name })
}

/// The accelerator on GPU `ordinal` (kernels compiled for it) and its limits.
pub fn accelerator(ordinal: usize) -> Result<(Box<dyn super::accelerator::Accelerator>, super::launch::DeviceLimits)> {
    let accelerator = accelerator::CudaAccelerator::open(ordinal)?;
    let limits = accelerator.limits;
    Ok((Box::new(accelerator), limits))
}
