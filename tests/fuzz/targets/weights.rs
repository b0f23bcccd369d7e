//! Weights and tensors: pickles, NeuronIO files (pickles), `.pt` zip archives, the official
//! model_config.json, elmbench checkpoints and `forward`'s input (safetensors).

use super::{files, fixture, put, read, Target};
use crate::mutate;
use elmbench::models::elm::{Elm, ElmConfig};
use elmbench::models::ModelConfig;
use elmbench::tasks::neuronio::synthetic::{simulate, SyntheticNeuron};
use std::io::{Cursor, Read};
use std::path::Path;

pub fn targets() -> Vec<Target> {
    vec![
        Target { name: "pickle", seeds: pickle_seeds, aware: Some(mutate::pickle::mutate), run: pickle },
        Target { name: "neuronio", seeds: neuronio_seeds, aware: Some(mutate::pickle::mutate), run: neuronio },
        Target {
            name: "neuronio-whole",
            seeds: neuronio_seeds,
            aware: Some(mutate::pickle::mutate),
            run: neuronio_whole,
        },
        Target { name: "torch-pt", seeds: pt_seeds, aware: Some(mutate::zip::mutate), run: torch_pt },
        Target {
            name: "official-model-config",
            seeds: official_config_seeds,
            aware: Some(mutate::text::mutate),
            run: official_model_config,
        },
        Target {
            name: "checkpoint",
            seeds: checkpoint_seeds,
            aware: Some(mutate::safetensors::mutate),
            run: checkpoint,
        },
        Target {
            name: "forward-input",
            seeds: forward_input_seeds,
            aware: Some(mutate::safetensors::mutate),
            run: forward_input,
        },
    ]
}

/// A small NeuronIO file from the project's synthetic writer: 2 simulations of 1 s, either as
/// elmbench writes it or with every object memoized (as cPickle writes the real files).
fn synthetic_neuronio(memoize: bool) -> Vec<u8> {
    let neuron = SyntheticNeuron::new(7);
    let sims: Vec<_> = (0..2).map(|s| simulate(&neuron, 1000, s)).collect();
    let writer = elmbench::pickle::writer::PickleWriter::new(Vec::new()).expect("in memory");
    let writer = if memoize { writer.memoize_everything() } else { writer };
    elmbench::tasks::neuronio::writer::write_records(writer, &neuron, &sims, 5).expect("in memory")
}

fn neuronio_seeds() -> Vec<Vec<u8>> {
    vec![synthetic_neuronio(false), synthetic_neuronio(true)]
}

/// The pickle inside an official `.pt`.
fn pt_pickle(path: &Path) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(Cursor::new(read(path))).expect("fixture .pt is a zip");
    let name =
        archive.file_names().filter_map(Result::ok).find(|n| n.ends_with("data.pkl")).expect("data.pkl").to_string();
    let mut out = Vec::new();
    archive.by_name(&name).expect("data.pkl").read_to_end(&mut out).expect("readable");
    out
}

fn pickle_seeds() -> Vec<Vec<u8>> {
    let mut seeds = neuronio_seeds();
    seeds.push(pt_pickle(&fixture("reference/official_models/num_memory_1/neuronio_best_model_state.pt")));
    seeds
}

fn pickle(bytes: &[u8], _: &Path) -> anyhow::Result<()> {
    elmbench::pickle::from_slice(bytes)?;
    Ok(())
}

fn neuronio(bytes: &[u8], dir: &Path) -> anyhow::Result<()> {
    elmbench::tasks::neuronio::read_neuronio_file(&put(dir, "case.p", bytes)?)?;
    Ok(())
}

fn neuronio_whole(bytes: &[u8], dir: &Path) -> anyhow::Result<()> {
    elmbench::tasks::neuronio::reader::read_neuronio_file_whole(&put(dir, "case.p", bytes)?)?;
    Ok(())
}

fn pt_seeds() -> Vec<Vec<u8>> {
    ["num_memory_1", "num_memory_20"]
        .iter()
        .map(|m| read(fixture(&format!("reference/official_models/{m}/neuronio_best_model_state.pt"))))
        .collect()
}

fn torch_pt(bytes: &[u8], _: &Path) -> anyhow::Result<()> {
    elmbench::weights::read_state_dict_from(Cursor::new(bytes), "case.pt")?;
    Ok(())
}

fn official_config_seeds() -> Vec<Vec<u8>> {
    files(fixture("reference/official_models"), "model_config.json")
}

/// The official num_memory_1 weights with the case as their model_config.json (finding A: sizes
/// from this file must be bounded before the model is allocated).
fn official_model_config(bytes: &[u8], dir: &Path) -> anyhow::Result<()> {
    let weights = dir.join("neuronio_best_model_state.pt");
    if !weights.exists() {
        std::fs::copy(fixture("reference/official_models/num_memory_1/neuronio_best_model_state.pt"), &weights)?;
    }
    put(dir, "model_config.json", bytes)?;
    elmbench::weights::load::load_official(&weights)?;
    Ok(())
}

fn checkpoint_seeds() -> Vec<Vec<u8>> {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut elm = ElmConfig::new(6, 2);
    elm.num_memory = 5;
    let models: Vec<Box<dyn elmbench::models::SequenceModel>> = vec![
        Box::new(Elm::new(elm, 1).expect("small ELM")),
        serde_json::from_value::<ModelConfig>(
            serde_json::json!({"kind": "lstm", "num_input": 4, "num_output": 2, "hidden_size": 3}),
        )
        .expect("LSTM config")
        .build(2)
        .expect("small LSTM"),
        serde_json::from_value::<ModelConfig>(serde_json::json!({
            "kind": "branch-elm", "num_input": 12, "num_output": 2, "num_memory": 3, "num_branch": 3,
            "num_synapse_per_branch": 4, "input_to_synapse_routing": "random", "routing_seed": 4}))
        .expect("branch ELM config")
        .build(3)
        .expect("small branch ELM"),
    ];
    models
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let path = dir.path().join(format!("{i}.safetensors"));
            elmbench::weights::write_checkpoint(m.as_ref(), &path).expect("checkpoint written");
            read(&path)
        })
        .collect()
}

fn checkpoint(bytes: &[u8], dir: &Path) -> anyhow::Result<()> {
    elmbench::weights::read_checkpoint(&put(dir, "case.safetensors", bytes)?)?;
    Ok(())
}

fn forward_input_seeds() -> Vec<Vec<u8>> {
    let x: Vec<u8> = (0..2 * 5 * 3).flat_map(|i| (i as f32 * 0.25).to_le_bytes()).collect();
    let f32_view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![2, 5, 3], &x).expect("view");
    let h: Vec<u8> = (0..4 * 3 * 2).flat_map(|i| (i as u16).to_le_bytes()).collect();
    let f16_view = safetensors::tensor::TensorView::new(safetensors::Dtype::F16, vec![4, 3, 2], &h).expect("view");
    vec![
        safetensors::serialize([("x", f32_view)], None).expect("serialized"),
        safetensors::serialize([("x", f16_view)], None).expect("serialized"),
    ]
}

fn forward_input(bytes: &[u8], dir: &Path) -> anyhow::Result<()> {
    elmbench::commands::forward::read_input(&put(dir, "x.safetensors", bytes)?)?;
    Ok(())
}
