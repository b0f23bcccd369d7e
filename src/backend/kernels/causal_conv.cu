// The time part of the TCN's causal dilated convolutions on the GPU: the CUDA twin of
// src/models/tcn/causal_conv.rs (`shift_add`, `shift_gather`) with the bias and the activation
// fused in. A layer's channel part is one GEMM before it, Z = h W_all^T with Z (rows, K * C)
// for rows = (sample, step) and W_all the (K * C, C_in) stack of the taps, so what is left here
// only adds and shifts: no thread depends on another, and one thread per output element walks
// its K taps in order (the CPU's order, so the sums round the same way). Neighbouring threads
// take neighbouring channels, so every tap's loads are coalesced. Grid-stride loops over
// element counts in size_t: a long evaluation window can pass 2^31 elements of Z.
//
// Tap k looks lag_k = (K - 1 - k) * dilation steps back, taps from the oldest (k = 0) to the
// present (k = K - 1), as in Keras's causal Conv1D; taps before a sample's first step read the
// causal zero padding, so they are skipped. Activation codes: 0 ReLU, 1 SiLU.

__device__ __forceinline__ float causal_conv_activation(float z, int kind) {
    if (kind == 0) {
        return fmaxf(z, 0.0f);
    }
    // z * sigmoid(z), in the CPU's operations (Activation::Silu).
    return z * (1.0f / (1.0f + expf(-z)));
}

// g * act'(z); ReLU's derivative at 0 is 0, as in PyTorch and on the CPU.
__device__ __forceinline__ float causal_conv_activation_backward(float z, float g, int kind) {
    if (kind == 0) {
        return z > 0.0f ? g : 0.0f;
    }
    float s = 1.0f / (1.0f + expf(-z));
    return g * (s * (1.0f + z * (1.0f - s)));
}

// pre[r, c] = bias[c] + sum_k z[r - lag_k, k, c] over the taps inside the sample; post = act(pre).
// z is (rows, K * C), pre and post (rows, C), rows = batch * time.
extern "C" __global__ void causal_conv_forward(
    const float* __restrict__ z,
    const float* __restrict__ bias,
    int rows,
    int time,
    int channels,
    int kernel,
    int dilation,
    int activation,
    float* __restrict__ pre,
    float* __restrict__ post) {
    const size_t n = (size_t)rows * channels;
    const size_t kc = (size_t)kernel * channels;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        const size_t row = i / channels;
        const int c = (int)(i % channels);
        const int t = (int)(row % time);
        float s = bias[c];
        for (int k = 0; k < kernel; ++k) {
            const int lag = (kernel - 1 - k) * dilation;
            if (lag <= t) {
                s += z[(row - lag) * kc + (size_t)k * channels + c];
            }
        }
        pre[i] = s;
        post[i] = causal_conv_activation(s, activation);
    }
}

// The adjoint, with the activation's chain rule first: dpre = dpost * act'(pre), then
// dz[r, k, c] = dpre[r + lag_k, c], zero where r + lag_k is past the sample's last step (those
// products reached no output). Every element of dz is written. The present tap (lag 0) reads
// dpre at its own row, so its thread also writes dpre (for the bias gradient's column sums):
// each element has one writer, no atomics.
extern "C" __global__ void causal_conv_backward(
    const float* __restrict__ dpost,
    const float* __restrict__ pre,
    int rows,
    int time,
    int channels,
    int kernel,
    int dilation,
    int activation,
    float* __restrict__ dz,
    float* __restrict__ dpre) {
    const size_t kc = (size_t)kernel * channels;
    const size_t n = (size_t)rows * kc;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        const size_t row = i / kc;
        const int j = (int)(i % kc);
        const int k = j / channels;
        const int c = j % channels;
        const int lag = (kernel - 1 - k) * dilation;
        const int t = (int)(row % time);
        float g = 0.0f;
        if (lag < time - t) {
            const size_t source = (row + lag) * channels + c;
            g = causal_conv_activation_backward(pre[source], dpost[source], activation);
        }
        dz[i] = g;
        if (lag == 0) {
            dpre[row * channels + c] = g;
        }
    }
}
