//! `elmbench forward`: run a model on a tensor of inputs and write its outputs.

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
    /// its model_config.json in the same folder.
    #[arg(long)]
    pub weights: PathBuf,
    /// A safetensors file with tensor `x` of shape (batch, time, inputs), any float or integer
    /// dtype (f64, f32, f16, bf16, i64, i32, i16, i8, u8, bool).
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
}

pub fn run(args: ForwardArgs) -> Result<()> {
    let (model, format) = load_model(&args.weights)?;
    let (shape, x) = read_input(&args.input)?;
    let (batch, time, features) = (shape[0], shape[1], shape[2]);
    if features != model.num_input() {
        bail!(
            "{}: tensor `x` has {features} inputs per step (shape {shape:?}), but the model in {} expects num_input = {}",
            args.input.display(),
            args.weights.display(),
            model.num_input()
        );
    }
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
    let outputs = model.num_output();
    if args.neuronio_eval {
        if outputs < 2 {
            bail!("--neuronio-eval needs a model with 2 outputs (spike, soma); this one has {outputs}");
        }
        neuronio_eval_transform(&mut y, outputs);
    }
    let bytes: Vec<u8> = y.iter().flat_map(|v| v.to_le_bytes()).collect();
    // A last-step or mean readout reports one step per sample; a two-tower one sample per pair.
    let (samples, steps) = model.reported_shape(batch, time);
    let view = TensorView::new(Dtype::F32, vec![samples, steps, outputs], &bytes)?;
    let metadata = HashMap::from([
        ("weights".to_string(), args.weights.display().to_string()),
        ("weights_format".to_string(), format!("{format:?}")),
        ("neuronio_eval".to_string(), args.neuronio_eval.to_string()),
    ]);
    let out = safetensors::serialize([("y", view)], Some(metadata))?;
    crate::io::write_atomically(&args.output, &out)?;
    eprintln!("wrote y {:?} to {}", [samples, steps, outputs], args.output.display());
    Ok(())
}

/// Tensor `x` of a safetensors file as f32, with its shape (which must be 3-D).
pub fn read_input(path: &Path) -> Result<(Vec<usize>, Vec<f32>)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading input {}", path.display()))?;
    let file =
        SafeTensors::deserialize(&bytes).with_context(|| format!("{} is not a safetensors file", path.display()))?;
    let view = file
        .tensor("x")
        .with_context(|| format!("{} has no tensor `x` (it has: {})", path.display(), file.names().join(", ")))?;
    let shape = view.shape().to_vec();
    if shape.len() != 3 {
        bail!("{}: tensor `x` must be (batch, time, inputs), found shape {shape:?}", path.display());
    }
    let values = DType::from_safetensors(view.dtype())
        .and_then(|dtype| TensorData::new(dtype, shape.clone(), view.data().to_vec()))
        .and_then(|tensor| tensor.to_f32())
        .with_context(|| format!("{}: tensor `x`", path.display()))?;
    Ok((shape, values))
}
