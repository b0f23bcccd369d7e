//! Input dropout as the paper trains its SHD and LRA models (the official SHD notebook's
//! `inputs[torch.rand_like(inputs) < p] = 0`): each input value is zeroed independently with
//! probability p and what is kept is not rescaled. On sparse inputs only the non-zero values are
//! drawn for (a zero stays zero either way), which is the same distribution with fewer draws.

use crate::engine::{Rng, SparseSequences};

/// Zeroes each non-zero input independently with probability `p` (kept values are not rescaled).
pub fn drop_inputs(x: &mut SparseSequences, p: f64, rng: &mut Rng) {
    if p <= 0.0 {
        return;
    }
    x.changed();
    let (mut kept, mut row_start) = (0, vec![0]);
    let rows = x.row_start.len() - 1;
    for r in 0..rows {
        for i in x.row_start[r]..x.row_start[r + 1] {
            if rng.uniform_f64() >= p {
                x.feature[kept] = x.feature[i];
                x.value[kept] = x.value[i];
                kept += 1;
            }
        }
        row_start.push(kept);
    }
    x.feature.truncate(kept);
    x.value.truncate(kept);
    x.row_start = row_start;
}
