// S5's complex diagonal recurrence, x_t = Lambda_bar x_{t-1} + u_t per (sample, state), and
// its adjoint: the CUDA twin of `models::s5::ssm::{scan_sample, reverse_scan_sample}`. One
// thread per (sample, state) walks the T steps of both directions (bidirectional: the second scan
// runs against time); neighbouring threads take neighbouring states, so every step's loads and
// stores are coalesced. A thread owns every direction of its state because the backward pass
// adds both directions' adjoints into the same scan-input gradient.
//
// Layouts (rows b * time + t): u and du (B, T, 2P) as [Re | Im]; states and their gradients
// (B, T, directions * 2P) as [Re x | Im x | Re x' | Im x']. The CPU's operations in the CPU's
// order through __f*_rn / __d*_rn (never fused into multiply-adds), so results equal the CPU's.

extern "C" __global__ void s5_scan_forward(
    const float* __restrict__ u,
    const float* __restrict__ lambda_re,
    const float* __restrict__ lambda_im,
    int batch,
    int time,
    int p,
    int directions,
    float* __restrict__ states) {
    const int s = blockIdx.x * blockDim.x + threadIdx.x;
    const int b = blockIdx.y;
    if (s >= p || b >= batch) {
        return;
    }
    const float lr = lambda_re[s];
    const float li = lambda_im[s];
    const size_t in_row = (size_t)2 * p;
    const size_t row = (size_t)directions * 2 * p;
    for (int dir = 0; dir < directions; ++dir) {
        const size_t off = (size_t)dir * 2 * p;
        float xr = 0.0f;
        float xi = 0.0f;
        for (int step = 0; step < time; ++step) {
            const int t = dir == 0 ? step : time - 1 - step;
            const size_t r = (size_t)b * time + t;
            const float ur = u[r * in_row + s];
            const float ui = u[r * in_row + p + s];
            if (step == 0) {
                xr = ur;
                xi = ui;
            } else {
                const float nr = __fadd_rn(__fsub_rn(__fmul_rn(lr, xr), __fmul_rn(li, xi)), ur);
                const float ni = __fadd_rn(__fadd_rn(__fmul_rn(lr, xi), __fmul_rn(li, xr)), ui);
                xr = nr;
                xi = ni;
            }
            states[r * row + off + s] = xr;
            states[r * row + off + p + s] = xi;
        }
    }
}

// The adjoint: acc = g_t + conj(Lambda_bar) acc against each scan's direction; du_t is the sum of
// both directions' acc; each sample's dL/dLambda_bar = sum_t conj(x_prev) acc_t, accumulated in
// f64 and written as (re_hi, re_lo, im_hi, im_lo) per (sample, state), so the host recovers the
// f64 sum and adds the samples in order.
extern "C" __global__ void s5_scan_backward(
    const float* __restrict__ states,
    const float* __restrict__ state_grads,
    const float* __restrict__ lambda_re,
    const float* __restrict__ lambda_im,
    int batch,
    int time,
    int p,
    int directions,
    float* __restrict__ du,
    float* __restrict__ lambda_parts) {
    const int s = blockIdx.x * blockDim.x + threadIdx.x;
    const int b = blockIdx.y;
    if (s >= p || b >= batch) {
        return;
    }
    const float lr = lambda_re[s];
    const float li = lambda_im[s];
    const size_t in_row = (size_t)2 * p;
    const size_t row = (size_t)directions * 2 * p;
    double sum_re = 0.0;
    double sum_im = 0.0;
    for (int dir = 0; dir < directions; ++dir) {
        const size_t off = (size_t)dir * 2 * p;
        float ar = 0.0f;
        float ai = 0.0f;
        for (int step = 0; step < time; ++step) {
            const int t = dir == 0 ? time - 1 - step : step;
            const size_t r = (size_t)b * time + t;
            const float gr = state_grads[r * row + off + s];
            const float gi = state_grads[r * row + off + p + s];
            const float nr = __fadd_rn(__fadd_rn(gr, __fmul_rn(lr, ar)), __fmul_rn(li, ai));
            const float ni = __fsub_rn(__fadd_rn(gi, __fmul_rn(lr, ai)), __fmul_rn(li, ar));
            ar = nr;
            ai = ni;
            if (dir == 0) {
                du[r * in_row + s] = ar;
                du[r * in_row + p + s] = ai;
            } else {
                du[r * in_row + s] = __fadd_rn(du[r * in_row + s], ar);
                du[r * in_row + p + s] = __fadd_rn(du[r * in_row + p + s], ai);
            }
            const int prev = dir == 0 ? t - 1 : t + 1;
            if (prev >= 0 && prev < time) {
                const size_t q = (size_t)b * time + prev;
                // conj(x) * acc with x = xr + i xi: (xr, -xi) times (ar, ai), as Complex<f64>.
                const double xr = (double)states[q * row + off + s];
                const double xi = -(double)states[q * row + off + p + s];
                sum_re = __dadd_rn(sum_re, __dsub_rn(__dmul_rn(xr, (double)ar), __dmul_rn(xi, (double)ai)));
                sum_im = __dadd_rn(sum_im, __dadd_rn(__dmul_rn(xr, (double)ai), __dmul_rn(xi, (double)ar)));
            }
        }
    }
    float* part = lambda_parts + ((size_t)b * p + s) * 4;
    const float re_hi = (float)sum_re;
    const float im_hi = (float)sum_im;
    part[0] = re_hi;
    part[1] = (float)(sum_re - (double)re_hi);
    part[2] = im_hi;
    part[3] = (float)(sum_im - (double)im_hi);
}
