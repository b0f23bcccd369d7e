//! Our checkpoint format round-trips exactly, and bad files give errors that name them.

use elmbench::bench::spike_batch;
use elmbench::engine::Inputs;
use elmbench::models::elm::{Elm, ElmConfig};
use elmbench::models::{ModelConfig, SequenceModel};
use elmbench::weights::{read_checkpoint, write_checkpoint};

fn trained_looking_model() -> Elm {
    let config: ElmConfig = serde_json::from_value(serde_json::json!({
        "num_input": 30, "num_output": 3, "num_memory": 7, "num_branch": 4, "num_synapse_per_branch": 8,
        "input_to_synapse_routing": "random", "routing_seed": 42, "version": "v2", "learn_memory_tau": true,
        "mlp_num_layers": 2, "mlp_activation": "silu"}))
    .unwrap();
    let mut elm = Elm::new(config, 3).unwrap();
    // Perturb every parameter so that nothing equals its initial value.
    for (k, p) in elm.params.iter_mut().enumerate() {
        for (i, v) in p.value.data_mut().iter_mut().enumerate() {
            *v += ((i * 31 + k * 7) % 13) as f32 * 1e-3 - 6e-3;
        }
    }
    elm
}

#[test]
fn round_trip_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let elm = trained_looking_model();
    write_checkpoint(&elm, &path).unwrap();
    let back = read_checkpoint(&path).unwrap();
    assert_eq!(back.config(), ModelConfig::BranchElm(elm.config.clone()));
    assert_eq!(back.params(), &elm.params);
    assert_eq!(back.buffers(), elm.buffers());
    let x = spike_batch(2, 20, 30, 0.2, 1);
    let (a, b) = (elm.forward(&Inputs::Sparse(&x)).unwrap(), back.forward(&Inputs::Sparse(&x)).unwrap());
    assert_eq!(a.y, b.output());
    // No temporary file is left beside it.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// A two-tower round-trips with its encoder's parameters under `encoder.` and the encoder's
/// routing draw passing through as buffers.
#[test]
fn two_tower_round_trip_is_exact() {
    let config: ModelConfig = serde_json::from_value(serde_json::json!({
        "kind": "two-tower", "num_input": 30, "latent": 6, "hidden": 9, "num_output": 2,
        "encoder": {"kind": "branch-elm", "num_memory": 7, "num_branch": 4, "num_synapse_per_branch": 8,
            "input_to_synapse_routing": "random", "routing_seed": 42, "learn_memory_tau": true}}))
    .unwrap();
    let mut model = config.build(3).unwrap();
    for (k, p) in model.params_mut().iter_mut().enumerate() {
        for (i, v) in p.value.data_mut().iter_mut().enumerate() {
            *v += ((i * 31 + k * 7) % 13) as f32 * 1e-3 - 6e-3;
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pairs.safetensors");
    write_checkpoint(model.as_ref(), &path).unwrap();
    let back = read_checkpoint(&path).unwrap();
    assert_eq!(back.config(), config);
    assert_eq!(back.params(), model.params());
    assert_eq!(back.buffers(), model.buffers());
    assert!(back.buffers().iter().any(|(name, _)| name == "encoder.input_to_synapse_indices"));
    let x = spike_batch(4, 20, 30, 0.2, 1);
    let (a, b) = (model.forward(&Inputs::Sparse(&x)).unwrap(), back.forward(&Inputs::Sparse(&x)).unwrap());
    assert_eq!(a.output(), b.output());
    assert_eq!(a.output().len(), 2 * 2);
}

#[test]
fn bad_checkpoints_are_named_errors() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.safetensors");
    write_checkpoint(&trained_looking_model(), &good).unwrap();
    let bytes = std::fs::read(&good).unwrap();

    let missing = dir.path().join("absent.safetensors");
    let err = format!("{:#}", read_checkpoint(&missing).err().unwrap());
    assert!(err.contains("absent.safetensors"), "{err}");

    let truncated = dir.path().join("truncated.safetensors");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let err = format!("{:#}", read_checkpoint(&truncated).err().unwrap());
    assert!(err.contains("truncated.safetensors"), "{err}");

    let garbage = dir.path().join("garbage.safetensors");
    std::fs::write(&garbage, b"not a checkpoint at all").unwrap();
    let err = format!("{:#}", read_checkpoint(&garbage).err().unwrap());
    assert!(err.contains("garbage.safetensors"), "{err}");

    // A config with an unknown key in the metadata: rewrite the header's JSON in place.
    let at = bytes.windows(10).position(|w| w == b"num_memory").expect("config in header");
    let mut edited = bytes.clone();
    edited[at + 9] = b'x';
    let unknown = dir.path().join("unknown_key.safetensors");
    std::fs::write(&unknown, &edited).unwrap();
    let err = format!("{:#}", read_checkpoint(&unknown).err().unwrap());
    assert!(err.contains("num_memorx") && err.contains("unknown_key.safetensors"), "{err}");

    // Random byte flips never panic.
    for seed in 0..200u64 {
        let mut corrupt = bytes.clone();
        let mut rng = elmbench::engine::Rng::new(seed);
        for _ in 0..1 + seed % 4 {
            let i = rng.below(corrupt.len() as u64) as usize;
            corrupt[i] = rng.below(256) as u8;
        }
        let path = dir.path().join("flipped.safetensors");
        std::fs::write(&path, &corrupt).unwrap();
        let outcome = std::panic::catch_unwind(|| read_checkpoint(&path).map(|_| ()));
        assert!(outcome.is_ok(), "seed {seed}: reading a corrupted checkpoint panicked");
    }
}
