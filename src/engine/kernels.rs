//! Elementwise kernels and the small vector operations the recurrences are built from.
//!
//! The vector operations are written in "axpy" form (`y += a * x` over a contiguous row) rather
//! than as dot products: the compiler vectorises an axpy, but not an f32 sum whose order it must
//! keep.

/// `y += a * x`.
#[inline]
pub fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    debug_assert_eq!(x.len(), y.len());
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// `y += W^T x` for a row-major `W` of shape (x.len(), y.len()): a sum of scaled rows.
#[inline]
pub fn add_rows_scaled(x: &[f32], w: &[f32], y: &mut [f32]) {
    let n = y.len();
    debug_assert_eq!(w.len(), x.len() * n);
    for (xi, row) in x.iter().zip(w.chunks_exact(n)) {
        if *xi != 0.0 {
            axpy(*xi, row, y);
        }
    }
}

/// Transposes a row-major (rows, cols) matrix into `out` (cols, rows).
pub fn transpose_into(a: &[f32], rows: usize, cols: usize, out: &mut [f32]) {
    debug_assert_eq!(a.len(), rows * cols);
    debug_assert_eq!(out.len(), rows * cols);
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = a[r * cols + c];
        }
    }
}

/// Adds every row of a row-major (rows, cols) matrix into `sum` (cols), in row order.
pub fn add_column_sums(a: &[f32], cols: usize, sum: &mut [f32]) {
    for row in a.chunks_exact(cols) {
        for (s, v) in sum.iter_mut().zip(row) {
            *s += v;
        }
    }
}

pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// The scaled tanh of LeCun et al. that ELM uses for memory updates: `1.7159 * tanh(2x/3)`.
pub const CUSTOM_TANH_SCALE: f32 = 1.7159;
pub const CUSTOM_TANH_SLOPE: f32 = 2.0 / 3.0;

/// Hidden-layer activations of the ELM's MLP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    Relu,
    Silu,
}

impl Activation {
    #[inline]
    pub fn apply(self, z: f32) -> f32 {
        match self {
            Activation::Relu => z.max(0.0),
            Activation::Silu => z * sigmoid(z),
        }
    }

    /// d act / d z at the pre-activation `z`. For ReLU the derivative at 0 is 0, as in PyTorch.
    #[inline]
    pub fn derivative(self, z: f32) -> f32 {
        match self {
            Activation::Relu => {
                if z > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::Silu => {
                let s = sigmoid(z);
                s * (1.0 + z * (1.0 - s))
            }
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Silu => "silu",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_derivatives_match_finite_differences() {
        for act in [Activation::Relu, Activation::Silu] {
            for &z in &[-2.5f32, -0.3, 0.4, 1.7] {
                let h = 1e-3f64;
                let f = |v: f64| act.apply(v as f32) as f64;
                let numeric = (f(z as f64 + h) - f(z as f64 - h)) / (2.0 * h);
                assert!((numeric - act.derivative(z) as f64).abs() < 1e-3, "{act:?} at {z}");
            }
        }
    }

    #[test]
    fn add_rows_scaled_is_w_transpose_times_x() {
        // W = [[1,2,3],[4,5,6]], x = [10, 100]: W^T x = [410, 520, 630] by hand.
        let w = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let mut y = [0.0; 3];
        add_rows_scaled(&[10.0, 100.0], &w, &mut y);
        assert_eq!(y, [410.0, 520.0, 630.0]);
    }
}
