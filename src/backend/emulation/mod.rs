//! Test support: the CUDA kernels run on the CPU (`threads.cpp`: a thread per GPU thread, a
//! barrier per __syncthreads), so each kernel is compared with its CPU twin on machines without a
//! GPU. It checks the kernels' arithmetic and indexing; GPU behaviour needs a GPU.
//!
//! Needs a C++20 compiler (`g++`, or $CXX); without one the tests say SKIPPED, unless
//! ELMBENCH_REQUIRE_CXX=1, where they fail.

pub mod accelerator;

use super::launch::LaunchConfig;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// One argument of a kernel, in its order.
pub enum Arg<'a> {
    /// A float buffer, written back after the launch.
    F32(&'a mut [f32]),
    I32(&'a [i32]),
    Int(i64),
    Float(f32),
}

fn kernels_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/backend/kernels")
}

/// The emulator binary, compiled once per test process; None (after saying SKIPPED) without a
/// C++ compiler.
pub fn emulator() -> Option<&'static Path> {
    static BINARY: OnceLock<Option<(tempfile::TempDir, PathBuf)>> = OnceLock::new();
    let built = BINARY.get_or_init(|| {
        let compiler = std::env::var("CXX").unwrap_or_else(|_| "g++".into());
        let dir = tempfile::tempdir().unwrap();
        let binary = dir.path().join("emulate");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/backend/emulation/threads.cpp");
        // No contraction of a*b+c into fused multiply-adds, as Rust (and NVRTC with --fmad=false)
        // would not: the kernels' explicit fmaf calls are the only fused operations.
        let out = Command::new(&compiler)
            .args(["-std=c++20", "-O2", "-pthread", "-ffp-contract=off", "-I"])
            .arg(kernels_dir())
            .arg(&source)
            .arg("-o")
            .arg(&binary)
            .output();
        match out {
            Ok(o) if o.status.success() => Some((dir, binary)),
            Ok(o) => panic!("{compiler} failed to build the kernel emulator:\n{}", String::from_utf8_lossy(&o.stderr)),
            Err(e) => {
                let require = std::env::var("ELMBENCH_REQUIRE_CXX").is_ok_and(|v| v == "1");
                assert!(!require, "ELMBENCH_REQUIRE_CXX=1 but {compiler} cannot run: {e}");
                eprintln!("SKIPPED: the CUDA kernels' CPU emulation needs a C++20 compiler ({compiler}: {e})");
                None
            }
        }
    });
    built.as_ref().map(|(_, binary)| binary.as_path())
}

