//! The paper's LRA configuration of every model kind (Tables S2 and S3): one-hot inputs of the
//! task's input size, one output per class read at the last step ("CE on the last output"), a
//! time step of one token or pixel. Retrieval wraps the model in two towers (one shared encoder
//! with a latent of 75, then a classifier on [u, v, u * v, u - v]).
//!
//! What Table S2 leaves illegible, chosen here and written down:
//! - ELM tau_m: the initial memory timescales log-spaced over the bounds [1, T] steps (T the
//!   task's sequence length), so the slowest unit can hold the whole sequence; the official code
//!   spaces them logarithmically too. The paper's ranges "per task" were logspace ranges of this
//!   kind; their exponents are lost.
//! - Chrono-LSTM T_max: T, the longest dependency a sequence can hold (Tallec & Ollivier's
//!   recommendation).
//!
//! Kinds the paper did not train on LRA get their NeuronIO sizes with the LRA interface.

use super::{LraSettings, LraTask};
use crate::models::{ModelConfig, ModelInterface};
use crate::nn::Readout;
use anyhow::{Context, Result};

/// Retrieval's document encoding (Table S2).
pub const RETRIEVAL_LATENT: usize = 75;

pub fn model_preset(kind: &str, task: LraTask, settings: &LraSettings) -> Result<ModelConfig> {
    let steps = settings.steps(task);
    let retrieval = task == LraTask::Retrieval;
    let io = ModelInterface {
        num_input: task.input_size(),
        num_output: if retrieval { RETRIEVAL_LATENT } else { task.classes() },
        readout: Readout::LastStep,
        delta_t: Some(1.0),
    };
    let tau_s = if task == LraTask::PathX { 150.0 } else { 5.0 };
    let sets: Vec<String> = match kind {
        "elm" | "branch-elm" => vec![
            "num_memory=150".into(),
            "mlp_num_layers=1".into(),
            format!("tau_s_value={tau_s:?}"),
            "memory_tau_min=1.0".into(),
            format!("memory_tau_max={:?}", steps.max(2) as f64),
            "memory_tau_init_spacing=log".into(),
        ],
        "lstm" => vec!["hidden_size=150".into()],
        "chrono-lstm" => vec!["hidden_size=150".into(), format!("chrono_t_max={steps}")],
        // The official S5 Pathfinder model (lindermanlab/S5, run_lra_pathfinder.sh): 6 layers of
        // H 192, P 256 in 8 blocks, bidirectional, BatchNorm momentum 0.9, dropout 0.05, mean
        // pooling over time. It reads the same one-hot inputs as the ELM (the official reads a
        // grey value: d_input 1), so its encoder has 15 x 192 more weights. The official pooling
        // leaves padding out; ours averages every step, which is the same on the image tasks
        // (never padded) but not on left-padded token sequences.
        "s5" => [
            "readout=mean",
            "d_model=192",
            "ssm_size_base=256",
            "blocks=8",
            "n_layers=6",
            "bidirectional=true",
            "p_dropout=0.05",
            "bn_momentum=0.9",
        ]
        .map(String::from)
        .to_vec(),
        _ => Vec::new(),
    };
    let encoder = crate::tasks::neuronio::model_preset(kind)?
        .with_interface(&io)?
        .with_overrides(&sets)
        .with_context(|| format!("the LRA preset of `{kind}`"))?;
    if retrieval {
        two_tower(&encoder, task)
    } else {
        Ok(encoder)
    }
}

/// `encoder` (fitted to the task) as the shared encoder of a two-tower classifier.
fn two_tower(encoder: &ModelConfig, task: LraTask) -> Result<ModelConfig> {
    let mut table = serde_json::to_value(encoder)?;
    let object = table.as_object_mut().context("a model config is a table")?;
    for key in ["num_input", "num_output", "readout"] {
        object.remove(key);
    }
    let config = serde_json::json!({
        "kind": "two-tower",
        "num_input": task.input_size(),
        "latent": RETRIEVAL_LATENT,
        "num_output": task.classes(),
        "readout": "last-step",
        "encoder": table,
    });
    let config: ModelConfig = serde_json::from_value(config).context("the two-tower Retrieval preset")?;
    config.validate()?;
    Ok(config)
}
