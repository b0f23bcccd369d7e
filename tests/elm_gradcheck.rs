//! Finite-difference checks of the ELM's hand-written backward pass, element by element, for
//! every trainable parameter and the input of every variant (v1/v2, vanilla/branch, neuronio and
//! random routing, learnable tau_m, relu/silu, 0-2 hidden layers, fixed synapse weights,
//! per-synapse time constants, sigmoid and relu branch activations), on both projection paths
//! (the folded one only where it is exact: uniform trace decay, linear branches).
//!
//! The model computes in f32, so the check uses central differences with step h = 1e-3 on a loss
//! `sum(y * g)` accumulated in f64. Error budget: truncation ~h^2 |L'''| ~ 1e-6; rounding of the
//! f32 outputs ~1e-7 per output, summed over ~100 outputs and divided by 2h, gives ~5e-4 absolute.
//! Hence |numeric - analytic| <= 2e-3 + 1e-2 |analytic|; a wrong term in any gradient is off by
//! O(|gradient|), far outside.

use elmbench::engine::{Inputs, Rng, SparseSequences};
use elmbench::models::elm::{Elm, ElmConfig, ProjectionPath};

const H: f32 = 1e-3;
const ATOL: f64 = 2e-3;
const RTOL: f64 = 1e-2;

struct Problem {
    x: Vec<f32>,
    g: Vec<f32>,
    batch: usize,
    time: usize,
}

fn problem(elm: &Elm, seed: u64, spikes: bool) -> Problem {
    let (batch, time) = (2, 25);
    let mut rng = Rng::new(seed);
    let n_in = elm.config.num_input;
    let x = (0..batch * time * n_in)
        .map(|_| {
            if spikes {
                let u = rng.uniform_f64();
                if u < 0.1 {
                    1.0
                } else if u < 0.2 {
                    -1.0
                } else {
                    0.0
                }
            } else {
                rng.normal() as f32
            }
        })
        .collect();
    let g = (0..batch * time * elm.config.num_output).map(|_| rng.normal() as f32).collect();
    Problem { x, g, batch, time }
}

fn loss(elm: &Elm, p: &Problem, x: &[f32], path: ProjectionPath) -> f64 {
    let input = Inputs::dense(x, p.batch, p.time, elm.config.num_input).unwrap();
    let pass = elm.forward_with(&input, Some(path)).unwrap();
    pass.y.iter().zip(&p.g).map(|(y, g)| *y as f64 * *g as f64).sum()
}

fn check(label: &str, numeric: f64, analytic: f32) {
    let analytic = analytic as f64;
    assert!(
        (numeric - analytic).abs() <= ATOL + RTOL * analytic.abs(),
        "{label}: finite difference {numeric:.6e}, backward {analytic:.6e}"
    );
}

fn gradcheck(name: &str, elm: &Elm, spikes: bool) {
    let p = problem(elm, 11, spikes);
    let sparse = SparseSequences::from_dense(&p.x, p.batch, p.time, elm.config.num_input);
    for path in [ProjectionPath::Folded, ProjectionPath::Traces, ProjectionPath::FoldedBranches] {
        let uniform = ProjectionPath::fastest(&trace_decays(elm)) == ProjectionPath::Folded;
        let exact = match path {
            // The folded paths need uniform trace decay; the fully folded one linear branches too.
            ProjectionPath::Folded => uniform && elm.config.branch_activation.is_identity(),
            ProjectionPath::FoldedBranches => uniform,
            ProjectionPath::Traces => true,
        };
        if !exact {
            continue;
        }
        let input = if spikes {
            Inputs::Sparse(&sparse)
        } else {
            Inputs::dense(&p.x, p.batch, p.time, elm.config.num_input).unwrap()
        };
        let pass = elm.forward_with(&input, Some(path)).unwrap();
        let grads = elm.backward(&pass, &input, &p.g, true).unwrap();
        let mut checked = 0;
        for (index, param) in elm.params.iter().enumerate() {
            for e in 0..param.value.len() {
                let analytic = grads.params[index].data()[e];
                if !param.trainable {
                    assert_eq!(analytic, 0.0, "{name}: fixed parameter {} has a gradient", param.name);
                    continue;
                }
                let mut plus = elm.clone();
                plus.params.get_mut(index).data_mut()[e] += H;
                let mut minus = elm.clone();
                minus.params.get_mut(index).data_mut()[e] -= H;
                let numeric = (loss(&plus, &p, &p.x, path) - loss(&minus, &p, &p.x, path)) / (2.0 * H as f64);
                check(&format!("{name} {path:?} {}[{e}]", param.name), numeric, analytic);
                checked += 1;
            }
        }
        let dx = grads.x.unwrap();
        for e in (0..p.x.len()).step_by(3) {
            let mut plus = p.x.clone();
            plus[e] += H;
            let mut minus = p.x.clone();
            minus[e] -= H;
            let numeric = (loss(elm, &p, &plus, path) - loss(elm, &p, &minus, path)) / (2.0 * H as f64);
            check(&format!("{name} {path:?} x[{e}]"), numeric, dx[e]);
        }
        assert!(checked > 0 || !elm.params.iter().any(|p| p.trainable));
    }
}

