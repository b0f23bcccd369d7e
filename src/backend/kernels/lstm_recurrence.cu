// The LSTM recurrence on the GPU: the CUDA twin of src/models/lstm/recurrence.rs (PyTorch's
// equations and gate order i, f, g, o). One thread block steps one sample through all T steps,
// the time loop on the device. `gates` arrives holding the input projection with both biases for
// every (sample, step) and leaves holding the gate activations, as on the CPU. W_hh^T (H, 4H)
// row-major makes a warp's weight loads for consecutive gates coalesced. `mask` (B, H) is the
// recurrent dropout mask (h_{t-1} * mask enters W_hh), or all ones.
// Shared memory: the masked h_{t-1} (H), c_{t-1} (H), the step's pre-activations (4H).

__device__ __forceinline__ float lstm_sigmoid(float x) {
    return 1.0f / (1.0f + expf(-x));
}

extern "C" __global__ void lstm_recurrence_forward(
    float* __restrict__ gates,            // (B, T, 4H) in: projections; out: activations
    const float* __restrict__ w_hh_t,     // (H, 4H)
    const float* __restrict__ mask,       // (B, H)
    int time,
    int hidden,
    float* __restrict__ cell,             // (B, T, H)
    float* __restrict__ tanh_cell,        // (B, T, H)
    float* __restrict__ out_hidden) {     // (B, T, H)
    extern __shared__ float shared[];
    float* h_prev = shared;
    float* c_prev = h_prev + hidden;
    float* z = c_prev + hidden;
    const int b = blockIdx.x;
    const int width = 4 * hidden;
    for (int k = threadIdx.x; k < hidden; k += blockDim.x) {
        h_prev[k] = 0.0f;
        c_prev[k] = 0.0f;
    }
    __syncthreads();
    for (int t = 0; t < time; ++t) {
        const size_t row = (size_t)b * time + t;
        for (int j = threadIdx.x; j < width; j += blockDim.x) {
            float v = gates[row * width + j];
            if (t > 0) {
                for (int k = 0; k < hidden; ++k) {
                    v = fmaf(h_prev[k], __ldg(w_hh_t + (size_t)k * width + j), v);
                }
            }
            z[j] = v;
        }
        __syncthreads();
        for (int k = threadIdx.x; k < hidden; k += blockDim.x) {
            float i = lstm_sigmoid(z[k]);
            float f = lstm_sigmoid(z[hidden + k]);
            float g = tanhf(z[2 * hidden + k]);
            float o = lstm_sigmoid(z[3 * hidden + k]);
            float c = t > 0 ? f * c_prev[k] + i * g : i * g;
            float tc = tanhf(c);
            float h = o * tc;
            gates[row * width + k] = i;
            gates[row * width + hidden + k] = f;
            gates[row * width + 2 * hidden + k] = g;
            gates[row * width + 3 * hidden + k] = o;
            cell[row * hidden + k] = c;
            tanh_cell[row * hidden + k] = tc;
            out_hidden[row * hidden + k] = h;
            c_prev[k] = c;
            h_prev[k] = h * mask[(size_t)b * hidden + k];
        }
        __syncthreads();
    }
}

// The reverse sweep: `dh` arrives holding the readout's gradient of every h_t and leaves holding
// the full one (plus the recurrent part), as on the CPU; `dz` receives the gradient of the four
// pre-activations (the weight gradients are then GEMMs over B*T rows).
// Shared memory: dc (H), the step's dz (4H).
extern "C" __global__ void lstm_recurrence_backward(
    const float* __restrict__ gates,      // (B, T, 4H) activations
    const float* __restrict__ cell,
    const float* __restrict__ tanh_cell,
    const float* __restrict__ w_hh,       // (4H, H)
    const float* __restrict__ mask,       // (B, H)
    int time,
    int hidden,
    float* __restrict__ dh,               // (B, T, H) in/out
    float* __restrict__ dz) {             // (B, T, 4H)
    extern __shared__ float shared[];
    float* dc = shared;
    float* dz_step = dc + hidden;
    const int b = blockIdx.x;
    const int width = 4 * hidden;
    for (int k = threadIdx.x; k < hidden; k += blockDim.x) {
        dc[k] = 0.0f;
    }
    __syncthreads();
    for (int t = time - 1; t >= 0; --t) {
        const size_t row = (size_t)b * time + t;
        for (int k = threadIdx.x; k < hidden; k += blockDim.x) {
            const float* a = gates + row * width;
            float i = a[k], f = a[hidden + k], g = a[2 * hidden + k], o = a[3 * hidden + k];
            float tc = tanh_cell[row * hidden + k];
            float dhk = dh[row * hidden + k];
            float d_o = dhk * tc;
            float d_c = dc[k] + dhk * o * (1.0f - tc * tc);
            float dz_i = d_c * g * i * (1.0f - i);
            float dz_g = d_c * i * (1.0f - g * g);
            float dz_o = d_o * o * (1.0f - o);
            float dz_f = t > 0 ? d_c * cell[(row - 1) * hidden + k] * f * (1.0f - f) : 0.0f;
            dc[k] = d_c * f;
            dz_step[k] = dz_i;
            dz_step[hidden + k] = dz_f;
            dz_step[2 * hidden + k] = dz_g;
            dz_step[3 * hidden + k] = dz_o;
            dz[row * width + k] = dz_i;
            dz[row * width + hidden + k] = dz_f;
            dz[row * width + 2 * hidden + k] = dz_g;
            dz[row * width + 3 * hidden + k] = dz_o;
        }
        __syncthreads();
        if (t > 0) {
            // dh_{t-1} += (dz_t W_hh) * mask.
            for (int k = threadIdx.x; k < hidden; k += blockDim.x) {
                float s = 0.0f;
                for (int j = 0; j < width; ++j) {
                    s = fmaf(dz_step[j], __ldg(w_hh + (size_t)j * hidden + k), s);
                }
                dh[(row - 1) * hidden + k] += s * mask[(size_t)b * hidden + k];
            }
        }
        __syncthreads();
    }
}

// dW_hh's inputs under recurrent dropout: out[b, t, k] = mask[b, k] * hidden[b, t, k], the masked
// state each step's recurrent product saw (the CPU's `recurrent_dropout::apply`).
extern "C" __global__ void lstm_mask_hidden(
    const float* __restrict__ hidden,     // (B, T, H)
    const float* __restrict__ mask,       // (B, H)
    int batch,
    int time,
    int hidden_size,
    float* __restrict__ out) {            // (B, T, H)
    const size_t n = (size_t)batch * time * hidden_size;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        const size_t b = i / ((size_t)time * hidden_size);
        const size_t k = i % hidden_size;
        out[i] = mask[b * hidden_size + k] * hidden[i];
    }
}
