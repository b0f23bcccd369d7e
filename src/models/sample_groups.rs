//! A batch computed as groups of samples, each group by one thread from start to end.
//!
//! A model whose samples are independent (`SequenceModel::samples_independent`) gives the same
//! outputs whether its batch runs at once or a few samples at a time, and its gradient is the sum
//! of the groups' gradients. This wrapper splits every batch into fixed groups of
//! `SAMPLES_PER_GROUP` samples. Thread w of the pool keeps its own copy of the model and runs the
//! groups g = w, w + threads, ... (`rayon::broadcast`), forward and backward, so a group's
//! activations and the copy's reused buffers stay in that thread's core; the copy's own parallel
//! loops stay there too, unless another thread has finished its groups and steals. Only the
//! inputs, the outputs, the parameters and the gradients cross between threads.
//!
//! Why: on this 2-core virtual machine the step's phases (projection, recurrence, weight
//! gradients) split the batch differently, so a thread keeps reading what the other has just
//! written; when the two virtual CPUs sit far apart (the "slow state" of the README's speed
//! section) that traffic costs more than the work. Measured interleaved with `elmbench bench
//! train-step`, 2 threads, 2026-12-01: in the slow state the Branch-ELM NeuronIO step went from
//! 1.36-1.41 to 1.23-1.27 ms and the LSTM's from 4.2-5.0 to 3.5-3.7 ms; in the fast state nothing
//! changed. On one thread the groups cost something: the Branch-ELM folds its synapse weights and
//! unfolds their gradient once per group (1.24-1.28 -> 1.48-1.53 ms), while the ELM on LRA Image
//! gains (175-183 -> 158-170 ms: a group's activations fit the caches).
//!
//! Results do not depend on the thread count: the groups follow from the batch size alone, a
//! group's passes do not depend on which thread runs them, and the groups' gradients are added in
//! group order. They differ in the last bits from the model's own whole-batch pass, whose weight
//! gradients sum the samples in another order (a batch of one group is the model's own pass).

