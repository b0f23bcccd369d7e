//! Which GEMM crate: `matrixmultiply` against `gemm` (the kernel crate behind faer and candle),
//! both single-threaded (parallelism lives over the batch), on the shapes an ELM training step
//! runs. Results and the choice are in the README's design notes.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

/// (label, m, k, n, transpose_a): c (m x n) = a (m x k) * b (k x n); with transpose_a, `a` is
/// stored (k x m) and read transposed, as the weight-gradient GEMMs read their deltas.
const SHAPES: &[(&str, usize, usize, usize, bool)] = &[
    ("readout y=M*Wy^T 4000x20x2", 4000, 20, 2, false),
    ("branch projection U*W0u^T 4000x45x40", 4000, 45, 40, false),
    ("weight grad delta^T*U 40x4000x65", 40, 4000, 65, true),
    ("input grad G*E^T 4000x40x1278", 4000, 40, 1278, false),
    ("dense vanilla projection 8000x700x200", 8000, 700, 200, false),
];

fn fill(n: usize, seed: u32) -> Vec<f32> {
    (0..n).map(|i| ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 1000) as f32 / 1000.0 - 0.5).collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("gemm");
    group.sample_size(20);
    for &(label, m, k, n, transpose_a) in SHAPES {
        let a = fill(m * k, 1);
        let b = fill(k * n, 2);
        let mut out = vec![0.0f32; m * n];
        // Strides (row, column) of `a` as read: row-major (m x k), or the transpose of (k x m).
        let (a_rs, a_cs) = if transpose_a { (1isize, m as isize) } else { (k as isize, 1isize) };
        group.bench_function(format!("matrixmultiply {label}"), |bench| {
            bench.iter(|| unsafe {
                matrixmultiply::sgemm(
                    m,
                    k,
                    n,
                    1.0,
                    a.as_ptr(),
                    a_rs,
                    a_cs,
                    b.as_ptr(),
                    n as isize,
                    1,
                    0.0,
                    out.as_mut_ptr(),
                    n as isize,
                    1,
                );
                black_box(&out);
            })
        });
        group.bench_function(format!("gemm {label}"), |bench| {
            bench.iter(|| unsafe {
                // gemm's convention: dst = alpha * dst + beta * lhs * rhs.
                gemm::gemm(
                    m,
                    n,
                    k,
                    out.as_mut_ptr(),
                    1,
                    n as isize,
                    false,
                    a.as_ptr(),
                    a_cs,
                    a_rs,
                    b.as_ptr(),
                    1,
                    n as isize,
                    0.0f32,
                    1.0f32,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
                black_box(&out);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
