//! ELM and Branch-ELM against the official PyTorch implementation: outputs and every gradient of
//! the `grad_*` cases in `tests/fixtures/reference/` (copied from ../shared/reference), made by the
//! official code (commit 52e68a6, torch 2.15, f32).
//!
//! Tolerance: |ours - official| <= 1e-5 + 1e-4 |official|. Both sides compute in f32 (unit
//! roundoff 6e-8) but in different orders: we fold routing, branch sums and layer 0 before the
//! trace filter, PyTorch filters every synapse then sums; over up to 60 recurrent steps the
//! differences compound to a few 1e-6 relative, so 1e-4 leaves a margin of ~10x while any error in
//! the semantics (a missing factor, an off-by-one step, a wrong routing) is off by far more. The
//! absolute floor covers gradients that are sums of cancelling terms near zero.

use crate::support::{assert_close, fixture, TensorFile};
use elmbench::engine::{Inputs, SparseSequences};
use elmbench::models::elm::{Elm, ElmConfig, ProjectionPath, SynapseRouting};

const ATOL: f64 = 1e-5;
const RTOL: f64 = 1e-4;

fn manifest() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("reference/manifest.json")).unwrap()).unwrap()
}

/// The official model of a reference case: its constructor arguments and its initial parameters.
pub fn official_case(case: &str) -> (Elm, TensorFile) {
    let entry = &manifest()["cases"][case];
    let mut kwargs = entry["kwargs"].clone();
    if entry["class"] == "expressive_leaky_memory_neuron_v2" {
        kwargs["version"] = "v2".into();
    }
    let config: ElmConfig = serde_json::from_value(kwargs).unwrap();
    let mut elm = Elm::new(config, 0).unwrap();
    let file = TensorFile::load(&format!("reference/{case}.safetensors"));
    load_params(&mut elm, &file, "param.");
    (elm, file)
}

/// Loads every `<prefix><name>` tensor of `file` into the model.
pub fn load_params(elm: &mut Elm, file: &TensorFile, prefix: &str) {
    let names: Vec<String> = file.tensors.keys().filter_map(|k| k.strip_prefix(prefix).map(String::from)).collect();
    let mut routing = elm.routing.clone();
    for name in names {
        let full = format!("{prefix}{name}");
        match name.as_str() {
            "input_to_synapse_indices" if !file.shape(&full).contains(&0) => {
                routing.input_of_synapse = file.i64(&full).iter().map(|&i| i as u32).collect();
            }
            "valid_indices_mask" if !file.shape(&full).contains(&0) => routing.valid = file.bools(&full),
            "input_to_synapse_indices" | "valid_indices_mask" => {}
            _ => elm.assign(&name, file.f32(&full), &file.shape(&full)).unwrap(),
        }
    }
    elm.set_routing(routing).unwrap();
}

fn check_case(case: &str) {
    let (elm, file) = official_case(case);
    let trainable: Vec<String> = manifest()["cases"][case]["trainable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let ours: Vec<String> = elm.params.iter().filter(|p| p.trainable).map(|p| p.name.clone()).collect();
    let mut sorted = (trainable.clone(), ours);
    sorted.0.sort();
    sorted.1.sort();
    assert_eq!(sorted.0, sorted.1, "{case}: trainable parameter sets differ");

    let shape = file.shape("x");
    let (b, t, f) = (shape[0], shape[1], shape[2]);
    let x = file.f32("x");
    let g = file.f32("g");
    let sparse = SparseSequences::from_dense(&x, b, t, f);
    for path in [ProjectionPath::Folded, ProjectionPath::Traces, ProjectionPath::FoldedBranches] {
        for input in [Inputs::dense(&x, b, t, f).unwrap(), Inputs::Sparse(&sparse)] {
            let label =
                format!("{case} {path:?} {}", if matches!(input, Inputs::Sparse(_)) { "sparse" } else { "dense" });
            let pass = elm.forward_with(&input, Some(path)).unwrap();
            assert_close(&format!("{label} y"), &pass.y, &file.f32("y"), ATOL, RTOL);
            let loss: f64 = pass.y.iter().zip(&g).map(|(y, g)| *y as f64 * *g as f64).sum();
            assert_close(&format!("{label} loss"), &[loss as f32], &file.f32("loss"), ATOL, RTOL);
            let grads = elm.backward(&pass, &input, &g, true).unwrap();
            for name in &trainable {
                let i = elm.params.index_of(name).unwrap();
                assert_close(
                    &format!("{label} grad.{name}"),
                    grads.params[i].data(),
                    &file.f32(&format!("grad.{name}")),
                    ATOL,
                    RTOL,
                );
            }
            assert_close(&format!("{label} grad.x"), grads.x.as_ref().unwrap(), &file.f32("grad.x"), ATOL, RTOL);
        }
    }
}

#[test]
fn vanilla_elm_matches_official() {
    check_case("grad_vanilla");
}

#[test]
fn learnable_tau_silu_matches_official() {
    check_case("grad_learn_tau_silu");
}

#[test]
fn two_layer_mlp_matches_official() {
    check_case("grad_two_layer_mlp");
}

#[test]
fn branch_elm_neuronio_routing_matches_official() {
    check_case("grad_branch_neuronio_routing");
}

#[test]
fn v2_branch_elm_matches_official() {
    check_case("grad_v2_branch");
}

#[test]
fn official_routing_is_rebuilt_from_the_config() {
    // The official tensors record the routing the official constructor drew; ours must equal it.
    for case in ["grad_branch_neuronio_routing", "grad_v2_branch"] {
        let (elm, file) = official_case(case);
        let rebuilt = SynapseRouting::build(&elm.config);
        let official: Vec<u32> = file.i64("param.input_to_synapse_indices").iter().map(|&i| i as u32).collect();
        assert_eq!(rebuilt.input_of_synapse, official, "{case}");
        assert_eq!(rebuilt.valid, file.bools("param.valid_indices_mask"), "{case}");
    }
}
