//! elmbench checkpoints: one safetensors file. Tensors carry the official state-dict names
//! (f32 parameters, `input_to_synapse_indices` as i64, `valid_indices_mask` as bool, as in the
//! official `.pt`), and the safetensors header's metadata carries the model name and its JSON
//! config, so a checkpoint is self-describing and other tools can read it.
//!
//! Writes are atomic: a temporary sibling file is written, synced and renamed over the target,
//! so a crash never leaves a half checkpoint where a good one was.

use crate::io::write_atomically;
use crate::models::{Buffer, ModelConfig, SequenceModel};
use anyhow::{bail, Context, Result};
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use std::collections::HashMap;
use std::path::Path;

const FORMAT: &str = "elmbench-checkpoint";
const FORMAT_VERSION: &str = "1";

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// A tensor as stored: name, dtype, shape, little-endian bytes.
pub type NamedTensor = (String, Dtype, Vec<usize>, Vec<u8>);

/// Parameters (f32) and buffers (i64 / bool / f32) of a model, as safetensors entries.
pub fn model_tensors(model: &dyn SequenceModel) -> Vec<NamedTensor> {
    let mut owned: Vec<NamedTensor> = model
        .params()
        .iter()
        .map(|p| (p.name.clone(), Dtype::F32, p.value.shape().to_vec(), f32_bytes(p.value.data())))
        .collect();
    for (name, buffer) in model.buffers() {
        owned.push(match buffer {
            Buffer::I64(v) => (name, Dtype::I64, vec![v.len()], v.iter().flat_map(|i| i.to_le_bytes()).collect()),
            Buffer::Bool(v) => (name, Dtype::BOOL, vec![v.len()], v.iter().map(|&b| b as u8).collect()),
            Buffer::F32(v) => (name, Dtype::F32, vec![v.len()], f32_bytes(&v)),
        });
    }
    owned
}

/// Writes `model` to `path` atomically.
pub fn write_checkpoint(model: &dyn SequenceModel, path: &Path) -> Result<()> {
    let owned = model_tensors(model);
    let views: Vec<(String, TensorView)> = owned
        .iter()
        .map(|(name, dtype, shape, bytes)| Ok((name.clone(), TensorView::new(*dtype, shape.clone(), bytes)?)))
        .collect::<Result<_>>()?;
    let config = model.config();
    let metadata = HashMap::from([
        ("format".to_string(), FORMAT.to_string()),
        ("format_version".to_string(), FORMAT_VERSION.to_string()),
        ("model".to_string(), config.kind().to_string()),
        ("config".to_string(), serde_json::to_string(&config)?),
    ]);
    let bytes = safetensors::serialize(views, Some(metadata))?;
    write_atomically(path, &bytes)
}

/// Reads a checkpoint written by `write_checkpoint`.
pub fn read_checkpoint(path: &Path) -> Result<Box<dyn SequenceModel>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let (_, header) =
        SafeTensors::read_metadata(&bytes).with_context(|| format!("{} is not a safetensors file", path.display()))?;
    let metadata = header.metadata().as_ref().cloned().unwrap_or_default();
    if metadata.get("format").map(String::as_str) != Some(FORMAT) {
        bail!(
            "{} is a safetensors file but not an elmbench checkpoint (no `format: {FORMAT}` in its metadata)",
            path.display()
        );
    }
    let kind = metadata.get("model").with_context(|| format!("{}: metadata has no `model`", path.display()))?;
    let config_text =
        metadata.get("config").with_context(|| format!("{}: metadata has no `config`", path.display()))?;
    let config =
        parse_config(kind, config_text).with_context(|| format!("{}: invalid config in metadata", path.display()))?;
    let tensors = SafeTensors::deserialize(&bytes).with_context(|| format!("{}: corrupt tensors", path.display()))?;
    let named: Vec<NamedTensor> = tensors
        .tensors()
        .into_iter()
        .map(|(name, v)| (name, v.dtype(), v.shape().to_vec(), v.data().to_vec()))
        .collect();
    model_from_tensors(&config, &named).with_context(|| format!("loading {}", path.display()))
}

/// The metadata's config; checkpoints written before models had a `kind` hold a bare ELM config.
fn parse_config(kind: &str, text: &str) -> Result<ModelConfig> {
    let mut value: serde_json::Value = serde_json::from_str(text)?;
    if let Some(object) = value.as_object_mut() {
        object.entry("kind").or_insert_with(|| kind.into());
        if object.get("kind").and_then(|k| k.as_str()) != Some(kind) {
            bail!("the metadata says model `{kind}` but its config says {}", object["kind"]);
        }
    }
    Ok(serde_json::from_value(value)?)
}

/// Builds the model of `config` and sets every tensor; all parameters must be present.
pub fn model_from_tensors(config: &ModelConfig, tensors: &[NamedTensor]) -> Result<Box<dyn SequenceModel>> {
    // Sizes in a file's config must fit its tensors before the model is built (the fuzz harness
    // found a 250-byte config beside a small file asking for hundreds of MiB). Counting 4 bytes a
    // value over-counts i64 and bool buffers, so a genuine file always passes.
    if let Some(needed) = config.min_weight_scalars() {
        let held = tensors.iter().fold(0usize, |acc, t| acc.saturating_add(t.3.len() / 4));
        if needed > held {
            bail!(
                "the config ({} model) asks for at least {needed} weights, but the file's tensors hold {held} values: \
                 the config does not belong to these tensors",
                config.kind()
            );
        }
    }
    let mut model = config.build(0)?;
    let buffer_names: Vec<String> = model.buffers().into_iter().map(|(n, _)| n).collect();
    let mut seen = Vec::new();
    for (name, dtype, shape, bytes) in tensors {
        if buffer_names.contains(name) {
            let buffer = match dtype {
                Dtype::I64 => Buffer::I64(
                    bytes.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes"))).collect(),
                ),
                Dtype::BOOL => Buffer::Bool(bytes.iter().map(|&b| b != 0).collect()),
                Dtype::F32 => Buffer::F32(
                    bytes.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))).collect(),
                ),
                other => bail!("`{name}` must be i64, bool or f32, found {other:?}"),
            };
            model.set_buffer(name, buffer)?;
            continue;
        }
        if *dtype != Dtype::F32 {
            bail!("parameter `{name}` must be f32, found {dtype:?}");
        }
        let values = bytes.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))).collect();
        model.params_mut().assign(name, values, shape)?;
        seen.push(name.clone());
    }
    let missing: Vec<&str> =
        model.params().iter().map(|p| p.name.as_str()).filter(|n| !seen.iter().any(|s| s == n)).collect();
    if !missing.is_empty() {
        bail!("missing parameters: {}", missing.join(", "));
    }
    Ok(model)
}

/// Routing as saved; exposed for loaders of other formats.
pub fn routing_from(indices: Vec<i64>, valid: Vec<bool>) -> Result<crate::models::elm::SynapseRouting> {
    let input_of_synapse = indices
        .into_iter()
        .map(|i| u32::try_from(i).map_err(|_| anyhow::anyhow!("routing holds the invalid index {i}")))
        .collect::<Result<_>>()?;
    Ok(crate::models::elm::SynapseRouting { input_of_synapse, valid })
}
