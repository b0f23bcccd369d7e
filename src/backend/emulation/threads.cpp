// Runs the CUDA kernels of src/backend/kernels on the CPU, for the tests that compare them with
// their CPU twins on a machine without a GPU. Every thread of a block is a real OS thread, and
// __syncthreads is a barrier across them, so a missing barrier shows up as a data race (wrong
// numbers or a failed test) as it would on a GPU; blocks run one after another. Dynamic shared
// memory is one global array (one block at a time uses it).
//
// It checks the kernels' arithmetic and indexing, not GPU-specific behaviour (warp scheduling,
// memory coalescing, occupancy): those need a GPU.
//
// Usage: emulate KERNEL GRID_X GRID_Y BLOCK_X SHARED_BYTES ARG...
//   ARG: f:PATH (f32 buffer, read, and written back after the launch), i:PATH (i32 buffer),
//        n:INT (int scalar), x:FLOAT (float scalar)

#include <barrier>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <math.h>
#include <string>
#include <thread>
#include <vector>

struct dim3 {
    unsigned x = 1, y = 1, z = 1;
};
static thread_local dim3 threadIdx, blockIdx;
static dim3 blockDim, gridDim;
static std::barrier<>* block_barrier = nullptr;
static size_t shared_limit_bytes = 0;
alignas(64) float shared[1 << 18];

#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__
#define __shared__
static inline float __ldg(const float* p) { return *p; }
static inline void __syncthreads() { block_barrier->arrive_and_wait(); }
// CUDA's round-to-nearest intrinsics, which the GPU never fuses into multiply-adds; here plain
// operations suffice, as the emulator is built without contraction.
static inline float __fadd_rn(float a, float b) { return a + b; }
static inline float __fsub_rn(float a, float b) { return a - b; }
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fdiv_rn(float a, float b) { return a / b; }
static inline double __dadd_rn(double a, double b) { return a + b; }
static inline double __dsub_rn(double a, double b) { return a - b; }
static inline double __dmul_rn(double a, double b) { return a * b; }
static inline double __ddiv_rn(double a, double b) { return a / b; }

#include "causal_conv.cu"
#include "elm_recurrence.cu"
#include "leaky_scan.cu"
#include "lif_recurrence.cu"
#include "lstm_recurrence.cu"
#include "optimizers.cu"
#include "reductions.cu"
#include "s5_layers.cu"
#include "s5_scan.cu"
#include "snn_recurrence.cu"
#include "snn_synapses.cu"
#include "staging.cu"

struct Arg {
    char kind;
    std::string path;
    std::vector<float> f;
    std::vector<int> i;
    long long n = 0;
    float x = 0;
};

template <typename T>
static std::vector<T> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<T> out(bytes.size() / sizeof(T));
    std::memcpy(out.data(), bytes.data(), out.size() * sizeof(T));
    return out;
}

template <typename Kernel>
static void launch(dim3 grid, dim3 block, Kernel kernel) {
    gridDim = grid;
    blockDim = block;
    for (unsigned by = 0; by < grid.y; ++by) {
        for (unsigned bx = 0; bx < grid.x; ++bx) {
            std::barrier<> barrier(block.x);
            block_barrier = &barrier;
            std::vector<std::thread> threads;
            for (unsigned tx = 0; tx < block.x; ++tx) {
                threads.emplace_back([=] {
                    blockIdx = dim3{bx, by, 1};
                    threadIdx = dim3{tx, 1, 1};
                    kernel();
                });
            }
            for (auto& t : threads) {
                t.join();
            }
        }
    }
}

