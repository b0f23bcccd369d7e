// First-order leaky scans along time, y_t = kappa_c * y_{t-1} + x_t per (sample, channel): the
// ELM's synapse (or branch) traces after the input projection, and the LIF family's synaptic
// currents. The CUDA twin of the CPU's trace filter. One thread per (sample, channel) walks the
// T steps; neighbouring threads take neighbouring channels, so every step's loads and stores are
// coalesced. Layout (B, T, C), kappa per channel.

extern "C" __global__ void leaky_scan_forward(
    const float* __restrict__ x,
    const float* __restrict__ kappa,
    int batch,
    int time,
    int channels,
    float* __restrict__ y) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    const int b = blockIdx.y;
    if (c >= channels || b >= batch) {
        return;
    }
    const float k = kappa[c];
    float state = 0.0f;
    size_t index = (size_t)b * time * channels + c;
    for (int t = 0; t < time; ++t, index += channels) {
        state = fmaf(k, state, x[index]);
        y[index] = state;
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
    float* __restrict__ kappa_parts) {     // (B, C)
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    const int b = blockIdx.y;
    if (c >= channels || b >= batch || time == 0) {
        return;
    }
    const float k = kappa[c];
    float carry = 0.0f;
    float dk = 0.0f;
    size_t index = ((size_t)b * time + (time - 1)) * channels + c;
    for (int t = time - 1; t >= 0; --t, index -= channels) {
        carry = fmaf(k, carry, dy[index]);
        dx[index] = carry;
        if (t > 0) {
            dk = fmaf(carry, y[index - channels], dk);
        }
    }
    kappa_parts[(size_t)b * channels + c] = dk;
}
