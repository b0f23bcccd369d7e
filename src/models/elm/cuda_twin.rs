//! The ELM recurrence kernels (`backend/kernels/elm_recurrence.cu`) against their CPU twin
//! (`super::recurrence`), run on the CPU by the kernel emulator (`crate::backend::emulation`):
//! the same states, deltas and d/d kappa for v1 and v2, ReLU and SiLU, one and three MLP layers,
//! with the MLP packed as the CUDA backend packs it (`crate::backend::elm_layout`).

use super::config::{ElmConfig, ElmVersion};
use super::{recurrence, Elm};
use crate::backend::elm_layout::{pack, MlpLayer};
use crate::backend::emulation::{emulator, max_error, run, uniform, Arg};
use crate::backend::launch::{elm_recurrence_backward, elm_recurrence_forward, RecurrenceShape};
use crate::engine::kernels::Activation;
use crate::engine::BufferPool;

fn check(version: ElmVersion, activation: Activation, mlp_num_layers: usize, num_branch: Option<usize>) {
    let Some(emulator) = emulator() else { return };
    let mut config = ElmConfig::new(6, 2);
    config.num_memory = 7;
    config.mlp_num_layers = mlp_num_layers;
    config.mlp_hidden_size = Some(9);
    config.mlp_activation = activation;
    config.version = version;
    config.learn_memory_tau = true;
    if let Some(branches) = num_branch {
        config.num_branch = Some(branches);
        config.num_synapse_per_branch = 3;
    }
    let elm = Elm::new(config.clone(), 3).unwrap();
    let d = elm.derived();
    let mlp = elm.mlp_weights();
    let (batch, time, dm) = (3, 11, config.num_memory);
    let out0 = mlp[0].out;
    let q = uniform(batch * time * out0, -1.5, 1.5, 4);
    let pool = BufferPool::default();
    let states = recurrence::forward(&config, &mlp, &d, &q, batch, time, &pool);
    let memory_grad = uniform(batch * time * dm, -1.0, 1.0, 5);
    let sweep = recurrence::backward(&config, &mlp, &d, &states, &memory_grad, batch, time, &pool);

    let layers: Vec<MlpLayer> =
        mlp.iter().map(|l| MlpLayer { weight: l.weight, bias: l.bias, out: l.out, inp: l.inp }).collect();
    let layout = pack(&layers, config.num_branch(), dm).unwrap();
    let width = layout.width;
    let shape = RecurrenceShape { batch, num_memory: dm, width, widest_layer: layout.widest };
    let activation_code = match activation {
        Activation::Relu => 0,
        Activation::Silu => 1,
    };
    let (mut q_arg, mut weights_t, mut biases) = (q.clone(), layout.weights_t.clone(), layout.biases.clone());
    let (mut kappa_m, mut gain) = (d.kappa_m.clone(), d.update_gain.clone());
    let mut memory = vec![0.0; batch * time * dm];
    let mut memory_input = vec![0.0; batch * time * dm];
    let mut pre = vec![0.0; batch * time * width];
    let mut post = vec![0.0; batch * time * width];
    run(
        emulator,
        "elm_recurrence_forward",
        elm_recurrence_forward(shape, &Default::default()).unwrap(),
        &mut [
            Arg::F32(&mut q_arg),
            Arg::F32(&mut weights_t),
            Arg::F32(&mut biases),
            Arg::I32(&layout.forward_table),
            Arg::Int(layers.len() as i64),
            Arg::F32(&mut kappa_m),
            Arg::F32(&mut gain),
            Arg::Int(time as i64),
            Arg::Int(dm as i64),
            Arg::Int(width as i64),
            Arg::Int(activation_code),
            Arg::F32(&mut memory),
            Arg::F32(&mut memory_input),
            Arg::F32(&mut pre),
            Arg::F32(&mut post),
        ],
    );
    // The kernels sum in another order than the CPU's register-blocked products: agreement to
    // float rounding over a few dozen terms.
    let tolerance = 1e-5;
    let label = format!("{version:?} {activation:?} {mlp_num_layers} layers, branches {num_branch:?}");
    assert!(max_error(&memory, &states.memory) < tolerance, "memory, {label}");
    assert!(max_error(&memory_input, &states.memory_input) < tolerance, "memory input, {label}");
    assert!(max_error(&pre, &states.pre) < tolerance, "pre-activations, {label}");
    assert!(max_error(&post, &states.post) < tolerance, "activations, {label}");

    let mut weights = layout.weights.clone();
    let mut memory_grad_arg = memory_grad.clone();
    let mut delta = vec![0.0; batch * time * width];
    let mut kappa_parts = vec![0.0; batch * 2 * dm];
    let version_code = match version {
        ElmVersion::V1 => 1,
        ElmVersion::V2 => 2,
    };
    run(
        emulator,
        "elm_recurrence_backward",
        elm_recurrence_backward(shape, &Default::default()).unwrap(),
        &mut [
            Arg::F32(&mut weights),
            Arg::I32(&layout.forward_table),
            Arg::I32(&layout.backward_table),
            Arg::Int(layers.len() as i64),
            Arg::F32(&mut kappa_m),
            Arg::F32(&mut gain),
            Arg::Float(config.lambda_value as f32),
            Arg::Int(version_code),
            Arg::Int(1),
            Arg::Int(time as i64),
            Arg::Int(dm as i64),
            Arg::Int(width as i64),
            Arg::Int(activation_code),
            Arg::F32(&mut memory),
            Arg::F32(&mut pre),
            Arg::F32(&mut post),
            Arg::F32(&mut memory_grad_arg),
            Arg::F32(&mut delta),
            Arg::F32(&mut kappa_parts),
        ],
    );
    assert!(max_error(&delta, &sweep.delta) < tolerance, "deltas, {label}");
    // The host reduces the per-sample parts in sample order, as the CPU does.
    let mut kappa_m_grad = vec![0.0f32; dm];
    let mut kappa_lambda_grad = vec![0.0f32; dm];
    for part in kappa_parts.chunks_exact(2 * dm) {
        crate::engine::kernels::axpy(1.0, &part[..dm], &mut kappa_m_grad);
        crate::engine::kernels::axpy(1.0, &part[dm..], &mut kappa_lambda_grad);
    }
    assert!(max_error(&kappa_m_grad, &sweep.kappa_m_grad) < 1e-4, "d/d kappa_m, {label}");
    assert!(max_error(&kappa_lambda_grad, &sweep.kappa_lambda_grad) < 1e-4, "d/d kappa_lambda, {label}");
    // The comparison can fail: the kernels' outputs are not all zeros or equal to their inputs.
    assert!(sweep.delta.iter().any(|v| v.abs() > 1e-3) && sweep.kappa_m_grad.iter().any(|v| v.abs() > 1e-3));
}

#[test]
fn recurrence_kernels_match_the_cpu_v1_relu_one_hidden_layer() {
    check(ElmVersion::V1, Activation::Relu, 1, None);
}

#[test]
fn recurrence_kernels_match_the_cpu_v2_silu_three_hidden_layers_with_branches() {
    check(ElmVersion::V2, Activation::Silu, 3, Some(2));
}
