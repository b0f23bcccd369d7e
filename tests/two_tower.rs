//! The two-tower model for LRA Retrieval: its config and interface, the batch convention (2B
//! sequences in, B pairs out), that both towers are one encoder, its outputs against a hand
//! computation in f64, parameter and FLOP sums, and finite-difference gradient checks with ELM and
//! LSTM encoders on dense and sparse inputs, plus wrong gradients being caught.

use crate::gradcheck_catches::{caught, Fault};
use crate::model_gradcheck::GradCheck;
use elmbench::bench::{lra_bench_config, lra_shape, one_hot_tokens, random_spikes, TrainStep};
use elmbench::engine::Inputs;
use elmbench::models::{ModelConfig, ModelInterface, SequenceModel};
use elmbench::nn::Readout;

fn config(json: serde_json::Value) -> ModelConfig {
    serde_json::from_value(json).unwrap()
}

/// A small two-tower around a small ELM.
fn small_elm_pair() -> serde_json::Value {
    serde_json::json!({"kind": "two-tower", "num_input": 7, "latent": 5, "hidden": 6, "num_output": 3,
        "encoder": {"kind": "elm", "num_memory": 4, "memory_tau_max": 30.0, "learn_memory_tau": true}})
}

/// The paper's Retrieval ELM as a two-tower: 105 one-hot inputs, d_m 150 (MLP width 300), latent
/// 75, our default head of 150 hidden units, 2 classes.
fn retrieval() -> ModelConfig {
    let text = r#"
        kind = "two-tower"
        num_input = 105
        latent = 75
        num_output = 2
        encoder = { kind = "elm", num_memory = 150 }
    "#;
    toml::from_str(text).unwrap()
}

#[test]
fn the_retrieval_config_parses_and_counts_its_parameters_by_hand() {
    let config = retrieval();
    assert_eq!(config.kind(), "two-tower");
    let model = config.build(0).unwrap();
    assert_eq!((model.num_input(), model.num_output(), model.readout()), (105, 2, Readout::LastStep));
    // ELM: layer 0 (105 + 150) x 300 + 300, layer 1 300 x 150 + 150, w_s 105, w_y 150 x 75 + 75.
    let elm = (255 * 300 + 300) + (300 * 150 + 150) + 105 + (150 * 75 + 75);
    assert_eq!(elm, 133_380);
    // Head: hidden 150 on 4 x 75 features, then 2 classes.
    let head = (150 * 300 + 150) + (2 * 150 + 2);
    assert_eq!(model.param_count(), elm + head);
    assert_eq!(model.param_count(), 178_832);
    // The paper's convention for the ELM part (MLP + 7 per memory unit), plus the same head.
    assert_eq!(model.param_count_paper_convention(), (255 * 300 + 300) + (300 * 150 + 150) + 7 * 150 + head);
    let names: Vec<&str> = model.params().iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names.first(), Some(&"encoder.mlp.network.0.weight"));
    assert_eq!(
        &names[names.len() - 4..],
        ["head.hidden.weight", "head.hidden.bias", "head.output.weight", "head.output.bias"]
    );
    // The encoder as the two-tower fits it: its inputs, `latent` outputs, the last step.
    let ModelConfig::TwoTower(c) = &config else { panic!("a two-tower") };
    let ModelConfig::Elm(encoder) = c.encoder_config().unwrap() else { panic!("an ELM encoder") };
    assert_eq!((encoder.num_input, encoder.num_output, encoder.readout), (105, 75, Readout::LastStep));
    assert_eq!(encoder.mlp_hidden_size(), 300);
}

#[test]
fn bad_configs_are_refused_with_the_key_named() {
    let mut table = small_elm_pair();
    table["depth"] = 2.into();
    let err = serde_json::from_value::<ModelConfig>(table).unwrap_err().to_string();
    assert!(err.contains("depth"), "{err}");
    for (key, value, says) in [
        ("num_input", serde_json::json!(7), "two-tower's `num_input`"),
        ("num_output", serde_json::json!(5), "`latent`"),
        ("readout", serde_json::json!("mean"), "`readout`"),
        ("num_memorx", serde_json::json!(5), "num_memorx"),
    ] {
        let mut table = small_elm_pair();
        table["encoder"][key] = value;
        let err = format!("{:#}", config(table).validate().unwrap_err());
        assert!(err.contains(says), "encoder.{key}: {err}");
    }
    let mut nested = small_elm_pair();
    nested["encoder"] = small_elm_pair();
    nested["encoder"].as_object_mut().unwrap().remove("num_input");
    nested["encoder"].as_object_mut().unwrap().remove("num_output");
    let err = format!("{:#}", config(nested).validate().unwrap_err());
    assert!(err.contains("cannot be a two-tower"), "{err}");
    let mut per_step = small_elm_pair();
    per_step["readout"] = "per-step".into();
    let err = format!("{:#}", config(per_step).validate().unwrap_err());
    assert!(err.contains("one decision per pair"), "{err}");
    let mut kindless = small_elm_pair();
    kindless["encoder"].as_object_mut().unwrap().remove("kind");
    assert!(format!("{:#}", config(kindless).validate().unwrap_err()).contains("needs a `kind`"));
}

