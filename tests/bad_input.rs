//! Bad input gets a clear error that names the culprit, and never a panic.

use elmbench::engine::Inputs;
use elmbench::models::elm::{Elm, ElmConfig};
use std::process::Command;

fn elmbench(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_elmbench")).args(args).output().expect("run elmbench");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

/// Exit code 101 is Rust's panic; anything else non-zero is an orderly failure.
fn assert_clean_failure(code: i32, text: &str, needles: &[&str]) {
    assert!(code != 0 && code != 101, "exit {code}: {text}");
    for needle in needles {
        assert!(text.contains(needle), "expected `{needle}` in: {text}");
    }
}

#[test]
fn unknown_or_ill_typed_config_keys_are_named() {
    let base = ElmConfig::new(10, 2);
    let err = elmbench::overrides::apply(&base, &["num_memroy=4".into()]).unwrap_err().to_string();
    assert!(err.contains("num_memroy"), "{err}");
    let err = elmbench::overrides::apply(&base, &["num_memory=many".into()]).unwrap_err().to_string();
    assert!(err.contains("many"), "{err}");
    let err =
        serde_json::from_str::<ElmConfig>(r#"{"num_input": 3, "num_output": 1, "lambda": 2}"#).unwrap_err().to_string();
    assert!(err.contains("lambda"), "{err}");
    let err = elmbench::overrides::apply(&base, &["mlp_activation=gelu".into()]).unwrap_err().to_string();
    assert!(err.contains("gelu"), "{err}");
}

#[test]
fn impossible_configs_are_refused_with_the_setting_named() {
    let mut config = ElmConfig::new(100, 2);
    config.num_branch = Some(10);
    config.num_synapse_per_branch = 5; // neuronio routing needs ceil(100 / 10) = 10 per branch
    config.input_to_synapse_routing = Some(elmbench::models::elm::RoutingKind::Neuronio);
    let err = Elm::new(config, 0).unwrap_err().to_string();
    assert!(err.contains("num_synapse_per_branch"), "{err}");
    let mut config = ElmConfig::new(100, 2);
    config.num_branch = Some(10);
    let err = Elm::new(config, 0).unwrap_err().to_string();
    assert!(err.contains("num_input"), "{err}");
}

#[test]
fn an_input_of_the_wrong_width_is_named() {
    let elm = Elm::new(ElmConfig::new(8, 2), 0).unwrap();
    let x = vec![0.0; 2 * 5 * 7];
    let err = elm.forward(&Inputs::dense(&x, 2, 5, 7).unwrap()).err().unwrap().to_string();
    assert!(err.contains("7") && err.contains("num_input = 8"), "{err}");
}

#[test]
fn cli_reports_bad_settings_without_panicking() {
    let (code, text) =
        elmbench(&["bench", "train-step", "--model", "elm", "--set", "num_memroy=4", "--iterations", "1"]);
    assert_clean_failure(code, &text, &["num_memroy"]);
    let (code, text) = elmbench(&["bench", "train-step", "--model", "elm", "--density", "2", "--iterations", "1"]);
    assert_clean_failure(code, &text, &["--density"]);
    let (code, text) = elmbench(&["bench", "train-step", "--model", "branch-elm", "--set", "num_synapse_per_branch=3"]);
    assert_clean_failure(code, &text, &["num_synapse_per_branch"]);
}

#[test]
fn forward_reports_bad_weights_and_inputs_without_panicking() {
    let official = crate::support::fixture("reference/official_models/num_memory_20");
    let input = crate::support::fixture("reference/pretrained_num_memory_20.safetensors");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("y.safetensors");
    let run = |weights: &std::path::Path, input: &std::path::Path| {
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

    // A missing .pt.
    let (code, text) = run(&dir.path().join("absent.pt"), &input);
    assert_clean_failure(code, &text, &["absent.pt"]);

    // A truncated .pt with its config beside it.
    let bytes = std::fs::read(official.join("neuronio_best_model_state.pt")).unwrap();
    let truncated = dir.path().join("truncated").join("neuronio_best_model_state.pt");
    std::fs::create_dir_all(truncated.parent().unwrap()).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    std::fs::copy(official.join("model_config.json"), truncated.with_file_name("model_config.json")).unwrap();
    let (code, text) = run(&truncated, &input);
    assert_clean_failure(code, &text, &["neuronio_best_model_state.pt"]);

    // A zip-looking file that is not one.
    let fake = dir.path().join("fake").join("model.pt");
    std::fs::create_dir_all(fake.parent().unwrap()).unwrap();
    std::fs::write(&fake, b"PK\x03\x04 this is not a zip archive").unwrap();
    std::fs::copy(official.join("model_config.json"), fake.with_file_name("model_config.json")).unwrap();
    let (code, text) = run(&fake, &input);
    assert_clean_failure(code, &text, &["model.pt"]);

    // A .pt without its model_config.json.
    let lonely = dir.path().join("lonely.pt");
    std::fs::write(&lonely, &bytes).unwrap();
    let (code, text) = run(&lonely, &input);
    assert_clean_failure(code, &text, &["model_config.json"]);

    // An input whose last dimension does not match the model.
    let narrow = crate::support::fixture("reference/grad_vanilla.safetensors");
    let (code, text) = run(&official.join("neuronio_best_model_state.pt"), &narrow);
    assert_clean_failure(code, &text, &["16 inputs", "num_input = 1278"]);
    assert!(!out.exists(), "no output is written when the run fails");
}
