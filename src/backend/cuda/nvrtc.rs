//! Compiling the embedded kernels with NVRTC, for a GPU at run time and for the no-GPU check
//! that every kernel compiles and assembles for the architectures we support.

use super::super::kernel_sources::KernelSource;
use anyhow::{bail, Result};

/// The architectures every kernel must compile and assemble for: A100 and H100/H200.
pub const ARCHITECTURES: [&str; 2] = ["sm_80", "sm_90"];

/// Whether NVRTC can be loaded (cudarc panics on first use otherwise).
pub fn nvrtc_present() -> bool {
    // SAFETY: only tries to load the library.
    unsafe { cudarc::nvrtc::sys::is_culib_present() }
}

/// PTX of one source for `arch`. NVRTC's own ptxas runs too, so an error in either is an error
/// here, with NVRTC's log.
pub fn compile(kernel: &KernelSource, arch: &'static str) -> Result<String> {
    if !nvrtc_present() {
        bail!("NVRTC (libnvrtc.so.12) could not be loaded");
    }
    let options =
        cudarc::nvrtc::CompileOptions { arch: Some(arch), name: Some(kernel.file.to_string()), ..Default::default() };
    match cudarc::nvrtc::compile_ptx_with_opts(kernel.source, options) {
        Ok(ptx) => Ok(ptx.to_src()),
        Err(error) => bail!("{} for {arch}: {error:?}", kernel.file),
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::kernel_sources::{KernelSource, KERNEL_SOURCES};
    use super::*;
    use std::path::PathBuf;

    /// CI installs NVIDIA's wheels and sets this: then a missing NVRTC or ptxas is a failure.
    const REQUIRE: &str = "ELMBENCH_REQUIRE_NVRTC";

    fn required() -> bool {
        std::env::var(REQUIRE).is_ok_and(|v| v == "1")
    }

    fn skip_or_fail(what: &str) {
        assert!(!required(), "{REQUIRE}=1 but {what}");
        eprintln!("SKIPPED: {what} (CI installs NVIDIA's wheels; see .ci/run)");
    }

    /// ptxas from $ELMBENCH_PTXAS, else PATH.
    fn ptxas() -> Option<PathBuf> {
        if let Some(path) = std::env::var_os("ELMBENCH_PTXAS") {
            return Some(PathBuf::from(path));
        }
        let found = std::process::Command::new("ptxas").arg("--version").output().is_ok_and(|o| o.status.success());
        found.then(|| PathBuf::from("ptxas"))
    }

    /// ptxas's verbose report: one (function, registers, shared bytes) per kernel.
    fn assemble(ptxas: &PathBuf, ptx: &str, arch: &str) -> Vec<(String, u32, u32)> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kernel.ptx");
        std::fs::write(&file, ptx).unwrap();
        let out = std::process::Command::new(ptxas)
            .args([&format!("-arch={arch}"), "-v", "-o"])
            .arg(dir.path().join("kernel.cubin"))
            .arg(&file)
            .output()
            .expect("running ptxas");
        let log = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "ptxas -arch={arch} failed:\n{log}");
        let mut report = Vec::new();
        let mut function = String::new();
        for line in log.lines() {
            if let Some(rest) = line.split("Compiling entry function '").nth(1) {
                function = rest.split('\'').next().unwrap_or_default().to_string();
            }
            if let Some(rest) = line.split("Used ").nth(1) {
                let registers = rest.split(' ').next().and_then(|n| n.parse().ok()).unwrap_or(0);
                let shared = line
                    .split(", ")
                    .find(|part| part.ends_with("bytes smem"))
                    .and_then(|part| part.split(' ').next())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                report.push((function.clone(), registers, shared));
            }
        }
        report
    }

    #[test]
    fn every_kernel_compiles_with_nvrtc_and_assembles_for_sm80_and_sm90() {
        if !nvrtc_present() {
            return skip_or_fail("NVRTC (libnvrtc.so.12) is not on the library path");
        }
        let ptxas = ptxas();
        if ptxas.is_none() {
            skip_or_fail("ptxas is neither $ELMBENCH_PTXAS nor on PATH; compiling with NVRTC only");
        }
        eprintln!("| kernel | arch | registers | static shared bytes |\n|---|---|---|---|");
        for kernel in KERNEL_SOURCES {
            for arch in ARCHITECTURES {
                let ptx = compile(kernel, arch).unwrap_or_else(|e| panic!("{e:#}"));
                for name in kernel.entry_points {
                    assert!(ptx.contains(&format!(".entry {name}(")), "{name} missing from the PTX of {}", kernel.file);
                }
                if let Some(ptxas) = &ptxas {
                    let report = assemble(ptxas, &ptx, arch);
                    for name in kernel.entry_points {
                        let (_, registers, shared) = report
                            .iter()
                            .find(|(f, _, _)| f == name)
                            .unwrap_or_else(|| panic!("ptxas reported nothing for {name}: {report:?}"));
                        eprintln!("| {name} | {arch} | {registers} | {shared} |");
                        // 255 is the hardware's cap; a kernel at it spills.
                        assert!(*registers < 255, "{name} uses {registers} registers on {arch}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_broken_kernel_fails_the_same_check() {
        if !nvrtc_present() {
            return skip_or_fail("NVRTC (libnvrtc.so.12) is not on the library path");
        }
        let broken = KernelSource {
            file: "broken.cu",
            source: "extern \"C\" __global__ void broken(float* x) { x[0] = undefined_name; }\n",
            entry_points: &["broken"],
            cpu_twin: "none",
        };
        let error = compile(&broken, "sm_80").unwrap_err().to_string();
        assert!(error.contains("broken.cu") && error.contains("undefined_name"), "{error}");
    }
}
