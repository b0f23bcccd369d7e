//! The configuration of any model: a TOML/JSON table whose `kind` names the model and whose
//! other keys are that model's own (unknown keys are errors). `kind` is one of `CATALOGUE`.

use super::elm::{Elm, ElmConfig};
use super::lif::{Lif, LifConfig};
use super::lstm::{Lstm, LstmConfig};
use super::s5::{S5Config, S5};
use super::snn::{Snn, SnnConfig};
use super::tcn::{Tcn, TcnConfig};
use super::two_tower::{TwoTower, TwoTowerConfig};
use super::SequenceModel;
use crate::nn::Readout;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// What a task asks of a model's interface.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelInterface {
    pub num_input: usize,
    pub num_output: usize,
    pub readout: Readout,
    /// The time step in ms, for models that have one.
    pub delta_t: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ModelConfig {
    Elm(ElmConfig),
    /// The same model as `elm`; the name marks the dendritic-branch configuration in results.
    BranchElm(ElmConfig),
    /// A single-layer LSTM with a linear readout at every step (PyTorch init).
    Lstm(LstmConfig),
    /// The same LSTM with chrono initialisation (needs `chrono_t_max`).
    ChronoLstm(LstmConfig),
    /// Leaky integrate-and-fire neuron (Table S4's "LIF (classic)").
    Lif(LifConfig),
    /// LIF with an adaptive threshold (Table S4's "ALIF (classic)"); the same keys plus adaptation.
    Alif(LifConfig),
    /// Beniaguev et al.'s temporal convolutional network.
    Tcn(TcnConfig),
    /// The paper's LIF-based spiking network for SHD (500 neurons, 100 random synapses each).
    Snn(SnnConfig),
    /// Pairs of documents through one shared encoder (any other kind), then a classifier on
    /// [u, v, u * v, u - v]: LRA Retrieval's two-tower setup.
    TwoTower(TwoTowerConfig),
    /// The S5 state-space model (Smith et al. 2023) under the official option names.
    S5(S5Config),
}

