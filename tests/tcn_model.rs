//! The TCN: its forward pass against a direct evaluation of the causal dilated convolution
//! formula, the parameter count of Beniaguev's architectures against the formula, the FLOP
//! formula, presets and overrides, errors that name the setting, and a checkpoint round trip.

use elmbench::engine::kernels::Activation;
use elmbench::engine::{Inputs, Rng, SparseSequences};
use elmbench::models::tcn::presets::{DEFAULT_PRESET, PRESETS};
use elmbench::models::tcn::{Tcn, TcnConfig};
use elmbench::models::{ModelConfig, SequenceModel};

/// y from the definition, in f64: for every layer, sample, step and filter, the bias plus the
/// sum over taps k and channels c of W[k, o, c] h[t - (K - 1 - k) d, c], zero before step 0.
fn direct(tcn: &Tcn, x: &[f32], batch: usize, time: usize) -> Vec<f64> {
    let p =
        |name: &str| -> Vec<f64> { tcn.params.by_name(name).unwrap().value.data().iter().map(|&v| v as f64).collect() };
    let mut h: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    for (l, s) in tcn.layers().iter().enumerate() {
        let (w, b) = (p(&format!("layer_{}.weight", l + 1)), p(&format!("layer_{}.bias", l + 1)));
        let mut next = vec![0.0; batch * time * s.outputs];
        for n in 0..batch {
            for t in 0..time {
                for o in 0..s.outputs {
                    let mut sum = b[o];
                    for k in 0..s.kernel {
                        let lag = (s.kernel - 1 - k) * s.dilation;
                        if lag > t {
                            continue;
                        }
                        for c in 0..s.inputs {
                            sum += w[(k * s.outputs + o) * s.inputs + c] * h[(n * time + t - lag) * s.inputs + c];
                        }
                    }
                    next[(n * time + t) * s.outputs + o] = match tcn.config.activation {
                        Activation::Relu => sum.max(0.0),
                        Activation::Silu => sum / (1.0 + (-sum).exp()),
                    };
                }
            }
        }
        h = next;
    }
    let width = tcn.layers().last().unwrap().outputs;
    let (hw, hb) = (p("head.weight"), p("head.bias"));
    let mut y = Vec::new();
    for row in h.chunks_exact(width) {
        for o in 0..2 {
            y.push(hb[o] + (0..width).map(|c| hw[o * width + c] * row[c]).sum::<f64>());
        }
    }
    y
}

#[test]
fn forward_equals_the_convolution_formula() {
    let (batch, time, n_in) = (2, 30, 7);
    let mut rng = Rng::new(4);
    let x: Vec<f32> = (0..batch * time * n_in)
        .map(|_| {
            if rng.uniform_f64() < 0.2 {
                if rng.uniform_f64() < 0.5 {
                    1.0
                } else {
                    -1.0
                }
            } else {
                0.0
            }
        })
        .collect();
    let sparse = SparseSequences::from_dense(&x, batch, time, n_in);
    for (activation, base) in [("relu", 2), ("silu", 3), ("relu", 1)] {
        let config: TcnConfig = serde_json::from_value(serde_json::json!({
            "num_input": n_in, "num_layers": 3, "num_filters": 5, "first_filter_size": 4, "filter_size": 3,
            "dilation_base": base, "activation": activation}))
        .unwrap();
        let mut tcn = Tcn::new(config, 8).unwrap();
        // Heads with weight, so that the comparison sees the hidden layers.
        let hw: Vec<f32> = (0..10).map(|i| (i as f32 * 0.7).sin()).collect();
        tcn.params.assign("head.weight", hw, &[2, 5]).unwrap();
        let expected = direct(&tcn, &x, batch, time);
        for input in [Inputs::dense(&x, batch, time, n_in).unwrap(), Inputs::Sparse(&sparse)] {
            let y = tcn.forward(&input).unwrap().y.clone();
            for (i, (a, e)) in y.iter().zip(&expected).enumerate() {
                assert!(
                    (*a as f64 - e).abs() <= 1e-5 + 1e-5 * e.abs(),
                    "{activation} base {base} output {i}: {a} vs {e}"
                );
            }
        }
    }
}

