//! LSTM configs and bad input: keys parse from TOML as in a training config, every bad setting or
//! input is an error that names the value (no panic), and checkpoints round-trip both kinds.

use elmbench::bench::spike_batch;
use elmbench::engine::Inputs;
use elmbench::models::lstm::{Lstm, LstmConfig};
use elmbench::models::{ModelConfig, SequenceModel};
use elmbench::weights::{read_checkpoint, write_checkpoint};

fn parse(toml_text: &str) -> anyhow::Result<ModelConfig> {
    let config: ModelConfig = toml::from_str(toml_text)?;
    config.validate()?;
    Ok(config)
}

fn error(toml_text: &str) -> String {
    format!("{:#}", parse(toml_text).unwrap_err())
}

#[test]
fn configs_parse_and_bad_settings_are_named() {
    let lstm = parse("kind = \"lstm\"\nnum_input = 4\nnum_output = 1\nhidden_size = 3").unwrap();
    assert_eq!(lstm, ModelConfig::Lstm(LstmConfig::new(4, 1, 3)));
    let chrono =
        parse("kind = \"chrono-lstm\"\nnum_input = 4\nnum_output = 1\nhidden_size = 3\nchrono_t_max = 80.0").unwrap();
    assert_eq!(chrono.kind(), "chrono-lstm");

    assert!(error("kind = \"lstm\"\nnum_input = 4\nnum_output = 1\nhidden_size = 3\nforget_bias = 1.0")
        .contains("forget_bias"));
    assert!(error("kind = \"lstm\"\nnum_input = 4\nnum_output = 1").contains("hidden_size"));
    assert!(error("kind = \"lstm\"\nnum_input = 4\nnum_output = 1\nhidden_size = 0").contains("hidden_size (0)"));
    assert!(error("kind = \"chrono-lstm\"\nnum_input = 4\nnum_output = 1\nhidden_size = 3").contains("chrono_t_max"));
    assert!(error("kind = \"chrono-lstm\"\nnum_input = 4\nnum_output = 1\nhidden_size = 3\nchrono_t_max = 1.5")
        .contains("1.5"));
    assert!(error("kind = \"lstm\"\nnum_input = 4\nnum_output = 1\nhidden_size = 3\nchrono_t_max = 50.0")
        .contains("chrono_t_max = 50"));
    let nan = LstmConfig { chrono_t_max: Some(f64::NAN), ..LstmConfig::new(4, 1, 3) };
    assert!(Lstm::new(nan, true, 0).is_err());
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let lstm = Lstm::new(LstmConfig::new(6, 2, 4), false, 1).unwrap();
    let x = spike_batch(2, 5, 7, 0.3, 0);
    let e = format!("{:#}", lstm.forward(&Inputs::Sparse(&x)).err().unwrap());
    assert!(e.contains("7 features") && e.contains("num_input = 6"), "{e}");

    let x = spike_batch(2, 5, 6, 0.3, 0);
    let pass = lstm.forward(&Inputs::Sparse(&x)).unwrap();
    let e = format!("{:#}", lstm.backward(&pass, &Inputs::Sparse(&x), &[0.0; 7], false).err().unwrap());
    assert!(e.contains("7 values") && e.contains("20"), "{e}");
    let other = spike_batch(3, 5, 6, 0.3, 0);
    assert!(lstm.backward(&pass, &Inputs::Sparse(&other), &[0.0; 30], false).is_err());
    // A forward pass of another model through the trait.
    let elm = elmbench::tasks::neuronio::model_preset("elm").unwrap().with_overrides(&["num_input=6".into()]).unwrap();
    let elm = elm.build(0).unwrap();
    let elm_pass = elm.forward(&Inputs::Sparse(&x)).unwrap();
    let e = format!(
        "{:#}",
        SequenceModel::backward(&lstm, elm_pass.as_ref(), &Inputs::Sparse(&x), &[0.0; 20]).unwrap_err()
    );
    assert!(e.contains("another model"), "{e}");
    // Empty batches and sequences are fine.
    for (b, t) in [(0, 5), (2, 0), (1, 1)] {
        let x = spike_batch(b, t, 6, 0.3, 0);
        let pass = lstm.forward(&Inputs::Sparse(&x)).unwrap();
        assert_eq!(pass.y.len(), b * t * 2);
        lstm.backward(&pass, &Inputs::Sparse(&x), &vec![1.0; b * t * 2], true).unwrap();
    }
}

#[test]
fn checkpoints_round_trip_both_kinds_and_bias_modes() {
    let dir = tempfile::tempdir().unwrap();
    let x = spike_batch(2, 9, 6, 0.3, 2);
    for (kind, two_biases) in [("lstm", false), ("lstm", true), ("chrono-lstm", false), ("chrono-lstm", true)] {
        let config: ModelConfig = serde_json::from_value(serde_json::json!({"kind": kind, "num_input": 6,
            "num_output": 2, "hidden_size": 5, "two_biases": two_biases,
            "chrono_t_max": if kind == "chrono-lstm" { Some(20.0) } else { None }}))
        .unwrap();
        let model = config.build(4).unwrap();
        let path = dir.path().join(format!("{kind}-{two_biases}.safetensors"));
        write_checkpoint(model.as_ref(), &path).unwrap();
        let back = read_checkpoint(&path).unwrap();
        assert_eq!(back.config(), config);
        assert_eq!(back.params(), model.params());
        let (a, b) = (model.forward(&Inputs::Sparse(&x)).unwrap(), back.forward(&Inputs::Sparse(&x)).unwrap());
        assert_eq!(a.output(), b.output());
    }
}
