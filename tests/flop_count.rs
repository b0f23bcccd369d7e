//! The FLOP formula of every model equals the operations a plain execution of the model performs.
//!
//! Each model here gets a naive forward pass, written from its equations with a counting scalar
//! (`Counted`: every add, multiply, divide, negation, max, exp and tanh adds 1 to a counter; a
//! multiply-add is therefore 2), run on one sample. Two things are checked: its outputs equal the
//! engine's (so it executes the model, not something else), and its count equals
//! `flops(time).total()`. Quantities derived from parameters once per pass (decays from time
//! constants, rectified synapse weights) are not per-sample work and are not counted; routing is
//! a gather and the validity mask a select, both free.

#![allow(clippy::needless_range_loop)] // the naive forward indexes like the equations

use elmbench::engine::Inputs;
use elmbench::models::{Buffer, ModelConfig, SequenceModel};
use std::cell::Cell;
use std::ops::{Add, Div, Mul, Neg, Sub};

thread_local! {
    static OPS: Cell<u64> = const { Cell::new(0) };
}

fn tick() {
    OPS.with(|c| c.set(c.get() + 1));
}

fn ops() -> u64 {
    OPS.with(|c| c.get())
}

#[derive(Clone, Copy, Debug)]
struct Counted(f32);

impl Add for Counted {
    type Output = Counted;
    fn add(self, o: Counted) -> Counted {
        tick();
        Counted(self.0 + o.0)
    }
}
impl Mul for Counted {
    type Output = Counted;
    fn mul(self, o: Counted) -> Counted {
        tick();
        Counted(self.0 * o.0)
    }
}
impl Sub for Counted {
    type Output = Counted;
    fn sub(self, o: Counted) -> Counted {
        tick();
        Counted(self.0 - o.0)
    }
}
impl Div for Counted {
    type Output = Counted;
    fn div(self, o: Counted) -> Counted {
        tick();
        Counted(self.0 / o.0)
    }
}
impl Neg for Counted {
    type Output = Counted;
    fn neg(self) -> Counted {
        tick();
        Counted(-self.0)
    }
}
impl Counted {
    fn tanh(self) -> Counted {
        tick();
        Counted(self.0.tanh())
    }
    fn sigmoid(self) -> Counted {
        tick();
        Counted(1.0 / (1.0 + (-self.0).exp()))
    }
    fn relu(self) -> Counted {
        tick();
        Counted(self.0.max(0.0))
    }
}

fn c(v: f32) -> Counted {
    Counted(v)
}

fn param<'a>(model: &'a dyn SequenceModel, name: &str) -> &'a [f32] {
    model.params().by_name(name).unwrap_or_else(|| panic!("no parameter {name}")).value.data()
}

fn sigmoid(v: f32) -> f32 {
    1.0 / (1.0 + (-v).exp())
}

