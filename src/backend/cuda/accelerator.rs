//! `Accelerator` on a GPU (feature `cuda`): cudarc buffers on the context's default stream, cuBLAS
//! SGEMM for the products, and the kernels of `kernel_sources` compiled once by NVRTC for the
//! device's architecture. Row-major views map onto column-major cuBLAS by computing C^T = B^T A^T.
//!
//! Compiled and clippy-checked here; not yet run on a GPU (no GPU in these sessions). The same
//! device passes run on the CPU emulator's `Accelerator` in the tests.

use super::super::accelerator::{check_gemm, Accelerator, BufferId, IntBufferId, KernelArg, MatrixView};
use super::super::kernel_sources::KERNEL_SOURCES;
use super::super::launch::{DeviceLimits, LaunchConfig};
use anyhow::{anyhow, bail, Context, Result};
use cudarc::cublas::sys::cublasOperation_t;
use cudarc::cublas::{CudaBlas, Gemm, GemmConfig};
use cudarc::driver::sys::CUdevice_attribute;
use cudarc::driver::{CudaContext, CudaFunction, CudaSlice, CudaStream, PushKernelArg};
use std::collections::HashMap;
use std::sync::Arc;

pub struct CudaAccelerator {
    context: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    blas: CudaBlas,
    functions: HashMap<&'static str, CudaFunction>,
    /// None while a buffer is the output of a product in flight.
    buffers: Vec<Option<CudaSlice<f32>>>,
    ints: Vec<CudaSlice<i32>>,
    pub limits: DeviceLimits,
}

fn driver<T, E: std::fmt::Debug>(result: std::result::Result<T, E>, what: &str) -> Result<T> {
    result.map_err(|e| anyhow!("{what}: {e:?}"))
}

impl CudaAccelerator {
    /// Opens GPU `ordinal` (after probing the libraries) and compiles every kernel for it.
    pub fn open(ordinal: usize) -> Result<Self> {
        super::probe(ordinal)?;
        let context = driver(CudaContext::new(ordinal), "opening the GPU")?;
        let stream = context.default_stream();
        let blas = driver(CudaBlas::new(stream.clone()), "starting cuBLAS")?;
        let (major, _) = driver(context.compute_capability(), "reading the compute capability")?;
        // PTX for compute 8.0 runs on every 8.x GPU and 9.0 on Hopper; the driver JITs newer ones.
        let arch = match major {
            8 => "sm_80",
            m if m >= 9 => "sm_90",
            m => bail!("compute capability {m}.x: the kernels need 8.0 or newer"),
        };
        let mut functions = HashMap::new();
        for kernel in KERNEL_SOURCES {
            let options = cudarc::nvrtc::CompileOptions {
                arch: Some(arch),
                name: Some(kernel.file.to_string()),
                ..Default::default()
            };
            let ptx = driver(cudarc::nvrtc::compile_ptx_with_opts(kernel.source, options), kernel.file)?;
            let module = driver(context.load_module(ptx), kernel.file)?;
            for name in kernel.entry_points {
                functions.insert(*name, driver(module.load_function(name), name)?);
            }
        }
        let attribute = |a: CUdevice_attribute| -> Result<u32> {
            Ok(driver(context.attribute(a), "reading a device limit")?.max(0) as u32)
        };
        let limits = DeviceLimits {
            max_threads_per_block: attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK)?,
            max_shared_bytes_per_block: attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK)?,
            max_grid_x: attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X)?,
            max_grid_y: attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y)?,
        };
        Ok(Self { context, stream, blas, functions, buffers: Vec::new(), ints: Vec::new(), limits })
    }

    pub fn context(&self) -> &Arc<CudaContext> {
        &self.context
    }

    fn buffer(&self, id: BufferId) -> Result<&CudaSlice<f32>> {
        self.buffers.get(id.0).and_then(|b| b.as_ref()).with_context(|| format!("no device buffer {}", id.0))
    }
}

impl Accelerator for CudaAccelerator {
    fn clear(&mut self) {
        // Dropping a CudaSlice frees it (stream-ordered).
        self.buffers.clear();
        self.ints.clear();
    }

    fn zeros(&mut self, n: usize) -> Result<BufferId> {
        let buffer = driver(self.stream.alloc_zeros::<f32>(n.max(1)), "allocating on the GPU")?;
        self.buffers.push(Some(buffer));
        Ok(BufferId(self.buffers.len() - 1))
    }

    fn upload(&mut self, data: &[f32]) -> Result<BufferId> {
        let buffer = driver(self.stream.clone_htod(data), "copying to the GPU")?;
        self.buffers.push(Some(buffer));
        Ok(BufferId(self.buffers.len() - 1))
    }

