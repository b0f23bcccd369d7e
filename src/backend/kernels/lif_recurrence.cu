// The LIF / ALIF layer's sequential part (src/models/lif/recurrence.rs) and its memory units
// (src/models/lif/memory.rs), on the device. Neurons are independent, so one thread owns one
// (sample, neuron) chain and walks its T steps with the state in registers: no barriers, and
// neighbouring threads take neighbouring neurons, so every step's loads and stores are coalesced.
// Layout: rows are (sample, step) row-major, neurons contiguous within a row; memory states
// (rows, neurons, K). Per-(sample, neuron) parts of the decays' gradients are written for a
// reduction in sample order on the host (deterministic, no atomics).
//
// Constants: spike_function 0 = Heaviside, 1 = smooth (1/2 + 1/2 g x / (1 + g|x|)); outputs
// 0 = (k x_t, u_t) per neuron, 1 = u_t; adaptive 0 = LIF (rho and adaptation unused).

__device__ __forceinline__ float lif_spike(float x, int spike_function, float g) {
    if (spike_function == 0) {
        return x >= 0.0f ? 1.0f : 0.0f;
    }
    return 0.5f + 0.5f * g * x / (1.0f + g * fabsf(x));
}

__device__ __forceinline__ float lif_surrogate(float x, float g) {
    const float d = 1.0f + g * fabsf(x);
    return 0.5f * g / (d * d);
}

extern "C" __global__ void lif_recurrence_forward(
    const float* __restrict__ current,     // (rows, N)
    const float* __restrict__ alpha,       // (N)
    const float* __restrict__ rho,         // (N), ALIF
    int batch,
    int time,
    int neurons,
    int adaptive,
    float threshold,
    float adaptation_strength,
    float logit_scale,
    int spike_function,
    float steepness,
    int outputs,
    float* __restrict__ membrane,          // (rows, N): u_t
    float* __restrict__ spikes,            // (rows, N): s_t
    float* __restrict__ adaptation,        // (rows, N): a_t, ALIF
    float* __restrict__ y) {               // (rows, 2N) or (rows, N)
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    const int b = blockIdx.y;
    if (j >= neurons || b >= batch) {
        return;
    }
    const float a_j = alpha[j];
    const float rho_j = adaptive ? rho[j] : 0.0f;
    float v = 0.0f;
    float a = 0.0f;
    for (int t = 0; t < time; ++t) {
        const size_t r = ((size_t)b * time + t) * neurons + j;
        const float u = a_j * v + (1.0f - a_j) * current[r];
        const float x = u - (adaptive ? threshold + adaptation_strength * a : threshold);
        const float s = lif_spike(x, spike_function, steepness);
        membrane[r] = u;
        spikes[r] = s;
        if (outputs == 0) {
            y[2 * r] = logit_scale * x;
            y[2 * r + 1] = u;
        } else {
            y[r] = u;
        }
        v = u - threshold * s;
        if (adaptive) {
            adaptation[r] = a;
            a = rho_j * a + (1.0f - rho_j) * s;
        }
    }
}

// The reverse sweep: adjoints of v_t and a_{t+1} carried backwards; the spike's adjoint through
// the surrogate; with reset_gradient 0 the reset's term is left out (`detach_reset`).
extern "C" __global__ void lif_recurrence_backward(
    const float* __restrict__ current,
    const float* __restrict__ membrane,
    const float* __restrict__ spikes,
    const float* __restrict__ adaptation,
    const float* __restrict__ dy,
    const float* __restrict__ alpha,
    const float* __restrict__ rho,
    int batch,
    int time,
    int neurons,
    int adaptive,
    float threshold,
    float adaptation_strength,
    float logit_scale,
    float steepness,
    int outputs,
    int reset_gradient,
    float* __restrict__ current_grad,      // (rows, N)
    float* __restrict__ alpha_parts,       // (B, N)
    float* __restrict__ rho_parts) {       // (B, N), ALIF
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    const int b = blockIdx.y;
    if (j >= neurons || b >= batch) {
        return;
    }
    const float a_j = alpha[j];
    const float rho_j = adaptive ? rho[j] : 0.0f;
    const float beta = adaptive ? adaptation_strength : 0.0f;
    float dv = 0.0f;
    float da_next = 0.0f;
    float alpha_part = 0.0f;
    float rho_part = 0.0f;
    for (int t = time - 1; t >= 0; --t) {
        const size_t r = ((size_t)b * time + t) * neurons + j;
        const float u = membrane[r];
        const float s = spikes[r];
        const float a = adaptive ? adaptation[r] : 0.0f;
        const float x = u - threshold - beta * a;
        const float dy_logit = outputs == 0 ? dy[2 * r] : 0.0f;
        const float dy_membrane = outputs == 0 ? dy[2 * r + 1] : dy[r];
        const float reset = reset_gradient ? -threshold * dv : 0.0f;
        const float ds = reset + (1.0f - rho_j) * da_next;
        const float dx = logit_scale * dy_logit + lif_surrogate(x, steepness) * ds;
        const float du = dy_membrane + dv + dx;
        if (adaptive) {
            rho_part += da_next * (a - s);
            da_next = rho_j * da_next - beta * dx;
        }
        const float v_prev = t > 0 ? membrane[r - neurons] - threshold * spikes[r - neurons] : 0.0f;
        alpha_part += du * (v_prev - current[r]);
        current_grad[r] = (1.0f - a_j) * du;
        dv = a_j * du;
    }
    alpha_parts[(size_t)b * neurons + j] = alpha_part;
    if (adaptive) {
        rho_parts[(size_t)b * neurons + j] = rho_part;
    }
}

