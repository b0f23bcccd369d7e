//! The S5 SSM of one layer (official `s5/ssm.py`): a diagonal complex linear recurrence,
//! discretised from continuous-time parameters, read out through C, plus a feedthrough D.
//!
//! ```text
//! Lambda  = min(Lambda_re, -1e-4 if clip_eigs) + i Lambda_im          (P,)
//! Delta   = exp(log_step[:, 0])                                        (P,)
//! ZOH:      Lambda_bar = exp(Lambda Delta),  coef = (Lambda_bar - 1) / Lambda
//! bilinear: BL = 1 / (1 - Delta/2 Lambda), Lambda_bar = BL (1 + Delta/2 Lambda), coef = BL Delta
//! B_bar   = coef[:, None] * B_tilde                                    (P, H)
//! x_k     = Lambda_bar x_{k-1} + B_bar z_k     (x_{-1} = 0)
//! x'_k    = Lambda_bar x'_{k+1} + B_bar z_k    (bidirectional; the same Lambda_bar and B_bar)
//! y_k     = f Re(C_1 x_k + C_2 x'_k) + D z_k   (f = 2 under conjugate symmetry, else 1)
//! ```
//!
//! The time-parallel parts are GEMMs over all (batch, time) rows with real matrices built once
//! per pass: `U = z [Re B_bar^T | Im B_bar^T]` gives the scan inputs, and the states of both
//! scans sit side by side in one row `[Re x | Im x | Re x' | Im x']`, so that
//! `y = X C_cat` with C_cat's rows `f Re C_1^T; -f Im C_1^T; ...` is one GEMM as well. Only the
//! recurrence itself is sequential, one independent scan per sample (in parallel over the batch,
//! each sample's result the same on any thread count).
//!
//! Gradients of complex quantities are carried as `dL/dRe + i dL/dIm`; in that convention the
//! adjoint of multiplying by a is multiplying by conj(a), and a holomorphic w = f(z) passes
//! g_z = conj(f'(z)) g_w. The reverse sweep is therefore the same scan with conj(Lambda_bar),
//! run against time. Per-state sums over samples and steps (the gradient of Lambda_bar)
//! accumulate in f64 per sample and are added in sample order.

use super::config::Discretization;
use crate::engine::{gemm, MatMut, MatRef};
use anyhow::{ensure, Result};
use nalgebra::Complex;
use rayon::prelude::*;

pub(crate) type C64 = Complex<f64>;

/// `jnp.clip(Lambda_re, None, -1e-4)` under `clip_eigs`.
const CLIP_EIGS_MAX: f64 = -1e-4;

/// The shape and switches of one SSM.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SsmSpec {
    /// Features in and out (H).
    pub h: usize,
    /// Complex states stored (P; half of the state size under conjugate symmetry).
    pub p: usize,
    /// 1, or 2 when bidirectional.
    pub directions: usize,
    pub conj_sym: bool,
    pub clip_eigs: bool,
    pub discretization: Discretization,
}

/// The parameters of one SSM in the official layouts: `b` (P, H, 2), `d` (H), `log_step`
/// (P, 1); `c` either one tensor (H, directions * P, 2) or one (H, P, 2) per direction
/// (`C1`, `C2`). The trailing axis of 2 is [re, im].
#[derive(Clone, Copy)]
pub struct SsmWeights<'a> {
    pub lambda_re: &'a [f32],
    pub lambda_im: &'a [f32],
    pub b: &'a [f32],
    pub c: &'a [&'a [f32]],
    pub d: &'a [f32],
    pub log_step: &'a [f32],
}

/// The SSM's tensors, owned, in the layouts of `SsmWeights`: an initialisation
/// (`init::ssm_init`) or gradients.
#[derive(Clone, Debug)]
pub struct SsmTensors {
    pub lambda_re: Vec<f32>,
    pub lambda_im: Vec<f32>,
    /// (P, H, 2).
    pub b: Vec<f32>,
    /// One (H, P, 2) per direction, or a single (H, directions * P, 2) for complex_normal.
    pub c: Vec<Vec<f32>>,
    pub d: Vec<f32>,
    /// (P, 1).
    pub log_step: Vec<f32>,
}

