// The element-wise and per-feature parts of an S5 sequence layer around its SSM, the CUDA twins
// of `models::s5::norm` (BatchNorm in training and evaluation, LayerNorm, forward and backward)
// and `models::s5::layer` (GELU, the GLU gate, dropout masks, the residual, D z). Rows are the
// (sample, step) rows of a (B, T, H) array. Statistics and parameter-gradient sums run in f64 in
// row order, one thread per feature (or per row for LayerNorm), as the CPU sums them; float
// arithmetic goes through __f*_rn in the CPU's order, so no multiply-add is fused. Every kernel
// is a grid-stride loop, so any launch covers any size.

#define GRID_STRIDE(i, n) \
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (size_t)(n); i += (size_t)gridDim.x * blockDim.x)

// flax nn.gelu (tanh approximation) and its derivative, as `layer::gelu` / `gelu_derivative`.
#define S5_GELU_K 0.7978846f
#define S5_GELU_C 0.044715f

__device__ __forceinline__ float s5_gelu_inner(float x) {
    return __fmul_rn(S5_GELU_K, __fadd_rn(x, __fmul_rn(__fmul_rn(__fmul_rn(S5_GELU_C, x), x), x)));
}

extern "C" __global__ void s5_gelu_forward(const float* __restrict__ y, int n, float* __restrict__ g) {
    GRID_STRIDE(i, n) {
        const float x = y[i];
        g[i] = __fmul_rn(__fmul_rn(0.5f, x), __fadd_rn(1.0f, tanhf(s5_gelu_inner(x))));
    }
}

// dy += dg * gelu'(y).
extern "C" __global__ void s5_gelu_backward(const float* __restrict__ dg, const float* __restrict__ y, int n,
                                            float* __restrict__ dy) {
    GRID_STRIDE(i, n) {
        const float x = y[i];
        const float t = tanhf(s5_gelu_inner(x));
        const float first = __fmul_rn(0.5f, __fadd_rn(1.0f, t));
        const float slope = __fadd_rn(1.0f, __fmul_rn(__fmul_rn(3.0f * S5_GELU_C, x), x));
        const float second = __fmul_rn(__fmul_rn(__fmul_rn(__fmul_rn(0.5f, x), __fsub_rn(1.0f, __fmul_rn(t, t))), S5_GELU_K), slope);
        dy[i] = __fadd_rn(dy[i], __fmul_rn(dg[i], __fadd_rn(first, second)));
    }
}

// x = sigmoid(x) in place (the GLU gate).
extern "C" __global__ void s5_sigmoid(float* __restrict__ x, int n) {
    GRID_STRIDE(i, n) {
        x[i] = __fdiv_rn(1.0f, __fadd_rn(1.0f, expf(-x[i])));
    }
}

// out = a * b.
extern "C" __global__ void s5_multiply(const float* __restrict__ a, const float* __restrict__ b, int n,
                                       float* __restrict__ out) {
    GRID_STRIDE(i, n) {
        out[i] = __fmul_rn(a[i], b[i]);
    }
}

// x += y (the residual, and gradients meeting from two paths).
extern "C" __global__ void s5_add_into(float* __restrict__ x, const float* __restrict__ y, int n) {
    GRID_STRIDE(i, n) {
        x[i] = __fadd_rn(x[i], y[i]);
    }
}

// out[r, j] = d[j] * x[r, j] (the feedthrough D z, and its gradient D dy).
extern "C" __global__ void s5_scale_columns(const float* __restrict__ x, const float* __restrict__ d, int rows, int cols,
                                            float* __restrict__ out) {
    GRID_STRIDE(i, (size_t)rows * cols) {
        out[i] = __fmul_rn(d[i % cols], x[i]);
    }
}

// Dropout: v[b, t, j] *= mask[b, j], one factor per sample and feature for every step.
extern "C" __global__ void s5_apply_mask(float* __restrict__ v, const float* __restrict__ mask, int batch, int time,
                                         int h) {
    const size_t per_sample = (size_t)time * h;
    GRID_STRIDE(i, (size_t)batch * per_sample) {
        v[i] = __fmul_rn(v[i], mask[(i / per_sample) * h + i % h]);
    }
}

