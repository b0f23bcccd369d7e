//! Fixture loading and comparison helpers for the metrics tests.

use safetensors::{Dtype, SafeTensors};
use serde_json::Value;
use std::path::PathBuf;

pub fn fixture_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(relative)
}

pub fn load_json(relative: &str) -> Value {
    let path = fixture_path(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// One float from a fixture: metrics_cases.json stores every float as a string (Python's
/// shortest round-trip repr, or "inf"/"-inf"/"nan"), because Rust's `str::parse` rounds
/// correctly where serde_json's default number parser may be an ulp off. Plain JSON numbers
/// (manifest.json) are accepted too.
pub fn num(v: &Value) -> f64 {
    match v {
        Value::String(s) => match s.as_str() {
            "inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            "nan" => f64::NAN,
            text => text.parse().unwrap_or_else(|e| panic!("not a float: {text:?}: {e}")),
        },
        Value::Number(n) => n.as_f64().expect("f64"),
        other => panic!("not a number: {other}"),
    }
}

pub fn nums(v: &Value) -> Vec<f64> {
    v.as_array().unwrap_or_else(|| panic!("not an array: {v}")).iter().map(num).collect()
}

/// A float64 tensor of a safetensors fixture.
pub fn f64_tensor(relative: &str, name: &str) -> Vec<f64> {
    let path = fixture_path(relative);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let st = SafeTensors::deserialize(&bytes).expect("valid safetensors");
    let view = st.tensor(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(view.dtype(), Dtype::F64, "{name}");
    view.data().chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes"))).collect()
}

/// `|actual - expected| <= tol`, with equal infinities accepted.
pub fn assert_close(what: &str, actual: f64, expected: f64, tol: f64) {
    let ok = actual == expected || (actual - expected).abs() <= tol;
    assert!(ok, "{what}: got {actual:e}, expected {expected:e} (diff {:e}, tol {tol:e})", (actual - expected).abs());
}

/// Element-by-element `assert_close` after a length check.
pub fn assert_all_close(what: &str, actual: &[f64], expected: &[f64], tol: f64) {
    assert_eq!(actual.len(), expected.len(), "{what}: length ({actual:?} vs {expected:?})");
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        assert_close(&format!("{what}[{i}]"), a, e, tol);
    }
}