use crate::engine::kernels::axpy;
use crate::engine::{Inputs, ParamSet, SparseSequences, Tensor};
use crate::models::{
    check_backward, check_features, downcast_pass, Buffer, FlopCount, ForwardPass, ModelConfig, ParamGroup,
    SequenceModel,
};
use crate::nn::Readout;
use anyhow::{anyhow, Result};
use std::any::Any;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Samples per group: the ELM and LSTM recurrences already step four samples together (their
/// weight rows are loaded once per step for the four), so a group is one such task.
pub const SAMPLES_PER_GROUP: usize = 4;

/// The most worker threads (and model copies) a wrapper keeps.
const MAX_WORKERS: usize = 64;

/// `model` computed in groups of samples when its samples are independent, else `model` itself.
pub fn split_by_samples(model: Box<dyn SequenceModel>) -> Result<Box<dyn SequenceModel>> {
    if !model.samples_independent() {
        return Ok(model);
    }
    Ok(Box::new(SampleGroups::new(model)))
}

/// The sample ranges of a batch: consecutive groups of `SAMPLES_PER_GROUP` (the last may be
/// smaller). A function of the batch size alone, so the bits do not depend on the thread count.
pub fn groups(batch: usize) -> Vec<Range<usize>> {
    (0..batch.div_ceil(SAMPLES_PER_GROUP))
        .map(|g| g * SAMPLES_PER_GROUP..((g + 1) * SAMPLES_PER_GROUP).min(batch))
        .collect()
}

struct Worker {
    replica: Mutex<Replica>,
}

struct Replica {
    model: Box<dyn SequenceModel>,
    /// `SampleGroups::generation` when the parameters were last copied in.
    generation: u64,
}

pub struct SampleGroups {
    /// The model the optimizer updates and checkpoints save; the workers compute on copies.
    primary: Box<dyn SequenceModel>,
    workers: Vec<Worker>,
    /// Counts the chances the primary's parameters had to change (`params_mut`).
    generation: AtomicU64,
    /// Each group's sparse input of the last pass, by group, for its allocations.
    spare_inputs: Arc<Mutex<Vec<Option<SparseSequences>>>>,
}

impl SampleGroups {
    fn new(primary: Box<dyn SequenceModel>) -> Self {
        let threads = rayon::current_num_threads().clamp(1, MAX_WORKERS);
        let workers = (0..threads)
            .map(|_| Worker { replica: Mutex::new(Replica { model: primary.clone_model(), generation: 0 }) })
            .collect();
        Self { primary, workers, generation: AtomicU64::new(0), spare_inputs: Arc::default() }
    }

    /// `work(g, model)` for every group g, each group on worker `g mod workers` with that
    /// worker's copy (parameters brought up to date first when `sync`); results in group order.
    fn run_groups<R: Send>(
        &self,
        groups: usize,
        sync: bool,
        work: impl Fn(usize, &dyn SequenceModel) -> Result<R> + Sync,
    ) -> Result<Vec<R>> {
        // The pool this runs in may be smaller than the one the wrapper was made in (a test's
        // pool, say): then fewer workers take more groups each, with the same results.
        let active = self.workers.len().min(groups).min(rayon::current_num_threads()).max(1);
        let results: Vec<Mutex<Option<Result<R>>>> = (0..groups).map(|_| Mutex::new(None)).collect();
        let generation = self.generation.load(Ordering::Acquire);
        let run_worker = |w: usize| {
            let mut replica = match self.workers[w].replica.lock() {
                Ok(replica) => replica,
                Err(_) => {
                    *results[w].lock().unwrap_or_else(|e| e.into_inner()) =
                        Some(Err(anyhow!("a sample group's worker was poisoned by a panic")));
                    return;
                }
            };
            if sync && replica.generation != generation {
                copy_params(self.primary.params(), replica.model.params_mut());
                replica.generation = generation;
            }
            for g in (w..groups).step_by(active) {
                let result = work(g, replica.model.as_ref());
                *results[g].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
            }
        };
        if active == 1 {
            // One thread in all: the groups in order, here.
            run_worker(0);
        } else {
            // Thread w of the pool runs worker w's groups, so each copy of the model, and the
            // buffers it reuses, stays with one thread from step to step.
            rayon::broadcast(|context| {
                if context.index() < active {
                    run_worker(context.index());
                }
            });
        }
        results
            .into_iter()
            .map(|r| {
                r.into_inner()
                    .unwrap_or_else(|e| e.into_inner())
                    .unwrap_or_else(|| Err(anyhow!("a sample group did not run")))
            })
            .collect()
    }

    fn forward_in_groups(&self, x: &Inputs, train_seed: Option<u64>) -> Result<Box<dyn ForwardPass>> {
        let (batch, time) = check_features(x, self.primary.num_input())?;
        let ranges = groups(batch);
        if ranges.len() == 1 {
            // One group: the model itself, with all the threads for its own parallel loops.
            return match train_seed {
                Some(seed) => self.primary.forward_steps_train(x, seed),
                None => self.primary.forward_steps(x),
            };
        }
        // Each group cuts its own sparse input on its worker (into the buffers it used last
        // time), so the thread that reads it has written it.
        let groups = self.run_groups(ranges.len(), true, |g, model| {
            let own = match x {
                Inputs::Sparse(s) => {
                    let spare = self.spare_inputs.lock().ok().and_then(|mut spare| spare.get_mut(g)?.take());
                    Some(match spare {
                        Some(mut part) => {
                            s.samples_into(ranges[g].clone(), &mut part);
                            part
                        }
                        None => s.samples(ranges[g].clone()),
                    })
                }
                Inputs::Dense { .. } => None,
            };
            let input = group_input(x, &own, ranges[g].clone())?;
            let pass = match train_seed {
                Some(seed) => model.forward_steps_train(&input, seed),
                None => model.forward_steps(&input),
            }?;
            Ok((pass, own))
        })?;
        let (passes, group_inputs): (Vec<_>, Vec<_>) = groups.into_iter().unzip();
        let output = passes.iter().flat_map(|p| p.output().iter().copied()).collect();
        let passes = passes.into_iter().map(Mutex::new).collect();
        let spare_inputs = self.spare_inputs.clone();
        Ok(Box::new(GroupedPass { passes, group_inputs, output, shape: (batch, time), spare_inputs }))
    }
}

/// Group `g`'s input: its own sparse batch, or its slice of the dense values.
fn group_input<'a>(x: &Inputs<'a>, own: &'a Option<SparseSequences>, samples: Range<usize>) -> Result<Inputs<'a>> {
    match (x, own) {
        (_, Some(s)) => Ok(Inputs::Sparse(s)),
        (Inputs::Dense { data, time, features, .. }, None) => Ok(Inputs::Dense {
            data: &data[samples.start * time * features..samples.end * time * features],
            batch: samples.len(),
            time: *time,
            features: *features,
        }),
        (Inputs::Sparse(_), None) => {
            Err(anyhow!("backward was given a sparse batch for a forward pass that saw dense inputs"))
        }
    }
}

fn copy_params(from: &ParamSet, to: &mut ParamSet) {
    for (to, from) in to.iter_mut().zip(from.iter()) {
        to.value.data_mut().copy_from_slice(from.value.data());
    }
}

struct GroupedPass {
    /// Each group's pass, for its worker's backward pass (behind a lock: a pass is `Send`, not
    /// `Sync`; only that worker takes it).
    passes: Vec<Mutex<Box<dyn ForwardPass>>>,
    group_inputs: Vec<Option<SparseSequences>>,
    /// The groups' outputs one after another: (batch, time, outputs), as the whole batch's.
    output: Vec<f32>,
    shape: (usize, usize),
    spare_inputs: Arc<Mutex<Vec<Option<SparseSequences>>>>,
}

impl Drop for GroupedPass {
    /// The groups' inputs go back for the next pass to refill.
    fn drop(&mut self) {
        if let Ok(mut spare) = self.spare_inputs.lock() {
            if spare.len() < self.group_inputs.len() {
                spare.resize_with(self.group_inputs.len(), || None);
            }
            for (slot, input) in spare.iter_mut().zip(self.group_inputs.drain(..)) {
                if input.is_some() {
                    *slot = input;
                }
            }
        }
    }
}

impl ForwardPass for GroupedPass {
    fn output(&self) -> &[f32] {
        &self.output
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn auxiliary_loss(&self) -> f64 {
        self.passes.iter().map(|p| p.lock().map_or(f64::NAN, |p| p.auxiliary_loss())).sum()
    }
}

impl SequenceModel for SampleGroups {
    fn config(&self) -> ModelConfig {
        self.primary.config()
    }
    fn num_input(&self) -> usize {
        self.primary.num_input()
    }
    fn num_output(&self) -> usize {
        self.primary.num_output()
    }
    fn params(&self) -> &ParamSet {
        self.primary.params()
    }
    fn params_mut(&mut self) -> &mut ParamSet {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.primary.params_mut()
    }
    fn readout(&self) -> Readout {
        self.primary.readout()
    }
    fn reported_shape(&self, batch: usize, time: usize) -> (usize, usize) {
        self.primary.reported_shape(batch, time)
    }
    fn forward_steps(&self, x: &Inputs) -> Result<Box<dyn ForwardPass>> {
        self.forward_in_groups(x, None)
    }
    fn forward_steps_train(&self, x: &Inputs, seed: u64) -> Result<Box<dyn ForwardPass>> {
        self.forward_in_groups(x, Some(seed))
    }
    fn backward_steps(&self, pass: &dyn ForwardPass, x: &Inputs, dy: &[f32]) -> Result<Vec<Tensor>> {
        if groups(x.shape().0).len() == 1 {
            return self.primary.backward_steps(pass, x, dy);
        }
        let pass = downcast_pass::<GroupedPass>(pass, "a model computed in sample groups")?;
        let outputs = self.primary.num_output();
        check_backward(x, self.primary.num_input(), pass.shape, dy, outputs)?;
        let ranges = groups(pass.shape.0);
        let per_sample = pass.shape.1 * outputs;
        let grads = self.run_groups(ranges.len(), false, |g, model| {
            let input = group_input(x, &pass.group_inputs[g], ranges[g].clone())?;
            let dy = &dy[ranges[g].start * per_sample..ranges[g].end * per_sample];
            let group_pass =
                pass.passes[g].lock().map_err(|_| anyhow!("a sample group's pass was poisoned by a panic"))?;
            model.backward_steps(group_pass.as_ref(), &input, dy)
        })?;
        // The sum in group order, whatever thread ran which group.
        let mut grads = grads.into_iter();
        let mut total = grads.next().ok_or_else(|| anyhow!("a batch of no samples has no gradient"))?;
        for group in grads {
            for (sum, part) in total.iter_mut().zip(&group) {
                axpy(1.0, part.data(), sum.data_mut());
            }
        }
        Ok(total)
    }
    fn param_count_paper_convention(&self) -> usize {
        self.primary.param_count_paper_convention()
    }
    fn flops(&self, time: usize) -> FlopCount {
        self.primary.flops(time)
    }
    fn param_groups(&self) -> Vec<ParamGroup> {
        self.primary.param_groups()
    }
    fn samples_independent(&self) -> bool {
        true
    }
    fn buffers(&self) -> Vec<(String, Buffer)> {
        self.primary.buffers()
    }
    fn set_buffer(&mut self, name: &str, value: Buffer) -> Result<()> {
        for worker in &mut self.workers {
            let replica =
                worker.replica.get_mut().map_err(|_| anyhow!("a sample group's worker was poisoned by a panic"))?;
            replica.model.set_buffer(name, value.clone())?;
        }
        self.primary.set_buffer(name, value)
    }
    /// The model itself (checkpoints and the best-epoch snapshot need the weights, not the
    /// workers).
    fn clone_model(&self) -> Box<dyn SequenceModel> {
        self.primary.clone_model()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SparseSequences;
    use crate::models::elm::{Elm, ElmConfig};
    use crate::models::lstm::{Lstm, LstmConfig};

    fn spikes(batch: usize, time: usize, features: usize, seed: u64) -> SparseSequences {
        let mut rng = crate::engine::Rng::new(seed);
        let dense: Vec<f32> =
            (0..batch * time * features).map(|_| if rng.uniform(0.0, 1.0) < 0.2 { 1.0 } else { 0.0 }).collect();
        SparseSequences::from_dense(&dense, batch, time, features)
    }

    fn models() -> Vec<Box<dyn SequenceModel>> {
        let mut elm = ElmConfig::new(6, 2);
        elm.num_memory = 5;
        vec![Box::new(Elm::new(elm, 3).unwrap()), Box::new(Lstm::new(LstmConfig::new(6, 2, 7), false, 3).unwrap())]
    }

    /// Outputs and every gradient of a grouped batch against the model's own whole-batch pass:
    /// the outputs are the same numbers (each sample's are its own), the gradients the same sums
    /// in another order.
    #[test]
    fn groups_compute_what_the_whole_batch_computes() {
        for model in models() {
            let kind = model.config().kind();
            let (batch, time) = (11, 9);
            let x = spikes(batch, time, 6, 5);
            x.by_feature();
            let input = Inputs::Sparse(&x);
            let grouped = split_by_samples(model.clone_model()).unwrap();
            let (whole_pass, grouped_pass) = (model.forward(&input).unwrap(), grouped.forward(&input).unwrap());
            assert_eq!(grouped_pass.output(), whole_pass.output(), "{kind}: outputs");
            let dy: Vec<f32> = (0..whole_pass.output().len()).map(|i| ((i * 37 % 17) as f32 - 8.0) / 8.0).collect();
            let whole = model.backward(whole_pass.as_ref(), &input, &dy).unwrap();
            let parts = grouped.backward(grouped_pass.as_ref(), &input, &dy).unwrap();
            for ((a, b), p) in whole.iter().zip(&parts).zip(model.params().iter()) {
                let scale = a.data().iter().fold(1e-6f32, |m, v| m.max(v.abs()));
                let worst = a.data().iter().zip(b.data()).fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
                assert!(
                    worst <= 1e-5 * scale,
                    "{kind}: gradient of {} differs by {worst:e} (largest {scale:e})",
                    p.name
                );
            }
            // Dense inputs go through the same groups (a dense input product is a GEMM, whose
            // blocking, and so its rounding, depends on the row count).
            let dense = x.to_dense();
            let dense_input = Inputs::dense(&dense, batch, time, 6).unwrap();
            let dense_pass = grouped.forward(&dense_input).unwrap();
            for (a, b) in dense_pass.output().iter().zip(whole_pass.output()) {
                assert!((a - b).abs() <= 1e-6 * (1.0 + b.abs()), "{kind}: dense outputs {a} vs {b}");
            }
        }
    }

    /// The same bits on 1 and 3 threads: the groups follow from the batch, not the threads.
    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        for model in models() {
            let x = spikes(10, 7, 6, 9);
            let run = |threads: usize| {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                pool.install(|| {
                    let grouped = split_by_samples(model.clone_model()).unwrap();
                    let input = Inputs::Sparse(&x);
                    let pass = grouped.forward(&input).unwrap();
                    let dy = vec![0.25; pass.output().len()];
                    let grads = grouped.backward(pass.as_ref(), &input, &dy).unwrap();
                    (pass.output().to_vec(), grads.iter().map(|g| g.data().to_vec()).collect::<Vec<_>>())
                })
            };
            assert_eq!(run(1), run(3), "{}", model.config().kind());
        }
    }

    /// A wrapper made in a larger pool than the one it later runs in still runs every group.
    #[test]
    fn a_smaller_pool_than_at_construction_still_runs_every_group() {
        let model = models().remove(0);
        let x = spikes(12, 4, 6, 4);
        let input = Inputs::Sparse(&x);
        let wide = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        let grouped = wide.install(|| split_by_samples(model.clone_model()).unwrap());
        let narrow = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let output = narrow.install(|| grouped.forward(&input).unwrap().output().to_vec());
        assert_eq!(output, model.forward(&input).unwrap().output());
    }

    /// Parameters changed through the wrapper (the optimizer, a restored checkpoint) reach the
    /// workers' copies before the next pass.
    #[test]
    fn the_workers_compute_with_the_current_parameters() {
        let model = models().remove(1);
        let x = spikes(8, 5, 6, 2);
        let input = Inputs::Sparse(&x);
        let mut grouped = split_by_samples(model.clone_model()).unwrap();
        grouped.forward(&input).unwrap();
        for p in grouped.params_mut().iter_mut() {
            p.value.data_mut().iter_mut().for_each(|v| *v *= 0.5);
        }
        let mut changed = model.clone_model();
        for (to, from) in changed.params_mut().iter_mut().zip(grouped.params().iter()) {
            to.value.data_mut().copy_from_slice(from.value.data());
        }
        assert_eq!(grouped.forward(&input).unwrap().output(), changed.forward(&input).unwrap().output());
    }

    #[test]
    fn groups_are_runs_of_four_samples() {
        assert_eq!(groups(0), Vec::<Range<usize>>::new());
        assert_eq!(groups(3), vec![0..3]);
        assert_eq!(groups(8), vec![0..4, 4..8]);
        assert_eq!(groups(10), vec![0..4, 4..8, 8..10]);
    }

    /// Models that share something across the batch are left whole.
    #[test]
    fn only_models_of_independent_samples_are_split() {
        let mut config = LstmConfig::new(6, 2, 7);
        config.recurrent_dropout = 0.25;
        let lstm = Box::new(Lstm::new(config, false, 3).unwrap());
        let placed = split_by_samples(lstm).unwrap();
        assert!(!placed.samples_independent());
    }
}
