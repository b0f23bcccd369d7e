//! The time-parallel input side of the ELM: from inputs to layer 0's pre-activation share
//! `q_t = W0_u u_t`, where u_t are the branch sums of the synapse traces. None of it depends on
//! the memory, so it is computed for all steps at once.
//!
//! Two exact paths:
//! * `Folded` (trace decay equal everywhere, the paper's setting): the trace filter is linear and
//!   the same for every synapse, so it commutes with routing, branch sums and W0_u. Fold all three
//!   into one matrix `E` (inputs x layer-0 units), project, then filter: per step the work is the
//!   input's non-zeros times the layer width, instead of every synapse.
//! * `Traces` (the general case, e.g. per-synapse tau_s): run the synapse (v1) or branch (v2)
//!   traces, sum branches, apply the branch activation (identity by default), then one GEMM with
//!   W0_u. It keeps the activated sums, from which the activation's derivative follows.
//! * `FoldedBranches` (trace decay equal everywhere, any branch activation): a nonlinear branch
//!   activation does not commute with W0_u, but the filter still commutes with routing and branch
//!   sums (v1 and v2 then coincide). Fold those two into R (inputs x branches), project, filter
//!   the branch sums, apply the activation, then one GEMM with W0_u: per step the input's
//!   non-zeros times the branch count.
//!
//! Both are tested against each other and against the official tensors.

use super::config::{ElmConfig, ElmVersion};
use super::routing::SynapseRouting;
use super::Derived;
use crate::engine::input_linear::sparse_transposed_product;
use crate::engine::isa::with_best_isa;
use crate::engine::kernels::axpy;
use crate::engine::scaled_rows::add_scaled_rows;
use crate::engine::{gemm, BufferPool, Inputs, MatMut, MatRef};
use anyhow::Result;
use rayon::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProjectionPath {
    /// Project through the folded matrix, then filter once per layer-0 unit.
    Folded,
    /// Filter every synapse (v1) or branch (v2) trace, then project.
    Traces,
    /// Project through the folded routing R, filter the branch sums, activate, then project.
    FoldedBranches,
}

impl ProjectionPath {
    /// `Folded` whenever it is exact: all trace decays equal.
    pub fn fastest(kappa_s: &[f32]) -> Self {
        match kappa_s.first() {
            Some(first) if kappa_s.iter().all(|k| k == first) => ProjectionPath::Folded,
            _ => ProjectionPath::Traces,
        }
    }
}

/// What the backward pass of each path needs from its forward pass.
pub enum Saved {
    /// The folded matrix E, (inputs, layer-0 units).
    Folded { folded: Vec<f32> },
    /// The branch inputs u_t (after the branch activation), (B, T, branches).
    Traces { branch_input: Vec<f32> },
    /// The folded routing R (inputs, branches) and the branch inputs u_t (after the activation).
    FoldedBranches { routing: Vec<f32>, branch_input: Vec<f32> },
}

impl Saved {
    pub fn recycle(&mut self, pool: &BufferPool) {
        match self {
            Saved::Folded { folded } => pool.recycle(std::mem::take(folded)),
            Saved::Traces { branch_input } => pool.recycle(std::mem::take(branch_input)),
            Saved::FoldedBranches { routing, branch_input } => {
                pool.recycle(std::mem::take(routing));
                pool.recycle(std::mem::take(branch_input));
            }
        }
    }
}

/// Layer 0's pre-activation gradients: `width` columns of rows `row_stride` apart.
pub struct LayerZeroDelta<'a> {
    pub data: &'a [f32],
    pub width: usize,
    pub row_stride: usize,
}

struct Dims {
    batch: usize,
    time: usize,
    inputs: usize,
    branches: usize,
    per_branch: usize,
    units: usize,
    /// Row length of layer 0's weight: branches + memory.
    w0_row: usize,
}

