//! The Expressive Leaky Memory neuron (Spieler et al., ICLR 2024), official v1 semantics with a v2
//! switch. Per sample, with x~ the routed input:
//!
//! ```text
//! s_t   = kappa_s * s_{t-1} + w_s * x~_t               (v2: branch traces b_t instead)
//! u_t   = branch_sum(s_t)                              (or f(branch_sum(s_t)), `branch_activation`)
//! dm_t  = 1.7159 * tanh(2/3 * MLP([u_t, kappa_m * m_{t-1}]))
//! m_t   = kappa_m * m_{t-1} + lambda * (1 - kappa_m) * dm_t    (v2: (1 - kappa_lambda) * dm_t)
//! y_t   = W_y m_t + b_y
//! ```
//!
//! The work splits in two (DESIGN.md section 4): everything up to the MLP's first-layer input
//! projection does not depend on the memory, so `projection` computes it for all time steps at
//! once; only the d_m-sized recurrence in `recurrence` runs step by step. Weight gradients are
//! accumulated as GEMMs over all (batch, time) rows after the reverse sweep.

pub mod config;
#[cfg(test)]
mod cuda_twin;
pub mod device;
mod projection;
mod recurrence;
pub mod routing;
mod sequence_model;

pub use config::{BranchActivation, ElmConfig, ElmVersion, RoutingKind, TauSpacing};
pub use projection::ProjectionPath;
pub use routing::SynapseRouting;

use crate::engine::kernels::{add_column_sums, sigmoid};
use crate::engine::{gemm, BufferPool, Inputs, MatMut, MatRef, ParamSet, Rng, Tensor};
use crate::models::check_backward;
use anyhow::{bail, Result};

/// Indices of the ELM's tensors in its `ParamSet`.
#[derive(Clone, Debug)]
struct ParamIds {
    /// (weight, bias) of every MLP layer; the last maps to the memory updates.
    mlp: Vec<(usize, usize)>,
    proto_w_s: usize,
    w_y: usize,
    b_y: usize,
    tau_s: usize,
    proto_tau_m: usize,
}

#[derive(Clone, Debug)]
pub struct Elm {
    pub config: ElmConfig,
    pub params: ParamSet,
    pub routing: SynapseRouting,
    /// Reported as `branch-elm` rather than `elm` (set from the config's `kind`; by default when
    /// the config has branches or routing).
    pub branch_variant: bool,
    ids: ParamIds,
    /// Activation buffers, reused from step to step (clones share it).
    pool: BufferPool,
}

/// Gradients of a scalar loss, aligned with `Elm::params` (zeros for fixed parameters), and the
/// input gradient when it was asked for.
pub struct ElmGradients {
    pub params: Vec<Tensor>,
    pub x: Option<Vec<f32>>,
}

/// Quantities derived from the parameters once per pass.
struct Derived {
    w_s: Vec<f32>,
    /// Trace decay per synapse (v1) or per branch (v2).
    kappa_s: Vec<f32>,
    tau_m: Vec<f32>,
    kappa_m: Vec<f32>,
    /// The factor of dm_t in the memory update: lambda (1 - kappa_m) in v1, 1 - kappa_lambda in v2.
    update_gain: Vec<f32>,
    /// v2 only: kappa_lambda (needed for its derivative).
    kappa_lambda: Vec<f32>,
}

/// What the forward pass keeps for the backward pass. Its buffers go back to the model's pool
/// when it is dropped.
pub struct ElmForward {
    /// Outputs, (batch, time, num_output).
    pub y: Vec<f32>,
    batch: usize,
    time: usize,
    path: ProjectionPath,
    projection: projection::Saved,
    states: recurrence::States,
    pool: BufferPool,
}

impl ElmForward {
    /// The projection path this pass ran.
    pub fn path(&self) -> ProjectionPath {
        self.path
    }
}

impl Drop for ElmForward {
    fn drop(&mut self) {
        self.pool.recycle(std::mem::take(&mut self.y));
        self.projection.recycle(&self.pool);
        self.states.recycle(&self.pool);
    }
}

