//! The S5 configuration (`kind = "s5"`), under the official option names of S5's `run_train.py`
//! (`d_model`, `ssm_size_base`, `blocks`, `C_init`, ...), so that an official run's arguments read
//! as a config here, and an omitted option takes `run_train.py`'s default (d_model 128,
//! ssm_size_base 256, blocks 8, n_layers 6, bn_momentum 0.95, unidirectional, half_glu1, pre-norm
//! BatchNorm, ZOH, pool). The harness's common names `num_input` / `num_output` are accepted as
//! aliases of `d_input` / `d_output` (`ModelConfig::with_interface` sets them by those names).

use crate::nn::Readout;
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// Bounds checked before anything is allocated: far above every published S5 configuration
/// (d_model 512, P 384, 8 layers, 16 blocks), far below what would exhaust memory by a typo.
pub const MAX_D_INPUT: usize = 1 << 16;
pub const MAX_D_OUTPUT: usize = 1 << 16;
pub const MAX_D_MODEL: usize = 4096;
pub const MAX_SSM_SIZE: usize = 4096;
pub const MAX_LAYERS: usize = 64;

/// How C is drawn (`S5SSM.C_init`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CInit {
    /// Row by row lecun-normal (truncated) over (2P, 2), then C V: the official default.
    TruncStandardNormal,
    /// Lecun-normal over the whole (H, 2P, 2), then C V.
    LecunNormal,
    /// Complex normal with variance 1/2 per part, not multiplied by V; one parameter `C` of
    /// shape (H, n_C P, 2) even when bidirectional.
    ComplexNormal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Discretization {
    Zoh,
    Bilinear,
}

/// `SequenceLayer.activation`: what follows the SSM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// drop(gelu(y)) only.
    Gelu,
    /// g = drop(gelu(y)); drop(g * sigmoid(out2(g))).
    HalfGlu1,
    /// g = drop(gelu(y)); drop(y * sigmoid(out2(g))).
    HalfGlu2,
    /// g = drop(gelu(y)); drop(out1(g) * sigmoid(out2(g))).
    FullGlu,
}

/// `ClassificationModel.mode`: what the decoder reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Mean over time (no padding).
    Pool,
    /// The last step.
    Last,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S5Config {
    #[serde(alias = "num_input")]
    pub d_input: usize,
    /// Classes: the decoder's outputs (logits; the harness's cross-entropy applies the softmax).
    #[serde(alias = "num_output")]
    pub d_output: usize,
    /// H, the width of every layer.
    #[serde(default = "default_d_model")]
    pub d_model: usize,
    /// P before conjugate symmetry halves it: the complex states of one layer.
    #[serde(default = "default_ssm_size_base")]
    pub ssm_size_base: usize,
    /// HiPPO blocks on the diagonal of the initial state matrix.
    #[serde(default = "default_blocks")]
    pub blocks: usize,
    #[serde(default = "default_n_layers")]
    pub n_layers: usize,
    #[serde(rename = "C_init", default = "default_c_init")]
    pub c_init: CInit,
    #[serde(default = "default_discretization")]
    pub discretization: Discretization,
    #[serde(default = "default_dt_min")]
    pub dt_min: f64,
    #[serde(default = "default_dt_max")]
    pub dt_max: f64,
    #[serde(default = "yes")]
    pub conj_sym: bool,
    #[serde(default)]
    pub clip_eigs: bool,
    #[serde(default)]
    pub bidirectional: bool,
    #[serde(default = "default_activation")]
    pub activation_fn: Activation,
    #[serde(default = "yes")]
    pub prenorm: bool,
    /// BatchNorm (true) or LayerNorm (false).
    #[serde(default = "yes")]
    pub batchnorm: bool,
    #[serde(default = "default_bn_momentum")]
    pub bn_momentum: f64,
    #[serde(default)]
    pub p_dropout: f64,
    /// Unset: taken from `readout` (mean -> pool, last-step -> last), else pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// The harness's name for what the task reads (set by `with_interface`); it must agree with
    /// `mode` when both are set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readout: Option<Readout>,
}

fn default_d_model() -> usize {
    128
}
fn default_ssm_size_base() -> usize {
    256
}
fn default_blocks() -> usize {
    8
}
fn default_n_layers() -> usize {
    6
}
fn yes() -> bool {
    true
}
fn default_c_init() -> CInit {
    CInit::TruncStandardNormal
}
fn default_discretization() -> Discretization {
    Discretization::Zoh
}
fn default_dt_min() -> f64 {
    0.001
}
fn default_dt_max() -> f64 {
    0.1
}
fn default_activation() -> Activation {
    Activation::HalfGlu1
}
fn default_bn_momentum() -> f64 {
    0.95
}

