//! The official S5 initialisation (`s5/ssm_init.py`, `s5/train.py`), in distribution (our seeded
//! generator replaces JAX's PRNG, so the values differ, never the laws):
//!
//! - Lambda and V from the normal part of HiPPO-LegS of the block size N = ssm_size_base / blocks:
//!   S = A + p p^T (p_n = sqrt(n + 1/2)); Re Lambda = mean(diag S) (= -1/2), Im Lambda and V from
//!   the Hermitian eigendecomposition of -i S (its Hermitian part: `eigh` symmetrises), ascending;
//!   conjugate symmetry keeps the first N/2 pairs. Every block repeats the same Lambda and V.
//! - B_tilde = V^-1 B0 with B0 lecun-normal of shape (P_local, H) (V^-1 = V^H, V unitary).
//! - C_tilde = C0 V with C0 complex of shape (H, P_local): `trunc_standard_normal` draws it row by
//!   row, lecun-normal over (1, P_local, 2) each; `lecun_normal` over (H, P_local, 2) at once;
//!   `complex_normal` draws C_tilde itself, N(0, 1/2) per part, without V.
//! - D ~ N(0, 1); log_step ~ U(log dt_min, log dt_max) per state; Dense kernels lecun-normal,
//!   biases 0; norm scale 1 and bias 0; running mean 0 and variance 1.
//!
//! lecun-normal is JAX's: a normal truncated to +-2 standard deviations, scaled by
//! 1 / 0.87962566103423978 so that the variance is 1 / fan_in, with fan_in as JAX computes it
//! (the second-to-last axis times every axis before it).

use super::config::{CInit, S5Config};
use super::ssm::SsmTensors;
use crate::engine::Rng;
use anyhow::{ensure, Result};
use nalgebra::{Complex, DMatrix};

type C64 = Complex<f64>;

/// The standard deviation of a standard normal truncated to [-2, 2].
const TRUNCATED_STD: f64 = 0.879_625_661_034_239_8;

/// Lambda and the kept eigenvectors of one HiPPO block.
pub struct HippoBlock {
    pub lambda: Vec<C64>,
    /// (N, kept), row-major.
    pub v: Vec<C64>,
    pub n: usize,
    pub kept: usize,
}

/// `make_DPLR_HiPPO(n)` restricted to its first `kept` eigenpairs.
pub fn hippo_block(n: usize, kept: usize) -> Result<HippoBlock> {
    ensure!(kept <= n && n > 0, "s5: cannot keep {kept} of {n} HiPPO eigenpairs");
    let mut s = DMatrix::<f64>::zeros(n, n);
    for i in 0..n {
        for j in 0..n {
            let a = if i > j {
                ((2 * i + 1) as f64).sqrt() * ((2 * j + 1) as f64).sqrt()
            } else if i == j {
                (i + 1) as f64
            } else {
                0.0
            };
            let p = ((i as f64 + 0.5) * (j as f64 + 0.5)).sqrt();
            s[(i, j)] = -a + p;
        }
    }
    let lambda_re = (0..n).map(|i| s[(i, i)]).sum::<f64>() / n as f64;
    // eigh(-i S) reads the Hermitian part of -i S: -i (S - S^T) / 2.
    let m = DMatrix::<C64>::from_fn(n, n, |i, j| C64::new(0.0, -(s[(i, j)] - s[(j, i)]) / 2.0));
    let eig = m.symmetric_eigen();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| eig.eigenvalues[a].total_cmp(&eig.eigenvalues[b]));
    let lambda = order[..kept].iter().map(|&k| C64::new(lambda_re, eig.eigenvalues[k])).collect();
    let mut v = vec![C64::new(0.0, 0.0); n * kept];
    for (c, &k) in order[..kept].iter().enumerate() {
        for r in 0..n {
            v[r * kept + c] = eig.eigenvectors[(r, k)];
        }
    }
    Ok(HippoBlock { lambda, v, n, kept })
}

