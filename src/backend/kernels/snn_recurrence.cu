// The spiking network's recurrence on the GPU: the CUDA twin of src/models/snn/recurrence.rs
// (`forward_group`, `backward_group`). One thread block steps one sample through all T steps, the
// time loop on the device, one thread per neuron (recurrent neurons 0..R, output neurons R..N);
// threads past N only keep the barriers. The input currents of every step arrive precomputed
// (`snn_input_currents`); here only the neuron-to-neuron synapses run step by step.
//
// Bits: every operation is the CPU's, in the CPU's order, without fused multiply-adds
// (__fmul_rn / __fadd_rn are never contracted, whatever NVRTC's --fmad): a membrane that lands on
// the threshold then spikes on both sides, so one flipped spike cannot make the device's network
// diverge from the CPU's. A neuron's partners are stored in increasing order, so gathering its
// synapses in order adds the contributions in the order the CPU's scatter (presynaptic neurons in
// increasing order) adds them; a silent partner adds w * 0, which changes no sum.
//
// Synapse tables are (K, N): synapse k of neuron n at k * N + n, so a warp's loads are coalesced.
// `partner` names the presynaptic in one index space (input channel i is i, neuron m is
// num_input + m), `weight` is the signed, rectified w = sign relu(p).

__device__ __forceinline__ float snn_spike(float x, int smooth, float steepness) {
    // H(x) (a spike at x = 0), or the surrogate's primitive 1/2 + 1/2 g x / (1 + g |x|).
    if (!smooth) {
        return x >= 0.0f ? 1.0f : 0.0f;
    }
    float scaled = __fmul_rn(__fmul_rn(0.5f, steepness), x);
    return __fadd_rn(0.5f, __fdiv_rn(scaled, __fadd_rn(1.0f, __fmul_rn(steepness, fabsf(x)))));
}

__device__ __forceinline__ float snn_surrogate(float x, float steepness) {
    // (g/2) / (1 + g |x|)^2.
    float d = __fadd_rn(1.0f, __fmul_rn(steepness, fabsf(x)));
    return __fdiv_rn(__fmul_rn(0.5f, steepness), __fmul_rn(d, d));
}

// Shared memory: the spikes of two steps (2N), alternating, so a step reads the previous step's
// while it writes its own.
extern "C" __global__ void snn_recurrence_forward(
    const float* __restrict__ input_current,  // (B, T, N)
    const int* __restrict__ partner,          // (K, N)
    const float* __restrict__ weight,         // (K, N)
    const float* __restrict__ alpha,          // (N) exp(-dt / tau_m)
    int time,
    int neurons,
    int recurrent,
    int synapses,
    int num_input,
    float threshold,
    float reset,                              // r theta
    float kappa,                              // the output filter's decay
    float kick,                               // g (1 - kappa)
    int smooth,
    float steepness,
    float* __restrict__ membrane,             // (B, T, N) u_t, before the reset
    float* __restrict__ spikes,               // (B, T, N)
    float* __restrict__ y,                    // (B, T, N - R)
    float* __restrict__ spike_counts) {       // (B, N)
    extern __shared__ float shared[];
    const int b = blockIdx.x;
    const int n = threadIdx.x;
    const bool active = n < neurons;
    const bool is_output = n >= recurrent;
    const int outputs = neurons - recurrent;
    const float a = active ? alpha[n] : 0.0f;
    // v_{t-1} (after the reset) and y_{t-1} stay with their neuron's thread.
    float v = 0.0f;
    float y_prev = 0.0f;
    double count = 0.0;
    for (int t = 0; t < time; ++t) {
        const float* s_prev = shared + ((t + 1) & 1) * neurons;
        float* s_now = shared + (t & 1) * neurons;
        const size_t row = (size_t)b * time + t;
        // Recurrent neurons: input current, then own-layer synapses (the previous step's spikes).
        if (active && !is_output) {
            float current = input_current[row * neurons + n];
            if (t > 0) {
                for (int k = 0; k < synapses; ++k) {
                    int m = partner[(size_t)k * neurons + n] - num_input;
                    if (m >= 0) {
                        current = __fadd_rn(current, __fmul_rn(weight[(size_t)k * neurons + n], s_prev[m]));
                    }
                }
            }
            float u = __fadd_rn(current, __fmul_rn(a, v));
            float s = snn_spike(__fsub_rn(u, threshold), smooth, steepness);
            membrane[row * neurons + n] = u;
            spikes[row * neurons + n] = s;
            s_now[n] = s;
            v = __fsub_rn(u, __fmul_rn(reset, s));
            count += (double)s;
        }
        __syncthreads();
        // Output neurons: own-layer synapses (previous step; their partners follow the recurrent
        // ones, but the CPU adds them first), then the recurrent spikes just made.
        if (active && is_output) {
            float current = input_current[row * neurons + n];
            if (t > 0) {
                for (int k = 0; k < synapses; ++k) {
                    int m = partner[(size_t)k * neurons + n] - num_input;
                    if (m >= recurrent) {
                        current = __fadd_rn(current, __fmul_rn(weight[(size_t)k * neurons + n], s_prev[m]));
                    }
                }
            }
            for (int k = 0; k < synapses; ++k) {
                int m = partner[(size_t)k * neurons + n] - num_input;
                if (m >= 0 && m < recurrent) {
                    current = __fadd_rn(current, __fmul_rn(weight[(size_t)k * neurons + n], s_now[m]));
                }
            }
            float u = __fadd_rn(current, __fmul_rn(a, v));
            float s = snn_spike(__fsub_rn(u, threshold), smooth, steepness);
            membrane[row * neurons + n] = u;
            spikes[row * neurons + n] = s;
            s_now[n] = s;
            v = __fsub_rn(u, __fmul_rn(reset, s));
            count += (double)s;
            y_prev = __fadd_rn(__fmul_rn(kappa, y_prev), __fmul_rn(kick, s));
            y[row * outputs + (n - recurrent)] = y_prev;
        }
        __syncthreads();
    }
    if (active) {
        spike_counts[(size_t)b * neurons + n] = (float)count;
    }
}

