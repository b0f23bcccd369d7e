//! `elmbench forward --model s5 --set ... --weights W --input x --output y` on the binary: the
//! official tiny model's weights under their flax names (and its updated BatchNorm statistics
//! under `batch_stats/...`) give the official evaluation-mode log-probabilities; a file that
//! lacks a tensor, has one of the wrong shape, or an unknown one is a clear error naming it.

use crate::support::TensorFile;
use safetensors::tensor::{Dtype, TensorView};
use std::path::Path;
use std::process::Command;

const SETS: &[&str] = &[
    "d_input=1",
    "d_output=2",
    "d_model=8",
    "ssm_size_base=16",
    "blocks=2",
    "n_layers=2",
    "bidirectional=true",
    "activation_fn=half_glu1",
];

fn write(path: &Path, tensors: &[(String, Vec<usize>, Vec<f32>)]) {
    let bytes: Vec<Vec<u8>> =
        tensors.iter().map(|(_, _, v)| v.iter().flat_map(|x| x.to_le_bytes()).collect()).collect();
    let views: Vec<(String, TensorView)> = tensors
        .iter()
        .zip(&bytes)
        .map(|((n, s, _), b)| (n.clone(), TensorView::new(Dtype::F32, s.clone(), b).unwrap()))
        .collect();
    std::fs::write(path, safetensors::serialize(views, None).unwrap()).unwrap();
}

/// The reference's parameters, and its updated running statistics as `batch_stats/...`.
fn weights(f: &TensorFile) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    let mut out = Vec::new();
    for name in f.tensors.keys() {
        let is_param = name.starts_with("encoder/") || name.starts_with("decoder/");
        if is_param {
            out.push((name.clone(), f.shape(name), f.f32(name)));
        } else if let Some(rest) = name.strip_prefix("batch_stats_updated/") {
            out.push((format!("batch_stats/{rest}"), f.shape(name), f.f32(name)));
        }
    }
    out
}

fn forward(dir: &Path, tensors: &[(String, Vec<usize>, Vec<f32>)], x: &[f32]) -> std::process::Output {
    let (w, i, o) = (dir.join("w.safetensors"), dir.join("x.safetensors"), dir.join("y.safetensors"));
    write(&w, tensors);
    write(&i, &[("x".into(), vec![3, 20, 1], x.to_vec())]);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_elmbench"));
    cmd.args(["forward", "--model", "s5"]);
    for s in SETS {
        cmd.args(["--set", s]);
    }
    cmd.arg("--weights").arg(&w).arg("--input").arg(&i).arg("--output").arg(&o);
    cmd.output().unwrap()
}

#[test]
fn forward_with_official_weights_gives_the_official_log_probabilities() {
    let f = TensorFile::load("s5/s5_pathfinder_tiny.safetensors");
    let dir = tempfile::tempdir().unwrap();
    let out = forward(dir.path(), &weights(&f), &f.f32("x"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let y = TensorFile::load_path(&dir.path().join("y.safetensors"));
    assert_eq!(y.shape("y"), [3, 2]);
    // Outputs within 1e-5 of the largest, as in s5_reference (the reference's own f32-vs-f64
    // spread for outputs is 1.1e-7).
    let expected = f.f32("logprobs_eval");
    let scale = expected.iter().fold(0.0f32, |a, b| a.max(b.abs()));
    for (a, e) in y.f32("y").iter().zip(&expected) {
        assert!((a - e).abs() <= 1e-5 * scale, "y {a} vs official {e}");
    }
}

#[test]
fn weights_that_do_not_fit_are_errors_naming_the_tensor() {
    let f = TensorFile::load("s5/s5_pathfinder_tiny.safetensors");
    let dir = tempfile::tempdir().unwrap();
    let x = f.f32("x");
    let all = weights(&f);
    let stderr = |tensors: Vec<(String, Vec<usize>, Vec<f32>)>| {
        let out = forward(dir.path(), &tensors, &x);
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let without = |name: &str| all.iter().filter(|t| t.0 != name).cloned().collect::<Vec<_>>();
    assert!(stderr(without("encoder/layers_1/seq/C2")).contains("encoder/layers_1/seq/C2"));
    assert!(stderr(without("batch_stats/encoder/layers_0/norm/var")).contains("batch_stats/encoder/layers_0/norm/var"));
    let mut reshaped = all.clone();
    let b = reshaped.iter_mut().find(|t| t.0 == "encoder/layers_0/seq/B").unwrap();
    b.1 = vec![8, 16];
    assert!(stderr(reshaped).contains("encoder/layers_0/seq/B"));
    let mut extra = all.clone();
    extra.push(("encoder/layers_0/seq/E".into(), vec![1], vec![0.0]));
    assert!(stderr(extra).contains("encoder/layers_0/seq/E"));
    let mut short_stats = all;
    let s = short_stats.iter_mut().find(|t| t.0 == "batch_stats/encoder/layers_1/norm/mean").unwrap();
    s.1 = vec![4];
    s.2.truncate(4);
    assert!(stderr(short_stats).contains("batch_stats/encoder/layers_1/norm/mean"));
}
