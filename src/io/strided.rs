//! Materialising a strided view (storage + offset + shape + strides, all in elements) as a
//! contiguous row-major buffer. PyTorch saves views as their whole storage plus this geometry,
//! and numpy's Fortran-order arrays are the same problem with column-major strides.

use anyhow::{bail, ensure, Result};

/// Views whose result is larger than their storage (broadcast strides of 0) are legal, but a
/// tiny storage with a huge shape would make us allocate without bound; this caps that case.
pub const MAX_EXPANDED_BYTES: usize = 1 << 30;

/// Copies the elements of the view into a new row-major buffer of `product(shape)` elements.
/// `storage` holds whole elements of `item_size` bytes; every index the view can reach is
/// checked against it before anything is allocated.
pub fn gather_strided(
    storage: &[u8],
    item_size: usize,
    offset: usize,
    shape: &[usize],
    stride: &[usize],
) -> Result<Vec<u8>> {
    ensure!(item_size > 0, "element size is zero");
    ensure!(shape.len() == stride.len(), "shape {shape:?} and stride {stride:?} have different lengths");
    let numel = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    let Some(numel) = numel else {
        bail!("shape {shape:?} has more than usize::MAX elements");
    };
    if numel == 0 {
        return Ok(Vec::new());
    }
    let storage_elems = storage.len() / item_size;
    // Largest element index the view touches: offset + sum((size - 1) * stride).
    let last = shape
        .iter()
        .zip(stride)
        .try_fold(offset, |acc, (&n, &s)| (n - 1).checked_mul(s).and_then(|x| acc.checked_add(x)));
    match last {
        Some(last) if last < storage_elems => {}
        _ => bail!(
            "view with offset {offset}, shape {shape:?} and stride {stride:?} reaches past the \
             end of its storage of {storage_elems} elements"
        ),
    }
    let Some(out_len) = numel.checked_mul(item_size) else {
        bail!("shape {shape:?} is too large");
    };
    ensure!(
        out_len <= storage.len() || out_len <= MAX_EXPANDED_BYTES,
        "view of shape {shape:?} would expand a {}-byte storage to {out_len} bytes",
        storage.len()
    );

    if is_row_major(shape, stride) {
        let start = offset * item_size;
        return Ok(storage[start..start + out_len].to_vec());
    }

    let mut out = Vec::with_capacity(out_len);
    let rank = shape.len();
    // Innermost dimension as a run: one memcpy when its stride is 1, else element by element.
    let (inner_n, inner_s) = (shape[rank - 1], stride[rank - 1]);
    let mut index = vec![0usize; rank - 1];
    let mut base = offset;
    loop {
        if inner_s == 1 {
            out.extend_from_slice(&storage[base * item_size..(base + inner_n) * item_size]);
        } else {
            for k in 0..inner_n {
                let at = (base + k * inner_s) * item_size;
                out.extend_from_slice(&storage[at..at + item_size]);
            }
        }
        // Odometer over the outer dimensions, keeping `base` equal to the current row start.
        let mut d = rank - 1;
        loop {
            if d == 0 {
                return Ok(out);
            }
            d -= 1;
            index[d] += 1;
            base += stride[d];
            if index[d] < shape[d] {
                break;
            }
            base -= stride[d] * shape[d];
            index[d] = 0;
        }
    }
}

/// True when the strides are those of a contiguous row-major tensor (dimensions of size 1
/// may carry any stride, as PyTorch allows).
pub fn is_row_major(shape: &[usize], stride: &[usize]) -> bool {
    let mut expected = 1usize;
    for (&n, &s) in shape.iter().zip(stride).rev() {
        if n != 1 && s != expected {
            return false;
        }
        expected = expected.saturating_mul(n);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32_storage(n: usize) -> Vec<u8> {
        (0..n).flat_map(|i| (i as f32).to_le_bytes()).collect()
    }

    fn as_f32(b: &[u8]) -> Vec<f32> {
        b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
    }

    #[test]
    fn transposed_view_with_offset() {
        // storage 0..12; view offset 2, shape (3, 2), stride (1, 3): v[i][j] = 2 + i + 3j.
        let out = gather_strided(&f32_storage(12), 4, 2, &[3, 2], &[1, 3]).unwrap();
        assert_eq!(as_f32(&out), [2.0, 5.0, 3.0, 6.0, 4.0, 7.0]);
    }

    #[test]
    fn broadcast_and_scalar_and_empty() {
        let s = f32_storage(3);
        let out = gather_strided(&s, 4, 1, &[2, 2], &[0, 1]).unwrap();
        assert_eq!(as_f32(&out), [1.0, 2.0, 1.0, 2.0]);
        assert!(gather_strided(&s, 4, 1, &[2, 3], &[0, 1]).is_err());
        assert_eq!(as_f32(&gather_strided(&s, 4, 2, &[], &[]).unwrap()), [2.0]);
        assert!(gather_strided(&s, 4, 99, &[0, 5], &[1, 1]).unwrap().is_empty());
    }

    #[test]
    fn out_of_bounds_and_overflow_are_errors() {
        let s = f32_storage(4);
        assert!(gather_strided(&s, 4, 0, &[5], &[1]).is_err());
        assert!(gather_strided(&s, 4, 4, &[1], &[1]).is_err());
        assert!(gather_strided(&s, 4, 0, &[2, 2], &[usize::MAX, 1]).is_err());
        assert!(gather_strided(&s, 4, 0, &[usize::MAX, 2], &[0, 0]).is_err());
        assert!(gather_strided(&s, 4, 0, &[1 << 40], &[0]).is_err());
        assert!(gather_strided(&s, 4, 0, &[2], &[1, 1]).is_err());
    }
}
