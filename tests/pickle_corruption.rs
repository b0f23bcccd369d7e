//! Damaged inputs never panic: the truncated NeuronIO fixture, and a few hundred seeded random
//! corruptions and truncations of the NeuronIO pickle and of an official `.pt` (both of the
//! archive bytes and of its data.pkl re-zipped with valid checksums, which gets past the zip
//! CRC check into the pickle VM and the tensor rebuilding). Each variant must either parse or
//! return an error; `catch_unwind` turns a panic into a test failure naming the variant.

use crate::pickle_support::{neuronio_fixture, zip_archive, SplitMix64};
use crate::support::fixture;
use elmbench::pickle;
use elmbench::weights::read_state_dict_from;
use std::io::{Cursor, Read};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Applies 1 to 8 random byte changes (overwrite, bit flip, or a typical length-field value),
/// or truncates, depending on the variant number.
fn damage(original: &[u8], rng: &mut SplitMix64, variant: usize) -> Vec<u8> {
    let mut bytes = original.to_vec();
    if variant % 4 == 3 {
        bytes.truncate(rng.below(original.len()));
        return bytes;
    }
    for _ in 0..1 + rng.below(8) {
        let at = rng.below(bytes.len());
        bytes[at] = match rng.below(3) {
            0 => rng.next_u64() as u8,
            1 => bytes[at] ^ (1 << rng.below(8)),
            _ => [0x00, 0xff, 0x7f, 0x80][rng.below(4)],
        };
    }
    bytes
}

/// Runs `parse` on `variants` damaged copies; returns how many parsed without error.
fn survive(what: &str, original: &[u8], seed: u64, variants: usize, parse: impl Fn(&[u8]) -> bool) -> usize {
    let mut rng = SplitMix64(seed);
    let mut parsed = 0;
    for variant in 0..variants {
        let bytes = damage(original, &mut rng, variant);
        match catch_unwind(AssertUnwindSafe(|| parse(&bytes))) {
            Ok(true) => parsed += 1,
            Ok(false) => {}
            Err(_) => panic!("{what}: variant {variant} (seed {seed}) panicked"),
        }
    }
    parsed
}

#[test]
fn truncated_neuronio_fixture_is_a_clean_error() {
    let path = fixture("neuronio/truncated_sim__bad.p");
    let e = format!("{:#}", pickle::from_file(&path).unwrap_err());
    assert!(e.contains("truncated_sim__bad.p"), "{e}");
    // The file stops one byte into the 8-byte payload of the SHORT_BINSTRING at 620498.
    assert!(e.contains("pickle byte 620498: SHORT_BINSTRING"), "{e}");
    assert!(e.contains("exceeds the 1 bytes left in the input"), "{e}");
    // Streaming without a known length reaches the same opcode and reports the shortfall.
    let bytes = std::fs::read(&path).unwrap();
    let e = pickle::from_reader(&bytes[..], None).unwrap_err();
    assert_eq!(e.offset, 620498);
    assert!(e.message.contains("input ends after 1 of the 8 bytes"), "{e}");
}

#[test]
fn damaged_neuronio_pickles_never_panic() {
    let original = std::fs::read(neuronio_fixture()).unwrap();
    let parsed = survive("neuronio", &original, 0x5eed_0001, 240, |b| pickle::from_slice(b).is_ok());
    // Most single-byte changes inside raw array data still parse: the test exercises both
    // outcomes.
    assert!(parsed > 0 && parsed < 240, "{parsed} of 240 parsed");
}

#[test]
fn damaged_official_pt_files_never_panic() {
    let path = fixture("reference/official_models/num_memory_20/neuronio_best_model_state.pt");
    let original = std::fs::read(&path).unwrap();
    survive("pt archive", &original, 0x5eed_0002, 200, |b| read_state_dict_from(Cursor::new(b), "damaged.pt").is_ok());

    // Damage only data.pkl and rebuild a valid archive around it.
    let mut archive = zip::ZipArchive::new(Cursor::new(&original)).unwrap();
    let mut members: Vec<(String, Vec<u8>)> = Vec::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let mut data = Vec::new();
        file.read_to_end(&mut data).unwrap();
        members.push((file.name().unwrap().to_string(), data));
    }
    let pkl_index = members.iter().position(|(n, _)| n.ends_with("/data.pkl")).unwrap();
    let pkl = members[pkl_index].1.clone();
    let parsed = survive("pt data.pkl", &pkl, 0x5eed_0003, 200, |damaged| {
        let rebuilt: Vec<(&str, &[u8])> = members
            .iter()
            .enumerate()
            .map(|(i, (n, d))| (n.as_str(), if i == pkl_index { damaged } else { &d[..] }))
            .collect();
        read_state_dict_from(Cursor::new(zip_archive(&rebuilt)), "damaged.pt").is_ok()
    });
    assert!(parsed < 200, "every damaged pickle parsed");
}