/// The ELM (v1 or v2) from its equations, one step at a time, on one sample `x` (time, inputs).
fn naive_elm(model: &dyn SequenceModel, x: &[f32], time: usize) -> Vec<f32> {
    let cfg = match model.config() {
        ModelConfig::Elm(cfg) | ModelConfig::BranchElm(cfg) => cfg,
        #[allow(unreachable_patterns)]
        _ => panic!("not an ELM"),
    };
    let buffers = model.buffers();
    let Buffer::I64(input_of) = &buffers[0].1 else { panic!() };
    let Buffer::Bool(valid) = &buffers[1].1 else { panic!() };
    let (n_in, dm, n_out) = (cfg.num_input, cfg.num_memory, cfg.num_output);
    let (nb, per) = (cfg.num_branch(), cfg.num_synapse_per_branch);
    let v2 = cfg.version == elmbench::models::elm::ElmVersion::V2;
    let dt = cfg.delta_t as f32;
    // Per-pass derived quantities (not counted).
    let w_s: Vec<f32> = param(model, "_proto_w_s").iter().map(|p| p.max(0.0)).collect();
    let tau_s = param(model, if v2 { "tau_b" } else { "tau_s" });
    let kappa_s: Vec<f32> = tau_s.iter().map(|t| (-dt / t).exp()).collect();
    let (lo, hi) = (cfg.memory_tau_min as f32, cfg.effective_tau_max() as f32);
    let tau_m: Vec<f32> = param(model, "_proto_tau_m").iter().map(|&p| (hi - lo) * sigmoid(p) + lo).collect();
    let kappa_m: Vec<f32> = tau_m.iter().map(|t| (-dt / t).exp()).collect();
    let lambda = cfg.lambda_value as f32;
    let gain: Vec<f32> = if v2 {
        tau_m.iter().map(|t| 1.0 - (-dt * lambda / t).exp()).collect()
    } else {
        kappa_m.iter().map(|k| lambda * (1.0 - k)).collect()
    };
    let silu = matches!(cfg.mlp_activation, elmbench::engine::kernels::Activation::Silu);
    let branch_f = cfg.branch_activation;

    let mut s = vec![c(0.0); if v2 { nb } else { nb * per }];
    let mut m = vec![c(0.0); dm];
    let mut y = Vec::new();
    for t in 0..time {
        let xt = &x[t * n_in..(t + 1) * n_in];
        let routed = |j: usize| if valid[j] { c(xt[input_of[j] as usize]) } else { c(0.0) };
        let mut u = Vec::with_capacity(nb);
        for b in 0..nb {
            if v2 {
                let mut sum = c(w_s[b * per]) * routed(b * per);
                for j in b * per + 1..(b + 1) * per {
                    sum = sum + c(w_s[j]) * routed(j);
                }
                s[b] = c(kappa_s[b]) * s[b] + sum;
                u.push(s[b]);
            } else {
                for j in b * per..(b + 1) * per {
                    s[j] = c(kappa_s[j]) * s[j] + c(w_s[j]) * routed(j);
                }
                let mut sum = s[b * per];
                for j in b * per + 1..(b + 1) * per {
                    sum = sum + s[j];
                }
                u.push(sum);
            }
        }
        use elmbench::models::elm::BranchActivation;
        let u: Vec<Counted> = match branch_f {
            BranchActivation::Identity => u,
            BranchActivation::Sigmoid => u.into_iter().map(|v| v.sigmoid()).collect(),
            BranchActivation::Relu => u.into_iter().map(|v| v.relu()).collect(),
        };
        let memory_input: Vec<Counted> = (0..dm).map(|k| c(kappa_m[k]) * m[k]).collect();
        let mut z: Vec<Counted> = u.into_iter().chain(memory_input.iter().copied()).collect();
        for layer in 0..=cfg.mlp_num_layers {
            let w = param(model, &format!("mlp.network.{}.weight", 2 * layer));
            let bias = param(model, &format!("mlp.network.{}.bias", 2 * layer));
            let inp = z.len();
            let mut h: Vec<Counted> =
                (0..bias.len()).map(|o| (0..inp).fold(c(bias[o]), |acc, i| acc + c(w[o * inp + i]) * z[i])).collect();
            if layer < cfg.mlp_num_layers {
                for v in h.iter_mut() {
                    *v = if silu { *v * v.sigmoid() } else { v.relu() };
                }
            }
            z = h;
        }
        for k in 0..dm {
            let update = c(1.7159) * (c(2.0 / 3.0) * z[k]).tanh();
            m[k] = memory_input[k] + c(gain[k]) * update;
        }
        let (wy, by) = (param(model, "w_y.weight"), param(model, "w_y.bias"));
        for o in 0..n_out {
            y.push((0..dm).fold(c(by[o]), |acc, k| acc + c(wy[o * dm + k]) * m[k]).0);
        }
    }
    y
}

fn check_elm(json: serde_json::Value) {
    check(json, naive_elm);
}

#[test]
fn vanilla_elm_formula_equals_the_count() {
    check_elm(serde_json::json!({"kind": "elm", "num_input": 9, "num_output": 2, "num_memory": 4}));
}

#[test]
fn branch_elm_formula_equals_the_count() {
    check_elm(serde_json::json!({"kind": "branch-elm", "num_input": 20, "num_output": 2, "num_memory": 5,
        "num_branch": 4, "num_synapse_per_branch": 6, "input_to_synapse_routing": "neuronio"}));
}

