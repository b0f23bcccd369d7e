// Input staging: a batch arrives as its non-zeros (flat index into the dense (B, T, F) array and
// value; NeuronIO's spikes are ~2% of the entries, LRA's tokens one per step), and this kernel
// expands it into the dense array the models' GEMMs read, already zeroed. Indices are distinct,
// so each element has one writer. The CPU twin is `SparseSequences::to_dense`.

extern "C" __global__ void scatter_values(
    const int* __restrict__ index,
    const float* __restrict__ value,
    int count,
    float* __restrict__ dense) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < count; i += gridDim.x * blockDim.x) {
        dense[index[i]] = value[i];
    }
}
