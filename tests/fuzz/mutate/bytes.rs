//! Format-blind mutations: flips, interesting integers, truncation, deletion, duplication,
//! splicing with another seed input, random insertions.

use crate::rng::Rng;

pub fn mutate(rng: &mut Rng, data: &[u8], others: &[Vec<u8>]) -> Vec<u8> {
    let mut d = data.to_vec();
    let len = d.len();
    match rng.below(9) {
        0 if len > 0 => {
            let i = rng.below(len);
            d[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let i = rng.below(len);
            d[i] = *rng.pick(&[0u8, 1, 0x7f, 0x80, 0xff, b'\n', b'\t', b'"', b'[']);
        }
        2 if len > 0 => {
            // An interesting integer over 1, 2, 4 or 8 bytes, either byte order.
            let width = *rng.pick(&[1usize, 2, 4, 8]);
            let value = super::interesting(rng, len);
            let bytes = if rng.one_in(2) { value.to_le_bytes() } else { value.to_be_bytes() };
            let bytes = if rng.one_in(2) { &bytes[..width] } else { &bytes[8 - width..] };
            let i = rng.below(len);
            let end = (i + width).min(len);
            d[i..end].copy_from_slice(&bytes[..end - i]);
        }
        3 => d.truncate(rng.below(len + 1)),
        4 if len > 0 => {
            let a = rng.below(len);
            let b = (a + 1 + rng.below(64.min(len - a))).min(len);
            d.drain(a..b);
        }
        5 if len > 0 => {
            // Duplicate a range in place (repeated records, repeated chunks).
            let a = rng.below(len);
            let b = (a + 1 + rng.below(256.min(len - a))).min(len);
            let piece = d[a..b].to_vec();
            let times = 1 + rng.below(4);
            for _ in 0..times {
                d.splice(b..b, piece.iter().copied());
            }
        }
        6 if !others.is_empty() => {
            // Splice: our head with another seed's tail.
            let other = rng.pick(others);
            let cut = rng.below(len + 1);
            let from = rng.below(other.len() + 1);
            d.truncate(cut);
            d.extend_from_slice(&other[from..]);
        }
        _ => {
            let at = rng.below(len + 1);
            let n = 1 + rng.below(16);
            let junk: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
            d.splice(at..at, junk);
        }
    }
    d
}