#[test]
fn branch_activations_formula_equals_the_count() {
    for (activation, version) in [("sigmoid", "v1"), ("relu", "v2")] {
        check_elm(serde_json::json!({"kind": "branch-elm", "num_input": 20, "num_output": 2, "num_memory": 5,
            "num_branch": 4, "num_synapse_per_branch": 6, "input_to_synapse_routing": "neuronio",
            "branch_activation": activation, "version": version}));
    }
}

#[test]
fn v2_silu_two_layer_elm_formula_equals_the_count() {
    check_elm(serde_json::json!({"kind": "branch-elm", "num_input": 20, "num_output": 3, "num_memory": 5,
        "num_branch": 4, "num_synapse_per_branch": 6, "input_to_synapse_routing": "random", "version": "v2",
        "mlp_activation": "silu", "mlp_num_layers": 2, "mlp_hidden_size": 7}));
}

/// The LSTM (gate order i, f, g, o) from its equations on one sample.
fn naive_lstm(model: &dyn SequenceModel, x: &[f32], time: usize) -> Vec<f32> {
    let (d, o) = (model.num_input(), model.num_output());
    let w_ih = param(model, "lstm.weight_ih_l0");
    let w_hh = param(model, "lstm.weight_hh_l0");
    let h_size = param(model, "readout.weight").len() / o; // readout is (O, H)
    let two = model.params().by_name("lstm.bias_ih_l0").is_some();
    let (wy, by) = (param(model, "readout.weight"), param(model, "readout.bias"));
    let (mut h, mut cell) = (vec![c(0.0); h_size], vec![c(0.0); h_size]);
    let mut y = Vec::new();
    for t in 0..time {
        let xt = &x[t * d..(t + 1) * d];
        let pre: Vec<Counted> = (0..4 * h_size)
            .map(|u| {
                let start = if two {
                    c(param(model, "lstm.bias_ih_l0")[u]) + c(param(model, "lstm.bias_hh_l0")[u])
                } else {
                    c(param(model, "lstm.bias_l0")[u])
                };
                let acc = (0..d).fold(start, |acc, i| acc + c(w_ih[u * d + i]) * c(xt[i]));
                (0..h_size).fold(acc, |acc, j| acc + c(w_hh[u * h_size + j]) * h[j])
            })
            .collect();
        for k in 0..h_size {
            let (i, f) = (pre[k].sigmoid(), pre[h_size + k].sigmoid());
            let (g, og) = (pre[2 * h_size + k].tanh(), pre[3 * h_size + k].sigmoid());
            cell[k] = f * cell[k] + i * g;
            h[k] = og * cell[k].tanh();
        }
        for out in 0..o {
            y.push((0..h_size).fold(c(by[out]), |acc, k| acc + c(wy[out * h_size + k]) * h[k]).0);
        }
    }
    y
}

fn check(json: serde_json::Value, naive: fn(&dyn SequenceModel, &[f32], usize) -> Vec<f32>) {
    let config: ModelConfig = serde_json::from_value(json).unwrap();
    let model = config.build(3).unwrap();
    let time = 12;
    let n_in = model.num_input();
    let x: Vec<f32> = (0..time * n_in).map(|i| ((i * 7919) % 13) as f32 / 6.0 - 1.0).collect();
    let engine = model.forward(&Inputs::dense(&x, 1, time, n_in).unwrap()).unwrap().output().to_vec();
    let before = ops();
    let plain = naive(model.as_ref(), &x, time);
    let counted = ops() - before;
    assert_eq!(plain.len(), engine.len());
    for (i, (a, b)) in plain.iter().zip(&engine).enumerate() {
        assert!((a - b).abs() <= 1e-4 * (1.0 + b.abs()), "output {i}: plain {a}, engine {b}");
    }
    let flops = model.flops(time);
    assert_eq!(counted, flops.total(), "{}: counted {counted}, formula {:?}", config.kind(), flops.components);
}

#[test]
fn lstm_formula_equals_the_count() {
    check(serde_json::json!({"kind": "lstm", "num_input": 9, "num_output": 2, "hidden_size": 5}), naive_lstm);
    check(
        serde_json::json!({"kind": "lstm", "num_input": 9, "num_output": 3, "hidden_size": 4, "two_biases": true}),
        naive_lstm,
    );
    check(
        serde_json::json!({"kind": "chrono-lstm", "num_input": 7, "num_output": 2, "hidden_size": 4, "chrono_t_max": 50}),
        naive_lstm,
    );
}

