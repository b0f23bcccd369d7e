//! The device side of the seam: what a model's device path asks of a GPU. Buffers of f32 (and of
//! i32 for tables) live on the device and are named by handles; the host uploads, reads back,
//! multiplies matrices and launches the kernels of `kernel_sources` by name. A model's device path
//! is written once against this trait; the CUDA backend implements it with cudarc and cuBLAS, and
//! the tests implement it with the CPU emulator of the kernels, so a whole device pass is checked
//! against the CPU model on machines without a GPU.

use super::launch::LaunchConfig;
use anyhow::Result;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferId(pub usize);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntBufferId(pub usize);

/// A row-major matrix inside a buffer: `rows x cols` starting at `offset`, rows `ld` apart;
/// `transposed` uses it as its transpose.
#[derive(Clone, Copy, Debug)]
pub struct MatrixView {
    pub buffer: BufferId,
    pub offset: usize,
    pub rows: usize,
    pub cols: usize,
    pub ld: usize,
    pub transposed: bool,
}

impl MatrixView {
    /// A whole buffer as a dense (rows, cols) matrix.
    pub fn dense(buffer: BufferId, rows: usize, cols: usize) -> Self {
        Self { buffer, offset: 0, rows, cols, ld: cols, transposed: false }
    }

    pub fn t(self) -> Self {
        Self { transposed: !self.transposed, ..self }
    }

    /// The shape as used: (rows, cols) after the transpose.
    pub fn shape(&self) -> (usize, usize) {
        if self.transposed {
            (self.cols, self.rows)
        } else {
            (self.rows, self.cols)
        }
    }
}

/// A kernel argument, in the order of the kernel's parameters.
#[derive(Clone, Copy, Debug)]
pub enum KernelArg {
    Buffer(BufferId),
    Ints(IntBufferId),
    Int(i32),
    Float(f32),
}

pub trait Accelerator: Send {
    /// Frees every buffer (a training step's buffers are dropped before the next step's).
    fn clear(&mut self);
    /// A zeroed buffer of `n` floats.
    fn zeros(&mut self, n: usize) -> Result<BufferId>;
    fn upload(&mut self, data: &[f32]) -> Result<BufferId>;
    fn upload_ints(&mut self, data: &[i32]) -> Result<IntBufferId>;
    fn read(&mut self, buffer: BufferId) -> Result<Vec<f32>>;
    /// c = alpha a b + beta c (c not transposed).
    fn gemm(&mut self, alpha: f32, a: MatrixView, b: MatrixView, beta: f32, c: MatrixView) -> Result<()>;
    fn launch(&mut self, kernel: &str, config: LaunchConfig, args: &[KernelArg]) -> Result<()>;
}

/// The shapes of a product, checked before any device work.
pub fn check_gemm(a: &MatrixView, b: &MatrixView, c: &MatrixView) -> Result<(usize, usize, usize)> {
    let ((m, k), (k2, n)) = (a.shape(), b.shape());
    if k != k2 || c.shape() != (m, n) || c.transposed {
        anyhow::bail!("gemm shapes: ({m}, {k}) x ({k2}, {n}) into {:?}", c.shape());
    }
    Ok((m, n, k))
}

/// A size as the kernels' 32-bit int, or an error naming it.
pub fn kernel_int(n: usize) -> Result<i32> {
    i32::try_from(n).map_err(|_| anyhow::anyhow!("{n} exceeds the kernels' 32-bit sizes"))
}

/// Column sums of a dense (rows, cols) device matrix (bias gradients), read back.
pub fn column_sums(acc: &mut dyn Accelerator, x: BufferId, rows: usize, cols: usize) -> Result<Vec<f32>> {
    let sums = acc.zeros(cols)?;
    acc.launch(
        "column_sums",
        super::launch::column_sums(cols),
        &[
            KernelArg::Buffer(x),
            KernelArg::Int(kernel_int(rows)?),
            KernelArg::Int(kernel_int(cols)?),
            KernelArg::Buffer(sums),
            KernelArg::Int(0),
        ],
    )?;
    acc.read(sums)
}

/// y (rows, cols) += bias on every row, on the device.
pub fn add_bias_rows(acc: &mut dyn Accelerator, y: BufferId, bias: BufferId, rows: usize, cols: usize) -> Result<()> {
    acc.launch(
        "add_bias_rows",
        super::launch::elementwise(rows * cols),
        &[
            KernelArg::Buffer(y),
            KernelArg::Buffer(bias),
            KernelArg::Int(kernel_int(rows)?),
            KernelArg::Int(kernel_int(cols)?),
        ],
    )
}

/// y (rows, out) = x W + bias on the device, for x (rows, features) and `weight` used as a
/// (features, out) matrix (`MatrixView::t()` of a PyTorch (out, features) weight): the affine
/// layers of every model's device path.
pub fn linear(
    acc: &mut dyn Accelerator,
    x: BufferId,
    rows: usize,
    features: usize,
    weight: MatrixView,
    bias: &[f32],
) -> Result<BufferId> {
    let out = weight.shape().1;
    let y = acc.zeros(rows * out)?;
    acc.gemm(1.0, MatrixView::dense(x, rows, features), weight, 0.0, MatrixView::dense(y, rows, out))?;
    let bias = acc.upload(bias)?;
    add_bias_rows(acc, y, bias, rows, out)?;
    Ok(y)
}
