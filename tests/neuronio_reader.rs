//! The NeuronIO reader against the official parser: `expected_parse.safetensors` is what the
//! official `parse_sim_experiment_file` returned for the fixture (made with the reference Python
//! tools); corrupt files give errors naming the file, never panics; synthetic files written by
//! our writer read back as generated.

use crate::support::{fixture, TensorFile};
use elmbench::io::float16::{f16_to_f32, f32_to_f16};
use elmbench::tasks::neuronio::synthetic::{simulate, SyntheticNeuron};
use elmbench::tasks::neuronio::writer::write_file;
use elmbench::tasks::neuronio::{read_neuronio_file, NeuronioFile};
use std::collections::BTreeSet;

fn fixture_file() -> std::path::PathBuf {
    let dir = fixture("neuronio/full_ergodic_train_batch_1");
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "p"))
        .unwrap()
}

#[test]
fn fixture_parses_exactly_as_the_official_parser() {
    let file = read_neuronio_file(&fixture_file()).unwrap();
    let expected = TensorFile::load("neuronio/expected_parse.safetensors");
    let shape = expected.i64("x_shape");
    let (inputs, steps, sims) = (shape[0] as usize, shape[1] as usize, shape[2] as usize);
    assert_eq!((file.num_inputs(), file.simulations.len()), (inputs, sims));
    // The set of (synapse, time, simulation) where X is 1.
    let triples = expected.i32_triples("x_ones_syn_time_sim");
    let expected_ones: BTreeSet<(usize, usize, usize)> = triples.into_iter().collect();
    let mut ours = BTreeSet::new();
    for (k, sim) in file.simulations.iter().enumerate() {
        assert_eq!(sim.steps(), steps);
        for t in 0..steps {
            for &c in sim.spikes_at(t) {
                ours.insert((c as usize, t, k));
            }
        }
    }
    assert_eq!(ours.len(), expected_ones.len());
    assert!(ours == expected_ones, "input spikes differ from the official parse");
    let (y_spike, y_soma) = (expected.f64_values("y_spike"), expected.f64_values("y_soma"));
    for (k, sim) in file.simulations.iter().enumerate() {
        for t in 0..steps {
            assert_eq!(sim.output_spike[t] as f64, y_spike[t * sims + k], "spike at {t} of simulation {k}");
            assert_eq!(sim.soma_mv[t] as f64, y_soma[t * sims + k], "soma at {t} of simulation {k}");
        }
    }
}

#[test]
fn truncated_and_corrupted_files_are_errors_not_panics() {
    let truncated = fixture("neuronio/truncated_sim__bad.p");
    let err = format!("{:#}", read_neuronio_file(&truncated).unwrap_err());
    assert!(err.contains("truncated_sim__bad.p"), "{err}");

    let bytes = std::fs::read(fixture_file()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corrupt.p");
    let mut rng = elmbench::engine::Rng::new(17);
    let mut errors = 0;
    for variant in 0..60 {
        let mut corrupt = bytes.clone();
        if variant % 3 == 0 {
            corrupt.truncate(rng.below(corrupt.len() as u64) as usize);
        } else {
            for _ in 0..1 + variant % 5 {
                let i = rng.below(corrupt.len() as u64) as usize;
                corrupt[i] = rng.below(256) as u8;
            }
        }
        std::fs::write(&path, &corrupt).unwrap();
        let outcome = std::panic::catch_unwind(|| read_neuronio_file(&path).map(|_| ()));
        match outcome {
            Err(_) => panic!("variant {variant}: the reader panicked"),
            Ok(Err(e)) => {
                errors += 1;
                assert!(format!("{e:#}").contains("corrupt.p"), "variant {variant}: {e:#}");
            }
            Ok(Ok(())) => {}
        }
    }
    assert!(errors > 20, "only {errors} of 60 corruptions were noticed");
}

#[test]
fn synthetic_files_read_back_as_generated() {
    let neuron = SyntheticNeuron::new(5);
    let sims: Vec<_> = (0..2).map(|s| simulate(&neuron, 6000, s)).collect();
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), &neuron, &sims, 42).unwrap();
    let file: NeuronioFile = read_neuronio_file(&path).unwrap();
    assert_eq!(file.segments, 639);
    for (raw, sim) in sims.iter().zip(&file.simulations) {
        for t in 0..6000 {
            let mut expected: Vec<u16> = Vec::new();
            for (k, times) in raw.excitatory_spikes.iter().enumerate() {
                if times.contains(&(t as u32)) {
                    expected.push(k as u16);
                }
            }
            for (k, times) in raw.inhibitory_spikes.iter().enumerate() {
                if times.contains(&(t as u32)) {
                    expected.push(639 + k as u16);
                }
            }
            assert_eq!(sim.spikes_at(t), &expected[..], "inputs at {t}");
            assert_eq!(sim.soma_mv[t], f16_to_f32(f32_to_f16(raw.soma_mv[t])));
        }
        // Output spikes land in bin int(float16(t) - 0.5), as the official parser puts them.
        let bins: Vec<usize> = (0..6000).filter(|&t| sim.output_spike[t] == 1).collect();
        let mut expected: Vec<usize> =
            raw.output_spike_times.iter().map(|t| (f16_to_f32(f32_to_f16(*t as f32)) as f64 - 0.5) as usize).collect();
        expected.dedup();
        assert_eq!(bins, expected);
    }
}

#[test]
fn inspect_export_equals_the_official_parse_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("parse.safetensors");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_elmbench"))
        .args(["inspect", fixture_file().to_str().unwrap(), "--export", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let ours = TensorFile::load_path(&out);
    let expected = TensorFile::load("neuronio/expected_parse.safetensors");
    for name in ["x_ones_syn_time_sim", "x_shape", "y_spike", "y_soma"] {
        assert_eq!(ours.tensors[name], expected.tensors[name], "{name}");
    }
}

#[test]
fn the_parse_cache_returns_the_same_file_and_survives_damage() {
    use elmbench::tasks::neuronio::cache::read_cached;
    use sha2::Digest;
    let cache = tempfile::tempdir().unwrap();
    let source = fixture_file();
    let direct = read_neuronio_file(&source).unwrap();
    let first = read_cached(&source, cache.path()).unwrap();
    // Keyed by the source's sha256, computed here independently.
    let digest = sha2::Sha256::digest(std::fs::read(&source).unwrap());
    let key: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let entry = cache.path().join(format!("{key}.safetensors"));
    assert!(entry.exists(), "the parse was cached under the source's sha256");
    let second = read_cached(&source, cache.path()).unwrap();
    assert_eq!(first, direct);
    assert_eq!(second, direct);
    // A damaged entry is ignored and rebuilt.
    std::fs::write(&entry, b"garbage").unwrap();
    assert_eq!(read_cached(&source, cache.path()).unwrap(), direct);
    assert!(std::fs::read(&entry).unwrap().len() > 100);
}
