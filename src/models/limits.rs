//! Bounds on model sizes from outside (configuration files, `model_config.json` beside a `.pt`,
//! checkpoint metadata, `--set`), checked before anything is allocated: far above every model of
//! the paper, far below what would overflow a size computation or exhaust memory. Without them a
//! size of 10^9 aborts the process in the weight initialisation instead of saying which key is
//! wrong.

use anyhow::{bail, Result};

/// The most any one dimension may be (inputs, outputs, units, hidden widths, branches).
pub const MAX_WIDTH: usize = 1 << 20;
/// The most layers of a stacked part (the ELM's MLP).
pub const MAX_LAYERS: usize = 64;
/// The most scalars of one weight tensor (1 GiB of f32).
pub const MAX_WEIGHTS: usize = 1 << 28;

/// `value` of key `name` is at most `MAX_WIDTH`.
pub fn width(name: &str, value: usize) -> Result<()> {
    if value > MAX_WIDTH {
        bail!("{name} = {value} is above the largest size this harness builds ({MAX_WIDTH})");
    }
    Ok(())
}

/// `value` of key `name` is at most `MAX_LAYERS`.
pub fn layers(name: &str, value: usize) -> Result<()> {
    if value > MAX_LAYERS {
        bail!("{name} = {value} is above the most layers this harness builds ({MAX_LAYERS})");
    }
    Ok(())
}

/// A weight tensor of shape `dims` (named `what`) holds at most `MAX_WEIGHTS` scalars.
pub fn weights(what: &str, dims: &[usize]) -> Result<()> {
    let total = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    match total {
        Some(n) if n <= MAX_WEIGHTS => Ok(()),
        _ => bail!("{what} would hold {dims:?} weights, above the {MAX_WEIGHTS} one tensor may hold"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_name_the_key_and_never_overflow() {
        assert!(width("num_memory", MAX_WIDTH).is_ok());
        let err = width("num_memory", 1_000_000_000).unwrap_err().to_string();
        assert!(err.contains("num_memory = 1000000000"), "{err}");
        assert!(layers("mlp_num_layers", usize::MAX).is_err());
        assert!(weights("w", &[1 << 14, 1 << 14]).is_ok());
        // The product overflows usize: an error, not a wrap-around or a panic.
        assert!(weights("w", &[usize::MAX, 3]).is_err());
        assert!(weights("w", &[1 << 20, 1 << 20]).is_err());
    }
}
