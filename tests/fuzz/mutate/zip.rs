//! Zip (`.pt`) mutations: size, offset, count and name-length fields of local headers, central
//! directory entries and the end record set to interesting values; or the archive rebuilt with
//! one member changed (the pickle by the pickle mutator, a storage truncated or grown).

use crate::rng::Rng;
use std::io::{Cursor, Read, Write};

/// (offset in the record, width) of a field.
type Field = (usize, usize);

/// (signature, fields) of the three zip records whose fields say sizes.
const RECORDS: &[(&[u8; 4], &[Field])] = &[
    (b"PK\x03\x04", &[(14, 4), (18, 4), (22, 4), (26, 2), (28, 2)]),
    (b"PK\x01\x02", &[(20, 4), (24, 4), (28, 2), (30, 2), (32, 2), (42, 4)]),
    (b"PK\x05\x06", &[(8, 2), (10, 2), (12, 4), (16, 4), (20, 2)]),
];

fn header_field(rng: &mut Rng, data: &[u8]) -> Option<Vec<u8>> {
    let mut spots = Vec::new();
    for (sig, fields) in RECORDS {
        for at in data.windows(4).enumerate().filter(|(_, w)| w == sig).map(|(i, _)| i) {
            for &(off, width) in fields.iter() {
                if at + off + width <= data.len() {
                    spots.push((at + off, width));
                }
            }
        }
    }
    if spots.is_empty() {
        return None;
    }
    let (at, width) = *rng.pick(&spots);
    let mut d = data.to_vec();
    let value = super::interesting(rng, data.len());
    d[at..at + width].copy_from_slice(&value.to_le_bytes()[..width]);
    Some(d)
}

/// The members of an archive, in order.
fn members(data: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    let mut archive = zip::ZipArchive::new(Cursor::new(data)).ok()?;
    let mut out = Vec::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).ok()?;
        if file.size() > 1 << 26 {
            return None;
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).ok()?;
        out.push((file.name().ok()?.to_string(), bytes));
    }
    Some(out)
}

fn build(members: &[(String, Vec<u8>)]) -> Option<Vec<u8>> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in members {
        writer.start_file(name.as_str(), options).ok()?;
        writer.write_all(bytes).ok()?;
    }
    Some(writer.finish().ok()?.into_inner())
}

fn member(rng: &mut Rng, data: &[u8]) -> Option<Vec<u8>> {
    let mut all = members(data)?;
    if all.is_empty() {
        return None;
    }
    let pick = match all.iter().position(|(n, _)| n.ends_with(".pkl")) {
        Some(p) if rng.below(3) != 0 => p,
        _ => rng.below(all.len()),
    };
    match rng.below(6) {
        0 => {
            all.remove(pick);
        }
        1 => {
            // Renamed (a member the reader looks for goes missing, a stranger appears).
            let name = format!("{}x", all[pick].0);
            all[pick].0 = name;
        }
        _ => {
            let bytes = &all[pick].1;
            let changed = if all[pick].0.ends_with(".pkl") {
                super::pickle::mutate(rng, bytes).unwrap_or_else(|| super::bytes::mutate(rng, bytes, &[]))
            } else {
                super::bytes::mutate(rng, bytes, &[])
            };
            all[pick].1 = changed;
        }
    }
    build(&all)
}

pub fn mutate(rng: &mut Rng, data: &[u8]) -> Option<Vec<u8>> {
    if rng.below(3) == 0 {
        header_field(rng, data)
    } else {
        member(rng, data).or_else(|| header_field(rng, data))
    }
}