/// The LIF / ALIF layer from its equations on one sample (see `models::lif`), neuron by neuron.
fn naive_lif(model: &dyn SequenceModel, x: &[f32], time: usize) -> Vec<f32> {
    use elmbench::models::lif::{Lif, LifOutputs};
    let (config, adaptive) = match model.config() {
        ModelConfig::Lif(c) => (c, false),
        ModelConfig::Alif(c) => (c, true),
        _ => panic!("not a LIF"),
    };
    // Rebuild the concrete model with the same parameters, for its time constants.
    let mut lif = Lif::new(config.clone(), adaptive, 0).unwrap();
    for p in model.params().iter() {
        lif.params.assign(&p.name, p.value.data().to_vec(), p.value.shape()).unwrap();
    }
    let (n, neurons) = (config.num_input, lif.num_neurons());
    let (w, b) = (param(model, "input.weight"), param(model, "input.bias"));
    let alpha: Vec<f32> = lif.tau_m().iter().map(|tau| (-config.delta_t / tau).exp() as f32).collect();
    let adaptation = config.adaptation(adaptive).unwrap();
    let rho: Option<Vec<f32>> =
        lif.tau_a().map(|taus| taus.iter().map(|tau| (-config.delta_t / tau).exp() as f32).collect());
    let (theta, k) = (c(config.threshold as f32), c(config.spike_logit_scale as f32));
    let (mut v, mut a) = (vec![c(0.0); neurons], vec![c(0.0); neurons]);
    // Memory units: m_k = beta_k m_k + (1 - beta_k) I, I' = I + sum_k c_k m_k.
    let units = config.num_memory;
    let (memory_c, memory_beta): (Vec<f32>, Vec<f32>) = if units > 0 {
        let range = config.memory_tau_range();
        let beta = param(model, "_proto_tau_memory")
            .iter()
            .map(|&p| {
                let tau = range.lo + (range.hi - range.lo) * sigmoid(p) as f64;
                (-config.delta_t / tau).exp() as f32
            })
            .collect();
        (param(model, "memory.weight").to_vec(), beta)
    } else {
        (Vec::new(), Vec::new())
    };
    let mut m = vec![c(0.0); neurons * units];
    let mut y = Vec::new();
    for t in 0..time {
        for j in 0..neurons {
            let mut current = (0..n).fold(c(b[j]), |acc, i| acc + c(w[j * n + i]) * c(x[t * n + i]));
            let raw = current;
            for u in 0..units {
                let e = j * units + u;
                m[e] = c(memory_beta[e]) * m[e] + c(1.0 - memory_beta[e]) * raw;
                current = current + c(memory_c[e]) * m[e];
            }
            let u = c(alpha[j]) * v[j] + c(1.0 - alpha[j]) * current;
            let mut distance = u - theta;
            if let (Some(adapt), Some(_)) = (adaptation, &rho) {
                distance = distance - c(adapt.strength as f32) * a[j];
            }
            tick(); // the threshold comparison
            let spike = c(if distance.0 > 0.0 { 1.0 } else { 0.0 });
            v[j] = u - theta * spike;
            if let Some(rho) = &rho {
                a[j] = c(rho[j]) * a[j] + c(1.0 - rho[j]) * spike;
            }
            if config.outputs == LifOutputs::SpikeAndMembrane {
                y.push((k * distance).0);
            }
            y.push(u.0);
        }
    }
    y
}

#[test]
fn lif_and_alif_formulas_equal_the_count() {
    check(serde_json::json!({"kind": "lif", "num_input": 9}), naive_lif);
    check(serde_json::json!({"kind": "alif", "num_input": 9}), naive_lif);
    check(serde_json::json!({"kind": "lif", "num_input": 9, "num_memory": 3}), naive_lif);
    check(serde_json::json!({"kind": "alif", "num_input": 9, "num_memory": 2, "num_output": 4}), naive_lif);
    // Layers: three neurons of spike and membrane, four of membrane alone.
    check(serde_json::json!({"kind": "lif", "num_input": 9, "num_output": 6}), naive_lif);
    check(serde_json::json!({"kind": "alif", "num_input": 9, "num_output": 6}), naive_lif);
    check(serde_json::json!({"kind": "lif", "num_input": 9, "num_output": 4, "outputs": "membrane"}), naive_lif);
    check(serde_json::json!({"kind": "alif", "num_input": 9, "num_output": 4, "outputs": "membrane"}), naive_lif);
}