fn trace_decays(elm: &Elm) -> Vec<f32> {
    let name = if elm.params.index_of("tau_s").is_some() { "tau_s" } else { "tau_b" };
    elm.params.by_name(name).unwrap().value.data().iter().map(|t| (-(elm.config.delta_t as f32) / t).exp()).collect()
}

fn config(json: serde_json::Value) -> ElmConfig {
    serde_json::from_value(json).unwrap()
}

#[test]
fn vanilla_elm() {
    let elm = Elm::new(
        config(serde_json::json!({"num_input": 6, "num_output": 2, "num_memory": 4, "memory_tau_max": 30.0})),
        1,
    )
    .unwrap();
    gradcheck("vanilla", &elm, false);
}

#[test]
fn branch_elm_neuronio_routing_with_spikes() {
    let elm = Elm::new(
        config(serde_json::json!({"num_input": 10, "num_output": 2, "num_memory": 3, "num_branch": 3,
            "num_synapse_per_branch": 4, "input_to_synapse_routing": "neuronio", "memory_tau_max": 20.0})),
        2,
    )
    .unwrap();
    gradcheck("branch neuronio", &elm, true);
}

#[test]
fn branch_elm_random_routing() {
    let elm = Elm::new(
        config(serde_json::json!({"num_input": 7, "num_output": 2, "num_memory": 3, "num_branch": 3,
            "num_synapse_per_branch": 3, "input_to_synapse_routing": "random_routing", "routing_seed": 5})),
        3,
    )
    .unwrap();
    gradcheck("branch random", &elm, false);
}

#[test]
fn v2_with_learnable_memory_tau() {
    let elm = Elm::new(
        config(serde_json::json!({"num_input": 8, "num_output": 2, "num_memory": 3, "num_branch": 2,
            "num_synapse_per_branch": 4, "input_to_synapse_routing": "neuronio", "version": "v2",
            "learn_memory_tau": true, "memory_tau_max": 25.0})),
        4,
    )
    .unwrap();
    gradcheck("v2 learn tau", &elm, false);
}

#[test]
fn silu_two_hidden_layers_learnable_tau() {
    let elm = Elm::new(
        config(serde_json::json!({"num_input": 5, "num_output": 3, "num_memory": 3, "mlp_num_layers": 2,
            "mlp_hidden_size": 5, "mlp_activation": "silu", "learn_memory_tau": true, "lambda_value": 3.0,
            "memory_tau_min": 2.0, "memory_tau_max": 40.0, "tau_s_value": 7.0, "w_s_value": 0.8})),
        5,
    )
    .unwrap();
    gradcheck("silu two layers", &elm, false);
}

#[test]
fn no_hidden_layer_and_fixed_synapse_weights() {
    let elm = Elm::new(
        config(serde_json::json!({"num_input": 6, "num_output": 2, "num_memory": 2, "mlp_num_layers": 0,
            "learn_synapse_weights": false, "memory_tau_max": 10.0})),
        6,
    )
    .unwrap();
    gradcheck("linear mlp, fixed w_s", &elm, false);
}

