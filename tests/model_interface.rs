//! Every model takes its number of outputs and its readout as settings: `ModelConfig::with_interface`
//! fits every kind to an SHD-like task (700 inputs, 20 outputs, the last step read out), while the
//! NeuronIO presets, which leave the new keys at their defaults, serialise exactly as before (so
//! their config hashes, and every run folder named by them, stay).

use elmbench::bench::random_spikes;
use elmbench::engine::Inputs;
use elmbench::models::{model_names, ModelConfig, ModelInterface};
use elmbench::nn::Readout;
use elmbench::tasks::neuronio::model_preset;

fn shd_like() -> ModelInterface {
    ModelInterface { num_input: 700, num_output: 20, readout: Readout::LastStep, delta_t: Some(2.0) }
}

#[test]
fn every_kind_takes_700_inputs_20_outputs_and_the_last_step() {
    let x = random_spikes(2, 6, 700, 0.05, false, 1);
    for kind in model_names() {
        let config = model_preset(kind).unwrap().with_interface(&shd_like()).unwrap();
        assert_eq!(config.kind(), kind);
        assert_eq!(config.num_input(), 700, "{kind}");
        assert_eq!(config.num_output().unwrap(), 20, "{kind}");
        let model = config.build(1).unwrap();
        assert_eq!((model.num_input(), model.num_output(), model.readout()), (700, 20, Readout::LastStep), "{kind}");
        // One step of 20 outputs per sample (per pair of sequences for the two-tower), through
        // both passes.
        let samples = if kind == "two-tower" { 1 } else { 2 };
        assert_eq!(model.reported_shape(2, 6), (samples, 1), "{kind}");
        let input = Inputs::Sparse(&x);
        let pass = model.forward(&input).unwrap();
        assert_eq!(pass.output().len(), samples * 20, "{kind}");
        let train = model.forward_train(&input, 3).unwrap();
        assert_eq!(train.output().len(), samples * 20, "{kind}");
        let grads = model.backward(train.as_ref(), &input, &vec![1.0; samples * 20]).unwrap();
        assert_eq!(grads.len(), model.params().len(), "{kind}");
        // The settings survive a round trip through the config a checkpoint stores.
        let again: ModelConfig = serde_json::from_str(&serde_json::to_string(&model.config()).unwrap()).unwrap();
        assert_eq!(again, config, "{kind}");
    }
}

#[test]
fn lif_layers_have_one_neuron_per_output_or_per_pair() {
    use elmbench::models::lif::Lif;
    let fitted = model_preset("alif").unwrap().with_interface(&shd_like()).unwrap();
    let ModelConfig::Alif(mut config) = fitted else { panic!("an alif") };
    // Spike and membrane per neuron: 10 neurons, each with 700 weights, a bias and two taus.
    let pairs = Lif::new(config.clone(), true, 0).unwrap();
    assert_eq!(pairs.num_neurons(), 10);
    assert_eq!(elmbench::models::SequenceModel::param_count(&pairs), 10 * (700 + 3));
    assert_eq!(pairs.tau_m().len(), 10);
    config.outputs = elmbench::models::lif::LifOutputs::Membrane;
    let membranes = Lif::new(config, true, 0).unwrap();
    assert_eq!(membranes.num_neurons(), 20);
}

#[test]
fn lif_pairs_refuse_an_odd_number_of_outputs() {
    let odd = ModelInterface { num_output: 21, ..shd_like() };
    for kind in ["lif", "alif"] {
        let err = model_preset(kind).unwrap().with_interface(&odd).unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("num_output = 21") && text.contains("spike-and-membrane"), "{kind}: {text}");
        assert!(text.contains("outputs = \"membrane\""), "the error says how to fix it: {text}");
        let membrane = model_preset(kind).unwrap().with_overrides(&["outputs=membrane".to_string()]).unwrap();
        assert_eq!(membrane.with_interface(&odd).unwrap().num_output().unwrap(), 21, "{kind}");
    }
    let zero: Result<ModelConfig, _> =
        serde_json::from_value(serde_json::json!({"kind": "tcn", "num_input": 4, "num_output": 0}));
    let err = zero.unwrap().validate().unwrap_err().to_string();
    assert!(err.contains("num_output"), "{err}");
}

/// The NeuronIO presets serialise as they did before the keys existed (the strings are the
/// presets' JSON from the commit before), and build NeuronIO's models.
#[test]
fn neuronio_presets_keep_their_serialised_form() {
    let lif_keys = concat!(
        r#""num_input":1278,"delta_t":1.0,"threshold":1.27,"spike_logit_scale":10.0,"#,
        r#""surrogate_steepness":10.0,"spike_function":"heaviside","detach_reset":true,"#,
        r#""tau_m_min":1.0,"tau_m_max":100.0,"tau_m_init":20.0}"#
    );
    for (kind, json) in [
        ("lif", format!(r#"{{"kind":"lif",{lif_keys}"#)),
        ("alif", format!(r#"{{"kind":"alif",{lif_keys}"#)),
        ("lstm", r#"{"kind":"lstm","num_input":1278,"num_output":2,"hidden_size":50,"two_biases":false}"#.to_string()),
        (
            "chrono-lstm",
            concat!(
                r#"{"kind":"chrono-lstm","num_input":1278,"num_output":2,"hidden_size":50,"two_biases":false,"#,
                r#""chrono_t_max":500.0}"#
            )
            .to_string(),
        ),
        ("tcn", r#"{"kind":"tcn","num_input":1278,"activation":"relu"}"#.to_string()),
    ] {
        let preset = model_preset(kind).unwrap();
        assert_eq!(serde_json::to_string(&preset).unwrap(), json, "{kind}");
        let model = preset.build(0).unwrap();
        assert_eq!((model.num_output(), model.readout()), (2, Readout::PerStep), "{kind}");
        // Fitting NeuronIO's own interface changes nothing.
        let neuronio = ModelInterface { num_input: 1278, num_output: 2, readout: Readout::PerStep, delta_t: Some(1.0) };
        assert_eq!(preset.with_interface(&neuronio).unwrap(), preset, "{kind}");
    }
}
