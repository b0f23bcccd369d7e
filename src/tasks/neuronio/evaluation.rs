//! The official NeuronIO test protocol (`compute_test_predictions` and
//! `filter_and_extract_core_results` of the official evaluation code, after Beniaguev et al.):
//! whole simulations are predicted in overlapping windows, each window's first `burn_in` steps
//! are thrown away (except in the first window), the last window is zero-padded; soma predictions
//! are rescaled to the target's mean and standard deviation per file; then simulations with more
//! than 24 target spikes are dropped and the first 500 ms ignored before the metrics.

use super::{neuronio_eval_transform, InputShuffle, NeuronioFile, SOMA_BIAS_MV, SOMA_THRESHOLD_MV};
use crate::engine::{Inputs, SparseSequences};
use crate::metrics::{match_soma_moments, neuronio_metrics, EvalWindow, NeuronioMetrics};
use crate::models::SequenceModel;
use anyhow::{bail, Context, Result};

/// Row-major (simulations, steps) arrays of one or more files.
#[derive(Clone, Debug, Default)]
pub struct Predictions {
    pub steps: usize,
    pub spike_true: Vec<f64>,
    pub spike_prob: Vec<f64>,
    /// Target soma in mV relative to the bias (capped at threshold; not scaled).
    pub soma_true: Vec<f64>,
    pub soma_pred: Vec<f64>,
}

/// Predictions for every simulation of a file, with the official windowing.
pub fn predict_file(
    model: &dyn SequenceModel,
    file: &NeuronioFile,
    burn_in: usize,
    window: usize,
) -> Result<Predictions> {
    predict_file_shuffled(model, file, burn_in, window, None)
}

/// `predict_file` with the input channels moved by `shuffle` before the model sees them.
pub fn predict_file_shuffled(
    model: &dyn SequenceModel,
    file: &NeuronioFile,
    burn_in: usize,
    window: usize,
    shuffle: Option<&InputShuffle>,
) -> Result<Predictions> {
    if burn_in >= window {
        bail!("the burn-in ({burn_in}) must be shorter than the window ({window})");
    }
    if model.num_output() < 2 || model.num_input() != file.num_inputs() {
        bail!(
            "the model maps {} inputs to {} outputs; NeuronIO needs {} inputs and 2 outputs",
            model.num_input(),
            model.num_output(),
            file.num_inputs()
        );
    }
    let sims = file.simulations.len();
    let steps = file.simulations.first().map_or(0, |s| s.steps());
    let outputs = model.num_output();
    let mut out = Predictions {
        steps,
        spike_true: Vec::with_capacity(sims * steps),
        spike_prob: vec![0.0; sims * steps],
        soma_true: Vec::with_capacity(sims * steps),
        soma_pred: vec![0.0; sims * steps],
    };
    for sim in &file.simulations {
        out.spike_true.extend(sim.output_spike.iter().map(|&s| s as f64));
        out.soma_true
            .extend(sim.soma_mv.iter().map(|&v| (v as f64).min(SOMA_THRESHOLD_MV as f64) - SOMA_BIAS_MV as f64));
    }
    let stride = window - burn_in;
    let splits = 2 + steps.saturating_sub(window) / stride;
    for k in 0..splits {
        let start = k * stride;
        // Inputs of every simulation over [start, start + window), zero past the end.
        let mut row_start = vec![0];
        let (mut feature, mut value) = (Vec::new(), Vec::new());
        for sim in &file.simulations {
            for t in start..start + window {
                if t < steps {
                    for &c in sim.spikes_at(t) {
                        feature.push(c as u32);
                        value.push(if (c as usize) < file.segments { 1.0 } else { -1.0 });
                    }
                }
                row_start.push(feature.len());
            }
        }
        let mut x = SparseSequences::new(sims, window, file.num_inputs(), row_start, feature, value);
        if let Some(shuffle) = shuffle {
            shuffle.apply(&mut x);
        }
        let pass = model.forward(&Inputs::Sparse(&x))?;
        let mut y = pass.output().to_vec();
        neuronio_eval_transform(&mut y, outputs);
        // The first window keeps everything; later ones drop their burn-in.
        let keep_from = if k == 0 { 0 } else { burn_in };
        for s in 0..sims {
            for offset in keep_from..window {
                let t = start + offset;
                if t >= steps {
                    break;
                }
                let row = (s * window + offset) * outputs;
                out.spike_prob[s * steps + t] = y[row] as f64;
                out.soma_pred[s * steps + t] = y[row + 1] as f64;
            }
        }
    }
    // "For comparability to previous methods": rescale the soma prediction to the target's moments.
    out.soma_pred = match_soma_moments(&out.soma_true, &out.soma_pred).context("rescaling the soma prediction")?;
    Ok(out)
}

/// The official metrics over several files (predicted and rescaled per file, then pooled).
pub fn evaluate(
    model: &dyn SequenceModel,
    files: &[NeuronioFile],
    burn_in: usize,
    window: usize,
) -> Result<NeuronioMetrics> {
    evaluate_shuffled(model, files, burn_in, window, None)
}

/// `evaluate` with the input channels moved by `shuffle` before the model sees them.
pub fn evaluate_shuffled(
    model: &dyn SequenceModel,
    files: &[NeuronioFile],
    burn_in: usize,
    window: usize,
    shuffle: Option<&InputShuffle>,
) -> Result<NeuronioMetrics> {
    let mut pooled = Predictions::default();
    for (i, file) in files.iter().enumerate() {
        let p = predict_file_shuffled(model, file, burn_in, window, shuffle)
            .with_context(|| format!("predicting file {i}"))?;
        if pooled.steps != 0 && pooled.steps != p.steps {
            bail!("files have simulations of different lengths ({} and {} ms)", pooled.steps, p.steps);
        }
        pooled.steps = p.steps;
        pooled.spike_true.extend(p.spike_true);
        pooled.spike_prob.extend(p.spike_prob);
        pooled.soma_true.extend(p.soma_true);
        pooled.soma_pred.extend(p.soma_pred);
    }
    let kept = EvalWindow::default().select(
        pooled.steps,
        &pooled.spike_true,
        &pooled.spike_prob,
        &pooled.soma_true,
        &pooled.soma_pred,
    )?;
    if kept.simulations_kept == 0 {
        bail!("no simulation has at most 24 output spikes; the official protocol scores none");
    }
    Ok(neuronio_metrics(&kept.spike_true, &kept.spike_prob, &kept.soma_true, &kept.soma_pred)?)
}