// The GLU product o = v * s backward: dv = do s, dgate = do v s (1 - s) (the gate's input).
extern "C" __global__ void s5_glu_backward(const float* __restrict__ dout, const float* __restrict__ values,
                                           const float* __restrict__ gate, int n, float* __restrict__ dv,
                                           float* __restrict__ dgate) {
    GRID_STRIDE(i, n) {
        const float d = dout[i];
        const float s = gate[i];
        dv[i] = __fmul_rn(d, s);
        dgate[i] = __fmul_rn(__fmul_rn(__fmul_rn(d, values[i]), s), __fsub_rn(1.0f, s));
    }
}

// Column sums of (rows, cols) in f64, rounded once (bias gradients).
extern "C" __global__ void s5_column_sums(const float* __restrict__ x, int rows, int cols, float* __restrict__ out) {
    GRID_STRIDE(c, cols) {
        double s = 0.0;
        for (int r = 0; r < rows; ++r) {
            s = __dadd_rn(s, (double)x[(size_t)r * cols + c]);
        }
        out[c] = (float)s;
    }
}

// Column sums of a * b in f64 (the gradient of D).
extern "C" __global__ void s5_column_dots(const float* __restrict__ a, const float* __restrict__ b, int rows, int cols,
                                          float* __restrict__ out) {
    GRID_STRIDE(c, cols) {
        double s = 0.0;
        for (int r = 0; r < rows; ++r) {
            const size_t i = (size_t)r * cols + c;
            s = __dadd_rn(s, __dmul_rn((double)a[i], (double)b[i]));
        }
        out[c] = (float)s;
    }
}

// BatchNorm, a thread per feature: the batch's statistics (training) or the running ones, then
// xhat = (z - mean) rstd and out = xhat scale + bias. Writes rstd, and in training the batch's
// mean and biased variance for the running update.
extern "C" __global__ void s5_batch_norm_forward(
    const float* __restrict__ z,
    int rows,
    int h,
    const float* __restrict__ scale,
    const float* __restrict__ bias,
    const float* __restrict__ running_mean,
    const float* __restrict__ running_var,
    int training,
    float* __restrict__ xhat,
    float* __restrict__ out,
    float* __restrict__ rstd,
    float* __restrict__ batch_mean,
    float* __restrict__ batch_var) {
    GRID_STRIDE(j, h) {
        double mean;
        double var;
        if (training) {
            double sum = 0.0;
            double sq = 0.0;
            for (int r = 0; r < rows; ++r) {
                const double v = (double)z[(size_t)r * h + j];
                sum = __dadd_rn(sum, v);
                sq = __dadd_rn(sq, __dmul_rn(v, v));
            }
            const double n = rows > 0 ? (double)rows : 1.0;
            mean = __ddiv_rn(sum, n);
            var = __dsub_rn(__ddiv_rn(sq, n), __dmul_rn(mean, mean));
            var = var > 0.0 ? var : 0.0;
            batch_mean[j] = (float)mean;
            batch_var[j] = (float)var;
        } else {
            mean = (double)running_mean[j];
            var = (double)running_var[j];
        }
        const double rs = __ddiv_rn(1.0, sqrt(__dadd_rn(var, 1e-5)));
        rstd[j] = (float)rs;
        const float sc = scale[j];
        const float bi = bias[j];
        for (int r = 0; r < rows; ++r) {
            const size_t i = (size_t)r * h + j;
            const float x = (float)__dmul_rn(__dsub_rn((double)z[i], mean), rs);
            xhat[i] = x;
            out[i] = __fadd_rn(__fmul_rn(x, sc), bi);
        }
    }
}

// LayerNorm, a thread per row: statistics over the row's H features (eps 1e-6).
extern "C" __global__ void s5_layer_norm_forward(
    const float* __restrict__ z,
    int rows,
    int h,
    const float* __restrict__ scale,
    const float* __restrict__ bias,
    float* __restrict__ xhat,
    float* __restrict__ out,
    float* __restrict__ rstd) {
    GRID_STRIDE(r, rows) {
        const float* zr = z + r * h;
        double sum = 0.0;
        double sq = 0.0;
        for (int j = 0; j < h; ++j) {
            const double v = (double)zr[j];
            sum = __dadd_rn(sum, v);
            sq = __dadd_rn(sq, __dmul_rn(v, v));
        }
        const double mean = __ddiv_rn(sum, (double)h);
        double var = __dsub_rn(__ddiv_rn(sq, (double)h), __dmul_rn(mean, mean));
        var = var > 0.0 ? var : 0.0;
        const double rs = __ddiv_rn(1.0, sqrt(__dadd_rn(var, 1e-6)));
        rstd[r] = (float)rs;
        for (int j = 0; j < h; ++j) {
            const float x = (float)__dmul_rn(__dsub_rn((double)zr[j], mean), rs);
            xhat[r * h + j] = x;
            out[r * h + j] = __fadd_rn(__fmul_rn(x, scale[j]), bias[j]);
        }
    }
}

