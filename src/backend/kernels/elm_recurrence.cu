// The ELM's memory recurrence on the GPU: the CUDA twin of src/models/elm/recurrence.rs.
//
// One thread block steps one sample through all T steps, so the time loop stays on the device
// (one launch per pass instead of several per step, as a framework would issue). The memory, the
// MLP's memory input and every layer's activations live in shared memory; the weights are read
// from global memory through the read-only cache (they are shared by every block and stay in L2).
// Thread o of the block computes unit o of a layer; reads of the transposed weights (inp, out)
// are then coalesced across the warp.
//
// Layer descriptors, 4 ints per layer: out, the inner size of the step's product (d_m for layer
// 0, whose input columns other than the memory arrive precomputed in q), the offset of the
// layer's transposed weights in `weights_t`, the offset of its bias in `biases`.
// Activation codes: 0 ReLU, 1 SiLU (the last layer always applies the custom tanh).

#define CUSTOM_TANH_SCALE 1.7159f
#define CUSTOM_TANH_SLOPE (2.0f / 3.0f)

__device__ __forceinline__ float elm_activation(float z, int kind) {
    return kind == 0 ? fmaxf(z, 0.0f) : z / (1.0f + expf(-z));
}

// d act / d z; ReLU's derivative at 0 is 0, as in PyTorch and on the CPU.
__device__ __forceinline__ float elm_activation_derivative(float z, int kind) {
    if (kind == 0) {
        return z > 0.0f ? 1.0f : 0.0f;
    }
    float s = 1.0f / (1.0f + expf(-z));
    return s * (1.0f + z * (1.0f - s));
}

// Shared memory: m (dm), a = kappa_m * m_prev (dm), the post-activations of every layer (width).
extern "C" __global__ void elm_recurrence_forward(
    const float* __restrict__ q,            // (B, T, out_0): layer 0's input projection
    const float* __restrict__ weights_t,
    const float* __restrict__ biases,
    const int* __restrict__ layers,         // (num_layers, 4)
    int num_layers,
    const float* __restrict__ kappa_m,      // (dm)
    const float* __restrict__ update_gain,  // (dm): lambda * (1 - kappa_m), or v2's gain
    int time,
    int dm,
    int width,
    int activation,
    float* __restrict__ memory,             // (B, T, dm)
    float* __restrict__ memory_input,       // (B, T, dm)
    float* __restrict__ pre,                // (B, T, width)
    float* __restrict__ post) {             // (B, T, width)
    extern __shared__ float shared[];
    float* m = shared;
    float* a = m + dm;
    float* act = a + dm;
    const int b = blockIdx.x;
    const int out0 = layers[0];
    for (int k = threadIdx.x; k < dm; k += blockDim.x) {
        m[k] = 0.0f;
    }
    __syncthreads();
    for (int t = 0; t < time; ++t) {
        const size_t row_m = ((size_t)b * time + t) * dm;
        const size_t row_w = ((size_t)b * time + t) * width;
        for (int k = threadIdx.x; k < dm; k += blockDim.x) {
            float v = t == 0 ? 0.0f : kappa_m[k] * m[k];
            a[k] = v;
            memory_input[row_m + k] = v;
        }
        __syncthreads();
        int offset = 0;
        for (int l = 0; l < num_layers; ++l) {
            const int out = layers[4 * l];
            const int inner = layers[4 * l + 1];
            const float* w = weights_t + layers[4 * l + 2];
            const float* bias = biases + layers[4 * l + 3];
            const float* input = l == 0 ? a : act + offset - inner;
            const bool last = l == num_layers - 1;
            for (int o = threadIdx.x; o < out; o += blockDim.x) {
                float z = __ldg(bias + o);
                if (l == 0) {
                    z += q[((size_t)b * time + t) * out0 + o];
                }
                for (int k = 0; k < inner; ++k) {
                    z = fmaf(input[k], __ldg(w + (size_t)k * out + o), z);
                }
                float y = last ? tanhf(CUSTOM_TANH_SLOPE * z) : elm_activation(z, activation);
                pre[row_w + offset + o] = z;
                post[row_w + offset + o] = y;
                act[offset + o] = y;
            }
            __syncthreads();
            offset += out;
        }
        const float* th = act + width - dm;
        for (int k = threadIdx.x; k < dm; k += blockDim.x) {
            float drive = update_gain[k] * (CUSTOM_TANH_SCALE * th[k]);
            float v = t == 0 ? drive : kappa_m[k] * m[k] + drive;
            m[k] = v;
            memory[row_m + k] = v;
        }
        __syncthreads();
    }
}

