//! Regression tests of the findings of the external fuzzing campaign (issue 14) that are not
//! covered elsewhere: each bound refuses the value by name, before anything is allocated or run.
//! (Finding A: `cli_arguments::huge_model_sizes_are_refused_by_name_before_allocation`; the fuzz
//! harness, tests/fuzz, replays tests/fixtures/fuzz-regressions/ as well.)

use crate::support::{fixture, smoke_neuronio};
use elmbench::experiments::spec::ExperimentSpec;
use elmbench::models::elm::{Elm, ElmConfig};
use elmbench::tasks::neuronio::read_neuronio_file;
use elmbench::tasks::neuronio::reader::read_neuronio_file_whole;
use elmbench::train::config::TrainConfig;
use elmbench::train::{train, TrainOptions};
use std::path::Path;
use std::process::Command;

fn config_path(rel: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Finding B: `train.prefetch` (batches prepared ahead, each allocated) is bounded, from a file
/// or from --set.
#[test]
fn finding_b_huge_train_prefetch_is_refused_by_name() {
    let path = config_path("configs/neuronio/elm_simplest.toml");
    let err = TrainConfig::load(&path, &["train.prefetch=1000000000000".into()]).unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains("train.prefetch = 1000000000000"), "{text}");
    let dir = tempfile::tempdir().unwrap();
    let doctored = dir.path().join("config.toml");
    let original = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&doctored, original.replace("[train]", "[train]\nprefetch = 4294967296")).unwrap();
    let text = format!("{:#}", TrainConfig::load(&doctored, &[]).unwrap_err());
    assert!(text.contains("train.prefetch = 4294967296") && text.contains(&doctored.display().to_string()), "{text}");
    // The bound is not so tight that a normal value fails.
    TrainConfig::load(&path, &["train.prefetch=64".into()]).unwrap();
}

