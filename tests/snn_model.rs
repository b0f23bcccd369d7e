//! The SNN's dynamics on a network small enough to follow by hand, its random wiring (synapse
//! counts, layers, Dale's signs, the inhibitory fraction), reproducibility (seeds, checkpoints,
//! thread counts) and its size at the paper's configuration.

use elmbench::engine::{Inputs, SparseSequences};
use elmbench::models::snn::{Connectivity, Snn, SnnConfig};
use elmbench::models::{Buffer, ForwardPass, ModelConfig, SequenceModel};
use elmbench::nn::Readout;
use elmbench::weights::{read_checkpoint, write_checkpoint};

/// Two recurrent neurons R0, R1 (R1 inhibitory) and one output O0, two synapses each, two inputs:
///
/// ```text
/// R0 <- in0 (+1.2), R1 (-0.5)     R1 <- in1 (+0.8), R0 (+0.6)     O0 <- R0 (+1.1), R1 (-0.4)
/// ```
///
/// tau_m = tau_out = 1 / ln 2 ms at dt = 1 ms, so alpha = kappa = 1/2; threshold 1, reset 0.9.
fn hand_network(readout: Readout) -> Snn {
    let tau = 1.0 / std::f64::consts::LN_2;
    let mut c = SnnConfig::new(2, 1);
    c.num_neurons = 3;
    c.synapses_per_neuron = 2;
    c.inhibitory_fraction = 0.5;
    c.tau_m_min = 0.5;
    c.tau_m_max = 10.0;
    c.tau_m_init = tau;
    c.tau_out = tau;
    c.readout = readout;
    let mut snn = Snn::new(c, 1).unwrap();
    // Partners in the shared index space: inputs 0, 1; neurons R0 = 2, R1 = 3, O0 = 4.
    snn.set_connectivity(Connectivity { presynaptic: vec![0, 3, 1, 2, 2, 3], inhibitory: vec![false, true, false] })
        .unwrap();
    snn.params.assign("_proto_w_s", vec![1.2, 0.5, 0.8, 0.6, 1.1, 0.4], &[3, 2]).unwrap();
    snn
}

/// Inputs of the four steps: (1, 0), (1, 1), (0, 2), (1, 0).
fn hand_input() -> Vec<f32> {
    vec![1.0, 0.0, 1.0, 1.0, 0.0, 2.0, 1.0, 0.0]
}

#[test]
fn dynamics_equal_the_hand_computation() {
    // Step by step (u = alpha v + I; a spike when u >= 1 lowers v = u - 0.9 s; R -> O synapses act
    // in the same step, R -> R one step later):
    // t=0  R0: I = 1.2               u = 1.2    spike  v = 0.3
    //      R1: I = 0                 u = 0             v = 0
    //      O0: I = 1.1 (R0 now)      u = 1.1    spike  v = 0.2      y = 0.5
    // t=1  R0: I = 1.2 - 0.5*0       u = 0.15 + 1.2 = 1.35   spike  v = 0.45
    //      R1: I = 0.8 + 0.6*1       u = 0 + 1.4 = 1.4       spike  v = 0.5
    //      O0: I = 1.1 - 0.4         u = 0.1 + 0.7 = 0.8            v = 0.8    y = 0.25
    // t=2  R0: I = 0 - 0.5*1         u = 0.225 - 0.5 = -0.275       v = -0.275
    //      R1: I = 1.6 + 0.6*1       u = 0.25 + 2.2 = 2.45   spike  v = 1.55
    //      O0: I = 0 - 0.4           u = 0.4 - 0.4 = 0              v = 0      y = 0.125
    // t=3  R0: I = 1.2 - 0.5*1       u = -0.1375 + 0.7 = 0.5625
    //      R1: I = 0 + 0.6*0         u = 0.775
    //      O0: I = 0                 u = 0                                     y = 0.0625
    let snn = hand_network(Readout::PerStep);
    let x = hand_input();
    let pass = snn.forward(&Inputs::dense(&x, 1, 4, 2).unwrap()).unwrap();
    let membrane: [[f32; 3]; 4] = [[1.2, 0.0, 1.1], [1.35, 1.4, 0.8], [-0.275, 2.45, 0.0], [0.5625, 0.775, 0.0]];
    let spikes: [[f32; 3]; 4] = [[1.0, 0.0, 1.0], [1.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]];
    let (u, s) = (pass.membrane(), pass.spikes());
    for t in 0..4 {
        for n in 0..3 {
            // alpha is exp(-1/tau) from an f32 parameter: 1/2 within a few 1e-8.
            assert!((u[t * 3 + n] - membrane[t][n]).abs() < 1e-5, "u[{t}][{n}] = {}", u[t * 3 + n]);
            assert_eq!(s[t * 3 + n], spikes[t][n], "s[{t}][{n}]");
        }
    }
    let expected_y = [0.5, 0.25, 0.125, 0.0625];
    for (y, e) in pass.y.iter().zip(expected_y) {
        assert!((y - e).abs() < 1e-6, "y = {:?}", pass.y);
    }
    // 5 spikes in 12 neuron-steps, weighted 0.01.
    assert!((pass.auxiliary_loss() - 0.01 * 5.0 / 12.0).abs() < 1e-12);

    // The readouts of the same outputs: the last step, and the mean 0.9375 / 4.
    // (`SequenceModel::forward` applies the readout; `Snn::forward` gives every step.)
    let input = Inputs::dense(&x, 1, 4, 2).unwrap();
    let last = SequenceModel::forward(&hand_network(Readout::LastStep), &input).unwrap();
    assert!((last.output()[0] - 0.0625).abs() < 1e-6 && last.output().len() == 1);
    let mean = SequenceModel::forward(&hand_network(Readout::Mean), &input).unwrap();
    assert!((mean.output()[0] - 0.234375).abs() < 1e-6 && mean.output().len() == 1);
}

