//! The SHD reader (`tasks::shd::ShdFile`) on files written by h5py: the shared fixture in both
//! layouts (contiguous; chunked with shuffle + gzip), files with other element types, one bad file
//! per way a file can be wrong (made by `fixtures/shd/make_bad_cases.py`), and damaged copies.

use crate::pickle_support::SplitMix64;
use crate::support::{fixture, TensorFile};
use elmbench::tasks::shd::{Binning, ShdFile, SpikeTimes, TimeType};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

fn shd(name: &str) -> PathBuf {
    fixture(&format!("shd/{name}"))
}

fn case(name: &str) -> PathBuf {
    fixture(&format!("shd/cases/{name}"))
}

/// Per-sample spike counts of the fixture, as h5py reads them.
const FIXTURE_SPIKES: [usize; 24] = [
    894, 636, 861, 396, 527, 345, 732, 669, 658, 400, 821, 641, 415, 698, 758, 227, 381, 362, 813, 371, 532, 864, 839,
    328,
];
const FIXTURE_SPEAKERS: [u32; 24] = [8, 0, 5, 3, 1, 8, 7, 7, 10, 9, 1, 1, 11, 4, 5, 6, 1, 8, 8, 5, 3, 2, 10, 5];

#[test]
fn shd_fixture_reads_in_both_layouts_with_its_labels() {
    let expected = TensorFile::load("shd/expected_binned.safetensors");
    let labels: Vec<u8> = expected.i64("labels").iter().map(|&l| l as u8).collect();
    let contiguous = ShdFile::read(&shd("shd_fixture.h5")).unwrap();
    let chunked = ShdFile::read(&shd("shd_fixture_chunked_gzip.h5")).unwrap();
    for file in [&contiguous, &chunked] {
        assert_eq!(file.len(), 24);
        assert_eq!(file.labels(), &labels[..]);
        assert_eq!(file.speakers(), Some(&FIXTURE_SPEAKERS[..]));
        assert_eq!(file.time_type(), TimeType::F16);
        let counts: Vec<usize> = file.samples().map(|s| s.units.len()).collect();
        assert_eq!(counts, FIXTURE_SPIKES);
        let keys = file.keys().expect("extra/keys");
        assert_eq!(
            (keys[0].as_str(), keys[10].as_str(), keys[19].as_str()),
            ("english-zero", "german-null", "german-neun")
        );
        // Sample 0 starts with the same spike three times: 0.0123 s (float16 0x224c, exactly
        // 0.012298583984375 s) on unit 17.
        let first = file.sample(0);
        let SpikeTimes::F16(bits) = first.times else { panic!("float16 times") };
        assert_eq!(&bits[..3], &[0x224c; 3]);
        assert_eq!(first.times.get(0), 0.012298583984375);
        assert_eq!(&first.units[..4], &[17, 17, 17, 375]);
    }
    // The two layouts hold the same samples, bit for bit.
    for k in 0..24 {
        let (a, b) = (contiguous.sample(k), chunked.sample(k));
        assert_eq!(a.units, b.units, "sample {k}");
        assert_eq!(a.times.to_f64(), b.times.to_f64(), "sample {k}");
    }
    let summary = contiguous.summary();
    assert_eq!((summary.samples, summary.spikes), (24, FIXTURE_SPIKES.iter().sum()));
    assert!(summary.max_unit.unwrap() < 700 && summary.max_time_s > 1.0, "{summary:?}");
    assert_eq!(summary.classes_present(), 13);
    assert_eq!(summary.speakers, Some(12));
    assert_eq!(summary, chunked.summary());
}