/// Gradients of the SSM's tensors and of its input.
#[derive(Clone, Debug)]
pub struct SsmGrads {
    pub params: SsmTensors,
    /// Of the input z, (batch, time, H).
    pub z: Vec<f32>,
}

/// The discretised system and the derivatives of (Lambda_bar, coef) with respect to (Lambda,
/// Delta), per state, in f64.
#[derive(Clone, Debug)]
pub struct Discrete {
    pub lambda: Vec<C64>,
    pub delta: Vec<f64>,
    pub lambda_bar: Vec<C64>,
    /// B_bar = coef * B_tilde.
    pub coef: Vec<C64>,
    dlb_dlambda: Vec<C64>,
    dlb_ddelta: Vec<C64>,
    dcoef_dlambda: Vec<C64>,
    dcoef_ddelta: Vec<C64>,
}

/// What the backward pass needs: the states of every step, `[Re x | Im x | (Re x' | Im x')]`.
pub struct SsmForward {
    /// Outputs, (batch, time, H).
    pub y: Vec<f32>,
    pub states: Vec<f32>,
}

/// The gradients that pass through the discretisation: B_tilde's, and Lambda's and log_step's
/// from those of Lambda_bar and of B_bar.
#[derive(Clone, Debug)]
pub struct DiscretizationGrads {
    pub lambda_re: Vec<f32>,
    pub lambda_im: Vec<f32>,
    pub b: Vec<f32>,
    pub log_step: Vec<f32>,
}

impl SsmSpec {
    /// Floats of one row of states: `[Re x | Im x | (Re x' | Im x')]`.
    pub fn row(&self) -> usize {
        self.directions * 2 * self.p
    }

    /// f in y = f Re(C x): conjugate symmetry keeps one of each pair of conjugate states.
    fn real_part_factor(&self) -> f32 {
        if self.conj_sym {
            2.0
        } else {
            1.0
        }
    }

    /// Checks the tensors' sizes (callers build them from checked shapes; this guards the math).
    pub fn check(&self, w: &SsmWeights) -> Result<()> {
        let (h, p) = (self.h, self.p);
        ensure!(w.lambda_re.len() == p && w.lambda_im.len() == p, "s5 ssm: Lambda must have {p} values");
        ensure!(w.b.len() == p * h * 2, "s5 ssm: B must be ({p}, {h}, 2)");
        ensure!(w.d.len() == h, "s5 ssm: D must have {h} values");
        ensure!(w.log_step.len() == p, "s5 ssm: log_step must be ({p}, 1)");
        match w.c.len() {
            1 => ensure!(
                w.c[0].len() == h * self.directions * p * 2,
                "s5 ssm: C must be ({h}, {}, 2)",
                self.directions * p
            ),
            n if n == self.directions => {
                ensure!(w.c.iter().all(|c| c.len() == h * p * 2), "s5 ssm: each C must be ({h}, {p}, 2)")
            }
            n => anyhow::bail!("s5 ssm: {n} C tensors for {} directions", self.directions),
        }
        Ok(())
    }

    /// Index of (C_dir)[h, p, 0] in `c[slot]`.
    fn c_index(&self, c_tensors: usize, dir: usize, h: usize, p: usize) -> (usize, usize) {
        if c_tensors == 1 {
            (0, (h * self.directions * self.p + dir * self.p + p) * 2)
        } else {
            (dir, (h * self.p + p) * 2)
        }
    }

