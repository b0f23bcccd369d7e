//! The LSTM's recurrent dropout (variational, one mask per sample for the whole sequence):
//! p = 0 trains exactly as before, evaluation never drops, the masks are a function of the seed
//! alone (not of the thread count), they act where they should, and bad rates are refused by name.
//! Its gradients are checked against finite differences in `lstm_gradcheck`.

use elmbench::bench::spike_batch;
use elmbench::engine::{Inputs, SparseSequences};
use elmbench::models::lstm::{Lstm, LstmConfig};
use elmbench::models::{ModelConfig, SequenceModel};

fn lstm(p: f64) -> Lstm {
    Lstm::new(LstmConfig { recurrent_dropout: p, ..LstmConfig::new(30, 3, 16) }, false, 4).unwrap()
}

/// Outputs and gradients of a training pass with `seed` on `threads` threads.
fn train_pass(model: &dyn SequenceModel, input: &Inputs, seed: u64, threads: usize) -> (Vec<f32>, Vec<Vec<f32>>) {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| {
        let pass = model.forward_train(input, seed).unwrap();
        let dy: Vec<f32> = (0..pass.output().len()).map(|i| ((i * 37 % 17) as f32 - 8.0) / 8.0).collect();
        let grads = model.backward(pass.as_ref(), input, &dy).unwrap();
        (pass.output().to_vec(), grads.iter().map(|g| g.data().to_vec()).collect())
    })
}

#[test]
fn without_dropout_training_is_the_plain_forward_bit_for_bit() {
    // 9 samples: groups of 4, 4 and 1.
    let x = spike_batch(9, 40, 30, 0.1, 2);
    let input = Inputs::Sparse(&x);
    let model = lstm(0.0);
    let plain = {
        let pass = SequenceModel::forward(&model, &input).unwrap();
        let dy: Vec<f32> = (0..pass.output().len()).map(|i| ((i * 37 % 17) as f32 - 8.0) / 8.0).collect();
        let grads = SequenceModel::backward(&model, pass.as_ref(), &input, &dy).unwrap();
        (pass.output().to_vec(), grads.iter().map(|g| g.data().to_vec()).collect::<Vec<_>>())
    };
    for seed in [0, 1, 99] {
        assert_eq!(train_pass(&model, &input, seed, 2), plain, "seed {seed}");
    }
    // The key is left out of a config without dropout, so older configs keep their hashes.
    let json = serde_json::to_string(&SequenceModel::config(&model)).unwrap();
    assert!(!json.contains("recurrent_dropout"), "{json}");
}

#[test]
fn evaluation_never_drops_and_training_does() {
    let x = spike_batch(5, 40, 30, 0.1, 3);
    let input = Inputs::Sparse(&x);
    let (with, without) = (lstm(0.3), lstm(0.0));
    assert_eq!(with.params, without.params, "the rate does not change the initial weights");
    let eval = SequenceModel::forward(&with, &input).unwrap().output().to_vec();
    assert_eq!(eval, SequenceModel::forward(&without, &input).unwrap().output().to_vec());
    let trained = with.forward_train(&input, 5).unwrap().y.clone();
    // Step 0 has no recurrent input, so no mask acts there; every sample differs later.
    let (time, out) = (40, 3);
    for b in 0..5 {
        let at = b * time * out;
        assert_eq!(trained[at..at + out], eval[at..at + out], "sample {b}, step 0");
        assert_ne!(trained[at + out..at + time * out], eval[at + out..at + time * out], "sample {b}");
    }
}

#[test]
fn masks_depend_on_the_seed_only() {
    // 9 samples: groups of 4, 4 and 1, spread differently over 1, 2 and 3 threads.
    let x = spike_batch(9, 40, 30, 0.1, 4);
    let input = Inputs::Sparse(&x);
    let model = lstm(0.3);
    let one = train_pass(&model, &input, 7, 1);
    for threads in [2, 3] {
        assert_eq!(train_pass(&model, &input, 7, threads), one, "{threads} threads");
    }
    assert_ne!(train_pass(&model, &input, 8, 2).0, one.0, "another seed draws other masks");
    // A sample's mask follows its place in the batch, not the batch around it: the first 4
    // samples, alone, see the same masks (equal up to the summation order of products over more
    // rows; another mask would move outputs by far more).
    let dense = x.to_dense();
    let four = SparseSequences::from_dense(&dense[..4 * 40 * 30], 4, 40, 30);
    let alone = model.forward_train(&Inputs::Sparse(&four), 7).unwrap().y.clone();
    let batch = model.forward_train(&input, 7).unwrap().y.clone();
    for (i, (a, b)) in alone.iter().zip(&batch).enumerate() {
        assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "output {i}: {a} alone, {b} in the batch");
    }
}

#[test]
fn bad_rates_are_refused_by_name() {
    for p in [1.0, -0.1, f64::NAN, 1.5] {
        let err = Lstm::new(LstmConfig { recurrent_dropout: p, ..LstmConfig::new(4, 2, 3) }, false, 0).err();
        let err = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("recurrent_dropout"), "p = {p}: {err}");
    }
    let config: ModelConfig = serde_json::from_value(serde_json::json!({
        "kind": "chrono-lstm", "num_input": 4, "num_output": 2, "hidden_size": 3, "chrono_t_max": 10,
        "recurrent_dropout": 1}))
    .unwrap();
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("recurrent_dropout"), "{err}");
}
