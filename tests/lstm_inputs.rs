//! Sparse and dense forms of the same input give the LSTM the same outputs and gradients (the
//! sparse path touches only the non-zeros; the dense one is a GEMM), and a forward pass does not
//! depend on the other samples of its batch or on the thread count's grouping.

use elmbench::bench::spike_batch;
use elmbench::engine::Inputs;
use elmbench::models::lstm::{Lstm, LstmConfig};

/// Equal up to f32 summation order (the two paths add the same products in different orders).
fn assert_near(what: &str, a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= 1e-5 + 1e-5 * y.abs(), "{what}[{i}]: {x} vs {y}");
    }
}

#[test]
fn sparse_and_dense_inputs_give_the_same_outputs_and_gradients() {
    let (batch, time, features) = (6, 30, 40);
    for two_biases in [false, true] {
        let lstm = Lstm::new(LstmConfig { two_biases, ..LstmConfig::new(features, 2, 8) }, false, 5).unwrap();
        let sparse = spike_batch(batch, time, features, 0.05, 9);
        let dense_data = sparse.to_dense();
        let dense = Inputs::dense(&dense_data, batch, time, features).unwrap();
        let g: Vec<f32> = (0..batch * time * 2).map(|i| ((i * 7919) % 13) as f32 / 6.0 - 1.0).collect();
        let (ps, pd) = (lstm.forward(&Inputs::Sparse(&sparse)).unwrap(), lstm.forward(&dense).unwrap());
        assert_near("y", &ps.y, &pd.y);
        let gs = lstm.backward(&ps, &Inputs::Sparse(&sparse), &g, true).unwrap();
        let gd = lstm.backward(&pd, &dense, &g, true).unwrap();
        for (p, (a, b)) in lstm.params.iter().zip(gs.params.iter().zip(&gd.params)) {
            assert_near(&p.name, a.data(), b.data());
        }
        assert_near("x", gs.x.as_ref().unwrap(), gd.x.as_ref().unwrap());
    }
}

#[test]
fn a_sample_s_outputs_do_not_depend_on_its_batch() {
    let (time, features) = (25, 30);
    let lstm = Lstm::new(LstmConfig::new(features, 3, 7), false, 2).unwrap();
    let batch = spike_batch(9, time, features, 0.1, 3);
    let all = lstm.forward(&Inputs::Sparse(&batch)).unwrap();
    let dense = batch.to_dense();
    let per_sample = time * features;
    for b in [0, 4, 8] {
        let one = &dense[b * per_sample..(b + 1) * per_sample];
        let alone = lstm.forward(&Inputs::dense(one, 1, time, features).unwrap()).unwrap();
        assert_near(&format!("sample {b}"), &alone.y, &all.y[b * time * 3..(b + 1) * time * 3]);
    }
}