#[test]
fn per_synapse_time_constants_and_negative_synapse_weights() {
    // Non-uniform tau_s takes the general trace path; negative proto weights are cut by the relu
    // and must get a zero gradient. SiLU keeps the loss smooth: long traces drive pre-activations
    // across ReLU kinks within a finite-difference step, which spoils the difference quotient.
    for version in ["v1", "v2"] {
        let mut elm = Elm::new(
            config(serde_json::json!({"num_input": 9, "num_output": 2, "num_memory": 3, "num_branch": 3,
                "num_synapse_per_branch": 3, "input_to_synapse_routing": "neuronio", "version": version, "mlp_activation": "silu",
                "memory_tau_max": 20.0})),
            7,
        )
        .unwrap();
        let tau_name = if version == "v1" { "tau_s" } else { "tau_b" };
        let i = elm.params.index_of(tau_name).unwrap();
        for (k, tau) in elm.params.get_mut(i).data_mut().iter_mut().enumerate() {
            *tau = 2.0 + 1.5 * k as f32;
        }
        let w = elm.params.index_of("_proto_w_s").unwrap();
        elm.params.get_mut(w).data_mut()[1] = -0.3;
        gradcheck(&format!("per-synapse tau {version}"), &elm, true);
    }
}

/// The appendix's branch nonlinearities, u_t = f(branch_sum(s_t)), on v1 synapse traces with
/// spikes (sigmoid) and on v2 branch traces with dense inputs (relu: dense normal inputs make an
/// exact zero branch sum, where the difference quotient would straddle the kink, improbable; with
/// +-1 spikes and equal weights a branch sum of exactly 0 is common).
#[test]
fn branch_activations_sigmoid_and_relu() {
    for (activation, version, spikes, seed) in
        [("sigmoid", "v1", true, 8), ("relu", "v1", false, 9), ("relu", "v2", false, 10), ("sigmoid", "v2", false, 11)]
    {
        let elm = Elm::new(
            config(serde_json::json!({"num_input": 10, "num_output": 2, "num_memory": 3, "num_branch": 3,
                "num_synapse_per_branch": 4, "input_to_synapse_routing": "neuronio", "version": version,
                "memory_tau_max": 20.0, "branch_activation": activation, "mlp_activation": "silu"})),
            seed,
        )
        .unwrap();
        gradcheck(&format!("branch {activation} {version}"), &elm, spikes);
    }
}

/// A nonlinear branch takes the folded-branches path by itself (its outputs equal the traces
/// path's), refuses the fully folded one, and is not the identity model: the same weights with
/// linear branches give other outputs.
#[test]
fn branch_activation_chooses_the_traces_path_and_changes_the_model() {
    let json = serde_json::json!({"num_input": 10, "num_output": 2, "num_memory": 3, "num_branch": 3,
        "num_synapse_per_branch": 4, "input_to_synapse_routing": "neuronio", "branch_activation": "sigmoid"});
    let elm = Elm::new(config(json.clone()), 1).unwrap();
    let p = problem(&elm, 3, true);
    let input = Inputs::dense(&p.x, p.batch, p.time, 10).unwrap();
    let err = elm.forward_with(&input, Some(ProjectionPath::Folded)).err().expect("folded refused");
    assert!(format!("{err:#}").contains("branch_activation"), "{err:#}");
    let auto = elm.forward(&input).unwrap();
    assert_eq!(auto.path(), ProjectionPath::FoldedBranches);
    let auto = auto.y.clone();
    let traces = elm.forward_with(&input, Some(ProjectionPath::Traces)).unwrap().y.clone();
    for (a, b) in auto.iter().zip(&traces) {
        assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "folded branches {a}, traces {b}");
    }
    let mut linear = elm.clone();
    linear.config.branch_activation = elmbench::models::elm::BranchActivation::Identity;
    let y_linear = linear.forward(&input).unwrap().y.clone();
    assert!(auto.iter().zip(&y_linear).any(|(a, b)| (a - b).abs() > 1e-3));
    // Serialised only when set: the default config has no such key.
    let default = serde_json::to_value(ElmConfig::new(10, 2)).unwrap();
    assert!(default.get("branch_activation").is_none(), "{default}");
    assert_eq!(serde_json::to_value(&elm.config).unwrap()["branch_activation"], "sigmoid");
}
