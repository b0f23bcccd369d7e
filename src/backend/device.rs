//! Which device a command computes on: `--device cpu|cuda|auto`, resolved once at the start of
//! a command into a `Device` that says what it is (recorded in result.json and runs.csv).
//!
//! `cuda` is strict: without a usable GPU (no driver, no NVRTC or cuBLAS library, no device, or a
//! binary built without the `cuda` feature) it is an error that says which. `auto` takes the GPU
//! when it is usable and the CPU otherwise, and says which it took and why.

use anyhow::Result;
use clap::ValueEnum;

/// What the user asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum DeviceChoice {
    #[default]
    Cpu,
    Cuda,
    /// CUDA when a usable GPU is present, else the CPU.
    Auto,
}

/// Where model math runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Device {
    Cpu,
    Cuda {
        ordinal: usize,
        /// The GPU's name as the driver reports it (`NVIDIA H200`).
        name: String,
    },
}

impl Device {
    /// The short name recorded with results: `cpu`, `cuda:0`.
    pub fn label(&self) -> String {
        match self {
            Device::Cpu => "cpu".into(),
            Device::Cuda { ordinal, .. } => format!("cuda:{ordinal}"),
        }
    }

    /// The label with the GPU's name, for logs.
    pub fn describe(&self) -> String {
        match self {
            Device::Cpu => format!("cpu ({} threads)", rayon::current_num_threads()),
            Device::Cuda { ordinal, name } => format!("cuda:{ordinal} ({name})"),
        }
    }

    pub fn is_cuda(&self) -> bool {
        matches!(self, Device::Cuda { .. })
    }
}

/// Resolves a choice. `auto` never fails: it reports on stderr which device it took.
pub fn select(choice: DeviceChoice) -> Result<Device> {
    match choice {
        DeviceChoice::Cpu => Ok(Device::Cpu),
        DeviceChoice::Cuda => super::cuda::probe(0),
        DeviceChoice::Auto => match super::cuda::probe(0) {
            Ok(device) => {
                eprintln!("--device auto: using {}", device.describe());
                Ok(device)
            }
            Err(why) => {
                eprintln!("--device auto: using the CPU ({why:#})");
                Ok(Device::Cpu)
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_name_the_device() {
        assert_eq!(Device::Cpu.label(), "cpu");
        let gpu = Device::Cuda { ordinal: 1, name: "NVIDIA H200".into() };
        assert_eq!(gpu.label(), "cuda:1");
        assert_eq!(gpu.describe(), "cuda:1 (NVIDIA H200)");
    }

    #[test]
    fn auto_falls_back_to_the_cpu_where_cuda_is_unusable() {
        // This holds on any machine: either CUDA is usable (and auto picks it) or it is not (and
        // auto picks the CPU, where strict `cuda` fails).
        let auto = select(DeviceChoice::Auto).unwrap();
        match select(DeviceChoice::Cuda) {
            Ok(device) => assert_eq!(auto, device),
            Err(_) => assert_eq!(auto, Device::Cpu),
        }
    }
}
