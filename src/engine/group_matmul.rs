//! `out_i += a_i W` for a handful of rows `a_i` at once: the product a recurrent step needs.
//!
//! A recurrence multiplies a few state vectors (one per sample of a group) by the same small
//! weight matrix at every step. A general GEMM would pack the weights on every call (measured: a
//! third of an ELM training step went to `gemm`'s packing); this kernel streams each weight row
//! once per step and applies it to all rows of the group from registers: accumulators for a block
//! of 16 output columns per row stay in registers across the whole k loop.
//!
//! The same source is compiled three times, for AVX-512 (16 columns in one register: ELM d_m 100
//! SHD steps 8% faster than AVX2 on this Zen 5), for AVX2+FMA, and for the x86-64 baseline
//! (separate multiply and add: a software fused multiply-add would be slow), and the fastest the
//! CPU has is picked at run time. All sum over k in the same order and the two FMA builds give
//! the same bits, but FMA rounds once where mul+add rounds twice, so a baseline-only machine can
//! differ in the last bit (never between runs or thread counts on one machine).

/// Output columns held in registers per block: two 512-bit registers per row under AVX-512 (8
/// independent accumulators for 4 rows, enough to cover the FMA latency, and each broadcast of
/// a serves 32 columns), two 256-bit ones under AVX2 (32 columns would spill its 16 registers).
const WIDE_BLOCK: usize = 32;
const BLOCK: usize = 16;

/// Strided row-major operands: row i of `a` starts at `i * a_stride` (k values), row kk of `w`
/// at `kk * w_stride` (n values), row i of `out` at `i * out_stride` (n values).
#[derive(Clone, Copy)]
pub struct GroupProduct {
    pub rows: usize,
    pub k: usize,
    pub n: usize,
    pub a_stride: usize,
    pub w_stride: usize,
    pub out_stride: usize,
}

/// `out_i += a_i W` for every row i < rows (at most 4 rows per call are held in registers; more
/// rows are processed in chunks of 4).
pub fn group_matmul(p: GroupProduct, a: &[f32], w: &[f32], out: &mut [f32]) {
    if p.rows == 0 || p.n == 0 {
        return;
    }
    assert!(a.len() >= (p.rows - 1) * p.a_stride + p.k, "group_matmul: a too short");
    assert!(p.k == 0 || w.len() >= (p.k - 1) * p.w_stride + p.n, "group_matmul: w too short");
    assert!(out.len() >= (p.rows - 1) * p.out_stride + p.n, "group_matmul: out too short");
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU supports the features the function is compiled for.
            unsafe { group_matmul_avx512(p, a, w, out) };
            return;
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU supports the features the function is compiled for.
            unsafe { group_matmul_avx2(p, a, w, out) };
            return;
        }
    }
    group_matmul_generic::<false, BLOCK>(p, a, w, out);
}

