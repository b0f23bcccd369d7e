// The CPU's f32 multiply-add peak, the ceiling the speed section's GFLOP/s figures are read
// against. Each thread runs independent chains of fused multiply-adds on full vector registers
// (enough chains to cover the FMA latency on every pipe), once with 512-bit and once with 256-bit
// vectors, on 1 thread and on 2.
//
//   cc -O2 -march=native -pthread scripts/fma_peak.c -o /tmp/fma_peak && /tmp/fma_peak
//
// Needs a CPU with AVX-512F (the 256-bit line alone needs AVX2 + FMA).
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

// Independent accumulators per thread: latency (4-5 cycles) x FMA pipes (2) with room to spare.
#define CHAINS 16
#define ITERATIONS 100000000L

static volatile float sink;

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void *chains_512(void *unused) {
    (void)unused;
    __m512 acc[CHAINS];
    const __m512 scale = _mm512_set1_ps(0.999999f), shift = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_set1_ps((float)i);
    for (long it = 0; it < ITERATIONS; it++) {
#pragma GCC unroll 16
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_fmadd_ps(acc[i], scale, shift);
    }
    float total = 0;
    for (int i = 0; i < CHAINS; i++) total += _mm512_reduce_add_ps(acc[i]);
    sink = total;
    return NULL;
}

static void *chains_256(void *unused) {
    (void)unused;
    __m256 acc[CHAINS];
    const __m256 scale = _mm256_set1_ps(0.999999f), shift = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm256_set1_ps((float)i);
    for (long it = 0; it < ITERATIONS; it++) {
#pragma GCC unroll 16
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm256_fmadd_ps(acc[i], scale, shift);
    }
    float lanes[8], total = 0;
    for (int i = 0; i < CHAINS; i++) {
        _mm256_storeu_ps(lanes, acc[i]);
        for (int j = 0; j < 8; j++) total += lanes[j];
    }
    sink = total;
    return NULL;
}

static void measure(const char *name, void *(*body)(void *), int lanes, int threads) {
    pthread_t handles[2];
    double start = seconds();
    for (int t = 0; t < threads; t++) pthread_create(&handles[t], NULL, body, NULL);
    for (int t = 0; t < threads; t++) pthread_join(handles[t], NULL);
    double flops = 2.0 * lanes * CHAINS * (double)ITERATIONS * threads;
    printf("%s, %d thread%s: %.0f GFLOP/s\n", name, threads, threads > 1 ? "s" : "", flops / (seconds() - start) / 1e9);
}

int main(void) {
    for (int threads = 1; threads <= 2; threads++) {
        measure("512-bit FMA", chains_512, 16, threads);
        measure("256-bit FMA", chains_256, 8, threads);
    }
    return 0;
}
