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