    pub fn discretize(&self, w: &SsmWeights) -> Discrete {
        let n = self.p;
        let mut out = Discrete {
            lambda: Vec::with_capacity(n),
            delta: Vec::with_capacity(n),
            lambda_bar: Vec::with_capacity(n),
            coef: Vec::with_capacity(n),
            dlb_dlambda: Vec::with_capacity(n),
            dlb_ddelta: Vec::with_capacity(n),
            dcoef_dlambda: Vec::with_capacity(n),
            dcoef_ddelta: Vec::with_capacity(n),
        };
        for i in 0..n {
            let mut re = w.lambda_re[i] as f64;
            if self.clip_eigs {
                re = re.min(CLIP_EIGS_MAX);
            }
            let lambda = C64::new(re, w.lambda_im[i] as f64);
            let delta = (w.log_step[i] as f64).exp();
            let one = C64::new(1.0, 0.0);
            let (lb, coef, dlb_dl, dlb_dd, dc_dl, dc_dd) = match self.discretization {
                Discretization::Zoh => {
                    let lb = (lambda * delta).exp();
                    let coef = (lb - one) / lambda;
                    let dc_dl = lb * delta / lambda - (lb - one) / (lambda * lambda);
                    (lb, coef, lb * delta, lambda * lb, dc_dl, lb)
                }
                Discretization::Bilinear => {
                    let bl = one / (one - lambda * (delta / 2.0));
                    let lb = bl * (one + lambda * (delta / 2.0));
                    let bl2 = bl * bl;
                    (lb, bl * delta, bl2 * delta, lambda * bl2, bl2 * (delta * delta / 2.0), bl2)
                }
            };
            out.lambda.push(lambda);
            out.delta.push(delta);
            out.lambda_bar.push(lb);
            out.coef.push(coef);
            out.dlb_dlambda.push(dlb_dl);
            out.dlb_ddelta.push(dlb_dd);
            out.dcoef_dlambda.push(dc_dl);
            out.dcoef_ddelta.push(dc_dd);
        }
        out
    }

    /// B_bar (P, H) as complex numbers, row-major: for reports and reference checks.
    pub fn b_bar(&self, w: &SsmWeights, disc: &Discrete) -> Vec<C64> {
        let (h, p) = (self.h, self.p);
        (0..p * h).map(|i| disc.coef[i / h] * C64::new(w.b[2 * i] as f64, w.b[2 * i + 1] as f64)).collect()
    }

    /// [Re B_bar^T | Im B_bar^T], (H, 2P): the scan inputs are z times it.
    pub(crate) fn input_matrix(&self, w: &SsmWeights, disc: &Discrete) -> Vec<f32> {
        let (h, p) = (self.h, self.p);
        let mut m = vec![0.0f32; h * 2 * p];
        for (i, v) in self.b_bar(w, disc).into_iter().enumerate() {
            let (s, f) = (i / h, i % h);
            m[f * 2 * p + s] = v.re as f32;
            m[f * 2 * p + p + s] = v.im as f32;
        }
        m
    }

    /// Rows f Re C_d^T and -f Im C_d^T per direction d, (directions * 2P, H): y = X times it.
    pub(crate) fn output_matrix(&self, w: &SsmWeights) -> Vec<f32> {
        let (h, p) = (self.h, self.p);
        let f = self.real_part_factor();
        let mut m = vec![0.0f32; self.row() * h];
        for dir in 0..self.directions {
            for s in 0..p {
                for o in 0..h {
                    let (slot, at) = self.c_index(w.c.len(), dir, o, s);
                    m[(dir * 2 * p + s) * h + o] = f * w.c[slot][at];
                    m[(dir * 2 * p + p + s) * h + o] = -f * w.c[slot][at + 1];
                }
            }
        }
        m
    }

