//! A seed must reproduce bit for bit whatever the thread count: samples never mix inside the
//! parallel sweeps, groups are fixed, and partial sums are reduced in sample order.

use elmbench::bench::spike_batch;
use elmbench::engine::Inputs;
use elmbench::models::elm::{Elm, ElmConfig};

fn run(threads: usize, elm: &Elm, input: &Inputs, dy: &[f32]) -> (Vec<f32>, Vec<Vec<f32>>) {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| {
        let pass = elm.forward(input).unwrap();
        let grads = elm.backward(&pass, input, dy, false).unwrap();
        (pass.y.clone(), grads.params.iter().map(|g| g.data().to_vec()).collect())
    })
}

#[test]
fn outputs_and_gradients_do_not_depend_on_the_thread_count() {
    // Large enough that the weight-gradient GEMMs split into parallel row blocks and the sparse
    // input-weight gradient into unit blocks.
    let config: ElmConfig = serde_json::from_value(serde_json::json!({
        "num_input": 40, "num_output": 2, "num_memory": 48, "num_branch": 5, "num_synapse_per_branch": 9,
        "input_to_synapse_routing": "neuronio", "learn_memory_tau": true, "memory_tau_max": 50.0}))
    .unwrap();
    let elm = Elm::new(config, 9).unwrap();
    // 9 samples: groups of 4, 4 and 1, spread differently over 1, 2 and 3 threads.
    let time = 400;
    let x = spike_batch(9, time, 40, 0.1, 3);
    let input = Inputs::Sparse(&x);
    let dy: Vec<f32> = (0..9 * time * 2).map(|i| ((i * 37 % 17) as f32 - 8.0) / 8.0).collect();
    let one = run(1, &elm, &input, &dy);
    for threads in [2, 3] {
        let other = run(threads, &elm, &input, &dy);
        assert_eq!(one.0, other.0, "outputs differ with {threads} threads");
        assert_eq!(one.1, other.1, "gradients differ with {threads} threads");
    }
}
