//! `out += sum_k v_k * table[i_k]`: a sum of scaled rows of a table, the inner loop of every
//! product with a sparse operand (X W over a row's non-zeros, X^T G over a feature's rows).
//!
//! A loop of `axpy` calls does the same arithmetic but keeps the running sum in memory: each
//! non-zero loads the output, adds and stores it back, and the next non-zero's load waits for
//! that store (store-to-load forwarding), so a row of 25 non-zeros costs ~25 of those round trips
//! per vector of columns. Here a block of up to 64 columns is summed in registers over all the
//! entries and stored once. The operations and their order per element are the axpy loop's
//! (`acc += v * x`, entries in the given order), so the bits are the same.

/// `out[c] += sum over (i, v) in entries of v * table[i * width + c]`, entries in order.
/// `entries` is walked once per block of columns, so it must be cheap to clone.
#[inline(always)]
pub fn add_scaled_rows<E>(entries: E, table: &[f32], width: usize, out: &mut [f32])
where
    E: Iterator<Item = (usize, f32)> + Clone,
{
    debug_assert_eq!(out.len(), width);
    // Up to 64 columns (8 AVX2 or 4 AVX-512 registers) per pass over the entries, so that a row of the table
    // is fetched once for widths up to 64 (the ELM's 40-wide layer 0), then the narrow rest.
    let mut col = 0;
    while col + 64 <= width {
        columns::<64, E>(entries.clone(), table, width, col, out);
        col += 64;
    }
    match (width - col) / 8 {
        7 => columns::<56, E>(entries.clone(), table, width, col, out),
        6 => columns::<48, E>(entries.clone(), table, width, col, out),
        5 => columns::<40, E>(entries.clone(), table, width, col, out),
        4 => columns::<32, E>(entries.clone(), table, width, col, out),
        3 => columns::<24, E>(entries.clone(), table, width, col, out),
        2 => columns::<16, E>(entries.clone(), table, width, col, out),
        1 => columns::<8, E>(entries.clone(), table, width, col, out),
        _ => {}
    }
    col += (width - col) / 8 * 8;
    if col + 4 <= width {
        columns::<4, E>(entries.clone(), table, width, col, out);
        col += 4;
    }
    while col < width {
        columns::<1, E>(entries.clone(), table, width, col, out);
        col += 1;
    }
}

/// Columns `col..col + W` of the sum, accumulated in registers.
#[inline(always)]
fn columns<const W: usize, E>(entries: E, table: &[f32], width: usize, col: usize, out: &mut [f32])
where
    E: Iterator<Item = (usize, f32)>,
{
    let out: &mut [f32; W] = (&mut out[col..col + W]).try_into().expect("W columns");
    let mut acc = *out;
    for (i, v) in entries {
        let start = i * width + col;
        let row: &[f32; W] = table[start..start + W].try_into().expect("W columns");
        for (a, x) in acc.iter_mut().zip(row) {
            *a += v * x;
        }
    }
    *out = acc;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::kernels::axpy;

    /// The axpy loop it replaces gives the same bits, for every width's mix of column blocks.
    #[test]
    fn equals_the_axpy_loop_bit_for_bit() {
        for width in [1, 3, 4, 7, 8, 15, 16, 20, 24, 40, 45, 48, 56, 63, 64, 100, 150, 200] {
            let rows = 37;
            let table: Vec<f32> = (0..rows * width).map(|i| ((i * 7919 % 1013) as f32 - 506.0) / 97.0).collect();
            let entries: Vec<(usize, f32)> = (0..29).map(|k| ((k * 11) % rows, (k as f32 - 14.3) / 3.7)).collect();
            let start: Vec<f32> = (0..width).map(|c| c as f32 / 7.0).collect();
            let mut expected = start.clone();
            for &(i, v) in &entries {
                axpy(v, &table[i * width..(i + 1) * width], &mut expected);
            }
            let mut out = start;
            add_scaled_rows(entries.iter().copied(), &table, width, &mut out);
            assert_eq!(out, expected, "width {width}");
        }
    }

    /// A hand sum, so that the test above cannot pass with both sides wrong.
    #[test]
    fn sums_the_scaled_rows() {
        let table = [1.0, 2.0, 10.0, 20.0, 100.0, 200.0];
        let mut out = [0.5, 0.25];
        add_scaled_rows([(2, 1.0), (0, -2.0), (2, 0.5)].into_iter(), &table, 2, &mut out);
        assert_eq!(out, [0.5 + 100.0 - 2.0 + 50.0, 0.25 + 200.0 - 4.0 + 100.0]);
    }
}
