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

/// tanh without a library call, so that loops over it vectorise (libm's `tanhf` is a scalar
/// call with branches and cost a tenth of an ELM training step).
///
/// tanh(x) = sign(x) * e / (e + 2) with e = expm1(2|x|). expm1 comes from a polynomial on
/// [0, ln2/2], where it is accurate without cancellation, and from exp(y) - 1 above, where
/// exp(y) >= 1.41 leaves nothing to cancel; exp uses y = n ln2 + r, |r| <= ln2/2, a degree-7
/// polynomial in r, and 2^n built from the exponent bits. Arguments beyond 9 saturate (tanh(9) is
/// 1 in f32). Measured against libm over a dense grid: within 3e-7 relative (see the test).
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    // A comparison, not `min`, so that NaN propagates.
    let y = 2.0 * x.abs();
    let y = if y > 18.0 { 18.0 } else { y };
    // expm1 by its Taylor polynomial for small y (terms to y^8: error < y^9 / 9! < 2.1e-10 * 1e-1).
    let small = y
        * (1.0
            + y * (0.5
                + y * (1.0 / 6.0
                    + y * (1.0 / 24.0
                        + y * (1.0 / 120.0 + y * (1.0 / 720.0 + y * (1.0 / 5040.0 + y * (1.0 / 40320.0))))))));
    // exp(y) - 1 for larger y.
    // n = round(y log2 e) by the 1.5 * 2^23 trick: adding it pushes the fraction out of the
    // mantissa, so the sum's low bits hold n. Unlike `.round()` (a libm call on baseline x86-64)
    // and an f32 -> i32 cast, this vectorises; ties round to even, which keeps |r| <= ln2 / 2.
    const SHIFTER: f32 = 12_582_912.0;
    let shifted = y * std::f32::consts::LOG2_E + SHIFTER;
    let n = shifted - SHIFTER;
    let n_bits = (shifted.to_bits() as i32).wrapping_sub(SHIFTER.to_bits() as i32);
    let r = y - n * std::f32::consts::LN_2;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    let two_n = f32::from_bits((n_bits.wrapping_add(127) as u32) << 23);
    let large = p * two_n - 1.0;
    let e = if y < 0.346_573_6 { small } else { large };
    (e / (e + 2.0)).copysign(x)
}

pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// The scaled tanh of LeCun et al. that ELM uses for memory updates: `1.7159 * tanh(2x/3)`.
pub const CUSTOM_TANH_SCALE: f32 = 1.7159;
pub const CUSTOM_TANH_SLOPE: f32 = 2.0 / 3.0;

/// Hidden-layer activations of the ELM's MLP (and the TCN's), named `relu` and `silu` in
/// configurations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
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

    /// `out = act(z)` over a slice, with the activation chosen once, outside the loop.
    #[inline]
    pub fn apply_slice(self, z: &[f32], out: &mut [f32]) {
        match self {
            Activation::Relu => out.iter_mut().zip(z).for_each(|(o, z)| *o = z.max(0.0)),
            Activation::Silu => out.iter_mut().zip(z).for_each(|(o, z)| *o = z * sigmoid(*z)),
        }
    }

    /// `delta = grad * act'(z)` over a slice.
    #[inline]
    pub fn backward_slice(self, z: &[f32], grad: &[f32], delta: &mut [f32]) {
        match self {
            Activation::Relu => {
                delta.iter_mut().zip(z).zip(grad).for_each(|((d, z), g)| *d = if *z > 0.0 { *g } else { 0.0 })
            }
            Activation::Silu => {
                delta.iter_mut().zip(z).zip(grad).for_each(|((d, z), g)| *d = g * Activation::Silu.derivative(*z))
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
    fn tanh_matches_the_library_tanh() {
        let mut worst = 0.0f64;
        let mut x = -12.0f32;
        while x <= 12.0 {
            let exact = (x as f64).tanh();
            let got = tanh(x) as f64;
            let err = (got - exact).abs() / exact.abs().max(1e-30);
            worst = worst.max(if exact == 0.0 { got.abs() } else { err });
            x += 1.7e-4;
        }
        for &x in &[0.0f32, 1e-30, -1e-20, 1e-7, 0.3465, 0.3466, 0.34658, f32::MAX, f32::MIN] {
            let exact = (x as f64).tanh();
            assert!((tanh(x) as f64 - exact).abs() <= 3e-7 * exact.abs(), "tanh({x}) = {}", tanh(x));
        }
        assert!(worst < 3e-7, "worst relative error {worst:e}");
        assert!(tanh(f32::NAN).is_nan());
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
