// First-order leaky scans along time, y_t = kappa_c * y_{t-1} + x_t per (sample, channel): the
// ELM's synapse (or branch) traces after the input projection, and the LIF family's synaptic
// currents. The CUDA twin of the CPU's trace filter. One thread per (sample, channel) walks the
// T steps; neighbouring threads take neighbouring channels, so every step's loads and stores are
// coalesced. Layout (B, T, C) with rows `stride` floats apart (C for a dense array; wider when
// the channels are a column block of a larger row, as layer 0's deltas are), kappa per channel.

extern "C" __global__ void leaky_scan_forward(
    const float* __restrict__ x,
    const float* __restrict__ kappa,
    int batch,
    int time,
    int channels,
    float* __restrict__ y,
    int x_stride,
    int y_stride) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    const int b = blockIdx.y;
    if (c >= channels || b >= batch) {
        return;
    }
    const float k = kappa[c];
    float state = 0.0f;
    for (int t = 0; t < time; ++t) {
        const size_t row = (size_t)b * time + t;
        state = fmaf(k, state, x[row * x_stride + c]);
        y[row * y_stride + c] = state;
    }
}

// The adjoint: dx_t = dy_t + kappa_c * dx_{t+1}, and each sample's d loss / d kappa_c =
// sum_t dx_t * y_{t-1}, written per (sample, channel) for a reduction in sample order.
extern "C" __global__ void leaky_scan_backward(
    const float* __restrict__ dy,
    const float* __restrict__ y,
    const float* __restrict__ kappa,
    int batch,
    int time,
    int channels,
    float* __restrict__ dx,
    float* __restrict__ kappa_parts,       // (B, C)
    int dy_stride,
    int y_stride,
    int dx_stride) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    const int b = blockIdx.y;
    if (c >= channels || b >= batch || time == 0) {
        return;
    }
    const float k = kappa[c];
    float carry = 0.0f;
    float dk = 0.0f;
    for (int t = time - 1; t >= 0; --t) {
        const size_t row = (size_t)b * time + t;
        carry = fmaf(k, carry, dy[row * dy_stride + c]);
        dx[row * dx_stride + c] = carry;
        if (t > 0) {
            dk = fmaf(carry, y[(row - 1) * y_stride + c], dk);
        }
    }
    kappa_parts[(size_t)b * channels + c] = dk;
}
