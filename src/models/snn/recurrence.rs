//! The sequential part of the network: step by step, the neuron-to-neuron synapses' currents,
//! every neuron's membrane, spike and partial reset, and the output filter; and the reverse sweep
//! (BPTT) beside it.
//!
//! Per step t, with the input currents I_t computed beforehand for all steps
//! (`synapses::project_inputs`):
//!
//! ```text
//! I_t   += W_delayed s_{t-1}               own-layer synapses (the spikes of the previous step)
//! recurrent neurons n < R:   u = alpha_n v_{t-1} + I_t;  s = S(u - theta);  v_t = u - r theta s
//! I_t   += W_immediate s_t                 recurrent -> output synapses (the spikes just made)
//! output neurons n >= R:     the same update
//! y_t    = kappa y_{t-1} + gain (1 - kappa) s_t (output neurons)
//! ```
//!
//! The reverse sweep, with dv the adjoint of v_t (from u_{t+1} = alpha v_t + ...) and ds that of
//! s_t from its uses (the output filter, the spike penalty, the currents it feeds, gathered along
//! the same synapse rows the forward pass scattered along):
//!
//! ```text
//! du_t = dv + S'(u_t - theta) (ds - r theta dv)   (the reset term unless detached)
//! dI_t = du_t;   d alpha += du_t v_{t-1};   dv <- alpha du_t
//! ```
//!
//! Output neurons go first (their currents at t depend on the recurrent spikes of step t).
//!
//! Lanes: the sweeps step `LANES` samples together, interleaved, so that every synapse and
//! every neuron update is one short vector operation over the lanes (the reverse sweep's gather
//! along the synapse rows would otherwise be a scalar indexed load per synapse and sample). Each
//! lane performs exactly the operations of a one-sample sweep, in the same order, so the grouping
//! changes no result; groups run in parallel and never mix. The membranes and spikes are kept in
//! the lane-interleaved layout (`LaneLayout`) between the passes; the input currents, the
//! outputs and the current gradients are in the model's (batch, time, ...) layout.

use super::connectivity::{Outgoing, Topology};
use super::synapses::Weights;
use crate::engine::BufferPool;
use crate::nn::Spike;

/// Samples stepped together, as the LSTM steps its groups: few enough that a batch of 8 keeps
/// two cores busy, and one SSE vector wide.
pub(super) const LANES: usize = 4;

type Lane = [f32; LANES];

/// The lane-interleaved layout of the membranes and spikes: (group, time, neuron, lane), sample b
/// in group b / LANES, lane b % LANES; the last group is padded with idle lanes.
#[derive(Clone, Copy, Debug)]
pub(super) struct LaneLayout {
    pub batch: usize,
    pub time: usize,
    pub neurons: usize,
}

impl LaneLayout {
    pub fn groups(&self) -> usize {
        self.batch.div_ceil(LANES)
    }

    /// Values of one group.
    pub fn group_len(&self) -> usize {
        self.time * self.neurons * LANES
    }

    pub fn len(&self) -> usize {
        self.groups() * self.group_len()
    }

    pub fn index(&self, sample: usize, step: usize, neuron: usize) -> usize {
        ((sample / LANES * self.time + step) * self.neurons + neuron) * LANES + sample % LANES
    }

    /// A lane-interleaved buffer in (batch, time, neurons) order.
    pub fn rows_of(self, lanes: &[f32]) -> Vec<f32> {
        let mut rows = Vec::with_capacity(self.batch * self.time * self.neurons);
        for b in 0..self.batch {
            for t in 0..self.time {
                rows.extend((0..self.neurons).map(|n| lanes[self.index(b, t, n)]));
            }
        }
        rows
    }
}

/// Lane `n` of an interleaved step.
#[inline(always)]
fn lane(v: &[f32], n: usize) -> &Lane {
    v[n * LANES..(n + 1) * LANES].try_into().expect("a lane is LANES wide")
}

#[inline(always)]
fn lane_mut(v: &mut [f32], n: usize) -> &mut Lane {
    (&mut v[n * LANES..(n + 1) * LANES]).try_into().expect("a lane is LANES wide")
}

/// The per-pass constants of the dynamics.
pub(super) struct Dynamics {
    /// Membrane decay exp(-dt / tau_m) of every neuron.
    pub alpha: Vec<f32>,
    pub threshold: f32,
    /// r theta, what a spike subtracts.
    pub reset: f32,
    /// exp(-dt / tau_out).
    pub kappa: f32,
    /// What a spike adds to its filtered output: (1 - kappa) x the output gain.
    pub kick: f32,
    pub spike: Spike,
    /// Whether the backward pass follows the reset into the spike.
    pub reset_gradient: bool,
    /// d loss / d s of the spike penalty, the same for every spike.
    pub penalty_gradient: f32,
    pub num_recurrent: usize,
}