// Memory units: m_{k,t} = beta_k m_{k,t-1} + (1 - beta_k) I_t and I'_t = I_t + sum_k c_k m_{k,t},
// the units in order (as the CPU sums them).
extern "C" __global__ void lif_memory_forward(
    const float* __restrict__ current,     // (rows, N): I
    const float* __restrict__ weight,      // (N, K): c
    const float* __restrict__ decay,       // (N, K): beta
    int batch,
    int time,
    int neurons,
    int units,
    float* __restrict__ memory,            // (rows, N, K)
    float* __restrict__ effective) {       // (rows, N): I'
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    const int b = blockIdx.y;
    if (j >= neurons || b >= batch) {
        return;
    }
    for (int t = 0; t < time; ++t) {
        const size_t r = ((size_t)b * time + t) * neurons + j;
        const float i = current[r];
        float total = i;
        for (int k = 0; k < units; ++k) {
            const size_t e = r * units + k;
            const float previous = t == 0 ? 0.0f : memory[e - (size_t)neurons * units];
            const float beta = decay[j * units + k];
            const float m = beta * previous + (1.0f - beta) * i;
            memory[e] = m;
            total += weight[j * units + k] * m;
        }
        effective[r] = total;
    }
}

// The adjoint, one unit after the other (each a reverse scan of its own): dL/dI =
// dL/dI' + sum_k (1 - beta_k) g_{k,t}, with g_{k,t} = c_k dL/dI'_t + beta_k g_{k,t+1}, summed
// in unit order as the CPU does; per-(sample, neuron, unit) parts of dL/dc and dL/dbeta.
extern "C" __global__ void lif_memory_backward(
    const float* __restrict__ current,
    const float* __restrict__ memory,
    const float* __restrict__ weight,
    const float* __restrict__ decay,
    const float* __restrict__ effective_grad,  // (rows, N): dL/dI'
    int batch,
    int time,
    int neurons,
    int units,
    float* __restrict__ current_grad,          // (rows, N): dL/dI
    float* __restrict__ weight_parts,          // (B, N, K)
    float* __restrict__ decay_parts) {         // (B, N, K)
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    const int b = blockIdx.y;
    if (j >= neurons || b >= batch) {
        return;
    }
    for (int t = 0; t < time; ++t) {
        const size_t r = ((size_t)b * time + t) * neurons + j;
        current_grad[r] = effective_grad[r];
    }
    for (int k = 0; k < units; ++k) {
        const float c = weight[j * units + k];
        const float beta = decay[j * units + k];
        float carry = 0.0f;
        float weight_part = 0.0f;
        float decay_part = 0.0f;
        for (int t = time - 1; t >= 0; --t) {
            const size_t r = ((size_t)b * time + t) * neurons + j;
            const size_t e = r * units + k;
            const float g_effective = effective_grad[r];
            const float g = c * g_effective + beta * carry;
            weight_part += g_effective * memory[e];
            const float previous = t == 0 ? 0.0f : memory[e - (size_t)neurons * units];
            decay_part += g * (previous - current[r]);
            current_grad[r] += (1.0f - beta) * g;
            carry = g;
        }
        const size_t p = ((size_t)b * neurons + j) * units + k;
        weight_parts[p] = weight_part;
        decay_parts[p] = decay_part;
    }
}