// ds_m += sum over neuron m's outgoing synapses (compressed row m) of w_e grad[target_e], with the
// CPU's two accumulators (even and odd entries of the row) and its final addition.
__device__ __forceinline__ float snn_gather(
    const int* __restrict__ start,
    const int* __restrict__ target,
    const float* __restrict__ weight,
    int m,
    const float* grad,
    float ds) {
    float even = 0.0f, odd = 0.0f;
    const int first = start[m], last = start[m + 1];
    for (int e = first; e < last; ++e) {
        float term = __fmul_rn(weight[e], grad[target[e]]);
        if (((e - first) & 1) == 0) {
            even = __fadd_rn(even, term);
        } else {
            odd = __fadd_rn(odd, term);
        }
    }
    return __fadd_rn(ds, __fadd_rn(even, odd));
}

// The reverse sweep: `d_current` receives dI_t of every neuron (the weight gradients are then sums
// over it, `snn_synapse_gradients`, and a GEMM for the input synapses), `alpha_partials` each
// (sample, neuron)'s sum over steps of du_t v_{t-1}, accumulated in double as the CPU does and
// written as a pair of floats (hi, lo = the rest) so that the host recovers it to ~48 bits.
// Outgoing synapses as compressed rows per presynaptic neuron, as on the CPU: `delayed` (within a
// layer, one step late), `immediate` (recurrent -> output, the same step).
// Shared memory: dI of two steps (2N), alternating.
extern "C" __global__ void snn_recurrence_backward(
    const float* __restrict__ membrane,       // (B, T, N)
    const float* __restrict__ spikes,         // (B, T, N)
    const float* __restrict__ alpha,          // (N)
    const int* __restrict__ delayed_start,    // (N + 1)
    const int* __restrict__ delayed_target,
    const float* __restrict__ delayed_weight,
    const int* __restrict__ immediate_start,  // (N + 1)
    const int* __restrict__ immediate_target,
    const float* __restrict__ immediate_weight,
    const float* __restrict__ dy,             // (B, T, N - R)
    int time,
    int neurons,
    int recurrent,
    float threshold,
    float reset,
    float kappa,
    float kick,
    float steepness,
    int reset_gradient,
    float penalty_gradient,                   // d loss / d s of the spike penalty
    float* __restrict__ d_current,            // (B, T, N)
    float* __restrict__ alpha_partials) {     // (B, N, 2)
    extern __shared__ float shared[];
    const int b = blockIdx.x;
    const int m = threadIdx.x;
    const bool active = m < neurons;
    const bool is_output = m >= recurrent;
    const int outputs = neurons - recurrent;
    const float a = active ? alpha[m] : 0.0f;
    float dv = 0.0f;          // the adjoint of v_t, carried to step t - 1 (times alpha)
    float dy_filter = 0.0f;   // the output filter's adjoint
    double alpha_sum = 0.0;
    for (int t = time - 1; t >= 0; --t) {
        float* di_now = shared + (t & 1) * neurons;
        const float* di_next = shared + ((t + 1) & 1) * neurons;
        const size_t row = (size_t)b * time + t;
        float ds = 0.0f, u = 0.0f, v_prev = 0.0f;
        if (active) {
            u = membrane[row * neurons + m];
            if (t > 0) {
                v_prev = __fsub_rn(membrane[(row - 1) * neurons + m], __fmul_rn(reset, spikes[(row - 1) * neurons + m]));
            }
            ds = penalty_gradient;
            if (is_output) {
                dy_filter = __fadd_rn(dy[row * outputs + (m - recurrent)], __fmul_rn(kappa, dy_filter));
                ds = __fadd_rn(ds, __fmul_rn(kick, dy_filter));
            }
            if (t + 1 < time) {
                ds = snn_gather(delayed_start, delayed_target, delayed_weight, m, di_next, ds);
            }
        }
        // The adjoint of one neuron's update: output neurons first (their currents at t depend on
        // the recurrent spikes of step t), then the recurrent ones, which read the outputs' dI_t.
        for (int phase = 0; phase < 2; ++phase) {
            if (active && is_output == (phase == 0)) {
                if (!is_output) {
                    ds = snn_gather(immediate_start, immediate_target, immediate_weight, m, di_now, ds);
                }
                float reset_term = reset_gradient ? __fmul_rn(-reset, dv) : 0.0f;
                float du = __fadd_rn(dv, __fmul_rn(snn_surrogate(__fsub_rn(u, threshold), steepness), __fadd_rn(ds, reset_term)));
                alpha_sum += (double)__fmul_rn(du, v_prev);
                di_now[m] = du;
                d_current[row * neurons + m] = du;
                dv = __fmul_rn(a, du);
            }
            __syncthreads();
        }
    }
    if (active) {
        float hi = (float)alpha_sum;
        float* out = alpha_partials + ((size_t)b * neurons + m) * 2;
        out[0] = hi;
        out[1] = (float)(alpha_sum - (double)hi);
    }
}
