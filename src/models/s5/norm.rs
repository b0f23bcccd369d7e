//! The normalisation of an S5 layer (flax `nn.BatchNorm` / `nn.LayerNorm`, as `s5/layers.py` uses
//! them), forward and backward, over rows of H features.
//!
//! BatchNorm in training normalises each feature by the statistics of every (sample, step) row
//! of the batch (the official model is vmapped with `axis_name='batch'` and reduces over both):
//! mean = E[z], var = E[z^2] - mean^2 (biased, clamped at 0), eps 1e-5, and its gradient flows
//! through those statistics. In evaluation it uses the running statistics, which the training
//! step updates from the batch statistics saved here. LayerNorm normalises each row over its
//! features (eps 1e-6, flax's default). Statistics are summed in f64 in row order.

/// flax `nn.BatchNorm`'s default epsilon.
pub const BN_EPSILON: f64 = 1e-5;
/// flax `nn.LayerNorm`'s default epsilon.
pub const LN_EPSILON: f64 = 1e-6;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NormMode {
    /// BatchNorm with the batch's statistics (training).
    BatchTrain,
    /// BatchNorm with the running statistics (evaluation).
    BatchEval,
    Layer,
}

/// What the backward pass needs, and the batch statistics for the running update.
#[derive(Clone, Debug, Default)]
pub struct NormCache {
    /// The normalised input, before scale and bias.
    pub xhat: Vec<f32>,
    /// 1 / sqrt(var + eps): per feature (BatchNorm) or per row (LayerNorm).
    pub rstd: Vec<f32>,
    pub batch_mean: Vec<f32>,
    pub batch_var: Vec<f32>,
}

/// `out = norm(z) * scale + bias`; `running` = (mean, var) for `BatchEval`.
pub fn forward(
    mode: NormMode,
    z: &[f32],
    h: usize,
    scale: &[f32],
    bias: &[f32],
    running: (&[f32], &[f32]),
    out: &mut [f32],
) -> NormCache {
    let rows = z.len() / h;
    let mut cache = NormCache { xhat: vec![0.0; z.len()], ..Default::default() };
    match mode {
        NormMode::BatchTrain | NormMode::BatchEval => {
            let (mean, var): (Vec<f64>, Vec<f64>) = if mode == NormMode::BatchTrain {
                let mut sum = vec![0.0f64; h];
                let mut sq = vec![0.0f64; h];
                for row in z.chunks_exact(h) {
                    for j in 0..h {
                        let v = row[j] as f64;
                        sum[j] += v;
                        sq[j] += v * v;
                    }
                }
                let n = rows.max(1) as f64;
                let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
                let var = sq.iter().zip(&mean).map(|(q, m)| (q / n - m * m).max(0.0)).collect();
                (mean, var)
            } else {
                (running.0.iter().map(|&v| v as f64).collect(), running.1.iter().map(|&v| v as f64).collect())
            };
            let rstd: Vec<f64> = var.iter().map(|v| 1.0 / (v + BN_EPSILON).sqrt()).collect();
            for ((zr, xr), or) in z.chunks_exact(h).zip(cache.xhat.chunks_exact_mut(h)).zip(out.chunks_exact_mut(h)) {
                for j in 0..h {
                    let x = ((zr[j] as f64 - mean[j]) * rstd[j]) as f32;
                    xr[j] = x;
                    or[j] = x * scale[j] + bias[j];
                }
            }
            cache.rstd = rstd.iter().map(|&v| v as f32).collect();
            if mode == NormMode::BatchTrain {
                cache.batch_mean = mean.iter().map(|&v| v as f32).collect();
                cache.batch_var = var.iter().map(|&v| v as f32).collect();
            }
        }
        NormMode::Layer => {
            cache.rstd = vec![0.0; rows];
            for (r, ((zr, xr), or)) in
                z.chunks_exact(h).zip(cache.xhat.chunks_exact_mut(h)).zip(out.chunks_exact_mut(h)).enumerate()
            {
                let mean = zr.iter().map(|&v| v as f64).sum::<f64>() / h as f64;
                let var = (zr.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>() / h as f64 - mean * mean).max(0.0);
                let rstd = 1.0 / (var + LN_EPSILON).sqrt();
                cache.rstd[r] = rstd as f32;
                for j in 0..h {
                    let x = ((zr[j] as f64 - mean) * rstd) as f32;
                    xr[j] = x;
                    or[j] = x * scale[j] + bias[j];
                }
            }
        }
    }
    cache
}

/// Gradients of sum(out * dout): `dz` is overwritten; returns those of (scale, bias).
pub fn backward(
    mode: NormMode,
    cache: &NormCache,
    h: usize,
    scale: &[f32],
    dout: &[f32],
    dz: &mut [f32],
) -> (Vec<f32>, Vec<f32>) {
    let rows = dout.len() / h;
    let mut ds = vec![0.0f64; h];
    let mut db = vec![0.0f64; h];
    for (gr, xr) in dout.chunks_exact(h).zip(cache.xhat.chunks_exact(h)) {
        for j in 0..h {
            ds[j] += gr[j] as f64 * xr[j] as f64;
            db[j] += gr[j] as f64;
        }
    }
    match mode {
        NormMode::BatchEval => {
            for (gr, dr) in dout.chunks_exact(h).zip(dz.chunks_exact_mut(h)) {
                for j in 0..h {
                    dr[j] = gr[j] * scale[j] * cache.rstd[j];
                }
            }
        }
        NormMode::BatchTrain => {
            // dz = rstd / N (N dxhat - sum dxhat - xhat sum(dxhat xhat)), dxhat = dout scale.
            let n = rows.max(1) as f64;
            let sum_dx: Vec<f64> = db.iter().zip(scale).map(|(b, s)| b * *s as f64).collect();
            let sum_dxx: Vec<f64> = ds.iter().zip(scale).map(|(d, s)| d * *s as f64).collect();
            for ((gr, xr), dr) in dout.chunks_exact(h).zip(cache.xhat.chunks_exact(h)).zip(dz.chunks_exact_mut(h)) {
                for j in 0..h {
                    let dxhat = gr[j] as f64 * scale[j] as f64;
                    let v = cache.rstd[j] as f64 / n * (n * dxhat - sum_dx[j] - xr[j] as f64 * sum_dxx[j]);
                    dr[j] = v as f32;
                }
            }
        }
        NormMode::Layer => {
            let n = h as f64;
            for (r, ((gr, xr), dr)) in
                dout.chunks_exact(h).zip(cache.xhat.chunks_exact(h)).zip(dz.chunks_exact_mut(h)).enumerate()
            {
                let mut sum_dx = 0.0f64;
                let mut sum_dxx = 0.0f64;
                for j in 0..h {
                    let dxhat = gr[j] as f64 * scale[j] as f64;
                    sum_dx += dxhat;
                    sum_dxx += dxhat * xr[j] as f64;
                }
                let rstd = cache.rstd[r] as f64;
                for j in 0..h {
                    let dxhat = gr[j] as f64 * scale[j] as f64;
                    dr[j] = (rstd / n * (n * dxhat - sum_dx - xr[j] as f64 * sum_dxx)) as f32;
                }
            }
        }
    }
    (ds.iter().map(|&v| v as f32).collect(), db.iter().map(|&v| v as f32).collect())
}