fn dims(config: &ElmConfig, w0: &[f32], x: &Inputs) -> Dims {
    let (batch, time, inputs) = x.shape();
    let w0_row = config.mlp_input_size();
    Dims {
        batch,
        time,
        inputs,
        branches: config.num_branch(),
        per_branch: config.num_synapse_per_branch,
        units: w0.len() / w0_row,
        w0_row,
    }
}

/// Layer 0's branch columns, transposed: (branches, units).
fn branch_weights_transposed(w0: &[f32], n: &Dims) -> Vec<f32> {
    let mut t = vec![0.0; n.branches * n.units];
    for o in 0..n.units {
        for b in 0..n.branches {
            t[b * n.units + o] = w0[o * n.w0_row + b];
        }
    }
    t
}

/// The folded input weights E (inputs, units): E[i] = sum over the synapses j fed by input i of
/// w_s[j] * W0_u[:, branch(j)], so that X E is layer 0's branch input before the trace filter.
fn fold_into(routing: &SynapseRouting, d: &Derived, w0: &[f32], n: &Dims, folded: &mut [f32]) {
    let wt = branch_weights_transposed(w0, n);
    for (j, (&input, &valid)) in routing.input_of_synapse.iter().zip(&routing.valid).enumerate() {
        if valid {
            let b = j / n.per_branch;
            let i = input as usize;
            axpy(d.w_s[j], &wt[b * n.units..(b + 1) * n.units], &mut folded[i * n.units..(i + 1) * n.units]);
        }
    }
}

/// `fold_into` for `inputs` input channels, as a new (inputs, units) matrix (the device path's
/// first GEMM operand).
pub(super) fn folded_input_weights(
    config: &ElmConfig,
    routing: &SynapseRouting,
    d: &Derived,
    w0: &[f32],
    inputs: usize,
) -> Vec<f32> {
    let n = folded_dims(config, w0, inputs);
    let mut folded = vec![0.0; inputs * n.units];
    fold_into(routing, d, w0, &n, &mut folded);
    folded
}

/// The adjoint of `fold_into`: from dE (inputs, units), layer 0's branch columns of dW0 and dw_s.
/// E[i] collected w_s[j] * W0_u[:, branch(j)] for the synapses j fed by input i.
fn unfold_gradient(
    routing: &SynapseRouting,
    d: &Derived,
    w0: &[f32],
    n: &Dims,
    folded_grad: &[f32],
    w0_grad: &mut [f32],
    w_s_grad: &mut [f32],
) {
    let wt = branch_weights_transposed(w0, n);
    let mut wt_grad = vec![0.0; n.branches * n.units];
    for (j, (&input, &valid)) in routing.input_of_synapse.iter().zip(&routing.valid).enumerate() {
        if !valid {
            w_s_grad[j] = 0.0;
            continue;
        }
        let b = j / n.per_branch;
        let e_grad = &folded_grad[input as usize * n.units..(input as usize + 1) * n.units];
        axpy(d.w_s[j], e_grad, &mut wt_grad[b * n.units..(b + 1) * n.units]);
        w_s_grad[j] = wt[b * n.units..(b + 1) * n.units].iter().zip(e_grad).map(|(a, b)| a * b).sum();
    }
    for o in 0..n.units {
        for b in 0..n.branches {
            w0_grad[o * n.w0_row + b] = wt_grad[b * n.units + o];
        }
    }
}

/// `unfold_gradient` for the device path, which computes dE = X^T G on the device.
#[allow(clippy::too_many_arguments)]
pub(super) fn unfold_folded_gradient(
    config: &ElmConfig,
    routing: &SynapseRouting,
    d: &Derived,
    w0: &[f32],
    inputs: usize,
    folded_grad: &[f32],
    w0_grad: &mut [f32],
    w_s_grad: &mut [f32],
) {
    let n = folded_dims(config, w0, inputs);
    unfold_gradient(routing, d, w0, &n, folded_grad, w0_grad, w_s_grad);
}

