//! Named parameter sets: what optimizers update, checkpoints store and reports count.
//!
//! Names follow the official PyTorch state-dict names (`mlp.network.0.weight`, `_proto_w_s`, ...)
//! so that checkpoints and official weights speak the same language.

use super::Tensor;
use anyhow::{bail, Result};

#[derive(Clone, Debug, PartialEq)]
pub struct Parameter {
    pub name: String,
    pub value: Tensor,
    /// Whether training updates it (PyTorch's `requires_grad`); fixed ones are still saved.
    pub trainable: bool,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParamSet {
    params: Vec<Parameter>,
}

impl ParamSet {
    /// Adds a parameter and returns its index (models keep the indices of their tensors).
    pub fn push(&mut self, name: &str, value: Tensor, trainable: bool) -> usize {
        self.params.push(Parameter { name: name.to_string(), value, trainable });
        self.params.len() - 1
    }

    pub fn len(&self) -> usize {
        self.params.len()
    }

    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    pub fn get(&self, index: usize) -> &Tensor {
        &self.params[index].value
    }

    pub fn get_mut(&mut self, index: usize) -> &mut Tensor {
        &mut self.params[index].value
    }

    pub fn iter(&self) -> impl Iterator<Item = &Parameter> {
        self.params.iter()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Parameter> {
        self.params.iter_mut()
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.params.iter().position(|p| p.name == name)
    }

    pub fn by_name(&self, name: &str) -> Option<&Parameter> {
        self.params.iter().find(|p| p.name == name)
    }

    /// Number of trainable scalars (the convention of the official PyTorch code).
    pub fn trainable_count(&self) -> usize {
        self.params.iter().filter(|p| p.trainable).map(|p| p.value.len()).sum()
    }

    /// Zero tensors shaped like every parameter (the layout gradients use).
    pub fn zeros_like(&self) -> Vec<Tensor> {
        self.params.iter().map(|p| Tensor::zeros(p.value.shape())).collect()
    }

    /// Replaces the value of `name`, checking the shape.
    pub fn assign(&mut self, name: &str, values: Vec<f32>, shape: &[usize]) -> Result<()> {
        let Some(p) = self.params.iter_mut().find(|p| p.name == name) else {
            bail!("no parameter named `{name}`");
        };
        if p.value.shape() != shape {
            bail!("parameter `{name}` has shape {:?}, the weights have {shape:?}", p.value.shape());
        }
        p.value = Tensor::from_vec(shape, values)?;
        Ok(())
    }
}