#[test]
fn shd_reads_other_element_types_exactly() {
    // make_bad_cases.py's base content.
    let times: [&[f64]; 3] = [&[0.0123, 0.5, 0.0123, 1.2], &[0.25, 0.3, 0.999, 0.001, 0.75], &[0.9, 0.1]];
    let units: [&[u16]; 3] = [&[17, 3, 17, 5], &[0, 699, 350, 1, 2], &[42, 43]];
    for (name, time_type, speakers) in [
        ("good_f32_int64.h5", TimeType::F32, Some(&[1u32, 4, 11][..])),
        ("good_chunked_f32.h5", TimeType::F32, Some(&[1u32, 4, 11][..])),
        ("good_f64_big_endian.h5", TimeType::F64, None),
    ] {
        let file = ShdFile::read(&case(name)).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        assert_eq!(file.time_type(), time_type, "{name}");
        assert_eq!(file.labels(), &[9, 19, 0], "{name}");
        assert_eq!(file.speakers(), speakers, "{name}");
        assert_eq!(file.keys(), None, "{name}");
        for k in 0..3 {
            let sample = file.sample(k);
            assert_eq!(sample.units, units[k], "{name} sample {k}");
            let want: Vec<f64> = match time_type {
                TimeType::F32 => times[k].iter().map(|&t| t as f32 as f64).collect(),
                _ => times[k].to_vec(),
            };
            assert_eq!(sample.times.to_f64(), want, "{name} sample {k}");
        }
    }
}

/// Reads a bad case and returns the error text after checking that it names the file and holds
/// every needle.
fn assert_bad(name: &str, needles: &[&str]) -> String {
    let path = case(name);
    let e = format!("{:#}", ShdFile::read(&path).expect_err(name));
    assert!(e.contains(&path.display().to_string()), "{name}: the error does not name the file: {e}");
    for needle in needles {
        assert!(e.contains(needle), "{name}: expected `{needle}` in: {e}");
    }
    e
}

#[test]
fn shd_not_hdf5_is_named() {
    assert_bad("bad_not_hdf5.h5", &["not a readable HDF5 file"]);
    let e = format!("{:#}", ShdFile::read(Path::new("/nonexistent/shd_train.h5")).unwrap_err());
    assert!(e.contains("/nonexistent/shd_train.h5: cannot read"), "{e}");
}

#[test]
fn shd_truncated_file_is_named() {
    assert_bad(
        "bad_truncated.h5",
        &["truncated: the HDF5 superblock says the file ends at byte 8687, but it has 5212 bytes"],
    );
}

#[test]
fn shd_missing_dataset_is_named() {
    assert_bad("bad_missing_units.h5", &["no dataset `spikes/units`"]);
    assert_bad("bad_missing_labels.h5", &["no dataset `labels`"]);
}

#[test]
fn shd_times_and_units_of_different_lengths_name_the_sample() {
    assert_bad("bad_length_mismatch.h5", &["sample 1", "`spikes/units` has 4 values but `spikes/times` has 5"]);
}

#[test]
fn shd_unit_out_of_range_names_the_sample() {
    assert_bad("bad_unit_700.h5", &["`spikes/units`, sample 2", "spike 1 is on unit 700", "0..699"]);
    assert_bad("bad_negative_unit.h5", &["`spikes/units`, sample 1", "spike 2 is on unit -1"]);
}

#[test]
fn shd_negative_time_names_the_sample() {
    assert_bad("bad_negative_time.h5", &["`spikes/times`, sample 1", "spike 2 at -0.001", "is negative"]);
}

#[test]
fn shd_nan_time_names_the_sample() {
    assert_bad("bad_nan_time.h5", &["`spikes/times`, sample 2", "spike 1", "is not a number"]);
}

#[test]
fn shd_infinite_time_names_the_sample() {
    assert_bad("bad_inf_time.h5", &["`spikes/times`, sample 0", "spike 2", "is infinite"]);
}

#[test]
fn shd_label_out_of_range_names_the_sample() {
    assert_bad("bad_label_20.h5", &["`labels`, sample 2", "label 20 is not a class 0..19"]);
    assert_bad("bad_negative_label.h5", &["`labels`, sample 1", "label -1"]);
}

