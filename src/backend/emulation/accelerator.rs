//! `Accelerator` on the CPU: buffers are host vectors, products use the CPU engine's GEMM, and
//! kernels run in the emulator (`super::run`). Test support: it lets a model's device path run
//! whole on a machine without a GPU.

use super::super::accelerator::{check_gemm, Accelerator, BufferId, IntBufferId, KernelArg, MatrixView};
use super::super::launch::LaunchConfig;
use super::{run, Arg};
use crate::engine::{gemm, MatMut, MatRef};
use anyhow::Result;
use std::path::Path;

pub struct EmulatedAccelerator {
    emulator: &'static Path,
    buffers: Vec<Vec<f32>>,
    ints: Vec<Vec<i32>>,
}

impl EmulatedAccelerator {
    pub fn new(emulator: &'static Path) -> Self {
        Self { emulator, buffers: Vec::new(), ints: Vec::new() }
    }
}

fn view<'a>(data: &'a [f32], v: &MatrixView) -> MatRef<'a> {
    let m = MatRef::with_row_stride(&data[v.offset..], v.rows, v.cols, v.ld);
    if v.transposed {
        m.t()
    } else {
        m
    }
}

impl Accelerator for EmulatedAccelerator {
    fn clear(&mut self) {
        self.buffers.clear();
        self.ints.clear();
    }

    fn zeros(&mut self, n: usize) -> Result<BufferId> {
        self.buffers.push(vec![0.0; n]);
        Ok(BufferId(self.buffers.len() - 1))
    }

    fn upload(&mut self, data: &[f32]) -> Result<BufferId> {
        self.buffers.push(data.to_vec());
        Ok(BufferId(self.buffers.len() - 1))
    }

    fn upload_ints(&mut self, data: &[i32]) -> Result<IntBufferId> {
        self.ints.push(data.to_vec());
        Ok(IntBufferId(self.ints.len() - 1))
    }

    fn read(&mut self, buffer: BufferId) -> Result<Vec<f32>> {
        Ok(self.buffers[buffer.0].clone())
    }

    fn gemm(&mut self, alpha: f32, a: MatrixView, b: MatrixView, beta: f32, c: MatrixView) -> Result<()> {
        check_gemm(&a, &b, &c)?;
        // The output is taken out while the inputs are borrowed (they may share its buffer only
        // if they do not overlap it, as on a GPU).
        let mut out = std::mem::take(&mut self.buffers[c.buffer.0]);
        {
            let same = |id: BufferId| id == c.buffer;
            let a_data = if same(a.buffer) { out.clone() } else { self.buffers[a.buffer.0].clone() };
            let b_data = if same(b.buffer) { out.clone() } else { self.buffers[b.buffer.0].clone() };
            let target = MatMut::with_row_stride(&mut out[c.offset..], c.rows, c.cols, c.ld);
            gemm(alpha, view(&a_data, &a), view(&b_data, &b), beta, target);
        }
        self.buffers[c.buffer.0] = out;
        Ok(())
    }

    fn launch(&mut self, kernel: &str, config: LaunchConfig, args: &[KernelArg]) -> Result<()> {
        // Each buffer is taken out of the store for the launch and put back after it.
        let mut taken: Vec<(usize, Vec<f32>)> = Vec::new();
        for arg in args {
            if let KernelArg::Buffer(id) = arg {
                if taken.iter().any(|(i, _)| *i == id.0) {
                    anyhow::bail!("{kernel}: buffer {} passed twice", id.0);
                }
                taken.push((id.0, std::mem::take(&mut self.buffers[id.0])));
            }
        }
        {
            let mut buffers = taken.iter_mut().map(|(_, v)| v.as_mut_slice());
            let mut emulator_args = Vec::new();
            for arg in args {
                emulator_args.push(match arg {
                    KernelArg::Buffer(_) => Arg::F32(buffers.next().expect("one per buffer argument")),
                    KernelArg::Ints(id) => Arg::I32(&self.ints[id.0]),
                    KernelArg::Int(n) => Arg::Int(*n as i64),
                    KernelArg::Float(x) => Arg::Float(*x),
                });
            }
            run(self.emulator, kernel, config, &mut emulator_args);
        }
        for (i, v) in taken {
            self.buffers[i] = v;
        }
        Ok(())
    }
}