impl Elm {
    /// A freshly initialised model: PyTorch's `nn.Linear` init (uniform in +-1/sqrt(fan_in)) for
    /// the MLP and readout, w_s = w_s_value, tau_s = tau_s_value, tau_m log-spaced in its range.
    pub fn new(config: ElmConfig, seed: u64) -> Result<Self> {
        config.validate()?;
        let mut rng = Rng::new(seed);
        let mut params = ParamSet::default();
        let dm = config.num_memory;
        let hidden = config.mlp_hidden_size();
        let mut mlp = Vec::new();
        let mut fan_in = config.mlp_input_size();
        for layer in 0..=config.mlp_num_layers {
            let out = if layer == config.mlp_num_layers { dm } else { hidden };
            let (w, b) = linear_init(&mut rng, out, fan_in);
            let name = format!("mlp.network.{}", 2 * layer);
            mlp.push((params.push(&format!("{name}.weight"), w, true), params.push(&format!("{name}.bias"), b, true)));
            fan_in = out;
        }
        let proto_w_s = params.push(
            "_proto_w_s",
            Tensor::full(&[config.num_synapse()], config.w_s_value as f32),
            config.learn_synapse_weights,
        );
        let (wy, by) = linear_init(&mut rng, config.num_output, dm);
        let w_y = params.push("w_y.weight", wy, true);
        let b_y = params.push("w_y.bias", by, true);
        let tau_s = match config.version {
            ElmVersion::V1 => {
                params.push("tau_s", Tensor::full(&[config.num_synapse()], config.tau_s_value as f32), false)
            }
            ElmVersion::V2 => {
                params.push("tau_b", Tensor::full(&[config.num_branch()], config.tau_s_value as f32), false)
            }
        };
        let proto_tau_m = params.push(
            "_proto_tau_m",
            Tensor::from_vec(&[dm], initial_proto_tau_m(&config))?,
            config.learn_memory_tau,
        );
        let routing = SynapseRouting::build(&config);
        let ids = ParamIds { mlp, proto_w_s, w_y, b_y, tau_s, proto_tau_m };
        let branch_variant = config.num_branch.is_some() || config.input_to_synapse_routing.is_some();
        Ok(Self { config, params, routing, branch_variant, ids, pool: BufferPool::default() })
    }

    /// Trainable scalars, counted as the official PyTorch code counts them.
    pub fn param_count(&self) -> usize {
        self.params.trainable_count()
    }

    /// The parameter count in the convention of the paper's (JAX) tables. Not published as a
    /// formula; inferred from the paper's numbers, which it reproduces exactly for all 15 NeuronIO
    /// sweep points of Appendix F and the Figure 4 caption: the MLP, 7 per memory unit, and for
    /// Branch-ELM the synapse weights plus 4 (the vanilla ELM's w_s folds into the MLP's weights).
    pub fn param_count_paper_convention(&self) -> usize {
        let mlp: usize = self.ids.mlp.iter().map(|&(w, b)| self.params.get(w).len() + self.params.get(b).len()).sum();
        let memory = 7 * self.config.num_memory;
        let synapses = if self.config.num_branch.is_some() || self.config.input_to_synapse_routing.is_some() {
            self.config.num_synapse() + 4
        } else {
            0
        };
        mlp + memory + synapses
    }

    pub fn num_output(&self) -> usize {
        self.config.num_output
    }

    /// Recomputes the routing (after the config changed, or to restore a saved draw).
    pub fn set_routing(&mut self, routing: SynapseRouting) -> Result<()> {
        let n = self.config.num_synapse();
        if routing.input_of_synapse.len() != n || routing.valid.len() != n {
            bail!("routing has {} synapses, the model {n}", routing.input_of_synapse.len());
        }
        if let Some(&bad) = routing.input_of_synapse.iter().find(|&&i| i as usize >= self.config.num_input) {
            bail!("routing sends input {bad} to a synapse, but the model has {} inputs", self.config.num_input);
        }
        self.routing = routing;
        Ok(())
    }

    /// Sets one tensor by its official state-dict name (`mlp.network.0.weight`, `tau_s`, ...).
    /// The routing tensors `input_to_synapse_indices` and `valid_indices_mask` go through
    /// `set_routing`.
    pub fn assign(&mut self, name: &str, values: Vec<f32>, shape: &[usize]) -> Result<()> {
        self.params.assign(name, values, shape)
    }

