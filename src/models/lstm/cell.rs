//! One LSTM cell step of one sample, elementwise, forward and backward (PyTorch's equations and
//! gate order i, f, g, o):
//!
//! ```text
//! i = sigmoid(z_i)   f = sigmoid(z_f)   g = tanh(z_g)   o = sigmoid(z_o)
//! c_t = f * c_{t-1} + i * g
//! h_t = o * tanh(c_t)
//! ```
//!
//! The pre-activations z arrive with both matrix products already added (the recurrence adds
//! h_{t-1} W_hh^T into the input projection). The activations overwrite them: the derivatives of
//! sigmoid and tanh are functions of their outputs (s (1 - s), 1 - t^2), so the backward pass needs
//! nothing else. Every loop runs over contiguous slices of length H without library calls, so it
//! vectorises.

use crate::engine::kernels::tanh;

/// sigmoid(x) = (1 + tanh(x / 2)) / 2, through the polynomial `tanh` so that the gate loops
/// vectorise (`f32::exp` is a scalar library call). The tanh is within 3e-7 relative, so the
/// sigmoid is within ~1.5e-7 absolute; where sigmoid(x) < 1e-7 it rounds to 0 or a few 1e-8 rather
/// than to the tiny exact value, which changes no gate output by more than that absolute amount.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    0.5 + 0.5 * tanh(0.5 * x)
}

/// Splits a 4H gate row into its (i, f, g, o) quarters.
#[inline(always)]
fn quarters(row: &[f32], h: usize) -> (&[f32], &[f32], &[f32], &[f32]) {
    let (i, rest) = row.split_at(h);
    let (f, rest) = rest.split_at(h);
    let (g, o) = rest.split_at(h);
    (i, f, g, &o[..h])
}

/// Activates the gate row in place and computes c_t, tanh(c_t) and h_t. `c_prev` is None at the
/// first step (zero initial state).
#[inline(always)]
pub fn forward(gates: &mut [f32], c_prev: Option<&[f32]>, c: &mut [f32], tanh_c: &mut [f32], h: &mut [f32]) {
    let n = c.len();
    let (sig_if, rest) = gates.split_at_mut(2 * n);
    let (g, o) = rest.split_at_mut(n);
    for v in sig_if.iter_mut() {
        *v = sigmoid(*v);
    }
    for v in o[..n].iter_mut() {
        *v = sigmoid(*v);
    }
    for v in g.iter_mut() {
        *v = tanh(*v);
    }
    let (i, f, g, o) = quarters(gates, n);
    let (tanh_c, h) = (&mut tanh_c[..n], &mut h[..n]);
    match c_prev {
        Some(c_prev) => {
            let c_prev = &c_prev[..n];
            for k in 0..n {
                c[k] = f[k] * c_prev[k] + i[k] * g[k];
            }
        }
        None => {
            for k in 0..n {
                c[k] = i[k] * g[k];
            }
        }
    }
    for k in 0..n {
        let t = tanh(c[k]);
        tanh_c[k] = t;
        h[k] = o[k] * t;
    }
}

/// The reverse of `forward` for one sample and step. `dh` is the full gradient of h_t (readout
/// and next step); `dc` carries the gradient of c_t from the later steps in and leaves holding the
/// gradient of c_{t-1}; `dz` receives the gradient of the four pre-activations.
#[inline(always)]
pub fn backward(gates: &[f32], c_prev: Option<&[f32]>, tanh_c: &[f32], dh: &[f32], dc: &mut [f32], dz: &mut [f32]) {
    let n = dc.len();
    let (i, f, g, o) = quarters(gates, n);
    let (tanh_c, dh) = (&tanh_c[..n], &dh[..n]);
    let (dz_i, rest) = dz.split_at_mut(n);
    let (dz_f, rest) = rest.split_at_mut(n);
    let (dz_g, dz_o) = rest.split_at_mut(n);
    let dz_o = &mut dz_o[..n];
    for k in 0..n {
        let t = tanh_c[k];
        // h = o tanh(c): both factors.
        let d_o = dh[k] * t;
        let d_c = dc[k] + dh[k] * o[k] * (1.0 - t * t);
        // c = f c_prev + i g.
        dz_i[k] = d_c * g[k] * i[k] * (1.0 - i[k]);
        dz_g[k] = d_c * i[k] * (1.0 - g[k] * g[k]);
        dz_o[k] = d_o * o[k] * (1.0 - o[k]);
        dc[k] = d_c * f[k];
        // Stash d_c for the forget gate, which also needs c_prev.
        dz_f[k] = d_c;
    }
    match c_prev {
        Some(c_prev) => {
            let c_prev = &c_prev[..n];
            for k in 0..n {
                dz_f[k] *= c_prev[k] * f[k] * (1.0 - f[k]);
            }
        }
        // c_{-1} = 0: the forget gate had nothing to act on.
        None => dz_f.fill(0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast sigmoid against the exact one over the range gates see.
    #[test]
    fn fast_sigmoid_is_within_2e_7_absolute() {
        let mut worst = 0.0f64;
        let mut x = -30.0f32;
        while x <= 30.0 {
            let exact = 1.0 / (1.0 + (-(x as f64)).exp());
            worst = worst.max((sigmoid(x) as f64 - exact).abs());
            x += 1.3e-3;
        }
        assert!(worst < 2e-7, "worst absolute error {worst:e}");
        assert!(sigmoid(f32::NAN).is_nan());
    }

    /// forward then backward of one step against central differences of sum(h * a + c * b).
    #[test]
    fn one_step_backward_matches_finite_differences() {
        let n = 3;
        let z: Vec<f32> = (0..4 * n).map(|k| (k as f32 * 0.7).sin() * 1.5).collect();
        let c_prev = [0.4f32, -0.9, 0.2];
        let (a, b) = ([0.3f32, -1.1, 0.8], [0.5f32, 0.2, -0.7]);
        let loss = |z: &[f32], c_prev: &[f32]| -> f64 {
            let (mut g, mut c, mut t, mut h) = (z.to_vec(), vec![0.0; n], vec![0.0; n], vec![0.0; n]);
            forward(&mut g, Some(c_prev), &mut c, &mut t, &mut h);
            (0..n).map(|k| (h[k] * a[k] + c[k] * b[k]) as f64).sum()
        };
        let (mut gates, mut c, mut t, mut h) = (z.clone(), vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        forward(&mut gates, Some(&c_prev), &mut c, &mut t, &mut h);
        let mut dc = b.to_vec();
        let mut dz = vec![0.0; 4 * n];
        backward(&gates, Some(&c_prev), &t, &a, &mut dc, &mut dz);
        let step = 1e-2f32;
        for k in 0..4 * n {
            let (mut plus, mut minus) = (z.clone(), z.clone());
            plus[k] += step;
            minus[k] -= step;
            let numeric = (loss(&plus, &c_prev) - loss(&minus, &c_prev)) / (2.0 * step as f64);
            assert!((numeric - dz[k] as f64).abs() < 1e-4, "dz[{k}]: {numeric} vs {}", dz[k]);
        }
        for k in 0..n {
            let (mut plus, mut minus) = (c_prev, c_prev);
            plus[k] += step;
            minus[k] -= step;
            let numeric = (loss(&z, &plus) - loss(&z, &minus)) / (2.0 * step as f64);
            assert!((numeric - dc[k] as f64).abs() < 1e-4, "dc_prev[{k}]: {numeric} vs {}", dc[k]);
        }
    }
}