#[test]
fn sparse_and_dense_inputs_give_the_same_network() {
    let snn = hand_network(Readout::PerStep);
    let x = hand_input();
    let sparse = SparseSequences::from_dense(&x, 1, 4, 2);
    let a = snn.forward(&Inputs::dense(&x, 1, 4, 2).unwrap()).unwrap();
    let b = snn.forward(&Inputs::Sparse(&sparse)).unwrap();
    assert_eq!(a.y, b.y);
    assert_eq!(a.membrane(), b.membrane());
}

/// The paper's SHD-Adding network: 481 recurrent neurons, 19 outputs, 100 synapses each.
fn paper_network(seed: u64) -> Snn {
    Snn::new(SnnConfig::new(700, 19), seed).unwrap()
}

#[test]
fn wiring_follows_the_paper() {
    let snn = paper_network(5);
    let c = snn.connectivity();
    let (n_in, r, n, k) = (700u32, 481u32, 500usize, 100usize);
    assert_eq!(c.presynaptic.len(), n * k);
    let mut from_previous = 0;
    for (neuron, partners) in c.presynaptic.chunks_exact(k).enumerate() {
        let myself = n_in + neuron as u32;
        let recurrent = (neuron as u32) < r;
        assert!(partners.windows(2).all(|w| w[0] < w[1]), "neuron {neuron}: partners not distinct");
        assert!(!partners.contains(&myself), "neuron {neuron} synapses onto itself");
        for &p in partners {
            let previous = if recurrent { p < n_in } else { (n_in..n_in + r).contains(&p) };
            let own = if recurrent { (n_in..n_in + r).contains(&p) } else { p >= n_in + r };
            assert!(previous || own, "neuron {neuron} has partner {p} from a layer it does not see");
            from_previous += previous as usize;
        }
    }
    // 90% from the previous layer: 45,000 of 50,000 expected, binomial sd 67.
    let share = from_previous as f64 / (n * k) as f64;
    assert!((share - 0.9).abs() < 0.005, "{share} of the synapses come from the previous layer");

    // round(0.2 x 481) = 96 inhibitory recurrent neurons, no inhibitory output.
    assert_eq!(c.inhibitory.iter().filter(|&&i| i).count(), 96);
    assert!(c.inhibitory[r as usize..].iter().all(|&i| !i));

    // Dale's law: a synapse is negative exactly when its presynaptic neuron is inhibitory; every
    // weight starts at 0.3 / sqrt(100).
    let w = snn.synapse_weights();
    for (syn, (&p, &w)) in c.presynaptic.iter().zip(&w).enumerate() {
        let inhibitory = p >= n_in && c.inhibitory[(p - n_in) as usize];
        let expected = if inhibitory { -0.03 } else { 0.03 };
        assert!((w - expected).abs() < 1e-7, "synapse {syn} from {p}: {w}");
    }
    // Dale's law holds after training too: a weight can only shrink to zero, never flip sign.
    let mut trained = snn.clone();
    trained.params.iter_mut().next().unwrap().value.data_mut()[0] = -1.0;
    assert_eq!(trained.synapse_weights()[0], 0.0);
    assert!(snn.tau_m().iter().all(|&t| (t - 25.0).abs() < 1e-4));
}