// Any norm's parameter gradients, and BatchNorm's input gradient, a thread per feature:
// dscale = sum dout xhat, dbias = sum dout (f64, row order); mode 0 BatchNorm in training
// (through the batch statistics), 1 BatchNorm in evaluation, 2 LayerNorm (dz by
// `s5_layer_norm_backward`). dz is written, or added to when `accumulate`.
extern "C" __global__ void s5_norm_backward_features(
    const float* __restrict__ dout,
    const float* __restrict__ xhat,
    int rows,
    int h,
    const float* __restrict__ scale,
    const float* __restrict__ rstd,
    int mode,
    int accumulate,
    float* __restrict__ dz,
    float* __restrict__ dscale,
    float* __restrict__ dbias) {
    GRID_STRIDE(j, h) {
        double ds = 0.0;
        double db = 0.0;
        for (int r = 0; r < rows; ++r) {
            const size_t i = (size_t)r * h + j;
            ds = __dadd_rn(ds, __dmul_rn((double)dout[i], (double)xhat[i]));
            db = __dadd_rn(db, (double)dout[i]);
        }
        dscale[j] = (float)ds;
        dbias[j] = (float)db;
        if (mode == 2) {
            continue;
        }
        const float sc = scale[j];
        const float rs = rstd[j];
        const double n = rows > 0 ? (double)rows : 1.0;
        const double sum_dx = __dmul_rn(db, (double)sc);
        const double sum_dxx = __dmul_rn(ds, (double)sc);
        for (int r = 0; r < rows; ++r) {
            const size_t i = (size_t)r * h + j;
            float v;
            if (mode == 0) {
                const double dxhat = __dmul_rn((double)dout[i], (double)sc);
                const double inner = __dsub_rn(__dsub_rn(__dmul_rn(n, dxhat), sum_dx), __dmul_rn((double)xhat[i], sum_dxx));
                v = (float)__dmul_rn(__ddiv_rn((double)rs, n), inner);
            } else {
                v = __fmul_rn(__fmul_rn(dout[i], sc), rs);
            }
            dz[i] = accumulate ? __fadd_rn(dz[i], v) : v;
        }
    }
}

// LayerNorm's input gradient, a thread per row: dz = rstd / H (H dxhat - sum dxhat - xhat
// sum dxhat xhat) with dxhat = dout scale; written, or added when `accumulate`.
extern "C" __global__ void s5_layer_norm_backward(
    const float* __restrict__ dout,
    const float* __restrict__ xhat,
    const float* __restrict__ rstd,
    int rows,
    int h,
    const float* __restrict__ scale,
    int accumulate,
    float* __restrict__ dz) {
    GRID_STRIDE(r, rows) {
        const size_t base = r * h;
        const double n = (double)h;
        double sum_dx = 0.0;
        double sum_dxx = 0.0;
        for (int j = 0; j < h; ++j) {
            const double dxhat = __dmul_rn((double)dout[base + j], (double)scale[j]);
            sum_dx = __dadd_rn(sum_dx, dxhat);
            sum_dxx = __dadd_rn(sum_dxx, __dmul_rn(dxhat, (double)xhat[base + j]));
        }
        const double rs = (double)rstd[r];
        for (int j = 0; j < h; ++j) {
            const double dxhat = __dmul_rn((double)dout[base + j], (double)scale[j]);
            const double inner = __dsub_rn(__dsub_rn(__dmul_rn(n, dxhat), sum_dx), __dmul_rn((double)xhat[base + j], sum_dxx));
            const float v = (float)__dmul_rn(__ddiv_rn(rs, n), inner);
            dz[base + j] = accumulate ? __fadd_rn(dz[base + j], v) : v;
        }
    }
}
