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
use anyhow::{anyhow, bail, ensure, Result};
use head::{HeadPass, HeadWeights};
use std::sync::{Arc, Mutex};

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
    /// On a device (`on_accelerator`): the encoder placed there once (its first pass checked
    /// against the CPU by `OnDevice`), given the current parameters at every pass. The head, a
    /// few thousand multiply-adds per pair, stays on the host.
    device_encoder: Option<Arc<Mutex<Box<dyn SequenceModel>>>>,
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
            // A clone is a host copy (snapshots, checkpoints).
            device_encoder: None,
        }
    }
}

/// The encoder a pass ran, for its backward pass.
enum PassEncoder {
    /// A host copy with the parameters of the pass.
    Host(Box<dyn SequenceModel>),
    /// The device encoder, which keeps the pass's parameters until the next pass.
    Device(Arc<Mutex<Box<dyn SequenceModel>>>),
}

/// One pass over a batch of pairs.
pub struct TwoTowerForward {
    /// The encoder the pass ran, with the parameters it ran with (for its backward pass).
    encoder: PassEncoder,
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
        Ok(Self { config, encoder, params, encoder_params, head, device_encoder: None })
    }

    /// A copy whose encoder computes on `device` (None when the encoder's kind has no device
    /// path).
    pub fn on_device(
        &self,
        device: Box<dyn crate::backend::accelerator::Accelerator>,
        limits: crate::backend::launch::DeviceLimits,
    ) -> Option<Self> {
        let encoder = self.encoder().on_accelerator(device, limits)?;
        Some(Self { device_encoder: Some(Arc::new(Mutex::new(encoder))), ..self.clone() })
    }

    /// The shared encoder with the model's current parameters, on the host.
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
        if batch == 0 || !batch.is_multiple_of(2) {
            bail!("a two-tower takes pairs: 2B sequences (the B first documents, then the B second ones); got {batch}");
        }
        Ok(batch / 2)
    }

    /// Encodes both towers and classifies the pairs; with `train_seed`, the encoder runs its
    /// training pass with that seed (its dropout masks), evaluation otherwise.
    pub fn forward_with(&self, x: &Inputs, train_seed: Option<u64>) -> Result<TwoTowerForward> {
        let (batch, time) = check_features(x, self.config.num_input)?;
        let pairs = Self::pairs(batch)?;
        let run = |encoder: &dyn SequenceModel| match train_seed {
            Some(seed) => encoder.forward_train(x, seed),
            None => encoder.forward(x),
        };
        let (encoder, encoded) = match &self.device_encoder {
            None => {
                let encoder = self.encoder();
                let encoded = run(encoder.as_ref())?;
                (PassEncoder::Host(encoder), encoded)
            }
            Some(shared) => {
                let mut encoder = shared.lock().map_err(|_| anyhow!("the device encoder was poisoned by a panic"))?;
                for (dst, src) in encoder.params_mut().iter_mut().zip(self.params.iter()) {
                    dst.value.data_mut().copy_from_slice(src.value.data());
                }
                let encoded = run(encoder.as_ref())?;
                (PassEncoder::Device(shared.clone()), encoded)
            }
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
        let encoder_grads = match &pass.encoder {
            PassEncoder::Host(encoder) => encoder.backward(pass.encoded.as_ref(), x, &g.encodings)?,
            PassEncoder::Device(shared) => shared
                .lock()
                .map_err(|_| anyhow!("the device encoder was poisoned by a panic"))?
                .backward(pass.encoded.as_ref(), x, &g.encodings)?,
        };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::emulation::accelerator::EmulatedAccelerator;
    use crate::backend::emulation::{emulator, error_relative_to_largest, uniform};
    use crate::backend::launch::DeviceLimits;
    use crate::train::Optimizer;

    fn pair_model(encoder: serde_json::Value) -> TwoTower {
        let config: TwoTowerConfig = serde_json::from_value(serde_json::json!({
            "num_input": 6, "latent": 4, "hidden": 5, "num_output": 3, "encoder": encoder
        }))
        .unwrap();
        TwoTower::new(config, 9).unwrap()
    }

    /// Both towers' encoder on the device, the head on the host: outputs, every gradient and five
    /// Adam steps equal the host model's (the first pass also checked by `OnDevice`).
    #[test]
    fn the_device_encoder_trains_as_the_host_one() {
        let Some(emulator) = emulator() else { return };
        let encoders = [
            serde_json::json!({"kind": "elm", "num_memory": 4, "memory_tau_max": 30.0, "learn_memory_tau": true}),
            serde_json::json!({"kind": "lstm", "hidden_size": 4}),
        ];
        for encoder in encoders {
            let mut host = pair_model(encoder.clone());
            let mut device =
                host.on_device(Box::new(EmulatedAccelerator::new(emulator)), DeviceLimits::default()).unwrap();
            assert!(device.device_encoder.is_some() && host.device_encoder.is_none());
            let mut optimizers = [Optimizer::adam(&host.params, 0.01), Optimizer::adam(&device.params, 0.01)];
            let (pairs, time) = (2, 5);
            for step in 0..5u64 {
                let x: Vec<f32> = uniform(2 * pairs * time * 6, 0.0, 1.0, 50 + step)
                    .iter()
                    .map(|u| if *u < 0.3 { 1.0 } else { 0.0 })
                    .collect();
                let inputs = Inputs::dense(&x, 2 * pairs, time, 6).unwrap();
                let dy = uniform(pairs * 3, -1.0, 1.0, 60 + step);
                let mut outputs = Vec::new();
                let mut gradients = Vec::new();
                for (model, optimizer) in [&mut host, &mut device].into_iter().zip(optimizers.iter_mut()) {
                    let pass = model.forward_with(&inputs, Some(step)).unwrap();
                    let grads = model.backward(&pass, &inputs, &dy).unwrap();
                    outputs.push(pass.head.y.clone());
                    gradients.push(grads.clone());
                    optimizer.step(&mut model.params, &grads);
                }
                assert!(error_relative_to_largest(&outputs[1], &outputs[0], 1e-6) < 1e-5, "{encoder} outputs");
                for ((got, want), p) in gradients[1].iter().zip(&gradients[0]).zip(host.params.iter()) {
                    let error = error_relative_to_largest(got.data(), want.data(), 1e-6);
                    assert!(error < 1e-4, "{encoder}, {}: error {error:e}", p.name);
                }
            }
            for (a, b) in host.params.iter().zip(device.params.iter()) {
                assert!(error_relative_to_largest(b.value.data(), a.value.data(), 1e-3) < 1e-4, "{}", a.name);
            }
        }
    }
}
