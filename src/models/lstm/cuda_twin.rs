//! The LSTM recurrence kernels (`backend/kernels/lstm_recurrence.cu`) against their CPU twin
//! (`super::recurrence`), run on the CPU by the kernel emulator: the same gate activations, cells
//! and hidden states, and the same gradients of the pre-activations and of every h_t, with and
//! without a recurrent dropout mask.

use super::recurrence;
use crate::backend::emulation::{emulator, max_error, run, uniform, Arg};
use crate::backend::launch::lstm_recurrence;
use crate::engine::BufferPool;

fn check(hidden: usize, with_mask: bool) {
    let Some(emulator) = emulator() else { return };
    let (batch, time) = (3, 7);
    let width = 4 * hidden;
    let projections = uniform(batch * time * width, -1.5, 1.5, 1);
    let w_hh = uniform(width * hidden, -0.4, 0.4, 2);
    let mut w_hh_t = vec![0.0; hidden * width];
    for j in 0..width {
        for k in 0..hidden {
            w_hh_t[k * width + j] = w_hh[j * hidden + k];
        }
    }
    // Recurrent dropout with p = 0.25: kept units scaled by 1 / 0.75.
    let mask: Vec<f32> =
        uniform(batch * hidden, 0.0, 1.0, 3).iter().map(|u| if *u < 0.25 { 0.0 } else { 1.0 / 0.75 }).collect();
    let pool = BufferPool::default();
    let st =
        recurrence::forward(projections.clone(), &w_hh_t, hidden, batch, time, with_mask.then_some(&mask[..]), &pool);
    let readout_grad = uniform(batch * time * hidden, -1.0, 1.0, 4);
    let mut dh_cpu = readout_grad.clone();
    let mut dz_cpu = vec![0.0; batch * time * width];
    recurrence::backward(
        &st,
        &w_hh,
        hidden,
        batch,
        time,
        with_mask.then_some(&mask[..]),
        &mut dh_cpu,
        &mut dz_cpu,
        &pool,
    );

    let launch = lstm_recurrence(batch, hidden, &Default::default()).unwrap();
    let mut ones_or_mask = if with_mask { mask.clone() } else { vec![1.0; batch * hidden] };
    let mut gates = projections.clone();
    let mut w_t = w_hh_t.clone();
    let (mut cell, mut tanh_cell, mut hidden_states) =
        (vec![0.0; batch * time * hidden], vec![0.0; batch * time * hidden], vec![0.0; batch * time * hidden]);
    run(
        emulator,
        "lstm_recurrence_forward",
        launch,
        &mut [
            Arg::F32(&mut gates),
            Arg::F32(&mut w_t),
            Arg::F32(&mut ones_or_mask),
            Arg::Int(time as i64),
            Arg::Int(hidden as i64),
            Arg::F32(&mut cell),
            Arg::F32(&mut tanh_cell),
            Arg::F32(&mut hidden_states),
        ],
    );
    // The CPU's sigmoid and tanh are polynomials within 3e-7 of the exact ones the GPU uses.
    let label = format!("hidden {hidden}, mask {with_mask}");
    assert!(max_error(&gates, &st.gates) < 2e-6, "gates, {label}");
    assert!(max_error(&cell, &st.cell) < 2e-6, "cells, {label}");
    assert!(max_error(&tanh_cell, &st.tanh_cell) < 2e-6, "tanh(c), {label}");
    assert!(max_error(&hidden_states, &st.hidden) < 2e-6, "h, {label}");

    let mut w = w_hh.clone();
    let mut dh = readout_grad.clone();
    let mut dz = vec![0.0; batch * time * width];
    run(
        emulator,
        "lstm_recurrence_backward",
        launch,
        &mut [
            Arg::F32(&mut gates),
            Arg::F32(&mut cell),
            Arg::F32(&mut tanh_cell),
            Arg::F32(&mut w),
            Arg::F32(&mut ones_or_mask),
            Arg::Int(time as i64),
            Arg::Int(hidden as i64),
            Arg::F32(&mut dh),
            Arg::F32(&mut dz),
        ],
    );
    assert!(max_error(&dz, &dz_cpu) < 1e-5, "dz, {label}");
    assert!(max_error(&dh, &dh_cpu) < 1e-5, "dh, {label}");
    assert!(dz_cpu.iter().any(|v| v.abs() > 1e-3) && dh_cpu != readout_grad);
}

#[test]
fn lstm_kernels_match_the_cpu_without_dropout() {
    check(5, false);
}

#[test]
fn lstm_kernels_match_the_cpu_with_recurrent_dropout_and_wide_gates() {
    // 4 x 70 = 280 gates: more than one pass of the block's threads.
    check(70, true);
}