/// 16 columns of a row in one 512-bit register: a quarter of the AVX2 kernel's instructions.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn group_matmul_avx512(p: GroupProduct, a: &[f32], w: &[f32], out: &mut [f32]) {
    group_matmul_generic::<true, WIDE_BLOCK>(p, a, w, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn group_matmul_avx2(p: GroupProduct, a: &[f32], w: &[f32], out: &mut [f32]) {
    group_matmul_generic::<true, BLOCK>(p, a, w, out);
}

/// `a * b + c`, fused where the instruction exists.
#[inline(always)]
fn madd<const FUSED: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FUSED {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

#[inline(always)]
fn group_matmul_generic<const FUSED: bool, const WIDTH: usize>(p: GroupProduct, a: &[f32], w: &[f32], out: &mut [f32]) {
    let mut first = 0;
    while first < p.rows {
        let rows = (p.rows - first).min(4);
        let a = &a[first * p.a_stride..];
        let out = &mut out[first * p.out_stride..];
        match rows {
            4 => rows_block::<4, FUSED, WIDTH>(p, a, w, out),
            3 => rows_block::<3, FUSED, WIDTH>(p, a, w, out),
            2 => rows_block::<2, FUSED, WIDTH>(p, a, w, out),
            _ => rows_block::<1, FUSED, WIDTH>(p, a, w, out),
        }
        first += rows;
    }
}

#[inline(always)]
fn rows_block<const R: usize, const FUSED: bool, const WIDTH: usize>(
    p: GroupProduct,
    a: &[f32],
    w: &[f32],
    out: &mut [f32],
) {
    let mut col = 0;
    while col + WIDTH <= p.n {
        columns_block::<R, WIDTH, FUSED>(p, a, w, out, col);
        col += WIDTH;
    }
    if WIDTH > BLOCK && col + BLOCK <= p.n {
        columns_block::<R, BLOCK, FUSED>(p, a, w, out, col);
        col += BLOCK;
    }
    // Ragged widths (d_m = 100 leaves 4 columns) get narrower blocks of the same shape, so that
    // weights are still read row by row.
    if col + 8 <= p.n {
        columns_block::<R, 8, FUSED>(p, a, w, out, col);
        col += 8;
    }
    if col + 4 <= p.n {
        columns_block::<R, 4, FUSED>(p, a, w, out, col);
        col += 4;
    }
    while col < p.n {
        columns_block::<R, 1, FUSED>(p, a, w, out, col);
        col += 1;
    }
}

/// Columns `col..col + W` of R rows, with the accumulators in registers over the whole k loop.
#[inline(always)]
fn columns_block<const R: usize, const W: usize, const FUSED: bool>(
    p: GroupProduct,
    a: &[f32],
    w: &[f32],
    out: &mut [f32],
    col: usize,
) {
    let mut acc = [[0.0f32; W]; R];
    for (r, acc) in acc.iter_mut().enumerate() {
        acc.copy_from_slice(&out[r * p.out_stride + col..r * p.out_stride + col + W]);
    }
    // SAFETY: `group_matmul` asserted that `a` holds `rows` rows of k values `a_stride` apart and
    // `w` holds k rows of n values `w_stride` apart; `rows_block` passes R <= remaining rows and
    // col + W <= n. So every a[r * a_stride + kk] and w[kk * w_stride + col + j] read below is in
    // bounds. Raw reads keep the hot loop free of per-iteration bounds checks (a third of its
    // instructions when indexed).
    let a_rows: [*const f32; R] = std::array::from_fn(|r| a[r * p.a_stride..r * p.a_stride + p.k].as_ptr());
    let w_base = w.as_ptr();
    for kk in 0..p.k {
        let w_block: [f32; W] =
            unsafe { std::ptr::read_unaligned(w_base.add(kk * p.w_stride + col) as *const [f32; W]) };
        for (acc, a_row) in acc.iter_mut().zip(&a_rows) {
            let s = unsafe { *a_row.add(kk) };
            for (acc, w) in acc.iter_mut().zip(&w_block) {
                *acc = madd::<FUSED>(s, *w, *acc);
            }
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        out[r * p.out_stride + col..r * p.out_stride + col + W].copy_from_slice(acc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equals_the_naive_product_for_every_row_count_and_ragged_widths() {
        for rows in 1..=6 {
            for &(k, n) in &[(1, 1), (5, 16), (7, 37), (20, 40), (3, 15), (9, 29), (4, 100), (6, 64), (5, 59)] {
                let a_stride = k + 2;
                let w_stride = n + 3;
                let out_stride = n + 1;
                let a: Vec<f32> = (0..rows * a_stride).map(|i| ((i * 7 % 11) as f32 - 5.0) / 4.0).collect();
                let w: Vec<f32> = (0..k * w_stride).map(|i| ((i * 5 % 13) as f32 - 6.0) / 8.0).collect();
                let mut out: Vec<f32> = (0..rows * out_stride).map(|i| i as f32 / 16.0).collect();
                let mut expected = out.clone();
                for r in 0..rows {
                    for c in 0..n {
                        // Exact in f32: small dyadic values.
                        let s: f64 = (0..k).map(|kk| a[r * a_stride + kk] as f64 * w[kk * w_stride + c] as f64).sum();
                        expected[r * out_stride + c] += s as f32;
                    }
                }
                let p = GroupProduct { rows, k, n, a_stride, w_stride, out_stride };
                let mut baseline = out.clone();
                group_matmul(p, &a, &w, &mut out);
                assert_eq!(out, expected, "rows {rows}, k {k}, n {n}");
                group_matmul_generic::<false, BLOCK>(p, &a, &w, &mut baseline);
                assert_eq!(baseline, expected, "baseline kernel: rows {rows}, k {k}, n {n}");
            }
        }
    }
}
