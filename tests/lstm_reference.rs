//! The LSTM against `torch.nn.LSTM` + `torch.nn.Linear`: outputs, every parameter gradient and the
//! input gradient of the `grad_lstm` case (D=12, H=7, O=2, B=3, T=40, f32; two biases, since that
//! is what PyTorch has), with the official tensors loaded by name.
//!
//! Tolerance: |ours - torch| <= 2e-6 + 1e-5 |torch|. Both sides compute in f32 (unit roundoff
//! 6e-8) in different orders: we add the biases before the products, torch after; our sigmoid and
//! tanh are polynomials within ~2e-7 of exact; errors pass through up to 40 steps of the
//! recurrence; and every weight gradient is a sum over the 120 (sample, step) rows of terms up to
//! ~3, summed in another order than torch's (rounding ~ 120 x 6e-8 x a few, near 1e-6 where terms
//! cancel to a small total). The measured worst errors are printed by the test (run with
//! --nocapture): 1e-7 on outputs, at most ~1e-6 on gradients of order 1-10. A wrong gate order, a
//! missing bias or an off-by-one step is off by orders more.

use crate::support::{fixture, TensorFile};
use elmbench::engine::{Inputs, SparseSequences};
use elmbench::models::lstm::{Lstm, LstmConfig};

const ATOL: f64 = 2e-6;
const RTOL: f64 = 1e-5;

/// Asserts every element is within the tolerance; returns the worst |a - e| and the largest
/// fraction of its tolerance an element used.
fn compare(what: &str, actual: &[f32], expected: &[f32]) -> String {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    let (mut worst, mut used) = (0.0f64, 0.0f64);
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        let (a, e) = (*a as f64, *e as f64);
        let bar = ATOL + RTOL * e.abs();
        assert!((a - e).abs() <= bar, "{what}[{i}]: ours {a:e}, torch {e:e}");
        worst = worst.max((a - e).abs());
        used = used.max((a - e).abs() / bar);
    }
    format!("{worst:.1e} ({:.0}% of tolerance)", 100.0 * used)
}

fn official_lstm() -> (Lstm, TensorFile) {
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("reference/manifest.json")).unwrap()).unwrap();
    let case = &manifest["cases"]["grad_lstm"];
    let size = |key: &str| case[key].as_u64().unwrap() as usize;
    let config = LstmConfig { two_biases: true, ..LstmConfig::new(size("D"), size("O"), size("H")) };
    let mut lstm = Lstm::new(config, false, 0).unwrap();
    let file = TensorFile::load("reference/grad_lstm.safetensors");
    let official: Vec<String> =
        file.tensors.keys().filter_map(|k| k.strip_prefix("param.")).map(String::from).collect();
    let mut ours: Vec<String> = lstm.params.iter().map(|p| p.name.clone()).collect();
    ours.sort();
    assert_eq!(official, ours, "parameter names differ from torch's");
    for name in &official {
        let key = format!("param.{name}");
        lstm.params.assign(name, file.f32(&key), &file.shape(&key)).unwrap();
    }
    (lstm, file)
}

#[test]
fn lstm_matches_torch_outputs_and_every_gradient() {
    let (lstm, file) = official_lstm();
    let shape = file.shape("x");
    let (b, t, f) = (shape[0], shape[1], shape[2]);
    let (x, g) = (file.f32("x"), file.f32("g"));
    let sparse = SparseSequences::from_dense(&x, b, t, f);
    for input in [Inputs::dense(&x, b, t, f).unwrap(), Inputs::Sparse(&sparse)] {
        let form = if matches!(input, Inputs::Sparse(_)) { "sparse" } else { "dense" };
        let pass = lstm.forward(&input).unwrap();
        let mut report = vec![format!("y {}", compare(&format!("{form} y"), &pass.y, &file.f32("y")))];
        let grads = lstm.backward(&pass, &input, &g, true).unwrap();
        for (index, p) in lstm.params.iter().enumerate() {
            let key = format!("grad.{}", p.name);
            let worst = compare(&format!("{form} {key}"), grads.params[index].data(), &file.f32(&key));
            report.push(format!("{} {worst}", p.name));
        }
        let worst = compare(&format!("{form} grad.x"), grads.x.as_ref().unwrap(), &file.f32("grad.x"));
        report.push(format!("x {worst}"));
        println!("grad_lstm {form}, worst absolute errors: {}", report.join(", "));
    }
}