    fn derived(&self) -> Derived {
        let c = &self.config;
        let dt = c.delta_t as f32;
        let w_s = self.params.get(self.ids.proto_w_s).data().iter().map(|p| p.max(0.0)).collect();
        let kappa_s = self.params.get(self.ids.tau_s).data().iter().map(|tau| (-dt / tau.max(1e-6)).exp()).collect();
        let (lo, hi) = (c.memory_tau_min as f32, c.effective_tau_max() as f32);
        let tau_m: Vec<f32> =
            self.params.get(self.ids.proto_tau_m).data().iter().map(|&p| (hi - lo) * sigmoid(p) + lo).collect();
        let kappa_m: Vec<f32> = tau_m.iter().map(|tau| (-dt / tau.max(1e-6)).exp()).collect();
        let lambda = c.lambda_value as f32;
        let (update_gain, kappa_lambda) = match c.version {
            ElmVersion::V1 => (kappa_m.iter().map(|k| lambda * (1.0 - k)).collect(), Vec::new()),
            ElmVersion::V2 => {
                let kl: Vec<f32> = tau_m.iter().map(|tau| (-dt * lambda / tau.max(1e-6)).exp()).collect();
                (kl.iter().map(|k| 1.0 - k).collect(), kl)
            }
        };
        Derived { w_s, kappa_s, tau_m, kappa_m, update_gain, kappa_lambda }
    }

    fn check_input(&self, x: &Inputs) -> Result<(usize, usize)> {
        let (batch, time, features) = x.shape();
        if features != self.config.num_input {
            bail!(
                "the input has {features} features per step, but the model expects num_input = {}",
                self.config.num_input
            );
        }
        Ok((batch, time))
    }

    /// The forward pass, choosing the fastest exact projection path.
    pub fn forward(&self, x: &Inputs) -> Result<ElmForward> {
        self.forward_with(x, None)
    }

    /// The forward pass on a given projection path (`None`: the fastest exact one).
    pub fn forward_with(&self, x: &Inputs, path: Option<ProjectionPath>) -> Result<ElmForward> {
        let (batch, time) = self.check_input(x)?;
        let d = self.derived();
        let linear_branches = self.config.branch_activation.is_identity();
        let uniform_decay = ProjectionPath::fastest(&d.kappa_s) != ProjectionPath::Traces;
        let path = match path {
            Some(ProjectionPath::Folded) if !linear_branches => bail!(
                "the folded projection is exact only for linear branches; branch_activation = {:?} needs the \
                 folded-branches or the traces path",
                self.config.branch_activation
            ),
            Some(ProjectionPath::FoldedBranches) if !uniform_decay => {
                bail!("the folded-branches projection is exact only when every trace has the same time constant")
            }
            Some(path) => path,
            None if !uniform_decay => ProjectionPath::Traces,
            None if linear_branches => ProjectionPath::Folded,
            None => ProjectionPath::FoldedBranches,
        };
        let layer0 = self.params.get(self.ids.mlp[0].0);
        let (q, projection) = projection::forward(path, &self.config, &self.routing, &d, layer0.data(), x, &self.pool)?;
        let mlp = self.mlp_weights();
        let states = recurrence::forward(&self.config, &mlp, &d, &q, batch, time, &self.pool);
        self.pool.recycle(q);
        // y = M W_y^T + b_y for every (batch, time) row at once.
        let (dm, out) = (self.config.num_memory, self.config.num_output);
        let rows = batch * time;
        let mut y = self.pool.any(rows * out);
        let by = self.params.get(self.ids.b_y).data();
        for row in y.chunks_exact_mut(out) {
            row.copy_from_slice(by);
        }
        gemm(
            1.0,
            MatRef::new(&states.memory, rows, dm),
            MatRef::new(self.params.get(self.ids.w_y).data(), out, dm).t(),
            1.0,
            MatMut::new(&mut y, rows, out),
        );
        Ok(ElmForward { y, batch, time, path, projection, states, pool: self.pool.clone() })
    }

