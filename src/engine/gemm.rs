//! General matrix multiply over strided f32 views, backed by `matrixmultiply`.
//!
//! The crate was chosen by the criterion benchmark in `benches/gemm_choice.rs` on the shapes ELM
//! needs (see README, design notes). `matrixmultiply` takes arbitrary row and column strides, so
//! a transpose is a view, never a copy. It is called single-threaded: parallelism lives one level
//! up (rayon over the batch), and a single-threaded GEMM has a fixed reduction order, so results do
//! not depend on the thread count.

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
        assert!(
            data.len() >= rows * cols,
            "matrix view {rows}x{cols} over {} values",
            data.len()
        );
        Self {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The first `cols` columns of a row-major matrix whose rows are `row_stride` apart.
    pub fn with_row_stride(data: &'a [f32], rows: usize, cols: usize, row_stride: usize) -> Self {
        assert!(cols <= row_stride || rows <= 1);
        assert!(rows == 0 || data.len() >= (rows - 1) * row_stride + cols);
        Self {
            data,
            rows,
            cols,
            row_stride,
            col_stride: 1,
        }
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
        assert!(
            data.len() >= rows * cols,
            "matrix view {rows}x{cols} over {} values",
            data.len()
        );
        Self {
            data,
            rows,
            cols,
            row_stride: cols,
        }
    }

    pub fn with_row_stride(
        data: &'a mut [f32],
        rows: usize,
        cols: usize,
        row_stride: usize,
    ) -> Self {
        assert!(rows == 0 || data.len() >= (rows - 1) * row_stride + cols);
        Self {
            data,
            rows,
            cols,
            row_stride,
        }
    }
}

/// `c = alpha * a * b + beta * c`. With `beta == 0` the old contents of `c` are ignored
/// (even NaN), as in BLAS.
pub fn gemm(alpha: f32, a: MatRef, b: MatRef, beta: f32, c: MatMut) {
    assert_eq!(a.cols, b.rows, "gemm inner dimensions");
    assert_eq!(a.rows, c.rows, "gemm output rows");
    assert_eq!(b.cols, c.cols, "gemm output columns");
    if c.rows == 0 || c.cols == 0 {
        return;
    }
    if a.cols == 0 {
        // matrixmultiply handles k == 0, but make the BLAS convention explicit.
        for r in 0..c.rows {
            let row = &mut c.data[r * c.row_stride..r * c.row_stride + c.cols];
            if beta == 0.0 {
                row.fill(0.0);
            } else {
                row.iter_mut().for_each(|v| *v *= beta);
            }
        }
        return;
    }
    // SAFETY: the asserts in the view constructors guarantee that every element addressed by
    // (rows, cols, strides) lies inside the borrowed slices, and `c` is borrowed mutably, so it
    // cannot alias `a` or `b`.
    unsafe {
        matrixmultiply::sgemm(
            a.rows,
            a.cols,
            b.cols,
            alpha,
            a.data.as_ptr(),
            a.row_stride as isize,
            a.col_stride as isize,
            b.data.as_ptr(),
            b.row_stride as isize,
            b.col_stride as isize,
            beta,
            c.data.as_mut_ptr(),
            c.row_stride as isize,
            1,
        );
    }
}
