//! Hot loops compiled for the CPU they run on. The crate is built for the x86-64 baseline (SSE2,
//! no FMA) so one binary runs everywhere; `with_best_isa` runs a closure inside a function
//! compiled with AVX-512 (and AVX2, FMA) or with AVX2 and FMA, the widest the CPU has, so the
//! closure's body (inlined there: it has exactly one call site) is vectorised 16 or 8 wide
//! instead of 4. AVX-512 over AVX2, measured on this AMD EPYC (Zen 5: 512-bit FMAs at full
//! width) with one thread: the Branch-ELM NeuronIO step 4% faster, the LSTM's 6%, the ELM on SHD
//! 1%. (The `gemm` crate dispatches to its own AVX-512 kernels: feature `x86-v4`.)
//!
//! Results do not change: Rust never contracts `a * b + c` into a fused multiply-add by itself,
//! and an explicit `mul_add` is exactly rounded with or without the instruction (the baseline
//! calls libm's correctly rounded `fmaf`). So a seed gives the same bits on every x86-64 CPU and
//! thread count, whichever path ran.

/// Whether the CPU has AVX2 and FMA (the detection is cached by std).
#[inline]
pub fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Runs `f`, compiled with AVX2 and FMA where the CPU has them.
#[inline(always)]
pub fn with_best_isa<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") && has_avx2_fma() {
            // SAFETY: the CPU supports the features `avx512` is compiled for.
            return unsafe { avx512(f) };
        }
        if has_avx2_fma() {
            // SAFETY: the CPU supports the features `avx2_fma` is compiled for.
            return unsafe { avx2_fma(f) };
        }
    }
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn avx512<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2_fma<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same arithmetic on both paths gives the same bits (the property the module relies on).
    #[test]
    fn both_paths_give_identical_bits() {
        let x: Vec<f32> = (0..1000).map(|i| ((i * 7919) % 1000) as f32 / 97.0 - 5.0).collect();
        let compute = |x: &[f32]| -> Vec<f32> {
            x.iter().map(|v| v.mul_add(1.3, 0.7) * crate::engine::kernels::tanh(*v) + v / 3.0).collect()
        };
        assert_eq!(with_best_isa(|| compute(&x)), compute(&x));
    }
}