/// The TCN from its equations on one sample: every tap of every step, the causal zero padding
/// included (its products are counted, their value is 0).
fn naive_tcn(model: &dyn SequenceModel, x: &[f32], time: usize) -> Vec<f32> {
    let ModelConfig::Tcn(config) = model.config() else { panic!("not a TCN") };
    let layers = config.layers().unwrap();
    let silu = matches!(config.activation, elmbench::engine::kernels::Activation::Silu);
    let mut h: Vec<Vec<Counted>> =
        (0..time).map(|t| x[t * config.num_input..][..config.num_input].iter().map(|&v| c(v)).collect()).collect();
    for (l, shape) in layers.iter().enumerate() {
        let (w, b) = (param(model, &format!("layer_{}.weight", l + 1)), param(model, &format!("layer_{}.bias", l + 1)));
        let (cin, cout) = (shape.inputs, shape.outputs);
        let next: Vec<Vec<Counted>> = (0..time)
            .map(|t| {
                (0..cout)
                    .map(|o| {
                        let mut acc = c(b[o]);
                        for k in 0..shape.kernel {
                            let lag = shape.lag(k);
                            for i in 0..cin {
                                let input = if t >= lag { h[t - lag][i] } else { c(0.0) };
                                acc = acc + c(w[(k * cout + o) * cin + i]) * input;
                            }
                        }
                        if silu {
                            acc * acc.sigmoid()
                        } else {
                            acc.relu()
                        }
                    })
                    .collect()
            })
            .collect();
        h = next;
    }
    let (hw, hb) = (param(model, "head.weight"), param(model, "head.bias"));
    let width = h.first().map_or(0, |r| r.len());
    let mut y = Vec::new();
    for row in &h {
        for out in 0..model.num_output() {
            y.push((0..width).fold(c(hb[out]), |acc, i| acc + c(hw[out * width + i]) * row[i]).0);
        }
    }
    y
}

#[test]
fn tcn_formula_equals_the_count() {
    check(
        serde_json::json!({"kind": "tcn", "num_input": 6, "num_layers": 3, "num_filters": 4, "first_filter_size": 4,
            "filter_size": 3, "dilation_base": 2}),
        naive_tcn,
    );
    check(
        serde_json::json!({"kind": "tcn", "num_input": 5, "num_layers": 2, "num_filters": 3, "first_filter_size": 3,
            "filter_size": 2, "activation": "silu"}),
        naive_tcn,
    );
    check(
        serde_json::json!({"kind": "tcn", "num_input": 5, "num_layers": 2, "num_filters": 3, "first_filter_size": 3,
            "filter_size": 2, "num_output": 5}),
        naive_tcn,
    );
}