impl Dynamics {
    fn num_neurons(&self) -> usize {
        self.alpha.len()
    }

    /// Updates neurons `range` at one step: `u_now` holds their currents on entry and their
    /// membranes on exit; `prev` is (u, s) of the step before.
    #[inline]
    fn update(
        &self,
        range: std::ops::Range<usize>,
        prev: Option<(&[f32], &[f32])>,
        u_now: &mut [f32],
        s_now: &mut [f32],
    ) {
        for n in range {
            let alpha = self.alpha[n];
            let (u, s) = (lane_mut(u_now, n), lane_mut(s_now, n));
            let v_prev = match prev {
                Some((u_prev, s_prev)) => {
                    let (up, sp) = (lane(u_prev, n), lane(s_prev, n));
                    std::array::from_fn(|l| up[l] - self.reset * sp[l])
                }
                None => [0.0; LANES],
            };
            for l in 0..LANES {
                u[l] += alpha * v_prev[l];
                s[l] = self.spike.value(u[l] - self.threshold);
            }
        }
    }
}

/// Adds the spikes' contribution along `rows` of synapses with weights `w` into `current`; rows
/// of neurons silent in every lane are skipped.
#[inline]
fn scatter(rows: &Outgoing, w: &[f32], spikes: &[f32], current: &mut [f32]) {
    for (m, sm) in spikes.chunks_exact(LANES).enumerate() {
        if sm.iter().all(|&s| s == 0.0) {
            continue;
        }
        let sm: &Lane = sm.try_into().expect("a lane is LANES wide");
        for e in rows.row(m) {
            let (we, target) = (w[e], lane_mut(current, rows.target[e] as usize));
            for l in 0..LANES {
                target[l] += we * sm[l];
            }
        }
    }
}

/// `acc_m = sum over row m of w_e grad[target_e]`, added into `ds[m]` for rows `0..rows`. Two
/// accumulators (even and odd entries of a row) halve the chain of dependent additions.
#[inline]
fn gather(rows: &Outgoing, w: &[f32], grad: &[f32], ds: &mut [f32], count: usize) {
    for m in 0..count {
        let (mut even, mut odd) = ([0.0f32; LANES], [0.0f32; LANES]);
        let row = rows.row(m);
        let (targets, weights) = (&rows.target[row.clone()], &w[row]);
        let mut pairs = targets.chunks_exact(2).zip(weights.chunks_exact(2));
        for (t, we) in &mut pairs {
            let (g0, g1) = (lane(grad, t[0] as usize), lane(grad, t[1] as usize));
            for l in 0..LANES {
                even[l] += we[0] * g0[l];
                odd[l] += we[1] * g1[l];
            }
        }
        if targets.len() % 2 == 1 {
            let g = lane(grad, targets[targets.len() - 1] as usize);
            let we = weights[weights.len() - 1];
            for l in 0..LANES {
                even[l] += we * g[l];
            }
        }
        let d = lane_mut(ds, m);
        for l in 0..LANES {
            d[l] += even[l] + odd[l];
        }
    }
}

/// Runs one group of samples. `current` holds their input currents, (samples, time, N);
/// `membrane` and `spikes` (time, N, LANES) receive u_t and s_t; `y` (samples, time, outputs)
/// the filtered output spikes; `spike_sums` each sample's sum of spikes.
#[allow(clippy::too_many_arguments)]
pub(super) fn forward_group(
    d: &Dynamics,
    topology: &Topology,
    w: &Weights,
    current: &[f32],
    membrane: &mut [f32],
    spikes: &mut [f32],
    y: &mut [f32],
    spike_sums: &mut [f64],
) {
    let (n, r) = (d.num_neurons(), d.num_recurrent);
    let outputs = n - r;
    let step = n * LANES;
    let time = membrane.len() / step;
    let samples = spike_sums.len();
    for t in 0..time {
        let (u_before, u_rest) = membrane.split_at_mut(t * step);
        let (s_before, s_rest) = spikes.split_at_mut(t * step);
        let (u_now, s_now) = (&mut u_rest[..step], &mut s_rest[..step]);
        u_now.fill(0.0);
        for l in 0..samples {
            let row = &current[(l * time + t) * n..(l * time + t + 1) * n];
            for (k, &i) in row.iter().enumerate() {
                u_now[k * LANES + l] = i;
            }
        }
        let prev = (t > 0).then(|| (&u_before[(t - 1) * step..], &s_before[(t - 1) * step..]));
        if let Some((_, s_prev)) = prev {
            scatter(&topology.delayed, &w.delayed, s_prev, u_now);
        }
        d.update(0..r, prev, u_now, s_now);
        scatter(&topology.immediate, &w.immediate, &s_now[..r * LANES], u_now);
        d.update(r..n, prev, u_now, s_now);
        for (l, sum) in spike_sums.iter_mut().enumerate() {
            *sum += s_now[l..].iter().step_by(LANES).map(|&s| s as f64).sum::<f64>();
            let ys = &mut y[l * time * outputs..(l + 1) * time * outputs];
            for o in 0..outputs {
                let previous = if t > 0 { ys[(t - 1) * outputs + o] } else { 0.0 };
                ys[t * outputs + o] = d.kappa * previous + d.kick * s_now[(r + o) * LANES + l];
            }
        }
    }
}