#[test]
fn wiring_is_a_function_of_the_seed() {
    assert_eq!(paper_network(5).connectivity(), paper_network(5).connectivity());
    assert_ne!(paper_network(5).connectivity().presynaptic, paper_network(6).connectivity().presynaptic);
    assert_ne!(paper_network(5).connectivity().inhibitory, paper_network(6).connectivity().inhibitory);
}

fn small_config() -> SnnConfig {
    let mut c = SnnConfig::new(30, 3);
    c.num_neurons = 40;
    c.synapses_per_neuron = 10;
    c.tau_m_init = 8.0;
    c.weight_init_gain = 2.0;
    c
}

/// Positive counts (1 or 2) with the given density, like binned SHD spikes.
fn counts(batch: usize, time: usize, features: usize, density: f64, seed: u64) -> SparseSequences {
    let mut rng = elmbench::engine::Rng::new(seed);
    let x: Vec<f32> = (0..batch * time * features)
        .map(|_| if rng.uniform_f64() < density { 1.0 + (rng.uniform_f64() < 0.3) as u8 as f32 } else { 0.0 })
        .collect();
    SparseSequences::from_dense(&x, batch, time, features)
}

#[test]
fn checkpoints_restore_the_wiring() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snn.safetensors");
    let mut snn = Snn::new(small_config(), 7).unwrap();
    for (k, p) in snn.params.iter_mut().enumerate() {
        for (i, v) in p.value.data_mut().iter_mut().enumerate() {
            *v += ((i * 31 + k * 7) % 13) as f32 * 1e-2 - 6e-2;
        }
    }
    write_checkpoint(&snn, &path).unwrap();
    let back = read_checkpoint(&path).unwrap();
    assert_eq!(back.config(), ModelConfig::Snn(snn.config.clone()));
    assert_eq!(back.params(), &snn.params);
    assert_eq!(back.buffers(), snn.buffers());
    // The loader builds from seed 0, whose wiring differs: the buffers, not the seed, restored it.
    assert_ne!(Snn::new(small_config(), 0).unwrap().connectivity(), snn.connectivity());
    let x = counts(3, 40, 30, 0.1, 2);
    let (a, b) = (snn.forward(&Inputs::Sparse(&x)).unwrap(), back.forward(&Inputs::Sparse(&x)).unwrap());
    assert_eq!(a.y, b.output());
    assert!(a.spikes().iter().any(|&s| s > 0.0), "the network never spiked: the comparison shows little");
}

#[test]
fn bad_wiring_is_a_named_error() {
    let mut snn = Snn::new(small_config(), 7).unwrap();
    let Buffer::I64(mut indices) = snn.buffers()[0].1.clone() else { panic!("indices are i64") };
    // Output neuron 39 (index 30 + 39 = 69) may not receive from an input channel.
    indices[39 * 10] = 0;
    let err = snn.set_buffer("presynaptic_indices", Buffer::I64(indices)).unwrap_err().to_string();
    assert!(err.contains("neuron 39"), "{err}");
    let err = snn.set_buffer("inhibitory_mask", Buffer::Bool(vec![false; 3])).unwrap_err().to_string();
    assert!(err.contains("inhibitory_mask"), "{err}");
    let err = snn.set_buffer("routing", Buffer::Bool(vec![])).unwrap_err().to_string();
    assert!(err.contains("routing"), "{err}");
    // A failed set leaves the model as it was.
    assert_eq!(snn.connectivity(), Snn::new(small_config(), 7).unwrap().connectivity());
}

