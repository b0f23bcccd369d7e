//! `task.shuffle_inputs_seed`: NeuronIO's input channels in a seeded random order. Checked against
//! the definition, x'[.., position(c)] = x[.., c], on a dense copy built independently.

use elmbench::engine::{Rng, SparseSequences};
use elmbench::tasks::neuronio::{InputShuffle, NeuronioSettings};

fn spikes(batch: usize, time: usize, channels: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..batch * time * channels)
        .map(|i| {
            let u = rng.uniform_f64();
            // Excitatory channels (first half) +1, inhibitory -1, as NeuronIO codes them.
            if u < 0.15 {
                if i % channels < channels / 2 {
                    1.0
                } else {
                    -1.0
                }
            } else {
                0.0
            }
        })
        .collect()
}

#[test]
fn the_shuffle_is_a_seeded_permutation() {
    let a = InputShuffle::new(1278, 7);
    let mut seen = vec![false; 1278];
    for c in 0..1278 {
        let p = a.position_of(c);
        assert!(!seen[p], "position {p} used twice");
        seen[p] = true;
    }
    assert_eq!(a, InputShuffle::new(1278, 7), "the same seed gives the same order");
    assert_ne!(a, InputShuffle::new(1278, 8));
    // A uniform permutation of 1278 channels leaves about one in place; far from the identity.
    let fixed = (0..1278).filter(|&c| a.position_of(c) == c).count();
    assert!(fixed < 10, "{fixed} channels kept their place");
}

#[test]
fn shuffled_sparse_batches_equal_the_dense_definition() {
    let (batch, time, channels) = (3, 9, 40);
    let x = spikes(batch, time, channels, 1);
    let shuffle = InputShuffle::new(channels, 3);
    let mut sparse = SparseSequences::from_dense(&x, batch, time, channels);
    shuffle.apply(&mut sparse);
    let mut expected = vec![0.0f32; x.len()];
    for r in 0..batch * time {
        for c in 0..channels {
            expected[r * channels + shuffle.position_of(c)] = x[r * channels + c];
        }
    }
    assert_eq!(sparse.to_dense(), expected);
    // Rows stay in increasing feature order (the sparse format's contract).
    for r in 0..batch * time {
        let f: Vec<usize> = sparse.row(r).map(|(i, _)| i).collect();
        assert!(f.windows(2).all(|w| w[0] < w[1]), "row {r}: {f:?}");
    }
    // Every input keeps its sign: as many +1 and -1 as before.
    let count = |v: &[f32], s: f32| v.iter().filter(|&&e| e == s).count();
    assert_eq!(count(&expected, 1.0), count(&x, 1.0));
    assert_eq!(count(&expected, -1.0), count(&x, -1.0));
}

#[test]
fn the_setting_is_optional_and_serialised_only_when_set() {
    let default = NeuronioSettings::default();
    assert_eq!(default.shuffle_inputs_seed, None);
    let json = serde_json::to_value(&default).unwrap();
    assert!(json.get("shuffle_inputs_seed").is_none(), "{json}");
    let set: NeuronioSettings = serde_json::from_value(serde_json::json!({"shuffle_inputs_seed": 5})).unwrap();
    assert_eq!(set.shuffle_inputs_seed, Some(5));
}