fn folded_dims(config: &ElmConfig, w0: &[f32], inputs: usize) -> Dims {
    let w0_row = config.mlp_input_size();
    Dims {
        batch: 0,
        time: 0,
        inputs,
        branches: config.num_branch(),
        per_branch: config.num_synapse_per_branch,
        units: w0.len() / w0_row,
        w0_row,
    }
}

/// out (rows x width) = X M for M (inputs x width): over the non-zeros when X is sparse.
/// `out` must be zeroed for sparse inputs (it is overwritten for dense ones).
fn project(x: &Inputs, m: &[f32], rows: usize, inputs: usize, width: usize, out: &mut [f32]) {
    match x {
        Inputs::Sparse(s) => {
            out.par_chunks_mut(width).enumerate().for_each(|(r, row)| {
                with_best_isa(
                    #[inline(always)]
                    || {
                        add_scaled_rows(s.row(r), m, width, row);
                    },
                )
            });
        }
        Inputs::Dense { data, .. } => gemm(
            1.0,
            MatRef::new(data, rows, inputs),
            MatRef::new(m, inputs, width),
            0.0,
            MatMut::new(out, rows, width),
        ),
    }
}

/// The trace filter along time, per sample: v_t += kappa v_{t-1}.
fn filter_forward(v: &mut [f32], time: usize, width: usize, kappa: f32) {
    if time == 0 {
        return;
    }
    v.par_chunks_mut(time * width).for_each(|sample| {
        with_best_isa(
            #[inline(always)]
            || {
                for t in 1..time {
                    let (before, after) = sample.split_at_mut(t * width);
                    axpy(kappa, &before[(t - 1) * width..], &mut after[..width]);
                }
            },
        )
    });
}

/// The filter's adjoint, per sample: g_t += kappa g_{t+1}.
fn filter_backward(g: &mut [f32], time: usize, width: usize, kappa: f32) {
    if time == 0 {
        return;
    }
    g.par_chunks_mut(time * width).for_each(|sample| {
        with_best_isa(
            #[inline(always)]
            || {
                for t in (0..time.saturating_sub(1)).rev() {
                    let (before, after) = sample.split_at_mut((t + 1) * width);
                    axpy(kappa, &after[..width], &mut before[t * width..]);
                }
            },
        )
    });
}

/// dM (inputs x width) = X^T G (G rows x width), over the non-zeros when X is sparse; each
/// element sums its rows in order (thread-count independent).
fn project_transposed(x: &Inputs, g: &[f32], rows: usize, inputs: usize, width: usize, out: &mut [f32]) {
    match x {
        // Input-major; `by_feature` is made by the trainer's loader thread for training batches.
        Inputs::Sparse(s) => sparse_transposed_product(s, g, width, out),
        Inputs::Dense { data, .. } => gemm(
            1.0,
            MatRef::new(data, rows, inputs).t(),
            MatRef::new(g, rows, width),
            0.0,
            MatMut::new(out, inputs, width),
        ),
    }
}

