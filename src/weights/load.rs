//! Loading a model from whatever the user points at: our checkpoint (safetensors) or an official
//! PyTorch state dict (`.pt`, a zip archive) with its `model_config.json` beside it.

use super::checkpoint::{read_checkpoint, routing_from};
use super::torch_pt::read_state_dict;
use crate::models::elm::{Elm, ElmConfig};
use crate::models::SequenceModel;
use anyhow::{bail, Context, Result};
use std::io::Read;
use std::path::Path;

/// Where the weights came from, for logs and result files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WeightsFormat {
    Checkpoint,
    OfficialPyTorch,
}

/// Any model: an elmbench checkpoint, or an official ELM `.pt` (recognised by its zip magic).
pub fn load_model(path: &Path) -> Result<(Box<dyn SequenceModel>, WeightsFormat)> {
    let mut magic = [0u8; 4];
    let mut file = std::fs::File::open(path).with_context(|| format!("opening weights {}", path.display()))?;
    let read = file.read(&mut magic).with_context(|| format!("reading {}", path.display()))?;
    if read == 4 && &magic == b"PK\x03\x04" {
        Ok((Box::new(load_official(path)?), WeightsFormat::OfficialPyTorch))
    } else {
        Ok((read_checkpoint(path)?, WeightsFormat::Checkpoint))
    }
}

/// An official `neuronio_best_model_state.pt` and the `model_config.json` in the same folder.
pub fn load_official(path: &Path) -> Result<Elm> {
    let config_path = path.with_file_name("model_config.json");
    let text = std::fs::read_to_string(&config_path).with_context(|| {
        format!("an official .pt needs its model_config.json beside it; could not read {}", config_path.display())
    })?;
    let config: ElmConfig =
        serde_json::from_str(&text).with_context(|| format!("invalid model config {}", config_path.display()))?;
    let state = read_state_dict(path)?;
    // The config's sizes must fit the weights before the model is built: otherwise a doctored
    // model_config.json beside a small .pt allocates up to the size limits (found by the fuzz
    // harness: a 250-byte config asked for hundreds of MiB).
    let held = state.entries.iter().fold(0usize, |acc, (_, t)| acc.saturating_add(t.numel()));
    let needed = config.weight_scalars();
    if needed > held {
        bail!(
            "{} describes an ELM of at least {needed} weights (num_memory = {}, mlp_hidden_size = {}, \
             mlp_num_layers = {}), but {} holds {held} values: the config does not belong to these weights",
            config_path.display(),
            config.num_memory,
            config.mlp_hidden_size(),
            config.mlp_num_layers,
            path.display()
        );
    }
    let mut elm =
        Elm::new(config, 0).with_context(|| format!("the config {} is not a valid ELM", config_path.display()))?;
    let mut indices = None;
    let mut valid = None;
    for (name, tensor) in &state.entries {
        let context = || format!("{}: tensor `{name}`", path.display());
        match name.as_str() {
            // Both are empty tensors in a model without routing.
            "input_to_synapse_indices" if tensor.numel() > 0 => indices = Some(tensor.to_i64().with_context(context)?),
            "valid_indices_mask" if tensor.numel() > 0 => valid = Some(tensor.to_bool().with_context(context)?),
            "input_to_synapse_indices" | "valid_indices_mask" => {}
            _ => elm.assign(name, tensor.to_f32().with_context(context)?, &tensor.shape).with_context(context)?,
        }
    }
    let missing: Vec<&str> = elm.params.iter().map(|p| p.name.as_str()).filter(|n| state.get(n).is_none()).collect();
    if !missing.is_empty() {
        bail!("{} lacks the parameters {}", path.display(), missing.join(", "));
    }
    match (indices, valid) {
        (Some(i), Some(v)) => elm.set_routing(routing_from(i, v)?).with_context(|| format!("{}", path.display()))?,
        (None, None) if elm.config.input_to_synapse_routing.is_none() => {}
        _ => bail!("{}: the routing tensors do not match the config's input_to_synapse_routing", path.display()),
    }
    Ok(elm)
}