/// Scratch vectors of one group's reverse sweep, from the pool.
pub(super) struct SweepScratch {
    dv: Vec<f32>,
    ds: Vec<f32>,
    di_now: Vec<f32>,
    di_next: Vec<f32>,
    dy_filter: Vec<f32>,
}

impl SweepScratch {
    pub fn new(d: &Dynamics, pool: &BufferPool) -> Self {
        let lanes = d.num_neurons() * LANES;
        Self {
            dv: pool.zeros(lanes),
            ds: pool.zeros(lanes),
            di_now: pool.zeros(lanes),
            di_next: pool.zeros(lanes),
            dy_filter: pool.zeros((d.num_neurons() - d.num_recurrent) * LANES),
        }
    }

    pub fn recycle(self, pool: &BufferPool) {
        for v in [self.dv, self.ds, self.di_now, self.di_next, self.dy_filter] {
            pool.recycle(v);
        }
    }
}

/// The reverse sweep of one group: `dy` (samples, time, outputs) is the gradient of the filtered
/// outputs; writes dI_t into `d_current` (samples, time, N) and adds d loss / d alpha into
/// `alpha_grad` (N, LANES).
#[allow(clippy::too_many_arguments)]
pub(super) fn backward_group(
    d: &Dynamics,
    topology: &Topology,
    w: &Weights,
    membrane: &[f32],
    spikes: &[f32],
    dy: &[f32],
    d_current: &mut [f32],
    alpha_grad: &mut [f64],
    scratch: &mut SweepScratch,
) {
    let (n, r) = (d.num_neurons(), d.num_recurrent);
    let outputs = n - r;
    let step = n * LANES;
    let time = membrane.len() / step;
    let samples = d_current.len() / (time * n).max(1);
    let SweepScratch { dv, ds, di_now, di_next, dy_filter } = scratch;
    // The adjoint update of neurons `range` at step t.
    let adjoint =
        |t: usize, range: std::ops::Range<usize>, dv: &mut [f32], ds: &[f32], di: &mut [f32], ag: &mut [f64]| {
            let (u_now, u_prev, s_prev) = (
                &membrane[t * step..(t + 1) * step],
                (t > 0).then(|| &membrane[(t - 1) * step..t * step]),
                (t > 0).then(|| &spikes[(t - 1) * step..t * step]),
            );
            for k in range {
                let (u, dsk, alpha) = (lane(u_now, k), lane(ds, k), d.alpha[k]);
                let v_prev: Lane = match (u_prev, s_prev) {
                    (Some(up), Some(sp)) => {
                        let (up, sp) = (lane(up, k), lane(sp, k));
                        std::array::from_fn(|l| up[l] - d.reset * sp[l])
                    }
                    _ => [0.0; LANES],
                };
                let (dvk, dik) = (lane_mut(dv, k), lane_mut(di, k));
                let agk = &mut ag[k * LANES..(k + 1) * LANES];
                for l in 0..LANES {
                    let reset = if d.reset_gradient { -d.reset * dvk[l] } else { 0.0 };
                    let du = dvk[l] + d.spike.surrogate(u[l] - d.threshold) * (dsk[l] + reset);
                    agk[l] += (du * v_prev[l]) as f64;
                    dik[l] = du;
                    dvk[l] = alpha * du;
                }
            }
        };
    for t in (0..time).rev() {
        ds.fill(d.penalty_gradient);
        for l in 0..samples {
            let dy = &dy[(l * time + t) * outputs..(l * time + t + 1) * outputs];
            for (o, &g) in dy.iter().enumerate() {
                let carried = &mut dy_filter[o * LANES + l];
                *carried = g + d.kappa * *carried;
            }
        }
        for o in 0..outputs {
            let (g, dso) = (lane(dy_filter, o), lane_mut(ds, r + o));
            for l in 0..LANES {
                dso[l] += d.kick * g[l];
            }
        }
        if t + 1 < time {
            gather(&topology.delayed, &w.delayed, di_next, ds, n);
        }
        adjoint(t, r..n, dv, ds, di_now, alpha_grad);
        gather(&topology.immediate, &w.immediate, di_now, ds, r);
        adjoint(t, 0..r, dv, ds, di_now, alpha_grad);
        for l in 0..samples {
            let row = &mut d_current[(l * time + t) * n..(l * time + t + 1) * n];
            for (k, out) in row.iter_mut().enumerate() {
                *out = di_now[k * LANES + l];
            }
        }
        std::mem::swap(di_now, di_next);
    }
}