    /// y for z (batch, time, H).
    pub fn forward(&self, w: &SsmWeights, z: &[f32], batch: usize, time: usize) -> Result<SsmForward> {
        self.check(w)?;
        let (h, p, row) = (self.h, self.p, self.row());
        let rows = batch * time;
        ensure!(z.len() == rows * h, "s5 ssm: input has {} values, expected {rows} x {h}", z.len());
        let disc = self.discretize(w);
        let mut u = vec![0.0f32; rows * 2 * p];
        if rows > 0 {
            let bm = self.input_matrix(w, &disc);
            gemm(1.0, MatRef::new(z, rows, h), MatRef::new(&bm, h, 2 * p), 0.0, MatMut::new(&mut u, rows, 2 * p));
        }
        let lb: Vec<(f32, f32)> = disc.lambda_bar.iter().map(|l| (l.re as f32, l.im as f32)).collect();
        let mut states = vec![0.0f32; rows * row];
        if time > 0 {
            states.par_chunks_mut(time * row).zip(u.par_chunks(time * 2 * p)).for_each(|(xs, us)| {
                scan_sample(&lb, p, time, row, self.directions, us, xs);
            });
        }
        let mut y = vec![0.0f32; rows * h];
        for (yr, zr) in y.chunks_exact_mut(h).zip(z.chunks_exact(h)) {
            for ((yv, zv), dv) in yr.iter_mut().zip(zr).zip(w.d) {
                *yv = dv * zv;
            }
        }
        if rows > 0 {
            let cm = self.output_matrix(w);
            gemm(1.0, MatRef::new(&states, rows, row), MatRef::new(&cm, row, h), 1.0, MatMut::new(&mut y, rows, h));
        }
        Ok(SsmForward { y, states })
    }

    /// Gradients of sum(y * dy).
    pub fn backward(
        &self,
        w: &SsmWeights,
        pass: &SsmForward,
        z: &[f32],
        dy: &[f32],
        batch: usize,
        time: usize,
    ) -> Result<SsmGrads> {
        self.check(w)?;
        let (h, p, row) = (self.h, self.p, self.row());
        let rows = batch * time;
        ensure!(z.len() == rows * h && dy.len() == rows * h, "s5 ssm backward: shapes disagree with the forward pass");
        ensure!(pass.states.len() == rows * row, "s5 ssm backward: the forward pass has another shape");
        let disc = self.discretize(w);
        // Feedthrough.
        let mut dd = vec![0.0f64; h];
        let mut dz = vec![0.0f32; rows * h];
        for ((zr, gr), dzr) in z.chunks_exact(h).zip(dy.chunks_exact(h)).zip(dz.chunks_exact_mut(h)) {
            for o in 0..h {
                dd[o] += zr[o] as f64 * gr[o] as f64;
                dzr[o] = w.d[o] * gr[o];
            }
        }
        // Read-out: dX = dy C_cat^T, dC_cat = X^T dy.
        let cm = self.output_matrix(w);
        let mut dx = vec![0.0f32; rows * row];
        let mut dcm = vec![0.0f32; row * h];
        if rows > 0 {
            gemm(1.0, MatRef::new(dy, rows, h), MatRef::new(&cm, row, h).t(), 0.0, MatMut::new(&mut dx, rows, row));
            gemm(
                1.0,
                MatRef::new(&pass.states, rows, row).t(),
                MatRef::new(dy, rows, h),
                0.0,
                MatMut::new(&mut dcm, row, h),
            );
        }
        let dc = self.c_gradients(w, &dcm);
        // The reverse scans: gradients of the scan inputs, and per sample of Lambda_bar.
        let lb: Vec<(f32, f32)> = disc.lambda_bar.iter().map(|l| (l.re as f32, l.im as f32)).collect();
        let mut du = vec![0.0f32; rows * 2 * p];
        let mut dlb = vec![C64::new(0.0, 0.0); p];
        if time > 0 {
            let partials: Vec<Vec<C64>> = pass
                .states
                .par_chunks(time * row)
                .zip(dx.par_chunks(time * row))
                .zip(du.par_chunks_mut(time * 2 * p))
                .map(|((xs, gs), dus)| reverse_scan_sample(&lb, p, time, row, self.directions, xs, gs, dus))
                .collect();
            for part in &partials {
                for (a, b) in dlb.iter_mut().zip(part) {
                    *a += b;
                }
            }
        }
        // Scan inputs U = z B_cat: dz += dU B_cat^T, dB_cat = z^T dU.
        let bm = self.input_matrix(w, &disc);
        let mut dbm = vec![0.0f32; h * 2 * p];
        if rows > 0 {
            gemm(
                1.0,
                MatRef::new(&du, rows, 2 * p),
                MatRef::new(&bm, h, 2 * p).t(),
                1.0,
                MatMut::new(&mut dz, rows, h),
            );
            gemm(1.0, MatRef::new(z, rows, h).t(), MatRef::new(&du, rows, 2 * p), 0.0, MatMut::new(&mut dbm, h, 2 * p));
        }
        let through = self.discretization_gradients(w, &disc, &dbm, &dlb);
        let params = SsmTensors {
            lambda_re: through.lambda_re,
            lambda_im: through.lambda_im,
            b: through.b,
            c: dc,
            d: dd.into_iter().map(|v| v as f32).collect(),
            log_step: through.log_step,
        };
        Ok(SsmGrads { params, z: dz })
    }