#[test]
fn shd_differing_sample_counts_are_named() {
    assert_bad("bad_label_count.h5", &["`labels` has 2 samples but `spikes/times` has 3"]);
    assert_bad("bad_speaker_count.h5", &["`extra/speaker` has 4 samples but `spikes/times` has 3"]);
    assert_bad("bad_units_count.h5", &["`spikes/units` has 2 samples but `spikes/times` has 3"]);
}

#[test]
fn shd_wrong_element_types_and_keys_are_named() {
    assert_bad("bad_times_type.h5", &["`spikes/times` holds int32, not floats"]);
    assert_bad("bad_keys_count.h5", &["`extra/keys` names 19 classes"]);
}

/// Applies 1 to 8 random byte changes (overwrite, bit flip, or a typical length-field value).
fn damage(original: &[u8], rng: &mut SplitMix64) -> Vec<u8> {
    let mut bytes = original.to_vec();
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

/// Reads `bytes` as `name`: a clean error naming the file, or a file whose every sample bins.
/// Returns whether it read.
fn read_or_clean_error(name: &Path, bytes: Vec<u8>, what: &str, binning: &Binning) -> bool {
    match catch_unwind(AssertUnwindSafe(|| ShdFile::from_bytes(name, bytes))) {
        Err(_) => panic!("{what}: panicked"),
        Ok(Err(e)) => {
            let e = format!("{e:#}");
            assert!(e.starts_with(&name.display().to_string()), "{what}: the error does not name the file: {e}");
            false
        }
        Ok(Ok(file)) => {
            for sample in file.samples() {
                binning.bin(&sample);
            }
            true
        }
    }
}

#[test]
fn shd_damaged_files_never_panic() {
    let binning = Binning::new(2).unwrap();
    for (fixture_name, seed) in [("shd_fixture.h5", 0x5eed_0101u64), ("shd_fixture_chunked_gzip.h5", 0x5eed_0102)] {
        let original = std::fs::read(shd(fixture_name)).unwrap();
        let name = Path::new("damaged").join(fixture_name);
        // Truncations at every 1/300 of the file, and within the first kilobyte (the superblock and
        // the root group) byte by byte at first.
        let mut cuts: Vec<usize> = (0..300).map(|i| i * original.len() / 300).collect();
        cuts.extend(0..200);
        cuts.extend((200..1024).step_by(7));
        for cut in cuts {
            let read =
                read_or_clean_error(&name, original[..cut].to_vec(), &format!("{fixture_name} cut at {cut}"), &binning);
            assert!(!read, "{fixture_name} cut at {cut} of {} read as a whole file", original.len());
        }
        let mut rng = SplitMix64(seed);
        let mut parsed = 0;
        for variant in 0..400 {
            let bytes = damage(&original, &mut rng);
            parsed += read_or_clean_error(
                &name,
                bytes,
                &format!("{fixture_name} variant {variant} (seed {seed:#x})"),
                &binning,
            ) as usize;
        }
        // Most changes land in spike data and still read (or fail a value check): both outcomes
        // are exercised.
        assert!(parsed > 0 && parsed < 400, "{fixture_name}: {parsed} of 400 damaged copies read");
    }
}

#[test]
fn shd_inspect_prints_the_summary_or_names_the_bad_file() {
    let run = |path: &Path| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_elmbench")).arg("inspect").arg(path).output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.code(), text)
    };
    let (code, text) = run(&shd("shd_fixture_chunked_gzip.h5"));
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("24 samples, 14168 spikes (float16 times up to 1.25 s, units < 700), 13 of 20 classes"),
        "{text}"
    );
    assert!(text.contains("english-zero, english-one"), "{text}");
    let (code, text) = run(&case("bad_label_20.h5"));
    assert!(code != Some(0) && code != Some(101), "exit {code:?}: {text}");
    assert!(text.contains("bad_label_20.h5: `labels`, sample 2: label 20"), "{text}");
}
