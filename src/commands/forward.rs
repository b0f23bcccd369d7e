//! `elmbench forward`: run a model on a tensor of inputs and write its outputs.

pub use super::forward_input::read_input;
use super::forward_input::{read_header, read_values};
use crate::engine::{Inputs, SparseSequences};
use crate::io::{DType, TensorData};
use crate::tasks::neuronio::neuronio_eval_transform;
use crate::weights::load::load_model;
use anyhow::{bail, Context, Result};
use clap::Args;
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Inputs sparser than this go through the sparse path (it pays only for non-zeros).
const SPARSE_BELOW_DENSITY: f64 = 0.25;

#[derive(Args)]
pub struct ForwardArgs {
    /// Weights: an elmbench checkpoint (.safetensors) or an official PyTorch state dict (.pt) with
    /// its model_config.json in the same folder; with --model, a safetensors file of the model's
    /// parameters under their official names (S5: flax names such as `encoder/layers_0/seq/B`,
    /// BatchNorm statistics under `batch_stats/...`).
    #[arg(long)]
    pub weights: PathBuf,
    /// The model kind of plain --weights (not a checkpoint): its preset, changed by --set, gives
    /// the architecture. S5 then writes the official model's output: y (batch, classes) =
    /// log-probabilities in evaluation mode.
    #[arg(long)]
    pub model: Option<String>,
    /// Overrides of the model's keys (`--set d_model=128`), with --model.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// A safetensors file with tensor `x` of shape (batch, time, inputs), any float or integer
    /// dtype (f64, f32, f16, bf16, i64, i32, i16, i8, u8).
    #[arg(long)]
    pub input: PathBuf,
    /// Where to write tensor `y` (batch, steps, outputs) as f32 safetensors (steps = time, or 1 for a
    /// last-step or mean readout).
    #[arg(long)]
    pub output: PathBuf,
    /// NeuronIO evaluation outputs: sigmoid of the spike logit (y[..., 0]) and the soma in mV
    /// units (y[..., 1] divided by the training scale 0.1), as the official neuronio_eval_forward.
    #[arg(long)]
    pub neuronio_eval: bool,
    /// Where the model math runs: cpu, cuda (fails with a clear message where no usable GPU or
    /// CUDA build is present), or auto (CUDA when it can run the model, else the CPU; says which).
    #[arg(long, value_enum, default_value = "cpu")]
    pub device: crate::backend::DeviceChoice,
}

pub fn run(args: ForwardArgs) -> Result<()> {
    let (model, format) = match &args.model {
        Some(kind) => (load_named_weights(kind, &args.sets, &args.weights)?, "named tensors".to_string()),
        None if !args.sets.is_empty() => bail!("--set needs --model"),
        None => {
            let (model, format) = load_model(&args.weights)?;
            (model, format!("{format:?}"))
        }
    };
    let device = crate::backend::for_model(args.device, model.config().kind())?;
    let model = crate::models::on_device::place(model, &device)?;
    // The shape from the header is checked before any data is read (a wrong file fails at once,
    // whatever its size).
    let header = read_header(&args.input)?;
    let shape = header.shape;
    let [batch, time, features] = shape;
    if features != model.num_input() {
        bail!(
            "{}: tensor `x` has {features} inputs per step (shape {shape:?}), but the model in {} expects num_input = {}",
            args.input.display(),
            args.weights.display(),
            model.num_input()
        );
    }
    let x = read_values(&header)?;
    let dense = Inputs::dense(&x, batch, time, features)?;
    let sparse;
    let input = if dense.density() < SPARSE_BELOW_DENSITY {
        sparse = SparseSequences::from_dense(&x, batch, time, features);
        Inputs::Sparse(&sparse)
    } else {
        dense
    };
    let pass = model.forward(&input)?;
    let mut y = pass.output().to_vec();
    drop(pass);
    let outputs = model.num_output();
    if args.neuronio_eval {
        if outputs < 2 {
            bail!("--neuronio-eval needs a model with 2 outputs (spike, soma); this one has {outputs}");
        }
        neuronio_eval_transform(&mut y, outputs);
    }
    // A last-step or mean readout reports one step per sample; a two-tower one sample per pair.
    let (samples, steps) = model.reported_shape(batch, time);
    let mut shape = vec![samples, steps, outputs];
    if args.model.is_some() && model.config().kind() == "s5" {
        // The official S5 classifier's output: log_softmax of the logits, (batch, classes).
        log_softmax_rows(&mut y, outputs);
        shape = vec![samples * steps, outputs];
    }
    let bytes: Vec<u8> = y.iter().flat_map(|v| v.to_le_bytes()).collect();
    drop(y);
    let view = TensorView::new(Dtype::F32, shape.clone(), &bytes)?;
    let metadata = HashMap::from([
        ("weights".to_string(), args.weights.display().to_string()),
        ("weights_format".to_string(), format),
        ("neuronio_eval".to_string(), args.neuronio_eval.to_string()),
    ]);
    let out = safetensors::serialize([("y", view)], Some(metadata))?;
    crate::io::write_atomically(&args.output, &out)?;
    eprintln!("wrote y {shape:?} to {}", args.output.display());
    Ok(())
}

/// log_softmax over each row of `classes` values, in f64.
fn log_softmax_rows(y: &mut [f32], classes: usize) {
    for row in y.chunks_exact_mut(classes.max(1)) {
        let m = row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)) as f64;
        let lse = m + row.iter().map(|&v| (v as f64 - m).exp()).sum::<f64>().ln();
        for v in row.iter_mut() {
            *v = (*v as f64 - lse) as f32;
        }
    }
}

/// A model of `kind` (its NeuronIO preset changed by `sets`) with every parameter and buffer
/// from a safetensors file of tensors under the model's own names. Every parameter and every
/// buffer must be there, and nothing else: a misspelt or foreign tensor is an error naming it.
pub fn load_named_weights(kind: &str, sets: &[String], path: &Path) -> Result<Box<dyn crate::models::SequenceModel>> {
    let config = crate::tasks::neuronio::model_preset(kind)?.with_overrides(sets)?;
    let bytes = std::fs::read(path).with_context(|| format!("reading weights {}", path.display()))?;
    let file =
        SafeTensors::deserialize(&bytes).with_context(|| format!("{} is not a safetensors file", path.display()))?;
    let mut named = Vec::new();
    for (name, view) in file.tensors() {
        let (dtype, shape, data) = if !matches!(view.dtype(), Dtype::F64 | Dtype::F16 | Dtype::BF16) {
            (view.dtype(), view.shape().to_vec(), view.data().to_vec())
        } else {
            // Any float dtype as f32 (a float64 export of the same weights, say).
            let values = DType::from_safetensors(view.dtype())
                .and_then(|dtype| TensorData::new(dtype, view.shape().to_vec(), view.data().to_vec()))
                .and_then(|tensor| tensor.to_f32())
                .with_context(|| format!("{}: tensor `{name}`", path.display()))?;
            (Dtype::F32, view.shape().to_vec(), values.iter().flat_map(|v| v.to_le_bytes()).collect())
        };
        named.push((name, dtype, shape, data));
    }
    let model = crate::weights::checkpoint::model_from_tensors(&config, &named)
        .with_context(|| format!("loading {} as model `{kind}` {}", path.display(), sets.join(" ")))?;
    let missing: Vec<String> =
        model.buffers().into_iter().map(|(n, _)| n).filter(|n| !named.iter().any(|t| &t.0 == n)).collect();
    if !missing.is_empty() {
        bail!("{} lacks the tensors {} (running statistics)", path.display(), missing.join(", "));
    }
    Ok(model)
}