    /// The gradients of the C tensors from that of C_cat (`output_matrix`'s layout).
    pub(crate) fn c_gradients(&self, w: &SsmWeights, dcm: &[f32]) -> Vec<Vec<f32>> {
        let (h, p) = (self.h, self.p);
        let f = self.real_part_factor();
        let mut dc: Vec<Vec<f32>> = w.c.iter().map(|c| vec![0.0f32; c.len()]).collect();
        for dir in 0..self.directions {
            for s in 0..p {
                for o in 0..h {
                    let (slot, at) = self.c_index(w.c.len(), dir, o, s);
                    dc[slot][at] = f * dcm[(dir * 2 * p + s) * h + o];
                    dc[slot][at + 1] = -f * dcm[(dir * 2 * p + p + s) * h + o];
                }
            }
        }
        dc
    }

    /// From the gradients of B_cat (`input_matrix`'s layout, (H, 2P)) and of Lambda_bar (summed
    /// over samples), those of B_tilde and, through the discretisation, of Lambda and log_step.
    pub(crate) fn discretization_gradients(
        &self,
        w: &SsmWeights,
        disc: &Discrete,
        dbm: &[f32],
        dlb: &[C64],
    ) -> DiscretizationGrads {
        let (h, p) = (self.h, self.p);
        // B_bar = coef B_tilde.
        let mut db = vec![0.0f32; p * h * 2];
        let mut dcoef = vec![C64::new(0.0, 0.0); p];
        for s in 0..p {
            let coef_conj = disc.coef[s].conj();
            for o in 0..h {
                let g = C64::new(dbm[o * 2 * p + s] as f64, dbm[o * 2 * p + p + s] as f64);
                let i = s * h + o;
                let b_tilde = C64::new(w.b[2 * i] as f64, w.b[2 * i + 1] as f64);
                let gb = coef_conj * g;
                db[2 * i] = gb.re as f32;
                db[2 * i + 1] = gb.im as f32;
                dcoef[s] += b_tilde.conj() * g;
            }
        }
        // Through the discretisation to Lambda and Delta, then to the parameters.
        let mut dlre = vec![0.0f32; p];
        let mut dlim = vec![0.0f32; p];
        let mut dlog = vec![0.0f32; p];
        for s in 0..p {
            let dl = disc.dlb_dlambda[s].conj() * dlb[s] + disc.dcoef_dlambda[s].conj() * dcoef[s];
            let ddelta = (disc.dlb_ddelta[s].conj() * dlb[s] + disc.dcoef_ddelta[s].conj() * dcoef[s]).re;
            let clipped = self.clip_eigs && (w.lambda_re[s] as f64) > CLIP_EIGS_MAX;
            dlre[s] = if clipped { 0.0 } else { dl.re as f32 };
            dlim[s] = dl.im as f32;
            dlog[s] = (disc.delta[s] * ddelta) as f32;
        }
        DiscretizationGrads { lambda_re: dlre, lambda_im: dlim, b: db, log_step: dlog }
    }
}