/// Finding C: NeuronIO needs exactly a spike and a soma output; a model with 3 outputs is
/// refused before training starts (it used to fail in the loss at the first batch).
#[test]
fn finding_c_neuronio_model_with_three_outputs_is_refused_before_training() {
    let path = config_path("configs/neuronio/elm_simplest.toml");
    let sets: Vec<String> =
        ["model.num_output=3", "model.num_memory=4", "train.epochs=1", "train.batches_per_epoch=2", "train.prefetch=1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    let config = TrainConfig::load(&path, &sets).unwrap();
    let out = tempfile::tempdir().unwrap();
    let options = TrainOptions::quiet(out.path(), smoke_neuronio());
    let text = format!("{:#}", train(&config, &options).unwrap_err());
    assert!(text.contains("num_output = 2") && text.contains("to 3 outputs"), "{text}");
}

/// Finding D: an experiment's `seeds` (runs per configuration) is bounded, at the top level
/// and per tier.
#[test]
fn finding_d_huge_experiment_seeds_are_refused_by_name() {
    let original = std::fs::read_to_string(config_path("benchmarks/fig2.toml")).unwrap();
    assert!(original.contains("\nseeds = 3\n"), "fig2.toml changed; update this test");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fig2.toml");
    std::fs::write(&path, original.replacen("\nseeds = 3\n", "\nseeds = 1000000000000\n", 1)).unwrap();
    let text = format!("{:#}", ExperimentSpec::load_file(&path).unwrap_err());
    assert!(text.contains("seeds = 1000000000000"), "{text}");
    std::fs::write(&path, original.replacen("\nseeds = 1\n", "\nseeds = 1000000000000\n", 1)).unwrap();
    let text = format!("{:#}", ExperimentSpec::load_file(&path).unwrap_err());
    assert!(text.contains("seeds must be within"), "{text}");
    std::fs::write(&path, &original).unwrap();
    ExperimentSpec::load_file(&path).unwrap();
}

/// Finding E: a Params with more segments than 16-bit channel numbers hold (2 per segment) is
/// refused by name by both readers; the file is made by tests/fixtures/make_fuzz_regressions.py.
#[test]
fn finding_e_neuronio_file_with_32769_segments_is_refused_by_name() {
    let path = fixture("fuzz-regressions/neuronio/too_many_segments.p");
    for err in [read_neuronio_file(&path).unwrap_err(), read_neuronio_file_whole(&path).unwrap_err()] {
        let text = format!("{err:#}");
        assert!(text.contains("allSegmentsType") && text.contains("32769 segments"), "{text}");
        assert!(text.contains("1 to 32768"), "{text}");
    }
}

fn elmbench(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_elmbench")).args(args).output().expect("run elmbench");
    (out.status.code(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// A safetensors file whose header says tensor `x` is f32 of `shape`, holding `data` bytes
/// after the header (fewer than the header says when truncated).
fn input_file(path: &Path, shape: [usize; 3], data: usize) {
    let bytes = shape.iter().product::<usize>() * 4;
    let header = format!(r#"{{"x":{{"dtype":"F32","shape":{shape:?},"data_offsets":[0,{bytes}]}}}}"#);
    let mut file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(header.as_bytes());
    file.resize(file.len() + data, 0);
    std::fs::write(path, file).unwrap();
}

/// Finding F: forward checks the input's width from the header, before reading its data: a
/// file whose header claims 4 GB of the wrong width (and holds none of it) gets the width error;
/// one of the right width that is truncated gets an error naming the truncation. (The peak
/// memory of the read is measured in tests/memory.rs.) Its help lists only accepted dtypes.
#[test]
fn finding_f_forward_checks_the_width_from_the_header_before_reading_the_data() {
    let weights = fixture("reference/official_models/num_memory_20/neuronio_best_model_state.pt");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("y.safetensors");
    let run = |input: &Path| {
        elmbench(&[
            "forward",
            "--weights",
            weights.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
        ])
    };
    let wide = dir.path().join("wide.safetensors");
    input_file(&wide, [1000, 1000, 1000], 0);
    let (code, text) = run(&wide);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("1000 inputs per step") && text.contains("num_input = 1278"), "{text}");
    let short = dir.path().join("short.safetensors");
    input_file(&short, [2, 10, 1278], 100);
    let (code, text) = run(&short);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("short.safetensors") && text.contains("truncated"), "{text}");
    assert!(!out.exists());

    let (code, help) = elmbench(&["forward", "--help"]);
    assert_eq!(code, Some(0), "{help}");
    assert!(help.contains("i8, u8") && !help.contains("bool"), "{help}");
}

/// The checks added with the fuzz harness: an official model_config.json (or a checkpoint's
/// metadata config) that asks for more weights than the file holds is refused before the model
/// is built, and the whole ELM is
/// bounded like one tensor (64 hidden layers of the largest allowed size were not).
#[test]
fn model_sizes_beyond_their_weights_or_in_total_are_refused_before_allocation() {
    let official = fixture("reference/official_models/num_memory_1");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(official.join("neuronio_best_model_state.pt"), dir.path().join("neuronio_best_model_state.pt"))
        .unwrap();
    let config = std::fs::read_to_string(official.join("model_config.json")).unwrap();
    let mut config: serde_json::Value = serde_json::from_str(&config).unwrap();
    config["num_memory"] = serde_json::json!(4096);
    std::fs::write(dir.path().join("model_config.json"), config.to_string()).unwrap();
    let err = elmbench::weights::load::load_official(&dir.path().join("neuronio_best_model_state.pt")).unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains("num_memory = 4096") && text.contains("does not belong to these weights"), "{text}");

    // The same for a checkpoint whose metadata config was doctored.
    let elm = Elm::new(ElmConfig::new(6, 2), 0).unwrap();
    let path = dir.path().join("small.safetensors");
    elmbench::weights::write_checkpoint(&elm, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let mut metadata = header.metadata().clone().unwrap();
    let mut config: serde_json::Value = serde_json::from_str(&metadata["config"]).unwrap();
    config["num_memory"] = serde_json::json!(4096);
    metadata.insert("config".into(), config.to_string());
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let doctored = safetensors::serialize(file.tensors(), Some(metadata)).unwrap();
    std::fs::write(&path, doctored).unwrap();
    let text = format!("{:#}", elmbench::weights::read_checkpoint(&path).err().unwrap());
    assert!(text.contains("does not belong to these tensors"), "{text}");

    let mut config = ElmConfig::new(100, 2);
    config.mlp_num_layers = 64;
    config.mlp_hidden_size = Some(8192);
    let text = format!("{:#}", Elm::new(config.clone(), 0).err().unwrap());
    assert!(text.contains("the whole ELM"), "{text}");
    config.mlp_num_layers = 2;
    config.mlp_hidden_size = Some(64);
    let elm = Elm::new(config.clone(), 0).unwrap();
    // The count is exact for the MLP, synapse and output weights (tau_m and the synapse taus come
    // on top), and takes no time for any layer count (it once looped over 2^63 layers).
    let taus = config.num_memory + config.num_synapse();
    assert_eq!(config.weight_scalars() + taus, elm.params.iter().map(|p| p.value.data().len()).sum::<usize>());
    config.mlp_num_layers = 1 << 63;
    assert_eq!(config.weight_scalars(), usize::MAX);
}