impl S5Config {
    /// The given sizes with `run_train.py`'s defaults for everything else (as a config that
    /// omits those keys).
    pub fn new(d_input: usize, d_output: usize, d_model: usize, ssm_size_base: usize, n_layers: usize) -> Self {
        Self {
            d_input,
            d_output,
            d_model,
            ssm_size_base,
            blocks: default_blocks(),
            n_layers,
            c_init: default_c_init(),
            discretization: default_discretization(),
            dt_min: default_dt_min(),
            dt_max: default_dt_max(),
            conj_sym: true,
            clip_eigs: false,
            bidirectional: false,
            activation_fn: default_activation(),
            prenorm: true,
            batchnorm: true,
            bn_momentum: default_bn_momentum(),
            p_dropout: 0.0,
            mode: None,
            readout: None,
        }
    }

    /// Checks every size before anything is allocated; errors name the key.
    pub fn validate(&self) -> Result<()> {
        let bounded = |key: &str, value: usize, max: usize| -> Result<()> {
            if value == 0 || value > max {
                bail!("s5: `{key}` = {value} must be between 1 and {max}");
            }
            Ok(())
        };
        bounded("d_input", self.d_input, MAX_D_INPUT)?;
        bounded("d_output", self.d_output, MAX_D_OUTPUT)?;
        bounded("d_model", self.d_model, MAX_D_MODEL)?;
        bounded("ssm_size_base", self.ssm_size_base, MAX_SSM_SIZE)?;
        bounded("n_layers", self.n_layers, MAX_LAYERS)?;
        bounded("blocks", self.blocks, self.ssm_size_base)?;
        if !self.ssm_size_base.is_multiple_of(self.blocks) {
            bail!(
                "s5: `ssm_size_base` = {} must be a multiple of `blocks` = {} (each block is a HiPPO matrix of ssm_size_base / blocks)",
                self.ssm_size_base,
                self.blocks
            );
        }
        if self.conj_sym && !(self.ssm_size_base / self.blocks).is_multiple_of(2) {
            bail!(
                "s5: with `conj_sym` the block size ssm_size_base / blocks = {} must be even (half of each block's eigenpairs are kept)",
                self.ssm_size_base / self.blocks
            );
        }
        if !(self.dt_min.is_finite() && self.dt_max.is_finite() && self.dt_min > 0.0 && self.dt_min <= self.dt_max) {
            bail!("s5: `dt_min` = {} and `dt_max` = {} must satisfy 0 < dt_min <= dt_max", self.dt_min, self.dt_max);
        }
        if !(0.0..1.0).contains(&self.p_dropout) {
            bail!("s5: `p_dropout` = {} must be in [0, 1)", self.p_dropout);
        }
        if !(0.0..=1.0).contains(&self.bn_momentum) {
            bail!("s5: `bn_momentum` = {} must be in [0, 1]", self.bn_momentum);
        }
        self.resolved_mode()?;
        Ok(())
    }

    /// The decoder's input: `mode`, else what `readout` asks, else pool.
    pub fn resolved_mode(&self) -> Result<Mode> {
        let from_readout = match self.readout {
            None => None,
            Some(Readout::Mean) => Some(Mode::Pool),
            Some(Readout::LastStep) => Some(Mode::Last),
            Some(Readout::PerStep) => {
                bail!("s5: readout `per-step` is not an S5 classifier's output (mode is `pool` or `last`)")
            }
        };
        match (self.mode, from_readout) {
            (Some(m), Some(r)) if m != r => {
                bail!("s5: `mode` = {m:?} disagrees with `readout` = {:?}", self.readout.unwrap_or_default())
            }
            (Some(m), _) | (None, Some(m)) => Ok(m),
            (None, None) => Ok(Mode::Pool),
        }
    }

    /// Complex states stored per layer: P, halved by conjugate symmetry.
    pub fn states(&self) -> usize {
        if self.conj_sym {
            self.ssm_size_base / 2
        } else {
            self.ssm_size_base
        }
    }

    /// Output matrices: two (forward and backward scan) when bidirectional.
    pub fn directions(&self) -> usize {
        if self.bidirectional {
            2
        } else {
            1
        }
    }
}