/// The SNN from its equations on one sample (see `models::snn`): every synapse of every neuron at
/// every step, the recurrent layer before the output layer; the signed, rectified weights and the
/// decays are per-pass constants (not counted), and so is r theta.
fn naive_snn(model: &dyn SequenceModel, x: &[f32], time: usize) -> Vec<f32> {
    let ModelConfig::Snn(config) = model.config() else { panic!("not an SNN") };
    let buffers = model.buffers();
    let Buffer::I64(pre) = &buffers[0].1 else { panic!("presynaptic indices") };
    let Buffer::Bool(inhibitory) = &buffers[1].1 else { panic!("inhibitory mask") };
    let (n_in, n, k, o) = (config.num_input, config.num_neurons, config.synapses_per_neuron, config.num_output);
    let r = n - o;
    let proto = param(model, "_proto_w_s");
    let w: Vec<f32> = (0..n * k)
        .map(|syn| {
            let p = pre[syn] as usize;
            let sign = if p >= n_in && inhibitory[p - n_in] { -1.0 } else { 1.0 };
            sign * proto[syn].max(0.0)
        })
        .collect();
    let (lo, hi, dt) = (config.tau_m_min, config.tau_m_max, config.delta_t);
    let alpha: Vec<f32> = param(model, "_proto_tau_m")
        .iter()
        .map(|&q| (-dt / (lo + (hi - lo) * sigmoid(q) as f64)).exp() as f32)
        .collect();
    let kappa = (-dt / config.tau_out).exp() as f32;
    let (theta, reset) = (c(config.threshold as f32), c((config.reset_fraction * config.threshold) as f32));
    let (mut v, mut s_prev, mut y) = (vec![c(0.0); n], vec![c(0.0); n], vec![c(0.0); o]);
    let (mut out, mut spiked) = (Vec::new(), false);
    for t in 0..time {
        let mut s_now = vec![c(0.0); n];
        for neuron in 0..n {
            let source = |syn: usize| {
                let p = pre[syn] as usize;
                if p < n_in {
                    c(x[t * n_in + p])
                } else if (p - n_in < r) == (neuron < r) {
                    s_prev[p - n_in]
                } else {
                    s_now[p - n_in]
                }
            };
            let first = neuron * k;
            let current =
                (first + 1..first + k).fold(c(w[first]) * source(first), |acc, syn| acc + c(w[syn]) * source(syn));
            let u = c(alpha[neuron]) * v[neuron] + current;
            let distance = u - theta;
            tick(); // the threshold comparison
            let spike = c(if distance.0 >= 0.0 { 1.0 } else { 0.0 });
            v[neuron] = u - reset * spike;
            s_now[neuron] = spike;
            spiked |= spike.0 > 0.0;
        }
        for (i, yi) in y.iter_mut().enumerate() {
            *yi = c(kappa) * *yi + c(1.0 - kappa) * s_now[r + i];
            out.push(yi.0);
        }
        s_prev = s_now;
    }
    assert!(spiked, "the network never spiked: the spike and reset paths were not exercised");
    if config.readout == elmbench::nn::Readout::Mean {
        return (0..o)
            .map(|i| {
                let sum = (1..time).fold(c(out[i]), |acc, t| acc + c(out[t * o + i]));
                (sum / c(time as f32)).0
            })
            .collect();
    }
    out
}

#[test]
fn snn_formula_equals_the_count() {
    let snn = serde_json::json!({"kind": "snn", "num_input": 9, "num_output": 2, "num_neurons": 8,
        "synapses_per_neuron": 5, "threshold": 0.15, "weight_init_gain": 0.8});
    check(snn.clone(), naive_snn);
    let mut mean = snn;
    mean["readout"] = "mean".into();
    check(mean, naive_snn);
}

/// Memory units with weights away from their zero start: the engine's outputs equal the plain
/// execution of the equations (the formula check above starts at c = 0, where they add nothing).
#[test]
fn lif_memory_units_equal_the_plain_execution() {
    for kind in ["lif", "alif"] {
        let config: ModelConfig =
            serde_json::from_value(serde_json::json!({"kind": kind, "num_input": 9, "num_memory": 3})).unwrap();
        let mut model = config.build(3).unwrap();
        for p in model.params_mut().iter_mut() {
            if p.name == "memory.weight" || p.name == "_proto_tau_memory" {
                for (k, v) in p.value.data_mut().iter_mut().enumerate() {
                    *v = 0.7 - 0.5 * k as f32;
                }
            }
        }
        let time = 20;
        let x: Vec<f32> = (0..time * 9).map(|i| ((i * 7919) % 13) as f32 / 6.0 - 1.0).collect();
        let engine = model.forward(&Inputs::dense(&x, 1, time, 9).unwrap()).unwrap().output().to_vec();
        let plain = naive_lif(model.as_ref(), &x, time);
        for (i, (a, b)) in plain.iter().zip(&engine).enumerate() {
            assert!((a - b).abs() <= 1e-4 * (1.0 + b.abs()), "{kind} output {i}: plain {a}, engine {b}");
        }
        let without: f32 = {
            let mut m = model.clone_model();
            for p in m.params_mut().iter_mut() {
                if p.name == "memory.weight" {
                    p.value.data_mut().fill(0.0);
                }
            }
            m.forward(&Inputs::dense(&x, 1, time, 9).unwrap())
                .unwrap()
                .output()
                .iter()
                .zip(&engine)
                .map(|(a, b)| (a - b).abs())
                .sum()
        };
        assert!(without > 1e-3, "{kind}: the memory units change nothing");
    }
}