/// Every output depends on the last `receptive_field` inputs and on nothing later.
#[test]
fn outputs_are_causal_with_the_stated_receptive_field() {
    let config: TcnConfig = serde_json::from_value(serde_json::json!({
        "num_input": 3, "num_layers": 3, "num_filters": 4, "first_filter_size": 3, "filter_size": 2, "dilation_base": 2,
        "activation": "silu"}))
    .unwrap();
    let field = config.receptive_field().unwrap();
    assert_eq!(field, 1 + 2 + 2 + 4);
    let tcn = Tcn::new(config, 1).unwrap();
    let time = 20;
    let base = vec![0.5f32; time * 3];
    let y0 = tcn.forward(&Inputs::dense(&base, 1, time, 3).unwrap()).unwrap().y.clone();
    let mut bumped = base.clone();
    bumped[10 * 3 + 1] += 1.0; // step 10
    let y1 = tcn.forward(&Inputs::dense(&bumped, 1, time, 3).unwrap()).unwrap().y.clone();
    for t in 0..time {
        let changed = (0..2).any(|o| y0[t * 2 + o] != y1[t * 2 + o]);
        assert_eq!(changed, (10..10 + field).contains(&t), "step {t}");
    }
}

#[test]
fn beniaguev_preset_parameter_count_matches_the_formula() {
    // Default preset, 7 layers x 128 filters of 35 ms on 1278 inputs:
    // 35*1278*128 + 128 + 6 * (35*128*128 + 128) + 2 * (128 + 1) = 9,167,234.
    let config = match elmbench::tasks::neuronio::model_preset("tcn").unwrap() {
        ModelConfig::Tcn(c) => c,
        other => panic!("{other:?}"),
    };
    assert_eq!(config.num_input, 1278);
    let expected = 35 * 1278 * 128 + 128 + 6 * (35 * 128 * 128 + 128) + 2 * (128 + 1);
    assert_eq!(expected, 9_167_234);
    assert_eq!(config.param_count().unwrap(), expected);
    assert_eq!(config.receptive_field().unwrap(), 239);
    let model = Tcn::new(config, 0).unwrap();
    assert_eq!(model.param_count(), expected);
    assert_eq!(model.param_count_paper_convention(), expected);
    // Every preset: the formula from its four numbers.
    for p in PRESETS {
        let c = TcnConfig::preset(1278, p.name).unwrap();
        let (d, w, k1, k) = (p.num_layers, p.num_filters, p.first_filter_size, p.filter_size);
        let formula = k1 * 1278 * w + w + (d - 1) * (k * w * w + w) + 2 * (w + 1);
        assert_eq!(c.param_count().unwrap(), formula, "{}", p.name);
    }
    // A small one built for real.
    let small = TcnConfig::preset(1278, "beniaguev-3x64x100").unwrap();
    assert_eq!(Tcn::new(small.clone(), 0).unwrap().param_count(), small.param_count().unwrap());
}

#[test]
fn flops_follow_the_documented_formula() {
    let config: TcnConfig = serde_json::from_value(serde_json::json!({
        "num_input": 10, "num_layers": 2, "num_filters": 4, "first_filter_size": 5, "filter_size": 3}))
    .unwrap();
    let tcn = Tcn::new(config, 0).unwrap();
    let t = 100u64;
    let expected = t * (2 * 5 * 10 * 4 + 4) + t * (2 * 3 * 4 * 4 + 4) + t * 2 * (2 * 4);
    let f = tcn.flops(100);
    assert_eq!(f.total(), expected, "{:?}", f.components);
    assert_eq!(f.components.len(), 5);
}

#[test]
fn presets_overrides_and_errors() {
    let c: TcnConfig = serde_json::from_value(
        serde_json::json!({"num_input": 1278, "preset": "beniaguev-3x64x100", "num_filters": 32}),
    )
    .unwrap();
    let layers = c.layers().unwrap();
    assert_eq!(layers.len(), 3);
    assert_eq!((layers[0].kernel, layers[1].kernel, layers[2].outputs), (54, 24, 32));
    assert_eq!(TcnConfig::new(4).preset, None);
    assert_eq!(TcnConfig::new(4).layers().unwrap(), TcnConfig::preset(4, DEFAULT_PRESET).unwrap().layers().unwrap());
    let base = ModelConfig::Tcn(TcnConfig::new(8));
    for (set, needle) in [
        ("preset=beniaguev-7x128x153", "beniaguev-7x128x239"),
        ("num_layers=0", "num_layers"),
        ("filter_size=0", "filter_size"),
        ("dilation_base=0", "dilation_base"),
        ("dilation_base=1000", "dilation_base"),
        ("activation=tanh", "tanh"),
        ("num_filters=100000000", "weights"),
        ("num_filter=3", "num_filter"),
    ] {
        let err = base.with_overrides(&[set.to_string()]).unwrap_err().to_string();
        assert!(err.contains(needle), "{set}: {err}");
    }
    let tcn = TcnConfig::preset(4, "beniaguev-2x8x79").unwrap();
    let model = ModelConfig::Tcn(tcn).build(0).unwrap();
    let x = vec![0.0; 5 * 3];
    let err = model.forward(&Inputs::dense(&x, 1, 5, 3).unwrap()).err().unwrap().to_string();
    assert!(err.contains("num_input = 4"), "{err}");
}