    /// Gradients of `sum(y * dy)` with respect to every trainable parameter, and to the input
    /// when `want_input_gradient` (training does not need it; it costs a dense GEMM).
    pub fn backward(
        &self,
        pass: &ElmForward,
        x: &Inputs,
        dy: &[f32],
        want_input_gradient: bool,
    ) -> Result<ElmGradients> {
        let (dm, out) = (self.config.num_memory, self.config.num_output);
        let (batch, time) = check_backward(x, self.config.num_input, (pass.batch, pass.time), dy, out)?;
        let rows = batch * time;
        let d = self.derived();
        let mut grads = self.params.zeros_like();

        // Readout: dW_y = dY^T M, db_y = column sums of dY, and the memory's direct gradient dY W_y.
        gemm(
            1.0,
            MatRef::new(dy, rows, out).t(),
            MatRef::new(&pass.states.memory, rows, dm),
            0.0,
            MatMut::new(grads[self.ids.w_y].data_mut(), out, dm),
        );
        add_column_sums(dy, out, grads[self.ids.b_y].data_mut());
        let mut memory_grad = self.pool.any(rows * dm);
        gemm(
            1.0,
            MatRef::new(dy, rows, out),
            MatRef::new(self.params.get(self.ids.w_y).data(), out, dm),
            0.0,
            MatMut::new(&mut memory_grad, rows, dm),
        );

        let mlp = self.mlp_weights();
        let sweep = recurrence::backward(&self.config, &mlp, &d, &pass.states, &memory_grad, batch, time, &self.pool);
        self.pool.recycle(memory_grad);
        self.memory_tau_gradient(&d, &sweep.kappa_m_grad, &sweep.kappa_lambda_grad, &mut grads);

        // Two independent halves side by side: the MLP's weight gradients on its memory inputs
        // (small GEMMs, serial) and the input side (layer-0 weights on the branch inputs,
        // synapse weights and the input; parallel, but over few column blocks), so that neither
        // leaves a thread waiting.
        let layer0 = self.params.get(self.ids.mlp[0].0);
        let h0 = layer0.shape()[0];
        let mut w_s_grad = vec![0.0; self.config.num_synapse()];
        let layer0_grad = grads[self.ids.mlp[0].0].data_mut();
        let (mlp_grads, x_grad) = rayon::join(
            || self.mlp_weight_gradients(&pass.states, &sweep, rows),
            || {
                projection::backward(
                    pass.path,
                    &self.config,
                    &self.routing,
                    &d,
                    layer0.data(),
                    x,
                    &pass.projection,
                    projection::LayerZeroDelta { data: &sweep.delta, width: h0, row_stride: sweep.delta_width },
                    layer0_grad,
                    &mut w_s_grad,
                    want_input_gradient,
                    &self.pool,
                )
            },
        );
        self.place_mlp_gradients(mlp_grads, &mut grads);
        self.pool.recycle(sweep.delta);
        self.synapse_weight_gradient(&w_s_grad, &mut grads);
        Ok(ElmGradients { params: grads, x: x_grad })
    }

    /// Memory time constants: the chain rule from d/d kappa_m (and d/d kappa_lambda in v2) to
    /// proto_tau_m, when tau_m is learned.
    fn memory_tau_gradient(&self, d: &Derived, kappa_m_grad: &[f32], kappa_lambda_grad: &[f32], grads: &mut [Tensor]) {
        if !self.config.learn_memory_tau {
            return;
        }
        let c = &self.config;
        let (dt, lambda) = (c.delta_t as f32, c.lambda_value as f32);
        let span = (c.effective_tau_max() - c.memory_tau_min) as f32;
        let proto = self.params.get(self.ids.proto_tau_m).data();
        let g = grads[self.ids.proto_tau_m].data_mut();
        for k in 0..c.num_memory {
            let tau = d.tau_m[k];
            let mut dtau = kappa_m_grad[k] * d.kappa_m[k] * dt / (tau * tau);
            if c.version == ElmVersion::V2 {
                dtau += kappa_lambda_grad[k] * d.kappa_lambda[k] * dt * lambda / (tau * tau);
            }
            let s = sigmoid(proto[k]);
            g[k] = dtau * span * s * (1.0 - s);
        }
    }

    /// w_s = relu(proto): the gradient passes where proto > 0 (PyTorch's relu backward).
    fn synapse_weight_gradient(&self, w_s_grad: &[f32], grads: &mut [Tensor]) {
        if self.config.learn_synapse_weights {
            let proto = self.params.get(self.ids.proto_w_s).data();
            for ((g, w), p) in grads[self.ids.proto_w_s].data_mut().iter_mut().zip(w_s_grad).zip(proto) {
                *g = if *p > 0.0 { *w } else { 0.0 };
            }
        }
    }

