//! A batch of inputs on the device, dense (batch, time, features) as the models' GEMMs read it.
//! Sparse batches travel as their non-zeros and are expanded there (`scatter_values`): a
//! NeuronIO batch of 8 x 500 steps x 1278 inputs is 20 MB dense and about 0.4 MB as its ~2%
//! spikes; an LRA batch of one-hot tokens shrinks by its vocabulary size.

use super::accelerator::{kernel_int, Accelerator, BufferId, KernelArg};
use crate::engine::Inputs;
use anyhow::{bail, Result};

/// A dense (batch, time, features) array on the device.
#[derive(Clone, Copy, Debug)]
pub struct StagedInput {
    pub buffer: BufferId,
    pub batch: usize,
    pub time: usize,
    pub features: usize,
}

impl StagedInput {
    /// Fails unless the input has `features` features per step, naming both.
    pub fn check_features(&self, features: usize) -> Result<()> {
        if self.features != features {
            bail!("the input has {} features per step, the model reads {features}", self.features);
        }
        Ok(())
    }

    pub fn rows(&self) -> usize {
        self.batch * self.time
    }
}

/// Puts `x` on the device: a dense batch as it is, a sparse one as its non-zeros.
pub fn stage(acc: &mut dyn Accelerator, x: &Inputs) -> Result<StagedInput> {
    let (batch, time, features) = x.shape();
    let buffer = match x {
        Inputs::Dense { data, .. } => acc.upload(data)?,
        Inputs::Sparse(sparse) => {
            let dense = acc.zeros(batch * time * features)?;
            // Flat indices must fit the kernel's ints (checked once, on the largest).
            kernel_int(batch * time * features)?;
            let mut index = Vec::with_capacity(sparse.nnz());
            for r in 0..batch * time {
                index.extend(sparse.row(r).map(|(f, _)| (r * features + f) as i32));
            }
            if !index.is_empty() {
                let index = acc.upload_ints(&index)?;
                let value = acc.upload(&sparse.value)?;
                acc.launch(
                    "scatter_values",
                    super::launch::elementwise(sparse.nnz()),
                    &[
                        KernelArg::Ints(index),
                        KernelArg::Buffer(value),
                        KernelArg::Int(kernel_int(sparse.nnz())?),
                        KernelArg::Buffer(dense),
                    ],
                )?;
            }
            dense
        }
    };
    Ok(StagedInput { buffer, batch, time, features })
}

/// A dense host array staged as it is (tests and callers holding dense values).
pub fn stage_dense(
    acc: &mut dyn Accelerator,
    x: &[f32],
    batch: usize,
    time: usize,
    features: usize,
) -> Result<StagedInput> {
    stage(acc, &Inputs::dense(x, batch, time, features)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::emulation::accelerator::EmulatedAccelerator;
    use crate::backend::emulation::{emulator, uniform};
    use crate::engine::SparseSequences;

    #[test]
    fn a_sparse_batch_expands_to_its_dense_values() {
        let Some(emulator) = emulator() else { return };
        let mut acc = EmulatedAccelerator::new(emulator);
        let (batch, time, features) = (3, 5, 7);
        let dense: Vec<f32> = uniform(batch * time * features, -1.0, 1.0, 3)
            .iter()
            .map(|v| if v.abs() < 0.3 { *v } else { 0.0 })
            .collect();
        let sparse = SparseSequences::from_dense(&dense, batch, time, features);
        assert!(sparse.nnz() > 0 && sparse.nnz() < dense.len());
        let staged = stage(&mut acc, &Inputs::Sparse(&sparse)).unwrap();
        assert_eq!((staged.batch, staged.time, staged.features), (batch, time, features));
        assert_eq!(acc.read(staged.buffer).unwrap(), dense);
        // An all-zero batch launches nothing and stages zeros.
        let empty = SparseSequences::from_dense(&[0.0; 12], 2, 2, 3);
        let staged = stage(&mut acc, &Inputs::Sparse(&empty)).unwrap();
        assert_eq!(acc.read(staged.buffer).unwrap(), vec![0.0; 12]);
        let staged = stage_dense(&mut acc, &dense, batch, time, features).unwrap();
        assert_eq!(acc.read(staged.buffer).unwrap(), dense);
        assert!(staged.check_features(8).unwrap_err().to_string().contains("7 features"));
    }
}
