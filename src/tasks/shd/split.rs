//! The validation split of the SHD training file, as the official `random_val_split_SHD_data`
//! draws it: one Bernoulli(fraction) per sample from numpy's `default_rng(seed)`, in file order;
//! the samples drawn as 1 are held out for validation. `engine::numpy_random` reproduces numpy's
//! draws bit for bit, so with seed 0 and fraction 0.2 the split is the official one.

use crate::engine::numpy_random::NumpyGenerator;
use anyhow::Result;

/// (training indices, validation indices) into a file of `samples` samples, each in file order.
pub fn validation_split(samples: usize, fraction: f64, seed: u64) -> Result<(Vec<usize>, Vec<usize>)> {
    let draws = NumpyGenerator::new(seed).binomial_vec(1, fraction, samples)?;
    let (mut train, mut valid) = (Vec::new(), Vec::new());
    for (k, held_out) in draws.into_iter().enumerate() {
        if held_out == 1 {
            valid.push(k);
        } else {
            train.push(k);
        }
    }
    Ok((train, valid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_partition_the_file_in_order() {
        let (train, valid) = validation_split(1000, 0.2, 0).unwrap();
        assert_eq!(train.len() + valid.len(), 1000);
        assert!(train.windows(2).all(|w| w[0] < w[1]) && valid.windows(2).all(|w| w[0] < w[1]));
        // Binomial(1000, 0.2): 200 +- 12.6; a wrong probability would land far outside 150..250.
        assert!((150..250).contains(&valid.len()), "{}", valid.len());
        assert_eq!(validation_split(1000, 0.2, 0).unwrap(), (train, valid));
    }
}