#[test]
fn outputs_and_gradients_do_not_depend_on_the_thread_count() {
    // 9 samples: lane groups of 4, 4 and 1, spread differently over 1, 2 and 3 threads.
    let mut config = small_config();
    config.num_input = 80;
    config.num_neurons = 120;
    config.synapses_per_neuron = 30;
    config.num_output = 5;
    config.readout = Readout::Mean;
    config.weight_init_gain = 0.6;
    let snn = Snn::new(config, 9).unwrap();
    let time = 300;
    let x = counts(9, time, 80, 0.05, 3);
    let input = Inputs::Sparse(&x);
    let dy: Vec<f32> = (0..9 * 5).map(|i| ((i * 37 % 17) as f32 - 8.0) / 8.0).collect();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let pass = SequenceModel::forward(&snn, &input).unwrap();
            let grads = SequenceModel::backward(&snn, pass.as_ref(), &input, &dy).unwrap();
            let steps = snn.forward(&input).unwrap();
            let rate = steps.spikes().iter().sum::<f32>() / steps.spikes().len() as f32;
            let outputs = pass.output().to_vec();
            (outputs, pass.auxiliary_loss(), grads.iter().map(|g| g.data().to_vec()).collect::<Vec<_>>(), rate)
        })
    };
    let one = run(1);
    assert!(one.3 > 0.01 && one.3 < 0.5, "firing rate {}: pick inputs that make the network spike", one.3);
    for threads in [2, 3] {
        let other = run(threads);
        assert_eq!(one.0, other.0, "outputs differ with {threads} threads");
        assert_eq!(one.1, other.1, "spike penalty differs with {threads} threads");
        assert_eq!(one.2, other.2, "gradients differ with {threads} threads");
    }
}

#[test]
fn the_paper_network_has_fifty_thousand_five_hundred_parameters() {
    // 500 neurons x 100 synapses + 500 time constants; the paper prints "51K".
    let snn = paper_network(0);
    assert_eq!(snn.param_count(), 50_500);
    assert_eq!(snn.params.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["_proto_w_s", "_proto_tau_m"]);
    let (table, _) = elmbench::report::paper_table().unwrap();
    let row = table.rows.iter().find(|r| r.model == "snn").expect("an snn row in the paper table");
    assert_eq!(row.params, 50_500);
}

#[test]
fn configs_are_checked_by_name() {
    let parse = serde_json::from_value::<ModelConfig>;
    let err = parse(serde_json::json!({"kind": "snn", "num_input": 700, "num_output": 19, "tau_mem": 20}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("tau_mem"), "{err}");
    let config = parse(serde_json::json!({"kind": "snn", "num_input": 700, "num_output": 19})).unwrap();
    assert_eq!(config.kind(), "snn");
    // The per-step readout, the default, is not written out (configs keep their hashes).
    assert!(!serde_json::to_string(&config).unwrap().contains("readout"));
    for (key, value, named) in [
        ("num_neurons", "19", "num_neurons"),
        ("synapses_per_neuron", "2000", "synapses_per_neuron"),
        ("inhibitory_fraction", "1.5", "inhibitory_fraction"),
        ("tau_m_init", "2000", "tau_m"),
        ("threshold", "0", "threshold"),
        ("readout", "first-step", "readout"),
    ] {
        let err = config.with_overrides(&[format!("{key}={value}")]).unwrap_err();
        assert!(format!("{err:#}").contains(named), "{key}={value}: {err:#}");
    }
    let last = config.with_overrides(&["readout=last-step".into()]).unwrap();
    assert!(serde_json::to_string(&last).unwrap().contains("\"readout\":\"last-step\""));
}

#[test]
fn spike_penalty_is_the_mean_spike_times_its_weight() {
    let snn = Snn::new(small_config(), 7).unwrap();
    let x = counts(2, 50, 30, 0.1, 5);
    let pass = snn.forward(&Inputs::Sparse(&x)).unwrap();
    let spikes = pass.spikes();
    let mean = spikes.iter().map(|&s| s as f64).sum::<f64>() / spikes.len() as f64;
    assert!(mean > 0.0);
    assert!((pass.auxiliary_loss() - 0.01 * mean).abs() < 1e-12);
}