#[test]
fn with_interface_fits_the_encoder_and_the_head() {
    // What the Retrieval task asks: the one-hot width, 2 classes, the last step.
    let io = ModelInterface { num_input: 98, num_output: 2, readout: Readout::LastStep, delta_t: None };
    let fitted = retrieval().with_interface(&io).unwrap();
    let ModelConfig::TwoTower(c) = &fitted else { panic!("a two-tower") };
    assert_eq!((c.num_input, c.num_output, c.latent, c.readout), (98, 2, 75, Readout::LastStep));
    assert_eq!(c.encoder_config().unwrap().num_input(), 98);
    // A mean readout reaches the towers' pooling; per step leaves the pooling as it was.
    let mean = ModelInterface { readout: Readout::Mean, ..io.clone() };
    let ModelConfig::TwoTower(c) = retrieval().with_interface(&mean).unwrap() else { panic!() };
    assert_eq!(c.readout, Readout::Mean);
    let per_step = ModelInterface { readout: Readout::PerStep, ..io };
    let ModelConfig::TwoTower(c) = retrieval().with_interface(&per_step).unwrap() else { panic!() };
    assert_eq!(c.readout, Readout::LastStep);
    // `--set` reaches the encoder's keys through the table.
    let set = retrieval().with_overrides(&["encoder.num_memory=20".into(), "hidden=32".into()]).unwrap();
    let model = set.build(0).unwrap();
    assert_eq!(model.params().by_name("encoder.mlp.network.2.weight").unwrap().value.shape(), &[20, 40]);
    assert_eq!(model.params().by_name("head.hidden.weight").unwrap().value.shape(), &[32, 300]);
    // The config a checkpoint stores rebuilds the same config.
    let again: ModelConfig = serde_json::from_str(&serde_json::to_string(&model.config()).unwrap()).unwrap();
    assert_eq!(again, set);
}

/// The head in f64 from the encodings and the head's weights.
fn head_by_hand(model: &dyn SequenceModel, encodings: &[f32], latent: usize) -> Vec<f64> {
    let p = |name: &str| model.params().by_name(name).unwrap().value.clone();
    let (w1, b1, w2, b2) =
        (p("head.hidden.weight"), p("head.hidden.bias"), p("head.output.weight"), p("head.output.bias"));
    let (hidden, classes) = (w1.shape()[0], w2.shape()[0]);
    let pairs = encodings.len() / (2 * latent);
    let mut y = Vec::new();
    for b in 0..pairs {
        let u = &encodings[b * latent..(b + 1) * latent];
        let v = &encodings[(pairs + b) * latent..(pairs + b + 1) * latent];
        let features: Vec<f64> = u
            .iter()
            .chain(v)
            .map(|&a| a as f64)
            .chain(u.iter().zip(v).map(|(a, b)| *a as f64 * *b as f64))
            .chain(u.iter().zip(v).map(|(a, b)| *a as f64 - *b as f64))
            .collect();
        let h: Vec<f64> = (0..hidden)
            .map(|j| {
                let z: f64 = b1.data()[j] as f64
                    + features.iter().enumerate().map(|(k, f)| w1.data()[j * 4 * latent + k] as f64 * f).sum::<f64>();
                z.max(0.0)
            })
            .collect();
        for c in 0..classes {
            y.push(
                b2.data()[c] as f64
                    + h.iter().enumerate().map(|(j, h)| w2.data()[c * hidden + j] as f64 * h).sum::<f64>(),
            );
        }
    }
    y
}

fn assert_close(label: &str, got: &[f32], expected: &[f64]) {
    assert_eq!(got.len(), expected.len(), "{label}");
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        // f32 sums of ~20 products of order 1 against f64: 1e-5 is far above rounding.
        assert!((*g as f64 - e).abs() <= 1e-5 + 1e-5 * e.abs(), "{label}[{i}]: {g} vs {e}");
    }
}

