//! HDF5 mutations without an HDF5 parser: the file's sizes and addresses are little-endian
//! integers of 2, 4 or 8 bytes whose values are at most a few times the file's length, so
//! such words (found from a random start) are set to huge, zero or off-by-a-little values. The
//! superblock's fields (the first 100 bytes) are hit more often.

use crate::rng::Rng;

pub fn mutate(rng: &mut Rng, data: &[u8]) -> Option<Vec<u8>> {
    let len = data.len();
    if len < 16 {
        return None;
    }
    let width = *rng.pick(&[8usize, 8, 4, 2]);
    let region = if rng.one_in(4) { 100.min(len) } else { len };
    let start = rng.below(region);
    let fits = |v: u64| v > 0 && v <= 4 * len as u64;
    // Positions where a word of `width` bytes fits.
    let end = len - width + 1;
    let start = start.min(end);
    let found = (start..end).chain(0..start).find(|&i| {
        let mut w = [0u8; 8];
        w[..width].copy_from_slice(&data[i..i + width]);
        fits(u64::from_le_bytes(w))
    })?;
    let mut d = data.to_vec();
    let mut w = [0u8; 8];
    w[..width].copy_from_slice(&data[found..found + width]);
    let value = super::interesting(rng, u64::from_le_bytes(w) as usize);
    d[found..found + width].copy_from_slice(&value.to_le_bytes()[..width]);
    Some(d)
}
