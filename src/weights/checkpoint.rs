//! elmbench checkpoints: one safetensors file. Tensors carry the official state-dict names
//! (f32 parameters, `input_to_synapse_indices` as i64, `valid_indices_mask` as bool, as in the
//! official `.pt`), and the safetensors header's metadata carries the model name and its JSON
//! config, so a checkpoint is self-describing and other tools can read it.
//!
//! Writes are atomic: a temporary sibling file is written, synced and renamed over the target,
//! so a crash never leaves a half checkpoint where a good one was.

use crate::models::elm::{Elm, ElmConfig, SynapseRouting};
use anyhow::{bail, Context, Result};
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

const FORMAT: &str = "elmbench-checkpoint";
const FORMAT_VERSION: &str = "1";

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Writes `elm` to `path` atomically.
pub fn write_checkpoint(elm: &Elm, path: &Path) -> Result<()> {
    let mut owned: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = elm
        .params
        .iter()
        .map(|p| (p.name.clone(), Dtype::F32, p.value.shape().to_vec(), f32_bytes(p.value.data())))
        .collect();
    let n = elm.routing.valid.len();
    owned.push((
        "input_to_synapse_indices".into(),
        Dtype::I64,
        vec![n],
        elm.routing.input_of_synapse.iter().flat_map(|&i| (i as i64).to_le_bytes()).collect(),
    ));
    owned.push((
        "valid_indices_mask".into(),
        Dtype::BOOL,
        vec![n],
        elm.routing.valid.iter().map(|&v| v as u8).collect(),
    ));
    let views: Vec<(String, TensorView)> = owned
        .iter()
        .map(|(name, dtype, shape, bytes)| Ok((name.clone(), TensorView::new(*dtype, shape.clone(), bytes)?)))
        .collect::<Result<_>>()?;
    let metadata = HashMap::from([
        ("format".to_string(), FORMAT.to_string()),
        ("format_version".to_string(), FORMAT_VERSION.to_string()),
        ("model".to_string(), "elm".to_string()),
        ("config".to_string(), serde_json::to_string(&elm.config)?),
    ]);
    let bytes = safetensors::serialize(views, Some(metadata))?;
    write_atomically(path, &bytes)
}

/// Writes `bytes` to a temporary sibling, syncs it, and renames it over `path`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let file_name = path.file_name().with_context(|| format!("{} has no file name", path.display()))?;
    let tmp = path.with_file_name(format!(".{}.tmp-{}", file_name.to_string_lossy(), std::process::id()));
    let result = (|| -> Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing {}", path.display()))
}

/// Reads a checkpoint written by `write_checkpoint`.
pub fn read_checkpoint(path: &Path) -> Result<Elm> {
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
    if metadata.get("model").map(String::as_str) != Some("elm") {
        bail!("{}: unknown model {:?}", path.display(), metadata.get("model"));
    }
    let config_text =
        metadata.get("config").with_context(|| format!("{}: metadata has no `config`", path.display()))?;
    let config: ElmConfig =
        serde_json::from_str(config_text).with_context(|| format!("{}: invalid config in metadata", path.display()))?;
    let tensors = SafeTensors::deserialize(&bytes).with_context(|| format!("{}: corrupt tensors", path.display()))?;
    let mut named = Vec::new();
    for (name, view) in tensors.tensors() {
        named.push((name, view.dtype(), view.shape().to_vec(), view.data().to_vec()));
    }
    elm_from_tensors(config, &named).with_context(|| format!("loading {}", path.display()))
}

/// A decoded tensor: dtype, shape and little-endian bytes.
type NamedTensor = (String, Dtype, Vec<usize>, Vec<u8>);

fn elm_from_tensors(config: ElmConfig, tensors: &[NamedTensor]) -> Result<Elm> {
    let mut elm = Elm::new(config, 0)?;
    let mut routing = elm.routing.clone();
    let mut seen = Vec::new();
    for (name, dtype, shape, bytes) in tensors {
        match name.as_str() {
            "input_to_synapse_indices" => {
                if *dtype != Dtype::I64 {
                    bail!("`{name}` must be i64, found {dtype:?}");
                }
                routing.input_of_synapse = bytes
                    .chunks_exact(8)
                    .map(|c| {
                        let i = i64::from_le_bytes(c.try_into().expect("8 bytes"));
                        u32::try_from(i).map_err(|_| anyhow::anyhow!("`{name}` holds the invalid index {i}"))
                    })
                    .collect::<Result<_>>()?;
            }
            "valid_indices_mask" => {
                if *dtype != Dtype::BOOL {
                    bail!("`{name}` must be bool, found {dtype:?}");
                }
                routing.valid = bytes.iter().map(|&b| b != 0).collect();
            }
            _ => {
                if *dtype != Dtype::F32 {
                    bail!("parameter `{name}` must be f32, found {dtype:?}");
                }
                let values =
                    bytes.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))).collect();
                elm.assign(name, values, shape)?;
                seen.push(name.clone());
            }
        }
    }
    let missing: Vec<&str> =
        elm.params.iter().map(|p| p.name.as_str()).filter(|n| !seen.iter().any(|s| s == n)).collect();
    if !missing.is_empty() {
        bail!("missing parameters: {}", missing.join(", "));
    }
    elm.set_routing(routing)?;
    Ok(elm)
}

/// Routing as saved; exposed for loaders of other formats.
pub fn routing_from(indices: Vec<i64>, valid: Vec<bool>) -> Result<SynapseRouting> {
    let input_of_synapse = indices
        .into_iter()
        .map(|i| u32::try_from(i).map_err(|_| anyhow::anyhow!("routing holds the invalid index {i}")))
        .collect::<Result<_>>()?;
    Ok(SynapseRouting { input_of_synapse, valid })
}