/// One sample's scans: `us` (time, 2P) inputs, `xs` (time, row) states written in place (each
/// step reads the previous step's row, so no state buffer is needed).
fn scan_sample(lb: &[(f32, f32)], p: usize, time: usize, row: usize, directions: usize, us: &[f32], xs: &mut [f32]) {
    for dir in 0..directions {
        let off = dir * 2 * p;
        for step in 0..time {
            // The forward scan runs with time, the backward one against it.
            let t = if dir == 0 { step } else { time - 1 - step };
            let u = &us[t * 2 * p..(t + 1) * 2 * p];
            if step == 0 {
                xs[t * row + off..t * row + off + 2 * p].copy_from_slice(u);
                continue;
            }
            let prev = if dir == 0 { t - 1 } else { t + 1 };
            let (prev_row, cur_row) = if prev < t {
                let (a, b) = xs.split_at_mut(t * row);
                (&a[prev * row + off..prev * row + off + 2 * p], &mut b[off..off + 2 * p])
            } else {
                let (a, b) = xs.split_at_mut(prev * row);
                (&b[off..off + 2 * p], &mut a[t * row + off..t * row + off + 2 * p])
            };
            for (s, &(lr, li)) in lb.iter().enumerate() {
                let (xr, xi) = (prev_row[s], prev_row[p + s]);
                cur_row[s] = lr * xr - li * xi + u[s];
                cur_row[p + s] = lr * xi + li * xr + u[p + s];
            }
        }
    }
}

/// One sample's reverse sweeps: from the gradients `gs` of its states (time, row), the gradients
/// of its scan inputs `dus` (time, 2P) and its contribution to the gradient of Lambda_bar.
#[allow(clippy::too_many_arguments)]
fn reverse_scan_sample(
    lb: &[(f32, f32)],
    p: usize,
    time: usize,
    row: usize,
    directions: usize,
    xs: &[f32],
    gs: &[f32],
    dus: &mut [f32],
) -> Vec<C64> {
    let mut dlb = vec![C64::new(0.0, 0.0); p];
    // The running adjoint of the current direction (2P), allocated once per sample.
    let mut acc = vec![0.0f32; 2 * p];
    for dir in 0..directions {
        let off = dir * 2 * p;
        acc.fill(0.0);
        for step in 0..time {
            // The forward scan's adjoint runs against time, the backward scan's with it.
            let t = if dir == 0 { time - 1 - step } else { step };
            let g = &gs[t * row + off..t * row + off + 2 * p];
            for (s, &(lr, li)) in lb.iter().enumerate() {
                let (ar, ai) = (acc[s], acc[p + s]);
                // acc = g_t + conj(Lambda_bar) acc
                let nr = g[s] + lr * ar + li * ai;
                let ni = g[p + s] + lr * ai - li * ar;
                acc[s] = nr;
                acc[p + s] = ni;
            }
            let du = &mut dus[t * 2 * p..(t + 1) * 2 * p];
            if dir == 0 {
                du.copy_from_slice(&acc);
            } else {
                for (d, a) in du.iter_mut().zip(&acc) {
                    *d += a;
                }
            }
            // x_t = Lambda_bar x_prev + u_t: the gradient of Lambda_bar gets conj(x_prev) acc.
            let prev = if dir == 0 { t.checked_sub(1) } else { Some(t + 1).filter(|&n| n < time) };
            if let Some(prev) = prev {
                let x = &xs[prev * row + off..prev * row + off + 2 * p];
                for s in 0..p {
                    let xc = C64::new(x[s] as f64, -(x[p + s] as f64));
                    dlb[s] += xc * C64::new(acc[s] as f64, acc[p + s] as f64);
                }
            }
        }
    }
    dlb
}