#[test]
fn checkpoints_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tcn.safetensors");
    let config: TcnConfig =
        serde_json::from_value(serde_json::json!({"num_input": 6, "preset": "beniaguev-3x8x58", "dilation_base": 2}))
            .unwrap();
    let model = ModelConfig::Tcn(config).build(3).unwrap();
    elmbench::weights::write_checkpoint(model.as_ref(), &path).unwrap();
    let loaded = elmbench::weights::read_checkpoint(&path).unwrap();
    assert_eq!(loaded.config(), model.config());
    assert_eq!(loaded.params(), model.params());
}

/// Long batches are processed in blocks of samples (to bound scratch memory): outputs and
/// gradients equal those of the samples run one at a time.
#[test]
fn blocks_of_samples_change_nothing() {
    let (batch, time, n_in) = (3, 3000, 5); // 9000 rows: blocks of 2 samples and 1
    let config: TcnConfig = serde_json::from_value(serde_json::json!({
        "num_input": n_in, "num_layers": 2, "num_filters": 3, "first_filter_size": 3, "filter_size": 2,
        "activation": "silu"}))
    .unwrap();
    let tcn = Tcn::new(config, 2).unwrap();
    let mut rng = Rng::new(6);
    let x: Vec<f32> = (0..batch * time * n_in).map(|_| if rng.uniform_f64() < 0.1 { 1.0 } else { 0.0 }).collect();
    let dy: Vec<f32> = (0..batch * time * 2).map(|_| rng.normal() as f32).collect();
    let sparse = SparseSequences::from_dense(&x, batch, time, n_in);
    for whole in [Inputs::dense(&x, batch, time, n_in).unwrap(), Inputs::Sparse(&sparse)] {
        let pass = tcn.forward(&whole).unwrap();
        let grads = tcn.backward(&pass, &whole, &dy).unwrap();
        let mut summed: Vec<Vec<f64>> = grads.iter().map(|g| vec![0.0; g.len()]).collect();
        for b in 0..batch {
            let xs = &x[b * time * n_in..(b + 1) * time * n_in];
            let one = Inputs::dense(xs, 1, time, n_in).unwrap();
            let single = tcn.forward(&one).unwrap();
            for (a, e) in single.y.iter().zip(&pass.y[b * time * 2..(b + 1) * time * 2]) {
                assert!((a - e).abs() <= 1e-6 + 1e-6 * e.abs(), "sample {b}: {a} vs {e}");
            }
            let g = tcn.backward(&single, &one, &dy[b * time * 2..(b + 1) * time * 2]).unwrap();
            for (s, g) in summed.iter_mut().zip(&g) {
                s.iter_mut().zip(g.data()).for_each(|(s, g)| *s += *g as f64);
            }
        }
        for ((g, s), p) in grads.iter().zip(&summed).zip(tcn.params.iter()) {
            for (a, e) in g.data().iter().zip(s) {
                assert!((*a as f64 - e).abs() <= 1e-3 + 1e-4 * e.abs(), "{}: {a} vs {e}", p.name);
            }
        }
    }
}

/// Empty batches and zero-length sequences give empty outputs and zero gradients, not panics.
#[test]
fn empty_inputs_are_harmless() {
    for kind in ["tcn", "lif", "alif"] {
        let mut config = elmbench::tasks::neuronio::model_preset(kind).unwrap();
        if let ModelConfig::Tcn(c) = &mut config {
            *c = TcnConfig::preset(1278, "beniaguev-2x8x79").unwrap();
        }
        let model = config.build(0).unwrap();
        for (batch, time) in [(0, 5), (2, 0)] {
            let x: Vec<f32> = Vec::new();
            let input = Inputs::dense(&x, batch, time, 1278).unwrap();
            let pass = model.forward(&input).unwrap();
            assert!(pass.output().is_empty(), "{kind}");
            let grads = model.backward(pass.as_ref(), &input, &[]).unwrap();
            assert!(grads.iter().all(|g| g.data().iter().all(|v| *v == 0.0)), "{kind}");
        }
    }
}