impl ModelConfig {
    /// The model's name in configs, results and reports.
    pub fn kind(&self) -> &'static str {
        match self {
            ModelConfig::Elm(_) => "elm",
            ModelConfig::BranchElm(_) => "branch-elm",
            ModelConfig::Lstm(_) => "lstm",
            ModelConfig::ChronoLstm(_) => "chrono-lstm",
            ModelConfig::Lif(_) => "lif",
            ModelConfig::Alif(_) => "alif",
            ModelConfig::Tcn(_) => "tcn",
            ModelConfig::Snn(_) => "snn",
            ModelConfig::TwoTower(_) => "two-tower",
            ModelConfig::S5(_) => "s5",
        }
    }

    /// The fewest weights a file holding this model must hold, where that is known without
    /// building it (ELM, LSTM; saturating): loaders of weights files compare it with the file
    /// before building, so a size in a file's config cannot allocate more than the file holds.
    pub fn min_weight_scalars(&self) -> Option<usize> {
        match self {
            ModelConfig::Elm(c) | ModelConfig::BranchElm(c) => Some(c.weight_scalars()),
            ModelConfig::Lstm(c) | ModelConfig::ChronoLstm(c) => {
                // weight_ih (4h x inputs) and weight_hh (4h x h).
                let gates = c.hidden_size.saturating_mul(4);
                Some(gates.saturating_mul(c.num_input.saturating_add(c.hidden_size)))
            }
            _ => None,
        }
    }

    /// Builds a freshly initialised model.
    pub fn build(&self, seed: u64) -> Result<Box<dyn SequenceModel>> {
        Ok(match self {
            ModelConfig::Elm(c) | ModelConfig::BranchElm(c) => {
                let mut elm = Elm::new(c.clone(), seed)?;
                elm.branch_variant = matches!(self, ModelConfig::BranchElm(_));
                Box::new(elm)
            }
            ModelConfig::Lstm(c) => Box::new(Lstm::new(c.clone(), false, seed)?),
            ModelConfig::ChronoLstm(c) => Box::new(Lstm::new(c.clone(), true, seed)?),
            ModelConfig::Lif(c) => Box::new(Lif::new(c.clone(), false, seed)?),
            ModelConfig::Alif(c) => Box::new(Lif::new(c.clone(), true, seed)?),
            ModelConfig::Tcn(c) => Box::new(Tcn::new(c.clone(), seed)?),
            ModelConfig::Snn(c) => Box::new(Snn::new(c.clone(), seed)?),
            ModelConfig::TwoTower(c) => Box::new(TwoTower::new(c.clone(), seed)?),
            ModelConfig::S5(c) => Box::new(S5::new(c.clone(), seed)?),
        })
    }

    pub fn validate(&self) -> Result<()> {
        match self {
            ModelConfig::Elm(c) | ModelConfig::BranchElm(c) => c.validate(),
            ModelConfig::Lstm(c) => c.init(false).map(|_| ()),
            ModelConfig::ChronoLstm(c) => c.init(true).map(|_| ()),
            ModelConfig::Lif(c) => c.validate(false),
            ModelConfig::Alif(c) => c.validate(true),
            ModelConfig::Tcn(c) => c.validate(),
            ModelConfig::Snn(c) => c.validate(),
            ModelConfig::TwoTower(c) => c.validate(),
            ModelConfig::S5(c) => c.validate(),
        }
    }

    pub fn num_input(&self) -> usize {
        match self {
            ModelConfig::Elm(c) | ModelConfig::BranchElm(c) => c.num_input,
            ModelConfig::Lstm(c) | ModelConfig::ChronoLstm(c) => c.num_input,
            ModelConfig::Lif(c) | ModelConfig::Alif(c) => c.num_input,
            ModelConfig::Tcn(c) => c.num_input,
            ModelConfig::Snn(c) => c.num_input,
            ModelConfig::TwoTower(c) => c.num_input,
            ModelConfig::S5(c) => c.d_input,
        }
    }

    /// The number of outputs per reported step.
    pub fn num_output(&self) -> Result<usize> {
        Ok(self.build(0)?.num_output())
    }

    /// The same model fitted to a task: its input and output sizes, its readout, and (for models
    /// with a time step, such as the ELM's `delta_t`) the task's step in ms. One mechanism for
    /// every model: the settings go in by their common names, and a model that lacks one of them
    /// says so instead of silently ignoring it.
    pub fn with_interface(&self, io: &ModelInterface) -> Result<Self> {
        let mut value = serde_json::to_value(self)?;
        let object = value.as_object_mut().context("a model config is a table")?;
        // A model that names its sizes otherwise (S5's official `d_input` / `d_output`) takes the
        // common names as aliases: the interface's value replaces its own.
        for own_name in ["d_input", "d_output"] {
            object.remove(own_name);
        }
        object.insert("num_input".into(), io.num_input.into());
        object.insert("num_output".into(), io.num_output.into());
        if !io.readout.is_per_step() {
            object.insert("readout".into(), serde_json::to_value(io.readout)?);
        }
        if let Some(dt) = io.delta_t {
            if object.contains_key("delta_t") {
                object.insert("delta_t".into(), dt.into());
            }
        }
        let config: ModelConfig = serde_json::from_value(value).with_context(|| {
            format!(
                "model `{}` cannot take {} inputs, {} outputs and readout {:?}",
                self.kind(),
                io.num_input,
                io.num_output,
                io.readout
            )
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Applies `key=value` overrides to the model's own keys (`num_memory=20`).
    pub fn with_overrides(&self, assignments: &[String]) -> Result<Self> {
        let config = crate::overrides::apply(self, assignments)?;
        config.validate()?;
        Ok(config)
    }
}
