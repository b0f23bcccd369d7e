//! The configuration of any model: a TOML/JSON table whose `kind` names the model and whose
//! other keys are that model's own (unknown keys are errors). `kind` is one of `CATALOGUE`.

use super::elm::{Elm, ElmConfig, RoutingKind};
use super::SequenceModel;
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ModelConfig {
    Elm(ElmConfig),
    /// The same model as `elm`; the name marks the dendritic-branch configuration in results.
    BranchElm(ElmConfig),
}

impl ModelConfig {
    /// The model's name in configs, results and reports.
    pub fn kind(&self) -> &'static str {
        match self {
            ModelConfig::Elm(_) => "elm",
            ModelConfig::BranchElm(_) => "branch-elm",
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
        })
    }

    pub fn validate(&self) -> Result<()> {
        match self {
            ModelConfig::Elm(c) | ModelConfig::BranchElm(c) => c.validate(),
        }
    }

    pub fn num_input(&self) -> usize {
        match self {
            ModelConfig::Elm(c) | ModelConfig::BranchElm(c) => c.num_input,
        }
    }

    /// The NeuronIO configuration the paper uses for `kind` (1278 inputs, spike and soma
    /// outputs), the starting point of `report --model` and of experiment declarations.
    pub fn neuronio_preset(kind: &str) -> Result<Self> {
        let mut elm = ElmConfig::new(1278, 2);
        elm.memory_tau_min = 1.0;
        elm.memory_tau_max = 150.0;
        Ok(match kind {
            "elm" => {
                elm.num_memory = 100;
                ModelConfig::Elm(elm)
            }
            "branch-elm" => {
                elm.num_memory = 20;
                elm.num_branch = Some(45);
                elm.num_synapse_per_branch = 100;
                elm.input_to_synapse_routing = Some(RoutingKind::Neuronio);
                ModelConfig::BranchElm(elm)
            }
            other => bail!("unknown model `{other}`; models: {}", super::model_names().join(", ")),
        })
    }

    /// Applies `key=value` overrides to the model's own keys (`num_memory=20`).
    pub fn with_overrides(&self, assignments: &[String]) -> Result<Self> {
        let config = crate::overrides::apply(self, assignments)?;
        config.validate()?;
        Ok(config)
    }
}