#[test]
fn both_towers_are_one_encoder_and_the_head_matches_a_hand_computation() {
    let config = config(small_elm_pair());
    let model = config.build(4).unwrap();
    let ModelConfig::TwoTower(c) = &config else { panic!() };
    // Three pairs of 9 steps: sequences 0..3 are the first documents, 3..6 the second.
    let x = random_spikes(6, 9, 7, 0.3, false, 2);
    let pass = model.forward(&Inputs::Sparse(&x)).unwrap();
    assert_eq!(model.reported_shape(6, 9), (3, 1));
    // The encoder alone, built from the same seed, on all six documents.
    let encoder = c.encoder_config().unwrap().build(4).unwrap();
    let encodings = encoder.forward(&Inputs::Sparse(&x)).unwrap().output().to_vec();
    assert_close("elm pairs", pass.output(), &head_by_hand(model.as_ref(), &encodings, 5));
    // Its parameters are the two-tower's `encoder.` ones.
    for p in encoder.params().iter() {
        assert_eq!(model.params().by_name(&format!("encoder.{}", p.name)).unwrap().value, p.value);
    }
    // Changing an encoder parameter through the two-tower's set changes both towers.
    let mut changed = model.clone_model();
    let index = changed.params().index_of("encoder.w_y.weight").unwrap();
    changed.params_mut().get_mut(index).data_mut()[0] += 0.5;
    let mut encoder = encoder.clone_model();
    let inner = encoder.params().index_of("w_y.weight").unwrap();
    encoder.params_mut().get_mut(inner).data_mut()[0] += 0.5;
    let encodings = encoder.forward(&Inputs::Sparse(&x)).unwrap().output().to_vec();
    let out = changed.forward(&Inputs::Sparse(&x)).unwrap();
    assert_close("changed encoder", out.output(), &head_by_hand(changed.as_ref(), &encodings, 5));
    assert_ne!(out.output(), pass.output());
    // Odd batches break the convention, and say which.
    let odd = random_spikes(5, 9, 7, 0.3, false, 2);
    let err = model.forward(&Inputs::Sparse(&odd)).err().unwrap().to_string();
    assert!(err.contains("2B sequences"), "{err}");
}

#[test]
fn training_passes_hand_the_seed_to_the_encoder() {
    let json = serde_json::json!({"kind": "two-tower", "num_input": 6, "latent": 4, "num_output": 2,
        "encoder": {"kind": "lstm", "hidden_size": 5, "recurrent_dropout": 0.4}});
    let config = config(json);
    let model = config.build(1).unwrap();
    let ModelConfig::TwoTower(c) = &config else { panic!() };
    let encoder = c.encoder_config().unwrap().build(1).unwrap();
    let x = random_spikes(4, 12, 6, 0.3, false, 3);
    let input = Inputs::Sparse(&x);
    for seed in [7, 8] {
        let pass = model.forward_train(&input, seed).unwrap();
        let encodings = encoder.forward_train(&input, seed).unwrap().output().to_vec();
        assert_close("training pass", pass.output(), &head_by_hand(model.as_ref(), &encodings, 4));
    }
    let (a, b) = (model.forward_train(&input, 7).unwrap(), model.forward_train(&input, 8).unwrap());
    assert_ne!(a.output(), b.output(), "the masks depend on the seed");
    assert_ne!(a.output(), model.forward(&input).unwrap().output(), "evaluation has no dropout");
}

#[test]
fn flops_parameters_and_buffers_sum_the_parts() {
    let json = serde_json::json!({"kind": "two-tower", "num_input": 30, "latent": 5, "hidden": 6, "num_output": 3,
        "encoder": {"kind": "branch-elm", "num_memory": 4, "num_branch": 4, "num_synapse_per_branch": 8,
            "input_to_synapse_routing": "random", "routing_seed": 3}});
    let config = config(json);
    let model = config.build(2).unwrap();
    let ModelConfig::TwoTower(c) = &config else { panic!() };
    let encoder = c.encoder_config().unwrap().build(2).unwrap();
    let head = 6 * 20 + 6 + 3 * 6 + 3;
    assert_eq!(model.param_count(), encoder.param_count() + head);
    assert_eq!(model.param_count_paper_convention(), encoder.param_count_paper_convention() + head);
    let flops = model.flops(50);
    assert_eq!(flops.total(), 2 * encoder.flops(50).total() + 2 * 5 + 2 * 20 * 6 + 6 + 2 * 6 * 3);
    // The routing draw passes through, named under the encoder.
    let buffers = model.buffers();
    assert_eq!(buffers.len(), 2);
    for ((name, value), (inner, expected)) in buffers.iter().zip(encoder.buffers()) {
        assert_eq!(name, &format!("encoder.{inner}"));
        assert_eq!(value, &expected);
    }
    let mut other = model.clone_model();
    assert!(other.set_buffer("input_to_synapse_indices", buffers[0].1.clone()).is_err());
    other.set_buffer(&buffers[0].0, buffers[0].1.clone()).unwrap();
}

