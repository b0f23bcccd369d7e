// The spiking network's time-parallel synapse work on the GPU, the CUDA twin of
// src/models/snn/synapses.rs: the input synapses' currents of every (sample, step) before the
// recurrence, and the neuron-to-neuron synapses' gradients after the reverse sweep.

// current[r, n] = sum over neuron n's input synapses k of w_k x[r, channel_k], every row r at once
// (grid-stride over rows x neurons). A gather over the presynaptic channels rather than a GEMM
// with a dense (N, num_input) matrix: the contributions are added in increasing channel order from
// zero, without fused multiply-adds, which is what the CPU's sparse-input product does (a zero
// input adds w * 0 and changes nothing), so the recurrence starts from the CPU's bits (see
// snn_recurrence.cu). Tables (K, N) as in the recurrence; partners >= num_input are neurons and
// are skipped here.
extern "C" __global__ void snn_input_currents(
    const float* __restrict__ x,          // (rows, num_input)
    const int* __restrict__ partner,      // (K, N)
    const float* __restrict__ weight,     // (K, N)
    int rows,
    int neurons,
    int synapses,
    int num_input,
    float* __restrict__ current) {        // (rows, N)
    const size_t total = (size_t)rows * neurons;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        const size_t r = i / neurons;
        const int n = (int)(i % neurons);
        float sum = 0.0f;
        for (int k = 0; k < synapses; ++k) {
            int c = partner[(size_t)k * neurons + n];
            if (c < num_input) {
                sum = __fadd_rn(sum, __fmul_rn(weight[(size_t)k * neurons + n], x[r * num_input + c]));
            }
        }
        current[i] = sum;
    }
}

// One sample's gradient of every neuron-to-neuron synapse e (pre -> post): the sum over steps of
// s_t[pre] dI_{t + delay}[post], delay 1 for the first `delayed` entries (within a layer) and 0 for
// the rest (recurrent -> output). A thread per (entry, sample), steps in order from zero as on the
// CPU; `partials` (B, entries) are then summed over samples in sample order (`column_sums`), so
// no atomics and the same bits on every run.
extern "C" __global__ void snn_synapse_gradients(
    const float* __restrict__ spikes,     // (B, T, N)
    const float* __restrict__ d_current,  // (B, T, N)
    const int* __restrict__ entry_pre,    // (entries)
    const int* __restrict__ entry_post,   // (entries)
    int entries,
    int delayed,
    int time,
    int neurons,
    float* __restrict__ partials) {       // (B, entries)
    const int e = blockIdx.x * blockDim.x + threadIdx.x;
    const int b = blockIdx.y;
    if (e >= entries) {
        return;
    }
    const int delay = e < delayed ? 1 : 0;
    const int pre = entry_pre[e], post = entry_post[e];
    const size_t first = (size_t)b * time;
    float g = 0.0f;
    for (int t = 0; t + delay < time; ++t) {
        g = __fadd_rn(g, __fmul_rn(spikes[(first + t) * neurons + pre], d_current[(first + t + delay) * neurons + post]));
    }
    partials[(size_t)b * entries + e] = g;
}
