// Adam, AdamW and Adamax updates on the device: the CUDA twins of `Optimizer::step`
// (src/train/optimizer.rs), element for element, so the parameters and moments never leave the
// GPU. The host computes the per-step scalars (bias corrections, decay) once, as the CPU does.
// kind: 0 Adam, 1 AdamW (decoupled decay before the update), 2 Adamax.

extern "C" __global__ void optimizer_step(
    float* __restrict__ param,
    const float* __restrict__ grad,
    float* __restrict__ first_moment,
    float* __restrict__ second_moment,
    int n,
    int kind,
    float beta1,
    float beta2,
    float eps,
    float step_size,            // lr / (1 - beta1^t)
    float bias_correction2_sqrt,
    float decay) {              // 1 - lr * weight_decay (AdamW)
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        float g = grad[i];
        float m = first_moment[i];
        m += (1.0f - beta1) * (g - m);
        first_moment[i] = m;
        float p = param[i];
        if (kind == 2) {
            float v = fmaxf(beta2 * second_moment[i], fabsf(g) + eps);
            second_moment[i] = v;
            p -= step_size * m / v;
        } else {
            if (kind == 1) {
                p *= decay;
            }
            float v = beta2 * second_moment[i] + (1.0f - beta2) * g * g;
            second_moment[i] = v;
            float denom = sqrtf(v) / bias_correction2_sqrt + eps;
            p -= step_size * m / denom;
        }
        param[i] = p;
    }
}