/// JAX's lecun-normal: truncated normal with variance 1 / fan_in.
pub fn lecun_normal(rng: &mut Rng, count: usize, fan_in: usize) -> Vec<f32> {
    let std = (1.0 / fan_in as f64).sqrt() / TRUNCATED_STD;
    (0..count)
        .map(|_| loop {
            let z = rng.normal();
            if (-2.0..=2.0).contains(&z) {
                break (z * std) as f32;
            }
        })
        .collect()
}

pub fn ssm_init(config: &S5Config, block: &HippoBlock, rng: &mut Rng) -> SsmTensors {
    let h = config.d_model;
    let blocks = config.blocks;
    let (n, kept) = (block.n, block.kept);
    let p = blocks * kept;
    let local_p = blocks * n;
    let lambda: Vec<C64> = (0..blocks).flat_map(|_| block.lambda.iter().copied()).collect();
    // V (local_P, P) is block-diagonal: entry (r, c) is nonzero only inside a block.
    let v_at = |r: usize, c: usize| -> C64 {
        if r / n == c / kept {
            block.v[(r % n) * kept + c % kept]
        } else {
            C64::new(0.0, 0.0)
        }
    };
    // B_tilde = V^H B0.
    let b0 = lecun_normal(rng, local_p * h, local_p);
    let mut b = vec![0.0f32; p * h * 2];
    for s in 0..p {
        let bl = s / kept;
        for o in 0..h {
            let mut acc = C64::new(0.0, 0.0);
            for r in bl * n..(bl + 1) * n {
                acc += v_at(r, s).conj() * b0[r * h + o] as f64;
            }
            b[(s * h + o) * 2] = acc.re as f32;
            b[(s * h + o) * 2 + 1] = acc.im as f32;
        }
    }
    // C_tilde = C0 V, or drawn directly.
    let directions = config.directions();
    let c = match config.c_init {
        CInit::ComplexNormal => {
            let std = 0.5f64.sqrt();
            vec![(0..h * directions * p * 2).map(|_| (rng.normal() * std) as f32).collect()]
        }
        init => (0..directions)
            .map(|_| {
                let c0 = match init {
                    CInit::TruncStandardNormal => {
                        (0..h).flat_map(|_| lecun_normal(rng, local_p * 2, local_p)).collect::<Vec<f32>>()
                    }
                    _ => lecun_normal(rng, h * local_p * 2, local_p * h),
                };
                let mut c = vec![0.0f32; h * p * 2];
                for o in 0..h {
                    for s in 0..p {
                        let bl = s / kept;
                        let mut acc = C64::new(0.0, 0.0);
                        for r in bl * n..(bl + 1) * n {
                            let at = (o * local_p + r) * 2;
                            acc += C64::new(c0[at] as f64, c0[at + 1] as f64) * v_at(r, s);
                        }
                        c[(o * p + s) * 2] = acc.re as f32;
                        c[(o * p + s) * 2 + 1] = acc.im as f32;
                    }
                }
                c
            })
            .collect(),
    };
    let d = (0..h).map(|_| rng.normal() as f32).collect();
    let (lo, hi) = (config.dt_min.ln(), config.dt_max.ln());
    let log_step = (0..p).map(|_| (lo + rng.uniform_f64() * (hi - lo)) as f32).collect();
    SsmTensors {
        lambda_re: lambda.iter().map(|l| l.re as f32).collect(),
        lambda_im: lambda.iter().map(|l| l.im as f32).collect(),
        b,
        c,
        d,
        log_step,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hippo_eigenvalues_come_in_conjugate_pairs_and_vectors_are_orthonormal() {
        let block = hippo_block(8, 8).unwrap();
        for k in 0..4 {
            assert!((block.lambda[k].im + block.lambda[7 - k].im).abs() < 1e-9);
            assert!((block.lambda[k].re + 0.5).abs() < 1e-12);
        }
        for a in 0..8 {
            for b in 0..8 {
                let dot: C64 = (0..8).map(|r| block.v[r * 8 + a].conj() * block.v[r * 8 + b]).sum();
                let want = if a == b { 1.0 } else { 0.0 };
                assert!((dot - C64::new(want, 0.0)).norm() < 1e-9);
            }
        }
    }
}
