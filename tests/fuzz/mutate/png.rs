//! PNG mutations: IHDR's width, height, bit depth, colour type and interlace; chunk lengths;
//! chunks duplicated, dropped or reordered; IDAT's zlib stream damaged or replaced by one that
//! inflates far past the image. CRCs are recomputed (most of the time), so the decoder gets past
//! them to the fields.

use crate::rng::Rng;
use std::io::Write;

const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// (type, data) of each chunk; None when the signature or a chunk is broken.
fn chunks(data: &[u8]) -> Option<Vec<([u8; 4], Vec<u8>)>> {
    let mut rest = data.strip_prefix(SIGNATURE)?;
    let mut out = Vec::new();
    while rest.len() >= 12 {
        let len = u32::from_be_bytes(rest[..4].try_into().ok()?) as usize;
        let kind: [u8; 4] = rest[4..8].try_into().ok()?;
        let body = rest.get(8..8 + len)?.to_vec();
        out.push((kind, body));
        rest = rest.get(12 + len..)?;
    }
    Some(out)
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn assemble(chunks: &[([u8; 4], Vec<u8>)], fix_crc: bool) -> Vec<u8> {
    let mut out = SIGNATURE.to_vec();
    for (kind, body) in chunks {
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        let crc = if fix_crc { crc32(&out[start..]) } else { 0 };
        out.extend_from_slice(&crc.to_be_bytes());
    }
    out
}

fn zlib(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).expect("in memory");
    e.finish().expect("in memory")
}

pub fn mutate(rng: &mut Rng, data: &[u8]) -> Option<Vec<u8>> {
    let mut all = chunks(data)?;
    if all.is_empty() {
        return None;
    }
    let fix_crc = !rng.one_in(8);
    match rng.below(7) {
        0 | 1 => {
            let ihdr = all.iter_mut().find(|(k, b)| k == b"IHDR" && b.len() >= 13)?;
            let body = &mut ihdr.1;
            match rng.below(4) {
                0 | 1 => {
                    let at = *rng.pick(&[0usize, 4]);
                    let value = super::interesting(rng, 32) as u32;
                    body[at..at + 4].copy_from_slice(&value.to_be_bytes());
                }
                2 => {
                    let at = 8 + rng.below(5);
                    body[at] = *rng.pick(&[0u8, 1, 2, 3, 4, 6, 8, 16, 255]);
                }
                _ => body.truncate(rng.below(13)),
            }
        }
        2 => {
            // A chunk length field set by hand (the assembled file is then patched).
            let mut out = assemble(&all, fix_crc);
            let mut at = SIGNATURE.len();
            let which = rng.below(all.len());
            for (_, body) in &all[..which] {
                at += 12 + body.len();
            }
            let value = super::interesting(rng, all[which].1.len()) as u32;
            out[at..at + 4].copy_from_slice(&value.to_be_bytes());
            return Some(out);
        }
        3 => {
            let i = rng.below(all.len());
            match rng.below(3) {
                0 => {
                    let c = all[i].clone();
                    all.insert(i, c);
                }
                1 => {
                    all.remove(i);
                }
                _ => {
                    let j = rng.below(all.len());
                    all.swap(i, j);
                }
            }
        }
        4 => {
            // IDAT that inflates to far more than the image (a decompression bomb).
            let idat = all.iter_mut().find(|(k, _)| k == b"IDAT")?;
            let size = *rng.pick(&[1usize << 16, 1 << 20, 1 << 24]);
            idat.1 = zlib(&vec![0u8; size]);
        }
        _ => {
            let idat = all.iter_mut().find(|(k, _)| k == b"IDAT")?;
            idat.1 = super::bytes::mutate(rng, &idat.1, &[]);
        }
    }
    Some(assemble(&all, fix_crc))
}
