//! General matrix multiply over strided f32 views, backed by the `gemm` crate.
//!
//! The crate was chosen by the criterion benchmark in `benches/gemm_choice.rs` on the shapes ELM
//! needs (README, design notes): `gemm` beat `matrixmultiply` on all of them, by 1.1x to 2x. Both
//! take arbitrary row and column strides, so a transpose is a view, never a copy.
//!
//! Large products are split into fixed blocks of output rows, each computed by a single-threaded
//! GEMM, and the blocks run in parallel. The split depends only on the shape, never on the thread
//! count, so every output element is summed in the same order whatever the thread count: a seed
//! reproduces bit for bit.

use rayon::prelude::*;

/// A read-only strided matrix view.
#[derive(Clone, Copy)]
pub struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

/// A writable row-major matrix view.
pub struct MatMut<'a> {
    data: &'a mut [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
}

impl<'a> MatRef<'a> {
    /// A row-major `rows x cols` matrix stored densely in `data`.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        assert!(data.len() >= rows * cols, "matrix view {rows}x{cols} over {} values", data.len());
        Self { data, rows, cols, row_stride: cols, col_stride: 1 }
    }

    /// The first `cols` columns of a row-major matrix whose rows are `row_stride` apart.
    pub fn with_row_stride(data: &'a [f32], rows: usize, cols: usize, row_stride: usize) -> Self {
        assert!(cols <= row_stride || rows <= 1);
        assert!(rows == 0 || data.len() >= (rows - 1) * row_stride + cols);
        Self { data, rows, cols, row_stride, col_stride: 1 }
    }

    /// The transpose, as a view.
    pub fn t(self) -> Self {
        Self {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }
}

impl<'a> MatMut<'a> {
    pub fn new(data: &'a mut [f32], rows: usize, cols: usize) -> Self {
        assert!(data.len() >= rows * cols, "matrix view {rows}x{cols} over {} values", data.len());
        Self { data, rows, cols, row_stride: cols }
    }

    pub fn with_row_stride(data: &'a mut [f32], rows: usize, cols: usize, row_stride: usize) -> Self {
        assert!(rows == 0 || data.len() >= (rows - 1) * row_stride + cols);
        Self { data, rows, cols, row_stride }
    }
}

/// Output rows per parallel block.
const ROW_BLOCK: usize = 64;
/// Multiply-adds below which a product runs as one block (parallel overhead would dominate).
const PARALLEL_MIN_WORK: usize = 1 << 21;

impl<'a> MatRef<'a> {
    /// Rows `first..first + count` as a view.
    fn row_range(self, first: usize, count: usize) -> Self {
        Self { data: &self.data[first * self.row_stride..], rows: count, ..self }
    }
}

/// `c = alpha * a * b + beta * c`. With `beta == 0` the old contents of `c` are ignored
/// (even NaN), as in BLAS.
pub fn gemm(alpha: f32, a: MatRef, b: MatRef, beta: f32, c: MatMut) {
    assert_eq!(a.cols, b.rows, "gemm inner dimensions");
    assert_eq!(a.rows, c.rows, "gemm output rows");
    assert_eq!(b.cols, c.cols, "gemm output columns");
    if c.rows <= ROW_BLOCK || c.rows * c.cols * a.cols < PARALLEL_MIN_WORK {
        return gemm_serial(alpha, a, b, beta, c);
    }
    let (rows, cols, row_stride) = (c.rows, c.cols, c.row_stride);
    c.data.par_chunks_mut(ROW_BLOCK * row_stride).enumerate().for_each(|(block, chunk)| {
        let first = block * ROW_BLOCK;
        let count = ROW_BLOCK.min(rows - first);
        let out = MatMut::with_row_stride(chunk, count, cols, row_stride);
        gemm_serial(alpha, a.row_range(first, count), b, beta, out);
    });
}

fn gemm_serial(alpha: f32, a: MatRef, b: MatRef, beta: f32, c: MatMut) {
    assert_eq!(a.cols, b.rows, "gemm inner dimensions");
    assert_eq!(a.rows, c.rows, "gemm output rows");
    assert_eq!(b.cols, c.cols, "gemm output columns");
    if c.rows == 0 || c.cols == 0 {
        return;
    }
    // SAFETY: the asserts in the view constructors guarantee that every element addressed by
    // (rows, cols, strides) lies inside the borrowed slices, and `c` is borrowed mutably, so it
    // cannot alias `a` or `b`.
    unsafe {
        // gemm's convention is dst = alpha * dst + beta * lhs * rhs (alpha and beta swapped
        // against BLAS), and it reads dst only when asked to.
        gemm::gemm(
            c.rows,
            c.cols,
            a.cols,
            c.data.as_mut_ptr(),
            1,
            c.row_stride as isize,
            beta != 0.0,
            a.data.as_ptr(),
            a.col_stride as isize,
            a.row_stride as isize,
            b.data.as_ptr(),
            b.col_stride as isize,
            b.row_stride as isize,
            beta,
            alpha,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strided_and_transposed_products_by_hand() {
        // a = [[1,2],[3,4],[5,6]] (3x2); a^T a = [[35,44],[44,56]].
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let mut c = [0.0; 4];
        gemm(1.0, MatRef::new(&a, 3, 2).t(), MatRef::new(&a, 3, 2), 0.0, MatMut::new(&mut c, 2, 2));
        assert_eq!(c, [35.0, 44.0, 44.0, 56.0]);
        // beta accumulates: c = 2 * a[0..2 rows] * I + 1 * c_old, written into a strided output.
        let eye = [1.0, 0.0, 0.0, 1.0];
        let mut out = [1.0, 1.0, 9.0, 1.0, 1.0, 9.0];
        gemm(2.0, MatRef::new(&a, 2, 2), MatRef::new(&eye, 2, 2), 1.0, MatMut::with_row_stride(&mut out, 2, 2, 3));
        assert_eq!(out, [3.0, 5.0, 9.0, 7.0, 9.0, 9.0]);
        // A product large enough to run in parallel blocks equals the naive sum.
        let (m, k, n) = (300, 90, 120);
        let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 - 3.0).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 - 2.0).collect();
        let mut big = vec![0.0; m * n];
        gemm(1.0, MatRef::new(&a, m, k), MatRef::new(&b, k, n), 0.0, MatMut::new(&mut big, m, n));
        for (r, c) in [(0, 0), (65, 7), (299, 119), (128, 64)] {
            let expected: f32 = (0..k).map(|j| a[r * k + j] * b[j * n + c]).sum();
            assert_eq!(big[r * n + c], expected, "({r}, {c})");
        }
        // beta = 0 ignores NaN in the output, as BLAS does.
        let mut nan = [f32::NAN; 4];
        gemm(1.0, MatRef::new(&eye, 2, 2), MatRef::new(&eye, 2, 2), 0.0, MatMut::new(&mut nan, 2, 2));
        assert_eq!(nan, eye);
    }
}
