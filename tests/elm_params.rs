//! Parameter counts: the official PyTorch convention (trainable tensors of the official model:
//! `model_stats.json` and `eval_results.csv`, made by the authors' code) and the paper's (JAX)
//! convention (Appendix F tables and the Figure 4 caption, in tests/fixtures/paper).

use crate::support::fixture;
use elmbench::models::elm::{Elm, ElmConfig};

fn official_config(model: &str) -> ElmConfig {
    let path = fixture(&format!("reference/official_models/{model}/model_config.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn official_count(model: &str) -> usize {
    let path = fixture(&format!("reference/official_models/{model}/model_stats.json"));
    let stats: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    stats["model_param_count"].as_u64().unwrap() as usize
}

#[test]
fn official_models_have_the_official_counts() {
    for model in ["num_memory_1", "num_memory_20", "best_elm_neuron"] {
        let elm = Elm::new(official_config(model), 0).unwrap();
        assert_eq!(elm.param_count(), official_count(model), "{model}");
    }
}

#[test]
fn all_fourteen_official_branch_elm_sizes() {
    let text = std::fs::read_to_string(fixture("reference/official_models/eval_results.csv")).unwrap();
    let mut rows = 0;
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').map(|f| f.trim_matches('"')).collect();
        let num_memory: usize = fields[1].parse().unwrap();
        let expected: usize = fields[2].parse().unwrap();
        let mut config = official_config("num_memory_20");
        config.num_memory = num_memory;
        if num_memory == 100 {
            config.mlp_activation = official_config("best_elm_neuron").mlp_activation;
        }
        assert_eq!(Elm::new(config, 0).unwrap().param_count(), expected, "d_m = {num_memory}");
        rows += 1;
    }
    assert_eq!(rows, 14);
}

/// "5.9K" -> 5900, "26.06K" -> 26060: the paper's rounding, kept to compare at its precision.
fn paper_number(text: &str) -> (f64, f64) {
    let digits = text.trim_end_matches('K');
    let decimals = digits.split('.').nth(1).map_or(0, str::len);
    (digits.parse::<f64>().unwrap() * 1000.0, 0.5 * 1000.0 / 10f64.powi(decimals as i32))
}

#[test]
fn paper_convention_reproduces_appendix_f() {
    for (file, branch) in [("paper/appF_neuronio_elm.csv", false), ("paper/appF_neuronio_branch_elm.csv", true)] {
        let text = std::fs::read_to_string(fixture(file)).unwrap();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split(',').collect();
            let num_memory: usize = fields[0].parse().unwrap();
            let (expected, half_unit) = paper_number(fields[1]);
            let mut config = ElmConfig::new(1278, 2);
            config.num_memory = num_memory;
            if branch {
                config.num_branch = Some(45);
                config.num_synapse_per_branch = 100;
                config.input_to_synapse_routing = Some(elmbench::models::elm::RoutingKind::Neuronio);
            }
            let ours = Elm::new(config, 0).unwrap().param_count_paper_convention() as f64;
            assert!((ours - expected).abs() <= half_unit, "{file} d_m {num_memory}: paper {}, ours {ours}", fields[1]);
        }
    }
    // Figure 4's caption gives the d_m = 20 Branch-ELM exactly: 8104.
    let elm = Elm::new(official_config("num_memory_20"), 0).unwrap();
    assert_eq!(elm.param_count_paper_convention(), 8104);
}