int main(int argc, char** argv) {
    if (argc < 6) {
        std::fprintf(stderr, "usage: emulate KERNEL GRID_X GRID_Y BLOCK_X SHARED_BYTES ARG...\n");
        return 2;
    }
    std::string name = argv[1];
    dim3 grid{(unsigned)std::atoi(argv[2]), (unsigned)std::atoi(argv[3]), 1};
    dim3 block{(unsigned)std::atoi(argv[4]), 1, 1};
    shared_limit_bytes = (size_t)std::atoll(argv[5]);
    if (shared_limit_bytes > sizeof(shared)) {
        std::fprintf(stderr, "shared memory %zu bytes exceeds the emulator's %zu\n", shared_limit_bytes, sizeof(shared));
        return 2;
    }
    // Garbage in shared memory, as on a GPU: a kernel must write before it reads.
    for (size_t k = 0; k < sizeof(shared) / sizeof(float); ++k) {
        shared[k] = NAN;
    }
    std::vector<Arg> args;
    for (int k = 6; k < argc; ++k) {
        Arg a;
        a.kind = argv[k][0];
        std::string value = argv[k] + 2;
        if (a.kind == 'f') {
            a.path = value;
            a.f = read_file<float>(value);
        } else if (a.kind == 'i') {
            a.path = value;
            a.i = read_file<int>(value);
        } else if (a.kind == 'n') {
            a.n = std::atoll(value.c_str());
        } else if (a.kind == 'x') {
            a.x = std::strtof(value.c_str(), nullptr);
        } else {
            std::fprintf(stderr, "bad argument %s\n", argv[k]);
            return 2;
        }
        args.push_back(std::move(a));
    }
    auto F = [&](int k) { return args.at(k).f.data(); };
    auto I = [&](int k) { return args.at(k).i.data(); };
    auto N = [&](int k) { return (int)args.at(k).n; };
    auto X = [&](int k) { return args.at(k).x; };
    if (name == "elm_recurrence_forward") {
        launch(grid, block, [&] {
            elm_recurrence_forward(F(0), F(1), F(2), I(3), N(4), F(5), F(6), N(7), N(8), N(9), N(10), F(11), F(12), F(13), F(14));
        });
    } else if (name == "elm_recurrence_backward") {
        launch(grid, block, [&] {
            elm_recurrence_backward(F(0), I(1), I(2), N(3), F(4), F(5), X(6), N(7), N(8), N(9), N(10), N(11), N(12), F(13), F(14), F(15),
                                    F(16), F(17), F(18));
        });
    } else if (name == "lstm_recurrence_forward") {
        launch(grid, block, [&] { lstm_recurrence_forward(F(0), F(1), F(2), N(3), N(4), F(5), F(6), F(7)); });
    } else if (name == "lstm_recurrence_backward") {
        launch(grid, block, [&] { lstm_recurrence_backward(F(0), F(1), F(2), F(3), F(4), N(5), N(6), F(7), F(8)); });
    } else if (name == "lstm_mask_hidden") {
        launch(grid, block, [&] { lstm_mask_hidden(F(0), F(1), N(2), N(3), N(4), F(5)); });
    } else if (name == "leaky_scan_forward") {
        launch(grid, block, [&] { leaky_scan_forward(F(0), F(1), N(2), N(3), N(4), F(5), N(6), N(7)); });
    } else if (name == "leaky_scan_backward") {
        launch(grid, block, [&] { leaky_scan_backward(F(0), F(1), F(2), N(3), N(4), N(5), F(6), F(7), N(8), N(9), N(10)); });
    } else if (name == "lif_recurrence_forward") {
        launch(grid, block, [&] {
            lif_recurrence_forward(F(0), F(1), F(2), N(3), N(4), N(5), N(6), X(7), X(8), X(9), N(10), X(11), N(12), F(13), F(14), F(15),
                                   F(16));
        });
    } else if (name == "lif_recurrence_backward") {
        launch(grid, block, [&] {
            lif_recurrence_backward(F(0), F(1), F(2), F(3), F(4), F(5), F(6), N(7), N(8), N(9), N(10), X(11), X(12), X(13), X(14), N(15),
                                    N(16), F(17), F(18), F(19));
        });
    } else if (name == "lif_memory_forward") {
        launch(grid, block, [&] { lif_memory_forward(F(0), F(1), F(2), N(3), N(4), N(5), N(6), F(7), F(8)); });
    } else if (name == "lif_memory_backward") {
        launch(grid, block, [&] {
            lif_memory_backward(F(0), F(1), F(2), F(3), F(4), N(5), N(6), N(7), N(8), F(9), F(10), F(11));
        });
    } else if (name == "optimizer_step") {
        launch(grid, block, [&] { optimizer_step(F(0), F(1), F(2), F(3), N(4), N(5), X(6), X(7), X(8), X(9), X(10), X(11)); });
    } else if (name == "scatter_values") {
        launch(grid, block, [&] { scatter_values(I(0), F(1), N(2), F(3)); });
    } else if (name == "column_sums") {
        launch(grid, block, [&] { column_sums(F(0), N(1), N(2), F(3), N(4)); });
    } else if (name == "add_bias_rows") {
        launch(grid, block, [&] { add_bias_rows(F(0), F(1), N(2), N(3)); });
    } else if (name == "causal_conv_forward") {
        launch(grid, block, [&] { causal_conv_forward(F(0), F(1), N(2), N(3), N(4), N(5), N(6), N(7), F(8), F(9)); });
    } else if (name == "causal_conv_backward") {
        launch(grid, block, [&] { causal_conv_backward(F(0), F(1), N(2), N(3), N(4), N(5), N(6), N(7), F(8), F(9)); });
    } else if (name == "snn_recurrence_forward") {
        launch(grid, block, [&] {
            snn_recurrence_forward(F(0), I(1), F(2), F(3), N(4), N(5), N(6), N(7), N(8), X(9), X(10), X(11), X(12), N(13), X(14), F(15),
                                   F(16), F(17), F(18));
        });
    } else if (name == "snn_recurrence_backward") {
        launch(grid, block, [&] {
            snn_recurrence_backward(F(0), F(1), F(2), I(3), I(4), F(5), I(6), I(7), F(8), F(9), N(10), N(11), N(12), X(13), X(14), X(15),
                                    X(16), X(17), N(18), X(19), F(20), F(21));
        });
    } else if (name == "snn_input_currents") {
        launch(grid, block, [&] { snn_input_currents(F(0), I(1), F(2), N(3), N(4), N(5), N(6), F(7)); });
    } else if (name == "snn_synapse_gradients") {
        launch(grid, block, [&] { snn_synapse_gradients(F(0), F(1), I(2), I(3), N(4), N(5), N(6), N(7), F(8)); });
    } else if (name == "s5_scan_forward") {
        launch(grid, block, [&] { s5_scan_forward(F(0), F(1), F(2), N(3), N(4), N(5), N(6), F(7)); });
    } else if (name == "s5_scan_backward") {
        launch(grid, block, [&] { s5_scan_backward(F(0), F(1), F(2), F(3), N(4), N(5), N(6), N(7), F(8), F(9)); });
    } else if (name == "s5_gelu_forward") {
        launch(grid, block, [&] { s5_gelu_forward(F(0), N(1), F(2)); });
    } else if (name == "s5_gelu_backward") {
        launch(grid, block, [&] { s5_gelu_backward(F(0), F(1), N(2), F(3)); });
    } else if (name == "s5_sigmoid") {
        launch(grid, block, [&] { s5_sigmoid(F(0), N(1)); });
    } else if (name == "s5_multiply") {
        launch(grid, block, [&] { s5_multiply(F(0), F(1), N(2), F(3)); });
    } else if (name == "s5_add_into") {
        launch(grid, block, [&] { s5_add_into(F(0), F(1), N(2)); });
    } else if (name == "s5_scale_columns") {
        launch(grid, block, [&] { s5_scale_columns(F(0), F(1), N(2), N(3), F(4)); });
    } else if (name == "s5_apply_mask") {
        launch(grid, block, [&] { s5_apply_mask(F(0), F(1), N(2), N(3), N(4)); });
    } else if (name == "s5_glu_backward") {
        launch(grid, block, [&] { s5_glu_backward(F(0), F(1), F(2), N(3), F(4), F(5)); });
    } else if (name == "s5_column_sums") {
        launch(grid, block, [&] { s5_column_sums(F(0), N(1), N(2), F(3)); });
    } else if (name == "s5_column_dots") {
        launch(grid, block, [&] { s5_column_dots(F(0), F(1), N(2), N(3), F(4)); });
    } else if (name == "s5_batch_norm_forward") {
        launch(grid, block, [&] {
            s5_batch_norm_forward(F(0), N(1), N(2), F(3), F(4), F(5), F(6), N(7), F(8), F(9), F(10), F(11), F(12));
        });
    } else if (name == "s5_layer_norm_forward") {
        launch(grid, block, [&] { s5_layer_norm_forward(F(0), N(1), N(2), F(3), F(4), F(5), F(6), F(7)); });
    } else if (name == "s5_norm_backward_features") {
        launch(grid, block, [&] {
            s5_norm_backward_features(F(0), F(1), N(2), N(3), F(4), F(5), N(6), N(7), F(8), F(9), F(10));
        });
    } else if (name == "s5_layer_norm_backward") {
        launch(grid, block, [&] { s5_layer_norm_backward(F(0), F(1), F(2), N(3), N(4), F(5), N(6), F(7)); });
    } else {
        std::fprintf(stderr, "unknown kernel %s\n", name.c_str());
        return 2;
    }
    for (auto& a : args) {
        if (a.kind == 'f') {
            std::ofstream out(a.path, std::ios::binary);
            out.write(reinterpret_cast<const char*>(a.f.data()), (std::streamsize)(a.f.size() * sizeof(float)));
        }
    }
    return 0;
}