    fn mlp_weights(&self) -> Vec<recurrence::Layer<'_>> {
        self.ids
            .mlp
            .iter()
            .map(|&(w, b)| {
                let w = self.params.get(w);
                recurrence::Layer {
                    weight: w.data(),
                    bias: self.params.get(b).data(),
                    out: w.shape()[0],
                    inp: w.shape()[1],
                }
            })
            .collect()
    }

    /// dW_l = delta_l^T * input_l over all rows and the biases' column sums, per layer as
    /// (weight, bias) gradients; layer 0's weight only for its memory columns, (units, d_m) (its
    /// branch columns come from the projection's backward).
    fn mlp_weight_gradients(
        &self,
        states: &recurrence::States,
        sweep: &recurrence::Sweep,
        rows: usize,
    ) -> Vec<(Vec<f32>, Vec<f32>)> {
        let dm = self.config.num_memory;
        let width = sweep.delta_width;
        let mut offset = 0;
        let mut layers = Vec::with_capacity(self.ids.mlp.len());
        for (l, &(w, _)) in self.ids.mlp.iter().enumerate() {
            let (out, inp) = (self.params.get(w).shape()[0], self.params.get(w).shape()[1]);
            let delta = MatRef::with_row_stride(&sweep.delta[offset..], rows, out, width);
            let weight_grad = if l == 0 {
                let mut grad = vec![0.0; out * dm];
                gemm(1.0, delta.t(), MatRef::new(&states.memory_input, rows, dm), 0.0, MatMut::new(&mut grad, out, dm));
                grad
            } else {
                let prev_offset = offset - inp;
                let input = MatRef::with_row_stride(&states.post[prev_offset..], rows, inp, width);
                let mut grad = vec![0.0; out * inp];
                gemm(1.0, delta.t(), input, 0.0, MatMut::new(&mut grad, out, inp));
                grad
            };
            let mut bias_grad = vec![0.0; out];
            for row in sweep.delta.chunks_exact(width) {
                for (g, v) in bias_grad.iter_mut().zip(&row[offset..offset + out]) {
                    *g += v;
                }
            }
            layers.push((weight_grad, bias_grad));
            offset += out;
        }
        layers
    }

    /// Puts `mlp_weight_gradients`' results in place: layer 0's into its memory columns.
    fn place_mlp_gradients(&self, layers: Vec<(Vec<f32>, Vec<f32>)>, grads: &mut [Tensor]) {
        let (nb, dm) = (self.config.num_branch(), self.config.num_memory);
        for (l, ((weight_grad, bias_grad), &(w, b))) in layers.into_iter().zip(&self.ids.mlp).enumerate() {
            if l == 0 {
                let inp = self.params.get(w).shape()[1];
                for (row, part) in grads[w].data_mut().chunks_exact_mut(inp).zip(weight_grad.chunks_exact(dm.max(1))) {
                    row[nb..nb + dm].copy_from_slice(part);
                }
            } else {
                grads[w].data_mut().copy_from_slice(&weight_grad);
            }
            grads[b].data_mut().copy_from_slice(&bias_grad);
        }
    }
}

fn linear_init(rng: &mut Rng, out: usize, fan_in: usize) -> (Tensor, Tensor) {
    let bound = 1.0 / (fan_in as f32).sqrt();
    let w = (0..out * fan_in).map(|_| rng.uniform(-bound, bound)).collect();
    let b = (0..out).map(|_| rng.uniform(-bound, bound)).collect();
    (Tensor::from_vec(&[out, fan_in], w).expect("sized"), Tensor::from_vec(&[out], b).expect("sized"))
}

/// tau_m log-spaced (or evenly spaced, `memory_tau_init_spacing`) over the initial range (default:
/// the bounds, as the official code), kept 1e-6 inside the bounds as the official clamps do, and
/// mapped through the inverse scaled sigmoid.
fn initial_proto_tau_m(c: &ElmConfig) -> Vec<f32> {
    let (lo, hi) = (c.memory_tau_min, c.effective_tau_max());
    let [init_lo, init_hi] = c.memory_tau_init.unwrap_or([lo, hi]);
    let (init_lo, init_hi) = (init_lo.max(lo + 1e-6), init_hi.min(hi - 1e-6));
    let n = c.num_memory;
    // a + (b - a) k / (n - 1), in this order of operations: the official code's values, bit for bit.
    let spaced = |a: f64, b: f64, k: usize| if n == 1 { a } else { a + (b - a) * k as f64 / (n - 1) as f64 };
    (0..n)
        .map(|k| {
            let tau = match c.memory_tau_init_spacing {
                TauSpacing::Log => 10f64.powf(spaced(init_lo.log10(), init_hi.log10(), k)),
                TauSpacing::Linear => spaced(init_lo, init_hi, k),
            };
            let tau = tau.clamp(lo + 1e-6, hi - 1e-6);
            ((tau - lo) / (hi - tau)).ln() as f32
        })
        .collect()
}