    fn upload_ints(&mut self, data: &[i32]) -> Result<IntBufferId> {
        let buffer = driver(self.stream.clone_htod(data), "copying to the GPU")?;
        self.ints.push(buffer);
        Ok(IntBufferId(self.ints.len() - 1))
    }

    fn read(&mut self, buffer: BufferId) -> Result<Vec<f32>> {
        let slice = self.buffer(buffer)?;
        driver(self.stream.clone_dtoh(slice), "copying from the GPU")
    }

    fn gemm(&mut self, alpha: f32, a: MatrixView, b: MatrixView, beta: f32, c: MatrixView) -> Result<()> {
        let (m, n, k) = check_gemm(&a, &b, &c)?;
        if a.buffer == c.buffer || b.buffer == c.buffer {
            bail!("gemm: the output buffer is also an input");
        }
        let int = |v: usize| i32::try_from(v).map_err(|_| anyhow!("gemm size {v} exceeds cuBLAS's 32-bit sizes"));
        let op =
            |transposed: bool| if transposed { cublasOperation_t::CUBLAS_OP_T } else { cublasOperation_t::CUBLAS_OP_N };
        // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T, and a row-major buffer read
        // column-major is its transpose: so B goes first, each with its own flag.
        let config = GemmConfig {
            transa: op(b.transposed),
            transb: op(a.transposed),
            m: int(n)?,
            n: int(m)?,
            k: int(k)?,
            alpha,
            lda: int(b.ld)?,
            ldb: int(a.ld)?,
            beta,
            ldc: int(c.ld)?,
        };
        let mut out = self.buffers[c.buffer.0].take().context("gemm: output buffer missing")?;
        let result = {
            let a_view = self.buffer(a.buffer)?.slice(a.offset..);
            let b_view = self.buffer(b.buffer)?.slice(b.offset..);
            let mut c_view = out.slice_mut(c.offset..);
            // SAFETY: the views hold the shapes checked above (cuBLAS reads within ld * rows).
            unsafe { self.blas.gemm(config, &b_view, &a_view, &mut c_view) }
        };
        self.buffers[c.buffer.0] = Some(out);
        driver(result, "cuBLAS SGEMM")
    }

    fn launch(&mut self, kernel: &str, config: LaunchConfig, args: &[KernelArg]) -> Result<()> {
        let function = self.functions.get(kernel).with_context(|| format!("no kernel `{kernel}`"))?;
        let ints: Vec<i32> =
            args.iter().filter_map(|a| if let KernelArg::Int(n) = a { Some(*n) } else { None }).collect();
        let floats: Vec<f32> =
            args.iter().filter_map(|a| if let KernelArg::Float(x) = a { Some(*x) } else { None }).collect();
        let mut builder = self.stream.launch_builder(function);
        let (mut next_int, mut next_float) = (0, 0);
        for arg in args {
            match arg {
                KernelArg::Buffer(id) => {
                    let slice = self
                        .buffers
                        .get(id.0)
                        .and_then(|b| b.as_ref())
                        .with_context(|| format!("no device buffer {}", id.0))?;
                    builder.arg(slice);
                }
                KernelArg::Ints(id) => {
                    builder.arg(self.ints.get(id.0).with_context(|| format!("no device table {}", id.0))?);
                }
                KernelArg::Int(_) => {
                    builder.arg(&ints[next_int]);
                    next_int += 1;
                }
                KernelArg::Float(_) => {
                    builder.arg(&floats[next_float]);
                    next_float += 1;
                }
            }
        }
        let launch = cudarc::driver::LaunchConfig {
            grid_dim: config.grid,
            block_dim: config.block,
            shared_mem_bytes: config.shared_bytes,
        };
        // SAFETY: the arguments follow the kernel's parameter list (the device paths and the
        // emulator tests pass the same lists), and the launch configuration was checked against the
        // device's limits by `super::super::launch`.
        driver(unsafe { builder.launch(launch) }, kernel).map(|_| ())
    }
}

/// Test support: GPU 0 for the GPU tests of `what`, or None after saying SKIPPED where there is
/// no usable GPU (a failure under ELMBENCH_REQUIRE_GPU=1, as scripts/gpu_check.sh sets it).
#[cfg(test)]
pub(crate) fn gpu_for_tests(what: &str) -> Option<CudaAccelerator> {
    match CudaAccelerator::open(0) {
        Ok(acc) => Some(acc),
        Err(e) => {
            let required = std::env::var("ELMBENCH_REQUIRE_GPU").is_ok_and(|v| v == "1");
            assert!(!required, "ELMBENCH_REQUIRE_GPU=1 but no usable GPU: {e:#}");
            eprintln!("SKIPPED: no usable GPU for {what} ({e:#})");
            None
        }
    }
}
