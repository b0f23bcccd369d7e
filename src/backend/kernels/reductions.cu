// Reductions with a fixed order, so that a result does not depend on how blocks are scheduled:
// column sums of a (rows, cols) matrix (bias gradients over batch x time, per-sample partial
// gradients over the batch). One thread per column adds the rows in order; for the shapes here
// (cols in the hundreds, rows up to B*T) the column loop is coalesced across the warp.

extern "C" __global__ void column_sums(
    const float* __restrict__ x,
    int rows,
    int cols,
    float* __restrict__ out,
    int accumulate) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= cols) {
        return;
    }
    float s = 0.0f;
    for (int r = 0; r < rows; ++r) {
        s += x[(size_t)r * cols + c];
    }
    out[c] = accumulate ? out[c] + s : s;
}

// y = x + bias over rows: the readout's and layer 0's bias after a GEMM.
extern "C" __global__ void add_bias_rows(float* __restrict__ y, const float* __restrict__ bias, int rows, int cols) {
    const size_t n = (size_t)rows * cols;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        y[i] += bias[i % cols];
    }
}