/// `q` (B, T, layer-0 units) and what backward needs.
pub fn forward(
    path: ProjectionPath,
    config: &ElmConfig,
    routing: &SynapseRouting,
    d: &Derived,
    w0: &[f32],
    x: &Inputs,
    pool: &BufferPool,
) -> Result<(Vec<f32>, Saved)> {
    let n = dims(config, w0, x);
    let rows = n.batch * n.time;
    // The sparse projection accumulates into q; the GEMMs overwrite it.
    let mut q = if matches!((path, x), (ProjectionPath::Folded, Inputs::Sparse(_))) {
        pool.zeros(rows * n.units)
    } else {
        pool.any(rows * n.units)
    };
    match path {
        ProjectionPath::Folded => {
            let mut folded = pool.zeros(n.inputs * n.units);
            fold_into(routing, d, w0, &n, &mut folded);
            project(x, &folded, rows, n.inputs, n.units, &mut q);
            // The trace filter, now on layer-0 units: q_t += kappa * q_{t-1}.
            filter_forward(&mut q, n.time, n.units, d.kappa_s[0]);
            Ok((q, Saved::Folded { folded }))
        }
        ProjectionPath::Traces => {
            let x = x.dense_values();
            let mut branch_input = pool.any(rows * n.branches);
            if n.time > 0 {
                branch_input.par_chunks_mut(n.time * n.branches).enumerate().for_each(|(b, u)| {
                    let xs = &x[b * n.time * n.inputs..(b + 1) * n.time * n.inputs];
                    run_traces(config.version, routing, d, &n, xs, u);
                    let f = config.branch_activation;
                    if !f.is_identity() {
                        u.iter_mut().for_each(|v| *v = f.apply(*v));
                    }
                });
            }
            branches_to_units(&branch_input, w0, &n, &mut q);
            Ok((q, Saved::Traces { branch_input }))
        }
        ProjectionPath::FoldedBranches => {
            // R[i, b] = sum of w_s[j] over the synapses j of branch b fed by input i.
            let mut folded_routing = pool.zeros(n.inputs * n.branches);
            for (j, (&input, &valid)) in routing.input_of_synapse.iter().zip(&routing.valid).enumerate() {
                if valid {
                    folded_routing[input as usize * n.branches + j / n.per_branch] += d.w_s[j];
                }
            }
            let mut branch_input = if matches!(x, Inputs::Sparse(_)) {
                pool.zeros(rows * n.branches)
            } else {
                pool.any(rows * n.branches)
            };
            project(x, &folded_routing, rows, n.inputs, n.branches, &mut branch_input);
            filter_forward(&mut branch_input, n.time, n.branches, d.kappa_s[0]);
            let f = config.branch_activation;
            if !f.is_identity() {
                branch_input.par_iter_mut().for_each(|v| *v = f.apply(*v));
            }
            branches_to_units(&branch_input, w0, &n, &mut q);
            Ok((q, Saved::FoldedBranches { routing: folded_routing, branch_input }))
        }
    }
}

/// One sample's branch sums u_t over all steps, with the official order of operations.
fn run_traces(version: ElmVersion, routing: &SynapseRouting, d: &Derived, n: &Dims, xs: &[f32], u: &mut [f32]) {
    let routed = |x_t: &[f32], j: usize| {
        if routing.valid[j] {
            x_t[routing.input_of_synapse[j] as usize]
        } else {
            0.0
        }
    };
    match version {
        ElmVersion::V1 => {
            let mut s = vec![0.0f32; routing.valid.len()];
            for t in 0..n.time {
                let x_t = &xs[t * n.inputs..(t + 1) * n.inputs];
                for j in 0..s.len() {
                    s[j] = d.kappa_s[j] * s[j] + d.w_s[j] * routed(x_t, j);
                }
                for (b, chunk) in s.chunks_exact(n.per_branch).enumerate() {
                    u[t * n.branches + b] = chunk.iter().sum();
                }
            }
        }
        ElmVersion::V2 => {
            let mut trace = vec![0.0f32; n.branches];
            for t in 0..n.time {
                let x_t = &xs[t * n.inputs..(t + 1) * n.inputs];
                for b in 0..n.branches {
                    let drive: f32 =
                        (b * n.per_branch..(b + 1) * n.per_branch).map(|j| d.w_s[j] * routed(x_t, j)).sum();
                    trace[b] = d.kappa_s[b] * trace[b] + drive;
                }
                u[t * n.branches..(t + 1) * n.branches].copy_from_slice(&trace);
            }
        }
    }
}

/// Adds layer 0's branch-column gradients into `w0_grad`, writes d loss / d w_s (before the relu)
/// into `w_s_grad`, and returns d loss / d x when asked.
/// The branch paths' last step, Q = f(U) W0_u^T, as one GEMM over all rows (`branch_input`
/// holds f(U), the activated branch sums).
fn branches_to_units(branch_input: &[f32], w0: &[f32], n: &Dims, q: &mut [f32]) {
    let rows = n.batch * n.time;
    gemm(
        1.0,
        MatRef::new(branch_input, rows, n.branches),
        MatRef::with_row_stride(w0, n.units, n.branches, n.w0_row).t(),
        0.0,
        MatMut::new(q, rows, n.units),
    );
}

