//! A two-tower model for pairs of documents (LRA Retrieval): ONE shared encoder (any other model
//! kind: the ELM, a chrono-LSTM, ...) encodes each document of a pair into `latent` numbers (its
//! outputs at the pooled step: the last, or the mean over time), and a small classifier decides
//! on the pair from [u, v, u * v, u - v] (one hidden ReLU layer, then `num_output` logits).
//!
//! # Batch convention
//!
//! The input batch holds 2B sequences: the B first documents of the pairs, then the B second
//! documents, in the same pair order (so sequence b and sequence B + b form pair b). The model
//! reports (B, 1, num_output): one decision per pair (`reported_shape(2B, T) = (B, 1)`). Both
//! towers run as one batch of 2B through the encoder, which is what makes them share weights
//! exactly, and the encoder's gradient is its backward pass over that batch with the gradients of
//! both towers' encodings: the sum over the two towers that weight sharing means.
//!
//! # Interface
//!
//! `num_input` is the encoder's (the task's alphabet), `num_output` the head's classes, and
//! `readout` how each tower pools its steps (last-step by default, or mean); `with_interface`
//! therefore fits a two-tower to a task like any model. The head's choice (one hidden layer of
//! `hidden` units, default 2 x latent) follows the brief; LRA's own matching head
//! (`classifier_head_dual`) has a second hidden layer of half the width.
//!
//! # Parameters
//!
//! The encoder's parameters come first, named `encoder.<its name>` (`encoder.mlp.network.0.weight`),
//! then the head's: `head.hidden.weight` (hidden, 4 latent), `head.hidden.bias`,
//! `head.output.weight` (num_output, hidden), `head.output.bias`; the encoder's buffers (an ELM's
//! routing) pass through as `encoder.<name>`. The trait hands out one parameter set, so this set is
//! where the encoder's values live: every pass runs a copy of the encoder with them copied in, and
//! keeps that copy for its backward pass.

mod config;
mod head;
mod sequence_model;

pub use config::TwoTowerConfig;

use crate::engine::{Inputs, ParamSet, Rng, Tensor};
use crate::models::{check_features, ForwardPass, SequenceModel};
use anyhow::{bail, ensure, Result};
use head::{HeadPass, HeadWeights};

/// Prefix of the encoder's parameter and buffer names.
const ENCODER: &str = "encoder.";
/// Stream of the head's initialisation, apart from the encoder's (which is built with the seed
/// itself, so the encoder equals a lone model built with the same seed).
const HEAD_STREAM: u64 = 0x7470_6865_6164;

pub struct TwoTower {
    pub config: TwoTowerConfig,
    /// The encoder as built (kind, shapes, buffers). Its own parameters are not read: the live
    /// values are the `encoder.` entries of `params`.
    encoder: Box<dyn SequenceModel>,
    params: ParamSet,
    /// `params[..encoder_params]` are the encoder's, in its order.
    encoder_params: usize,
    head: HeadIds,
}

#[derive(Clone, Copy)]
struct HeadIds {
    w1: usize,
    b1: usize,
    w2: usize,
    b2: usize,
}

impl Clone for TwoTower {
    fn clone(&self) -> Self {
        Self {
            config: self.config.clone(),
            encoder: self.encoder.clone_model(),
            params: self.params.clone(),
            encoder_params: self.encoder_params,
            head: self.head,
        }
    }
}

/// One pass over a batch of pairs.
pub struct TwoTowerForward {
    /// The encoder the pass ran, with the parameters it ran with (for its backward pass).
    encoder: Box<dyn SequenceModel>,
    /// The encoder's pass over all 2B documents: (2B, 1, latent) encodings.
    encoded: Box<dyn ForwardPass>,
    head: HeadPass,
    shape: (usize, usize),
}

impl TwoTower {
    /// A freshly initialised model: the encoder as its own kind initialises it with `seed`, the
    /// head as PyTorch's `nn.Linear` (uniform in +-1/sqrt(fan_in)) from a separate stream.
    pub fn new(config: TwoTowerConfig, seed: u64) -> Result<Self> {
        config.validate()?;
        let encoder = config.encoder_config()?.build(seed)?;
        let mut params = ParamSet::default();
        for p in encoder.params().iter() {
            params.push(&format!("{ENCODER}{}", p.name), p.value.clone(), p.trainable);
        }
        let encoder_params = params.len();
        let mut rng = Rng::derive(seed, HEAD_STREAM);
        let (hidden, features) = (config.hidden(), config.feature_size());
        let (w1, b1) = linear_init(&mut rng, hidden, features);
        let (w2, b2) = linear_init(&mut rng, config.num_output, hidden);
        let head = HeadIds {
            w1: params.push("head.hidden.weight", w1, true),
            b1: params.push("head.hidden.bias", b1, true),
            w2: params.push("head.output.weight", w2, true),
            b2: params.push("head.output.bias", b2, true),
        };
        Ok(Self { config, encoder, params, encoder_params, head })
    }

