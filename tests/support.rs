//! Shared helpers for the integration tests: fixture paths, safetensors loading, tolerances.

use safetensors::{Dtype, SafeTensors};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(relative)
}

/// Every tensor of a safetensors file, as (dtype, shape, raw little-endian bytes).
pub struct TensorFile {
    pub tensors: BTreeMap<String, (Dtype, Vec<usize>, Vec<u8>)>,
}

impl TensorFile {
    pub fn load(relative: &str) -> Self {
        Self::load_path(&fixture(relative))
    }

    pub fn load_path(path: &Path) -> Self {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let st = SafeTensors::deserialize(&bytes).expect("valid safetensors fixture");
        let tensors = st
            .tensors()
            .into_iter()
            .map(|(name, view)| (name, (view.dtype(), view.shape().to_vec(), view.data().to_vec())))
            .collect();
        Self { tensors }
    }

    pub fn shape(&self, name: &str) -> Vec<usize> {
        self.tensors[name].1.clone()
    }

    /// Any numeric tensor converted to f32.
    pub fn f32(&self, name: &str) -> Vec<f32> {
        let (dtype, _, bytes) = self.tensors.get(name).unwrap_or_else(|| panic!("fixture has no tensor `{name}`"));
        match dtype {
            Dtype::F32 => bytes.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect(),
            Dtype::F64 => bytes.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap()) as f32).collect(),
            Dtype::I8 => bytes.iter().map(|&b| b as i8 as f32).collect(),
            Dtype::BOOL => bytes.iter().map(|&b| (b != 0) as u8 as f32).collect(),
            other => panic!("tensor `{name}` has dtype {other:?}"),
        }
    }

    /// An (n, 3) i32 tensor as triples.
    pub fn i32_triples(&self, name: &str) -> Vec<(usize, usize, usize)> {
        let (dtype, shape, bytes) = &self.tensors[name];
        assert_eq!((*dtype, shape.len(), shape[1]), (Dtype::I32, 2, 3), "{name}");
        let v: Vec<usize> = bytes.chunks_exact(4).map(|c| i32::from_le_bytes(c.try_into().unwrap()) as usize).collect();
        v.chunks_exact(3).map(|c| (c[0], c[1], c[2])).collect()
    }

    /// An f64 tensor's values, exactly.
    pub fn f64_values(&self, name: &str) -> Vec<f64> {
        let (dtype, _, bytes) = &self.tensors[name];
        assert_eq!(*dtype, Dtype::F64, "{name}");
        bytes.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect()
    }

    pub fn i64(&self, name: &str) -> Vec<i64> {
        let (dtype, _, bytes) = &self.tensors[name];
        assert_eq!(*dtype, Dtype::I64, "{name}");
        bytes.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap())).collect()
    }

    pub fn bools(&self, name: &str) -> Vec<bool> {
        let (dtype, _, bytes) = &self.tensors[name];
        assert_eq!(*dtype, Dtype::BOOL, "{name}");
        bytes.iter().map(|&b| b != 0).collect()
    }
}

/// Asserts `|a - e| <= atol + rtol * |e|` element-wise, reporting the worst element.
pub fn assert_close(what: &str, actual: &[f32], expected: &[f32], atol: f64, rtol: f64) {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    let mut worst: Option<(f64, usize)> = None;
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        let (a, e) = (*a as f64, *e as f64);
        let excess = (a - e).abs() - (atol + rtol * e.abs());
        assert!(!excess.is_nan(), "{what}[{i}]: {a} vs {e}");
        if excess > 0.0 && worst.is_none_or(|(w, _)| excess > w) {
            worst = Some((excess, i));
        }
    }
    if let Some((_, i)) = worst {
        panic!(
            "{what}[{i}]: got {} expected {} (|diff| {:.3e} > atol {atol:e} + rtol {rtol:e} * |expected|)",
            actual[i],
            expected[i],
            (actual[i] as f64 - expected[i] as f64).abs()
        );
    }
}

/// A smoke-tier synthetic NeuronIO (seed 3), made once for all training tests of the binary.
pub fn smoke_neuronio() -> &'static Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        elmbench::tasks::neuronio::synthesize::synthesize(dir.path(), elmbench::tasks::Tier::Smoke, 3).unwrap();
        dir
    })
    .path()
}

/// A smoke-tier synthetic SHD (seed 1), made once for all SHD training tests of the binary.
pub fn smoke_shd() -> &'static Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        elmbench::tasks::shd::synthetic::synthesize(dir.path(), elmbench::tasks::Tier::Smoke, 1).unwrap();
        dir
    })
    .path()
}