// The reverse sweep. Writes d loss / d pre-activation of every layer at every step (`delta`,
// laid out like `pre`; the weight gradients are then large GEMMs over B*T rows) and, when
// tau_m is learned, each sample's d loss / d kappa_m and d loss / d kappa_lambda (v2), which the
// host reduces in sample order so that the sum does not depend on scheduling.
//
// Layer descriptors as in the forward kernel, plus a second table (4 ints per layer): inp (the
// layer's full input width; layer 0's includes the branch columns), the offset of its row-major
// weights (out, inp) in `weights`, the column of layer 0's first memory input (num_branch).
// Shared memory: gm (dm), carry (dm), the deltas of every layer (width).
extern "C" __global__ void elm_recurrence_backward(
    const float* __restrict__ weights,      // row-major (out, inp) per layer
    const int* __restrict__ layers,         // (num_layers, 4) as forward
    const int* __restrict__ layers_rowmajor,// (num_layers, 4): inp, weight offset, first memory column, 0
    int num_layers,
    const float* __restrict__ kappa_m,
    const float* __restrict__ update_gain,
    float lambda,
    int version,                            // 1 or 2
    int learn_tau,
    int time,
    int dm,
    int width,
    int activation,
    const float* __restrict__ memory,
    const float* __restrict__ pre,
    const float* __restrict__ post,
    const float* __restrict__ memory_grad,  // (B, T, dm): from the readout
    float* __restrict__ delta,              // (B, T, width)
    float* __restrict__ kappa_parts) {      // (B, 2, dm)
    extern __shared__ float shared[];
    float* gm = shared;
    float* carry = gm + dm;
    float* d = carry + dm;
    const int b = blockIdx.x;
    float dkm_acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    float dkl_acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int k = threadIdx.x; k < dm; k += blockDim.x) {
        carry[k] = 0.0f;
    }
    __syncthreads();
    int last_offset = width - dm;
    for (int t = time - 1; t >= 0; --t) {
        const size_t row_m = ((size_t)b * time + t) * dm;
        const size_t row_w = ((size_t)b * time + t) * width;
        for (int k = threadIdx.x; k < dm; k += blockDim.x) {
            float g = memory_grad[row_m + k] + carry[k];
            gm[k] = g;
            float th = post[row_w + last_offset + k];
            float v = g * update_gain[k] * CUSTOM_TANH_SCALE * CUSTOM_TANH_SLOPE * (1.0f - th * th);
            d[last_offset + k] = v;
            delta[row_w + last_offset + k] = v;
        }
        __syncthreads();
        // Down the hidden layers: delta_{l-1} = (W_l^T delta_l) * act'(z_{l-1}).
        int offset = last_offset;
        for (int l = num_layers - 1; l >= 1; --l) {
            const int out = layers[4 * l];
            const int inp = layers_rowmajor[4 * l];
            const float* w = weights + layers_rowmajor[4 * l + 1];
            const int previous = offset - inp;
            for (int i = threadIdx.x; i < inp; i += blockDim.x) {
                float s = 0.0f;
                for (int o = 0; o < out; ++o) {
                    s = fmaf(__ldg(w + (size_t)o * inp + i), d[offset + o], s);
                }
                float v = s * elm_activation_derivative(pre[row_w + previous + i], activation);
                d[previous + i] = v;
                delta[row_w + previous + i] = v;
            }
            __syncthreads();
            offset = previous;
        }
        // Layer 0's memory columns: d loss / d (kappa_m * m_{t-1}), then the carry to m_{t-1}.
        const int out0 = layers[0];
        const int inp0 = layers_rowmajor[0];
        const float* w0 = weights + layers_rowmajor[1];
        const int first_memory = layers_rowmajor[2];
        for (int k = threadIdx.x; k < dm; k += blockDim.x) {
            float through = 0.0f;
            for (int o = 0; o < out0; ++o) {
                through = fmaf(__ldg(w0 + (size_t)o * inp0 + first_memory + k), d[o], through);
            }
            float g = gm[k];
            if (learn_tau) {
                float m_prev = t > 0 ? memory[row_m - dm + k] : 0.0f;
                float update = CUSTOM_TANH_SCALE * post[row_w + last_offset + k];
                int slot = k / blockDim.x;
                if (slot < 4) {
                    dkm_acc[slot] += (g + through) * m_prev;
                    if (version == 1) {
                        dkm_acc[slot] -= g * lambda * update;
                    } else {
                        dkl_acc[slot] -= g * update;
                    }
                }
            }
            carry[k] = kappa_m[k] * (g + through);
        }
        __syncthreads();
    }
    for (int k = threadIdx.x, slot = 0; k < dm && slot < 4; k += blockDim.x, ++slot) {
        kappa_parts[(size_t)b * 2 * dm + k] = dkm_acc[slot];
        kappa_parts[(size_t)b * 2 * dm + dm + k] = dkl_acc[slot];
    }
}