/// The adjoint of `branches_to_units` and the branch activation: writes dW0_u = delta^T f(U)
/// and returns dU = (delta W0_u) * f'(U), from the saved activated sums.
fn branches_to_units_backward(
    delta: MatRef<'_>,
    branch_input: &[f32],
    w0: &[f32],
    w0_grad: &mut [f32],
    n: &Dims,
    config: &ElmConfig,
    pool: &BufferPool,
) -> Vec<f32> {
    let rows = n.batch * n.time;
    gemm(
        1.0,
        delta.t(),
        MatRef::new(branch_input, rows, n.branches),
        0.0,
        MatMut::with_row_stride(w0_grad, n.units, n.branches, n.w0_row),
    );
    let mut branch_grad = pool.any(rows * n.branches);
    gemm(
        1.0,
        delta,
        MatRef::with_row_stride(w0, n.units, n.branches, n.w0_row),
        0.0,
        MatMut::new(&mut branch_grad, rows, n.branches),
    );
    let f = config.branch_activation;
    if !f.is_identity() {
        branch_grad.par_iter_mut().zip(branch_input.par_iter()).for_each(|(g, a)| *g *= f.derivative_at_output(*a));
    }
    branch_grad
}

#[allow(clippy::too_many_arguments)]
pub fn backward(
    path: ProjectionPath,
    config: &ElmConfig,
    routing: &SynapseRouting,
    d: &Derived,
    w0: &[f32],
    x: &Inputs,
    saved: &Saved,
    delta0: LayerZeroDelta,
    w0_grad: &mut [f32],
    w_s_grad: &mut [f32],
    want_input_gradient: bool,
    pool: &BufferPool,
) -> Option<Vec<f32>> {
    let n = dims(config, w0, x);
    let rows = n.batch * n.time;
    let delta = MatRef::with_row_stride(delta0.data, rows, delta0.width, delta0.row_stride);
    match (path, saved) {
        (ProjectionPath::Folded, Saved::Folded { folded }) => {
            // G_t = delta_t + kappa G_{t+1}: the adjoint of the forward filter.
            let mut g = pool.any(rows * n.units);
            for r in 0..rows {
                g[r * n.units..(r + 1) * n.units]
                    .copy_from_slice(&delta0.data[r * delta0.row_stride..r * delta0.row_stride + n.units]);
            }
            filter_backward(&mut g, n.time, n.units, d.kappa_s[0]);
            // dE = X^T G, paying only for non-zeros when the input is sparse.
            let mut folded_grad = pool.zeros(n.inputs * n.units);
            project_transposed(x, &g, rows, n.inputs, n.units, &mut folded_grad);
            unfold_gradient(routing, d, w0, &n, &folded_grad, w0_grad, w_s_grad);
            pool.recycle(folded_grad);
            let dx = want_input_gradient.then(|| {
                let mut dx = vec![0.0; rows * n.inputs];
                gemm(
                    1.0,
                    MatRef::new(&g, rows, n.units),
                    MatRef::new(folded, n.inputs, n.units).t(),
                    0.0,
                    MatMut::new(&mut dx, rows, n.inputs),
                );
                dx
            });
            pool.recycle(g);
            dx
        }
        (ProjectionPath::Traces, Saved::Traces { branch_input }) => {
            let branch_grad = branches_to_units_backward(delta, branch_input, w0, w0_grad, &n, config, pool);
            let x = x.dense_values();
            let syn = routing.valid.len();
            let mut w_parts = vec![0.0f32; n.batch * syn];
            let mut dx = vec![0.0f32; if want_input_gradient { rows * n.inputs } else { 0 }];
            let dx_chunk = if want_input_gradient { n.time * n.inputs } else { 0 };
            if n.time > 0 {
                let mut dx_chunks: Vec<&mut [f32]> = if want_input_gradient {
                    dx.chunks_mut(dx_chunk).collect()
                } else {
                    (0..n.batch).map(|_| &mut [][..]).collect()
                };
                w_parts.par_chunks_mut(syn).zip(dx_chunks.par_iter_mut()).enumerate().for_each(
                    |(b, (w_part, dx_b))| {
                        let xs = &x[b * n.time * n.inputs..(b + 1) * n.time * n.inputs];
                        let ug = &branch_grad[b * n.time * n.branches..(b + 1) * n.time * n.branches];
                        reverse_traces(config.version, routing, d, &n, xs, ug, w_part, dx_b);
                    },
                );
            }
            w_s_grad.fill(0.0);
            for part in w_parts.chunks_exact(syn) {
                axpy(1.0, part, w_s_grad);
            }
            pool.recycle(branch_grad);
            want_input_gradient.then_some(dx)
        }
        (ProjectionPath::FoldedBranches, Saved::FoldedBranches { routing: folded_routing, branch_input }) => {
            let mut g = branches_to_units_backward(delta, branch_input, w0, w0_grad, &n, config, pool);
            filter_backward(&mut g, n.time, n.branches, d.kappa_s[0]);
            // dR = X^T G; w_s[j] reaches R only at (input(j), branch(j)).
            let mut routing_grad = pool.zeros(n.inputs * n.branches);
            project_transposed(x, &g, rows, n.inputs, n.branches, &mut routing_grad);
            for (j, (&input, &valid)) in routing.input_of_synapse.iter().zip(&routing.valid).enumerate() {
                w_s_grad[j] = if valid { routing_grad[input as usize * n.branches + j / n.per_branch] } else { 0.0 };
            }
            pool.recycle(routing_grad);
            let dx = want_input_gradient.then(|| {
                let mut dx = vec![0.0; rows * n.inputs];
                gemm(
                    1.0,
                    MatRef::new(&g, rows, n.branches),
                    MatRef::new(folded_routing, n.inputs, n.branches).t(),
                    0.0,
                    MatMut::new(&mut dx, rows, n.inputs),
                );
                dx
            });
            pool.recycle(g);
            dx
        }
        _ => unreachable!("forward and backward ran different projection paths"),
    }
}

