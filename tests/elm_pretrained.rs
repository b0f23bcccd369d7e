//! The authors' pretrained Branch-ELMs, loaded from their PyTorch state dicts without Python, give
//! the outputs the official code gave (`pretrained_<model>.safetensors`: `y = model(x)` and
//! `y_eval = model.neuronio_eval_forward(x)` on NeuronIO-like spikes, 2 x 400 steps).
//!
//! Tolerance 1e-4 absolute (the bar). Both sides run in f32; our input projection folds
//! routing and branch sums before the trace filter, so results differ by rounding only, which over
//! 400 steps of a d_m = 100 recurrence stays around 1e-5 on values of order 1-10 (y_eval's soma is
//! y / 0.1, so its rounding is 10x larger than y's).

use crate::support::{assert_close, fixture, TensorFile};
use elmbench::engine::{Inputs, SparseSequences};
use elmbench::tasks::neuronio::neuronio_eval_transform;
use elmbench::weights::load::{load_model, load_official, WeightsFormat};

fn check(model: &str) {
    let weights = fixture(&format!("reference/official_models/{model}/neuronio_best_model_state.pt"));
    let elm = load_official(&weights).unwrap();
    let file = TensorFile::load(&format!("reference/pretrained_{model}.safetensors"));
    let shape = file.shape("x");
    let x = file.f32("x");
    let sparse = SparseSequences::from_dense(&x, shape[0], shape[1], shape[2]);
    let pass = elm.forward(&Inputs::Sparse(&sparse)).unwrap();
    assert_close(&format!("{model} y"), &pass.y, &file.f32("y"), 1e-4, 0.0);
    let mut eval = pass.y.clone();
    neuronio_eval_transform(&mut eval, 2);
    assert_close(&format!("{model} y_eval"), &eval, &file.f32("y_eval"), 1e-4, 0.0);
}

#[test]
fn pretrained_num_memory_20_matches_official() {
    check("num_memory_20");
}

#[test]
fn pretrained_best_elm_neuron_matches_official() {
    check("best_elm_neuron");
}

#[test]
fn official_weights_and_checkpoints_give_the_same_model() {
    let weights = fixture("reference/official_models/num_memory_20/neuronio_best_model_state.pt");
    let (elm, format) = load_model(&weights).unwrap();
    assert_eq!(format, WeightsFormat::OfficialPyTorch);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("converted.safetensors");
    elmbench::weights::write_checkpoint(elm.as_ref(), &path).unwrap();
    let (back, format) = load_model(&path).unwrap();
    assert_eq!(format, WeightsFormat::Checkpoint);
    assert_eq!(back.params(), elm.params());
    assert_eq!(back.buffers(), elm.buffers());
    assert_eq!(back.param_count(), 8002);
}