    /// The shared encoder with the model's current parameters.
    pub fn encoder(&self) -> Box<dyn SequenceModel> {
        let mut encoder = self.encoder.clone_model();
        for (dst, src) in encoder.params_mut().iter_mut().zip(self.params.iter()) {
            dst.value.data_mut().copy_from_slice(src.value.data());
        }
        encoder
    }

    fn head_weights(&self) -> HeadWeights<'_> {
        HeadWeights {
            w1: self.params.get(self.head.w1).data(),
            b1: self.params.get(self.head.b1).data(),
            w2: self.params.get(self.head.w2).data(),
            b2: self.params.get(self.head.b2).data(),
            latent: self.config.latent,
            hidden: self.config.hidden(),
            classes: self.config.num_output,
        }
    }

    /// Pairs in a batch of `batch` sequences, or an error naming the convention.
    fn pairs(batch: usize) -> Result<usize> {
        if batch == 0 || batch % 2 != 0 {
            bail!("a two-tower takes pairs: 2B sequences (the B first documents, then the B second ones); got {batch}");
        }
        Ok(batch / 2)
    }

    /// Encodes both towers and classifies the pairs; with `train_seed`, the encoder runs its
    /// training pass with that seed (its dropout masks), evaluation otherwise.
    pub fn forward_with(&self, x: &Inputs, train_seed: Option<u64>) -> Result<TwoTowerForward> {
        let (batch, time) = check_features(x, self.config.num_input)?;
        let pairs = Self::pairs(batch)?;
        let encoder = self.encoder();
        let encoded = match train_seed {
            Some(seed) => encoder.forward_train(x, seed)?,
            None => encoder.forward(x)?,
        };
        ensure!(
            encoded.output().len() == batch * self.config.latent,
            "the encoder reported {} values for {batch} documents of latent {}",
            encoded.output().len(),
            self.config.latent
        );
        let head = head::forward(&self.head_weights(), encoded.output(), pairs);
        Ok(TwoTowerForward { encoder, encoded, head, shape: (batch, time) })
    }

    /// Gradients of `sum(y * dy)` for every parameter, `dy` of shape (B, 1, num_output): the
    /// head's, then the encoder's from the gradients of both towers' encodings at once.
    pub fn backward(&self, pass: &TwoTowerForward, x: &Inputs, dy: &[f32]) -> Result<Vec<Tensor>> {
        let (batch, time) = check_features(x, self.config.num_input)?;
        if (batch, time) != pass.shape {
            bail!("backward got a batch of shape ({batch}, {time}), forward saw {:?}", pass.shape);
        }
        let pairs = batch / 2;
        let expected = pairs * self.config.num_output;
        if dy.len() != expected {
            bail!(
                "the output gradient has {} values, expected {expected} ({pairs} pairs x {})",
                dy.len(),
                self.config.num_output
            );
        }
        let g = head::backward(&self.head_weights(), &pass.head, pass.encoded.output(), dy);
        let encoder_grads = pass.encoder.backward(pass.encoded.as_ref(), x, &g.encodings)?;
        ensure!(encoder_grads.len() == self.encoder_params, "the encoder returned one gradient per parameter");
        let mut grads = encoder_grads;
        for (id, values) in [(self.head.w1, g.w1), (self.head.b1, g.b1), (self.head.w2, g.w2), (self.head.b2, g.b2)] {
            grads.push(Tensor::from_vec(self.params.get(id).shape(), values)?);
        }
        Ok(grads)
    }
}

fn linear_init(rng: &mut Rng, out: usize, fan_in: usize) -> (Tensor, Tensor) {
    let bound = 1.0 / (fan_in as f32).sqrt();
    let w = (0..out * fan_in).map(|_| rng.uniform(-bound, bound)).collect();
    let b = (0..out).map(|_| rng.uniform(-bound, bound)).collect();
    (Tensor::from_vec(&[out, fan_in], w).expect("sized"), Tensor::from_vec(&[out], b).expect("sized"))
}