/// The adjoint of `run_traces` for one sample: accumulates d loss / d w_s into `w_part` and,
/// when `dx` is not empty, d loss / d x.
#[allow(clippy::too_many_arguments)]
fn reverse_traces(
    version: ElmVersion,
    routing: &SynapseRouting,
    d: &Derived,
    n: &Dims,
    xs: &[f32],
    branch_grad: &[f32],
    w_part: &mut [f32],
    dx: &mut [f32],
) {
    let syn = routing.valid.len();
    let mut g = vec![0.0f32; syn.max(n.branches)];
    for t in (0..n.time).rev() {
        let x_t = &xs[t * n.inputs..(t + 1) * n.inputs];
        let ug = &branch_grad[t * n.branches..(t + 1) * n.branches];
        match version {
            ElmVersion::V1 => {
                for j in 0..syn {
                    g[j] = ug[j / n.per_branch] + d.kappa_s[j] * g[j];
                }
            }
            ElmVersion::V2 => {
                for b in 0..n.branches {
                    g[b] = ug[b] + d.kappa_s[b] * g[b];
                }
            }
        }
        for j in 0..syn {
            if !routing.valid[j] {
                continue;
            }
            let gj = match version {
                ElmVersion::V1 => g[j],
                ElmVersion::V2 => g[j / n.per_branch],
            };
            let input = routing.input_of_synapse[j] as usize;
            w_part[j] += gj * x_t[input];
            if !dx.is_empty() {
                dx[t * n.inputs + input] += gj * d.w_s[j];
            }
        }
    }
}