#[test]
fn gradients_pass_the_finite_difference_check_with_elm_and_lstm_encoders() {
    let elm = serde_json::json!({"kind": "two-tower", "num_input": 8, "latent": 4, "hidden": 7, "num_output": 3,
        "encoder": {"kind": "branch-elm", "num_memory": 4, "num_branch": 3, "num_synapse_per_branch": 4,
            "input_to_synapse_routing": "random", "learn_memory_tau": true, "memory_tau_max": 40.0}});
    let chrono = serde_json::json!({"kind": "two-tower", "num_input": 8, "latent": 4, "hidden": 7, "num_output": 2,
        "readout": "mean", "encoder": {"kind": "chrono-lstm", "hidden_size": 5, "chrono_t_max": 20.0}});
    let dropout = serde_json::json!({"kind": "two-tower", "num_input": 8, "latent": 4, "num_output": 2,
        "encoder": {"kind": "lstm", "hidden_size": 5, "recurrent_dropout": 0.3}});
    let plain_elm = small_elm_pair();
    for (label, json, train_seed) in [
        ("elm", plain_elm, None),
        ("branch-elm", elm, None),
        ("chrono-lstm", chrono, None),
        ("lstm dropout", dropout, Some(5)),
    ] {
        for spikes in [false, true] {
            let model = config(json.clone()).build(3).unwrap();
            let check = GradCheck { batch: 6, time: 12, spikes, train_seed, ..Default::default() };
            let checked = check.run(&format!("{label}, spikes {spikes}"), model.as_ref());
            assert!(checked > 80, "{label}: only {checked} elements checked");
        }
    }
}

#[test]
fn a_wrong_head_or_encoder_gradient_is_caught() {
    let check = GradCheck { batch: 6, time: 12, ..Default::default() };
    for tensor in ["head.hidden.weight", "head.output.bias", "encoder.mlp.network.0.weight", "encoder._proto_w_s"] {
        caught(&format!("two-tower {tensor}"), small_elm_pair(), Fault::ScaledGradient(tensor), check);
    }
}

#[test]
fn the_lra_bench_shapes_build_the_papers_elm_and_one_hot_inputs() {
    // One non-zero per step, 1.0, within the columns.
    let x = one_hot_tokens(3, 50, 16, 1);
    assert_eq!(x.feature.len(), 150);
    assert!(x.row_start.windows(2).all(|w| w[1] - w[0] == 1));
    assert!(x.feature.iter().all(|&f| f < 16) && x.value.iter().all(|&v| v == 1.0));
    let mut seen = [false; 16];
    x.feature.iter().for_each(|&f| seen[f as usize] = true);
    assert!(seen.iter().all(|&s| s), "150 draws reach all 16 columns");
    // Image: the ELM of the LRA tables, memory taus up to T.
    let image = lra_bench_config(lra_shape("lra-image").unwrap(), "elm", 1024, &[]).unwrap();
    let ModelConfig::Elm(c) = &image else { panic!("an ELM") };
    assert_eq!((c.num_input, c.num_output, c.num_memory, c.mlp_hidden_size()), (16, 10, 150, 300));
    assert_eq!(
        (c.mlp_num_layers, c.tau_s_value, c.lambda_value, c.memory_tau_min, c.memory_tau_max),
        (1, 5.0, 5.0, 1.0, 1024.0)
    );
    assert_eq!(c.readout, Readout::LastStep);
    assert!(lra_bench_config(lra_shape("listops").unwrap(), "lstm", 10, &[]).is_err());
    assert!(lra_shape("lra-cifar").is_err());
    // Retrieval: a two-tower around that ELM; a step on B pairs takes 2B one-hot documents.
    let retrieval = lra_bench_config(lra_shape("lra-retrieval").unwrap(), "elm", 4000, &[]).unwrap();
    let ModelConfig::TwoTower(t) = &retrieval else { panic!("a two-tower") };
    assert_eq!((t.num_input, t.num_output, t.latent, t.hidden()), (105, 2, 75, 150));
    let ModelConfig::Elm(e) = t.encoder_config().unwrap() else { panic!("an ELM encoder") };
    assert_eq!((e.num_memory, e.memory_tau_max, e.num_output), (150, 4000.0, 75));
    let small = lra_bench_config(lra_shape("retrieval").unwrap(), "elm", 12, &["encoder.num_memory=6".into()]).unwrap();
    let model = small.build(0).unwrap();
    let mut step = TrainStep::with_inputs(model, one_hot_tokens(4, 12, 105, 2), 0).unwrap();
    let first = step.run().unwrap();
    assert!(first.is_finite());
    assert_ne!(step.run().unwrap(), first, "Adam moved the weights");
}