/// Runs `kernel` with `launch` on the CPU; float buffers come back changed.
pub fn run(emulator: &Path, kernel: &str, launch: LaunchConfig, args: &mut [Arg]) {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(emulator);
    command.arg(kernel);
    for n in [launch.grid.0, launch.grid.1, launch.block.0, launch.shared_bytes] {
        command.arg(n.to_string());
    }
    assert_eq!((launch.grid.2, launch.block.1, launch.block.2), (1, 1, 1), "the emulator runs 2-D grids of 1-D blocks");
    for (k, arg) in args.iter().enumerate() {
        let path = dir.path().join(format!("{k}.bin"));
        match arg {
            Arg::F32(values) => {
                std::fs::write(&path, values.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
                command.arg(format!("f:{}", path.display()));
            }
            Arg::I32(values) => {
                std::fs::write(&path, values.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
                command.arg(format!("i:{}", path.display()));
            }
            Arg::Int(n) => {
                command.arg(format!("n:{n}"));
            }
            Arg::Float(x) => {
                command.arg(format!("x:{x:e}"));
            }
        }
    }
    let out = command.output().unwrap();
    assert!(out.status.success(), "emulating {kernel}: {}", String::from_utf8_lossy(&out.stderr));
    for (k, arg) in args.iter_mut().enumerate() {
        if let Arg::F32(values) = arg {
            let bytes = std::fs::read(dir.path().join(format!("{k}.bin"))).unwrap();
            assert_eq!(bytes.len(), values.len() * 4, "{kernel} argument {k} changed size");
            for (v, b) in values.iter_mut().zip(bytes.chunks_exact(4)) {
                *v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
        }
    }
}

/// Seeded uniform values in [lo, hi).
pub fn uniform(n: usize, lo: f32, hi: f32, seed: u64) -> Vec<f32> {
    let mut rng = crate::engine::Rng::new(seed);
    (0..n).map(|_| rng.uniform(lo, hi)).collect()
}

pub use super::compare::error_relative_to_largest;

/// max |a - b| / max(1, |b|) over the elements.
pub fn max_error(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(a, b)| (a - b).abs() / b.abs().max(1.0)).fold(0.0, f32::max)
}

#[cfg(test)]
mod tests {
    use super::super::launch;
    use super::*;

    #[test]
    fn leaky_scans_match_the_recurrence_and_its_adjoint() {
        let Some(emulator) = emulator() else { return };
        let (batch, time, channels) = (3, 9, 200);
        let x = uniform(batch * time * channels, -1.0, 1.0, 1);
        let kappa = uniform(channels, 0.5, 0.99, 2);
        let mut y = vec![0.0; x.len()];
        let config = launch::leaky_scan(batch, channels, &Default::default()).unwrap();
        let mut x_arg = x.clone();
        let mut kappa_arg = kappa.clone();
        run(
            emulator,
            "leaky_scan_forward",
            config,
            &mut [
                Arg::F32(&mut x_arg),
                Arg::F32(&mut kappa_arg),
                Arg::Int(batch as i64),
                Arg::Int(time as i64),
                Arg::Int(channels as i64),
                Arg::F32(&mut y),
                Arg::Int(channels as i64),
                Arg::Int(channels as i64),
            ],
        );
        // y_t = kappa y_{t-1} + x_t, by the formula.
        let mut expected = vec![0.0f32; x.len()];
        for b in 0..batch {
            for c in 0..channels {
                let mut state = 0.0f32;
                for t in 0..time {
                    let i = (b * time + t) * channels + c;
                    state = kappa[c].mul_add(state, x[i]);
                    expected[i] = state;
                }
            }
        }
        assert_eq!(y, expected);
        // The adjoint: dx_t = dy_t + kappa dx_{t+1}; d/d kappa = sum_t dx_t y_{t-1}.
        let mut dy = uniform(x.len(), -1.0, 1.0, 3);
        let mut dx = vec![0.0; x.len()];
        let mut parts = vec![0.0; batch * channels];
        run(
            emulator,
            "leaky_scan_backward",
            config,
            &mut [
                Arg::F32(&mut dy),
                Arg::F32(&mut y),
                Arg::F32(&mut kappa_arg),
                Arg::Int(batch as i64),
                Arg::Int(time as i64),
                Arg::Int(channels as i64),
                Arg::F32(&mut dx),
                Arg::F32(&mut parts),
                Arg::Int(channels as i64),
                Arg::Int(channels as i64),
                Arg::Int(channels as i64),
            ],
        );
        for b in 0..batch {
            for c in 0..channels {
                let (mut carry, mut dk) = (0.0f32, 0.0f32);
                for t in (0..time).rev() {
                    let i = (b * time + t) * channels + c;
                    carry = kappa[c].mul_add(carry, dy[i]);
                    assert_eq!(dx[i], carry);
                    if t > 0 {
                        dk = carry.mul_add(y[i - channels], dk);
                    }
                }
                assert_eq!(parts[b * channels + c], dk);
            }
        }
    }

    #[test]
    fn the_optimizer_kernel_takes_the_cpu_optimizers_steps() {
        use crate::engine::{ParamSet, Tensor};
        use crate::train::optimizer::{Optimizer, OptimizerKind};
        let Some(emulator) = emulator() else { return };
        for (code, kind) in [(0, OptimizerKind::Adam), (1, OptimizerKind::Adamw), (2, OptimizerKind::Adamax)] {
            let n = 700;
            let mut params = ParamSet::default();
            params.push("w", Tensor::from_vec(&[n], uniform(n, -1.0, 1.0, 5)).unwrap(), true);
            let mut cpu = Optimizer::new(kind, &params, 0.01);
            let (mut p, mut m, mut v) = (params.get(0).data().to_vec(), vec![0.0; n], vec![0.0; n]);
            for step in 1..=3u64 {
                let grad = uniform(n, -2.0, 2.0, 10 + step);
                cpu.step(&mut params, &[Tensor::from_vec(&[n], grad.clone()).unwrap()]);
                let bias_correction1 = 1.0 - cpu.beta1.powi(step as i32);
                let bias_correction2_sqrt = (1.0 - cpu.beta2.powi(step as i32)).sqrt();
                let mut grad = grad;
                run(
                    emulator,
                    "optimizer_step",
                    launch::elementwise(n),
                    &mut [
                        Arg::F32(&mut p),
                        Arg::F32(&mut grad),
                        Arg::F32(&mut m),
                        Arg::F32(&mut v),
                        Arg::Int(n as i64),
                        Arg::Int(code),
                        Arg::Float(cpu.beta1),
                        Arg::Float(cpu.beta2),
                        Arg::Float(cpu.eps),
                        Arg::Float(cpu.lr / bias_correction1),
                        Arg::Float(bias_correction2_sqrt),
                        Arg::Float(1.0 - cpu.lr * cpu.weight_decay),
                    ],
                );
            }
            // The same operations in the same order: the same bits.
            assert_eq!(p, params.get(0).data(), "{kind:?}");
            let (first, second) = cpu.moments();
            assert_eq!((&m, &v), (&first[0], &second[0]), "{kind:?}");
        }
    }

    #[test]
    fn column_sums_and_bias_rows() {
        let Some(emulator) = emulator() else { return };
        let (rows, cols) = (37, 300);
        let mut x = uniform(rows * cols, -1.0, 1.0, 7);
        let mut out = vec![0.5; cols];
        run(
            emulator,
            "column_sums",
            launch::column_sums(cols),
            &mut [Arg::F32(&mut x), Arg::Int(rows as i64), Arg::Int(cols as i64), Arg::F32(&mut out), Arg::Int(1)],
        );
        for c in 0..cols {
            let sum = (0..rows).fold(0.0f32, |s, r| s + x[r * cols + c]);
            assert_eq!(out[c], 0.5 + sum);
        }
        let mut bias = uniform(cols, -1.0, 1.0, 8);
        let before = x.clone();
        run(
            emulator,
            "add_bias_rows",
            launch::elementwise(rows * cols),
            &mut [Arg::F32(&mut x), Arg::F32(&mut bias), Arg::Int(rows as i64), Arg::Int(cols as i64)],
        );
        for (i, (after, before)) in x.iter().zip(&before).enumerate() {
            assert_eq!(*after, before + bias[i % cols]);
        }
    }
}
