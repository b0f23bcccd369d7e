//! The synthetic SHD: real-format files (read back with hdf5-reader and, where available, h5py),
//! sizes, determinism, the marker, the refusal to overwrite real data, and whether the data is
//! learnable but not trivially so.

use crate::h5_support::{array, python_with_h5py, run_python, vlen_u16};
use elmbench::io::float16::f16_to_f32;
use elmbench::tasks::shd::synthetic::{
    generate, sizes, synthesize, Knobs, Sample, ShdMarker, Split, TierSizes, World, CHANNELS, CLASSES, KEYS, MARKER,
    MAX_TIME_S, SPEAKERS, TEST_FILE, TEST_ONLY_SPEAKERS, TRAIN_FILE,
};
use elmbench::tasks::Tier;
use hdf5_reader::{Datatype, Hdf5File, VarLenKind};
use std::path::Path;

/// The samples of one written file, read with hdf5-reader.
fn read_split(path: &Path) -> Vec<Sample> {
    let f = Hdf5File::open(path).unwrap_or_else(|e| panic!("opening {}: {e}", path.display()));
    for name in ["spikes/times", "spikes/units"] {
        let Datatype::VarLen { base, kind: VarLenKind::Sequence, .. } = f.dataset(name).unwrap().dtype().clone() else {
            panic!("{name} is not a vlen sequence")
        };
        let expected_base = if name == "spikes/times" { "FloatingPoint" } else { "FixedPoint" };
        assert!(format!("{base:?}").starts_with(expected_base) && format!("{base:?}").contains("size: 2"), "{base:?}");
    }
    let times = vlen_u16(&f, "spikes/times");
    let units = vlen_u16(&f, "spikes/units");
    let labels = array::<u16>(&f, "labels");
    let speakers = array::<u16>(&f, "extra/speaker");
    assert_eq!(f.dataset("extra/keys").unwrap().read_strings().unwrap(), KEYS);
    assert_eq!(f.dataset("extra/meta_info/gender").unwrap().read_strings().unwrap().len(), SPEAKERS);
    assert_eq!(array::<u16>(&f, "extra/meta_info/age").len(), SPEAKERS);
    assert_eq!(array::<f32>(&f, "extra/meta_info/body_height").len(), SPEAKERS);
    assert!(times.len() == units.len() && units.len() == labels.len() && labels.len() == speakers.len());
    (0..labels.len())
        .map(|i| Sample { label: labels[i], speaker: speakers[i], times: times[i].clone(), units: units[i].clone() })
        .collect()
}

fn marker(root: &Path) -> ShdMarker {
    serde_json::from_str(&std::fs::read_to_string(root.join(MARKER)).unwrap()).unwrap()
}

#[test]
fn smoke_files_read_back_as_generated_with_the_shd_layout() {
    let dir = tempfile::tempdir().unwrap();
    let written = synthesize(dir.path(), Tier::Smoke, 11).unwrap();
    let root = dir.path().join("shd");
    let train = read_split(&root.join(TRAIN_FILE));
    let test = read_split(&root.join(TEST_FILE));
    assert_eq!((train.len(), test.len()), (200, 80));

    // The files hold exactly what the generator makes for this seed.
    let world = World::new(&Knobs::default());
    assert_eq!(train, generate(&world, &Knobs::default(), Split::Train, 11, 0..200));
    assert_eq!(test, generate(&world, &Knobs::default(), Split::Test, 11, 0..80));

    for s in train.iter().chain(&test) {
        assert!((s.label as usize) < CLASSES && (s.speaker as usize) < SPEAKERS);
        assert_eq!(s.times.len(), s.units.len());
        assert!(s.units.iter().all(|&u| (u as usize) < CHANNELS));
        assert!(s.times.windows(2).all(|w| w[0] <= w[1]), "times are sorted");
        assert!(s.times.iter().all(|&t| (0.0..MAX_TIME_S + 1e-3).contains(&f16_to_f32(t))));
    }

    let m = marker(&root);
    assert_eq!(m, written);
    assert_eq!((m.tier, m.seed, m.train_samples, m.test_samples), (Tier::Smoke, 11, 200, 80));
    assert_eq!(m.files, [TRAIN_FILE, TEST_FILE]);
    assert!(m.generator.contains("synthetic"));
    assert_eq!(m.knobs, Knobs::default());
    assert_eq!(m.train.spikes, train.iter().map(|s| s.times.len() as u64).sum::<u64>());
    assert_eq!(m.test.samples, 80);
    // Nothing but the dataset is left in the data folder (no staging folder).
    let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(entries, ["shd"]);
}

#[test]
fn tier_sizes_are_as_documented() {
    assert_eq!(sizes(Tier::Smoke), TierSizes { train: 200, test: 80 });
    assert_eq!(sizes(Tier::Quick), TierSizes { train: 2048, test: 568 });
    // The current SHD release (DATASETS.md 2.2).
    assert_eq!(sizes(Tier::Paper), TierSizes { train: 8156, test: 2264 });
}

#[test]
fn a_seed_gives_the_same_bytes_whatever_the_thread_count() {
    let (a, b, c) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    synthesize(a.path(), Tier::Smoke, 5).unwrap();
    let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    one_thread.install(|| synthesize(b.path(), Tier::Smoke, 5)).unwrap();
    synthesize(c.path(), Tier::Smoke, 6).unwrap();
    for file in [TRAIN_FILE, TEST_FILE] {
        let read = |d: &tempfile::TempDir| std::fs::read(d.path().join("shd").join(file)).unwrap();
        assert!(read(&a) == read(&b), "{file} differs between runs with the same seed");
        assert!(read(&a) != read(&c), "{file} is the same for seeds 5 and 6");
    }
}

#[test]
fn real_data_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("shd");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join(TRAIN_FILE), b"the real thing").unwrap();
    let e = format!("{:#}", synthesize(dir.path(), Tier::Smoke, 0).unwrap_err());
    assert!(e.contains("refusing to overwrite") && e.contains("shd"), "{e}");
    assert_eq!(std::fs::read(root.join(TRAIN_FILE)).unwrap(), b"the real thing");
    assert!(!root.join(MARKER).exists());
    let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(entries, ["shd"], "no staging folder is left behind");
}

#[test]
fn an_earlier_synthetic_dataset_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    synthesize(dir.path(), Tier::Smoke, 1).unwrap();
    synthesize(dir.path(), Tier::Smoke, 2).unwrap();
    assert_eq!(marker(&dir.path().join("shd")).seed, 2);
    let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(entries, ["shd"]);
}

/// A quarter of SHD's size (the quick tier), generated in memory.
fn quick_splits() -> (Vec<Sample>, Vec<Sample>) {
    let knobs = Knobs::default();
    let world = World::new(&knobs);
    let TierSizes { train, test } = sizes(Tier::Quick);
    (generate(&world, &knobs, Split::Train, 0, 0..train), generate(&world, &knobs, Split::Test, 0, 0..test))
}

#[test]
fn speakers_and_spike_counts_resemble_shd() {
    let (train, test) = quick_splits();
    // Speakers 4 and 5 only in the test split; every other speaker in both.
    for speaker in 0..SPEAKERS as u16 {
        let in_train = train.iter().any(|s| s.speaker == speaker);
        let in_test = test.iter().any(|s| s.speaker == speaker);
        assert_eq!(in_train, !TEST_ONLY_SPEAKERS.contains(&speaker), "speaker {speaker} in train");
        assert!(in_test, "speaker {speaker} in test");
    }
    // Every class is present in both splits.
    for label in 0..CLASSES as u16 {
        assert!(train.iter().filter(|s| s.label == label).count() > 40, "class {label}");
        assert!(test.iter().any(|s| s.label == label), "class {label}");
    }
    let counts: Vec<usize> = train.iter().map(|s| s.times.len()).collect();
    let mean = counts.iter().sum::<usize>() as f64 / counts.len() as f64;
    // Several thousand spikes per sample, as in SHD (see the module documentation for the
    // target of about 6,000), with loud and long utterances several times quieter ones.
    assert!((4000.0..8000.0).contains(&mean), "mean spikes {mean}");
    let (min, max) = (*counts.iter().min().unwrap(), *counts.iter().max().unwrap());
    assert!(min > 1000 && max < 30_000 && max > 2 * min, "spikes per sample {min}..{max}");
    // Some recordings run past 1 s, and some spikes repeat at the same (time, unit).
    let late = train.iter().filter(|s| s.times.iter().any(|&t| f16_to_f32(t) >= 1.0)).count();
    assert!(late > train.len() / 20 && late < train.len(), "{late} samples with spikes after 1 s");
    let repeated = train
        .iter()
        .filter(|s| (1..s.times.len()).any(|i| (s.times[i], s.units[i]) == (s.times[i - 1], s.units[i - 1])))
        .count();
    assert!(repeated > train.len() / 2, "{repeated} samples with repeated spikes");
}

/// Spike counts in 50 ms x 35-channel bins over the first second (20 x 20 features): what a
/// crude, time-aligned template matcher sees.
fn coarse_counts(s: &Sample) -> Vec<f64> {
    let mut features = vec![0.0; 20 * 20];
    for (&t, &u) in s.times.iter().zip(&s.units) {
        let t = f16_to_f32(t);
        if t < 1.0 {
            features[(t / 0.05) as usize * 20 + u as usize / 35] += 1.0;
        }
    }
    features
}

/// Predictions of a nearest-centroid classifier (Euclidean) trained on `train`.
fn nearest_centroid(train: &[Sample], test: &[Sample]) -> Vec<u16> {
    let mut centroids = vec![vec![0.0; 400]; CLASSES];
    let mut counts = [0usize; CLASSES];
    for s in train {
        for (c, x) in centroids[s.label as usize].iter_mut().zip(coarse_counts(s)) {
            *c += x;
        }
        counts[s.label as usize] += 1;
    }
    for (c, n) in centroids.iter_mut().zip(counts) {
        c.iter_mut().for_each(|v| *v /= n.max(1) as f64);
    }
    test.iter()
        .map(|s| {
            let x = coarse_counts(s);
            let distance = |c: &Vec<f64>| c.iter().zip(&x).map(|(a, b)| (a - b) * (a - b)).sum::<f64>();
            (0..CLASSES).min_by(|&a, &b| distance(&centroids[a]).total_cmp(&distance(&centroids[b]))).unwrap() as u16
        })
        .collect()
}

/// Accuracy overall, on seen speakers, on held-out speakers, and the share of errors that are
/// the same digit in the other language.
pub fn nc_accuracy(train: &[Sample], test: &[Sample]) -> (f64, f64, f64, f64) {
    let predicted = nearest_centroid(train, test);
    let correct = |keep: &dyn Fn(&Sample) -> bool| {
        let picked: Vec<(u16, &Sample)> = predicted.iter().copied().zip(test).filter(|(_, s)| keep(s)).collect();
        let hits = picked.iter().filter(|(p, s)| *p == s.label).count();
        (hits as f64 / picked.len() as f64, picked.len())
    };
    let (accuracy, n) = correct(&|_| true);
    let (held_out, _) = correct(&|s| TEST_ONLY_SPEAKERS.contains(&s.speaker));
    let (seen, _) = correct(&|s| !TEST_ONLY_SPEAKERS.contains(&s.speaker));
    let errors: Vec<(u16, u16)> =
        predicted.iter().copied().zip(test.iter().map(|s| s.label)).filter(|(p, l)| p != l).collect();
    let language_swaps = errors.iter().filter(|(p, l)| p % 10 == l % 10).count() as f64 / errors.len() as f64;
    let _ = n;
    (accuracy, seen, held_out, language_swaps)
}

#[test]
fn a_template_matcher_learns_the_classes_but_far_from_perfectly() {
    let (train, test) = quick_splits();
    let (accuracy, seen, held_out, language_swaps) = nc_accuracy(&train, &test);
    let n = test.len();
    eprintln!(
        "nearest centroid on 50 ms x 35-channel counts: {accuracy:.3} of {n} test samples \
         (seen speakers {seen:.3}, held-out speakers {held_out:.3}); {:.3} of the errors are the same digit \
         in the other language",
        language_swaps
    );
    // Chance is 1/20. With 568 test samples, accuracy at chance has a standard deviation of
    // sqrt(0.05 * 0.95 / 568) = 0.009, so 0.25 is more than 20 of them above chance: the files
    // carry class information a crude matcher already finds.
    assert!(accuracy > 0.25, "accuracy {accuracy}");
    // Not trivial: speaker shifts, time warps, varying starts and shared syllables must keep a
    // time-aligned template matcher far below what trained models reach on SHD (80-95 %), or
    // the surrogate could not tell models apart. 0.75 leaves that headroom.
    assert!(accuracy < 0.75, "accuracy {accuracy}");
    // Speakers 4 and 5 are new voices whose vocal tracts lie partly outside the training
    // speakers' (Knobs::held_out_speaker_offset): a matcher built on the training voices must do
    // worse on them, as models do on SHD's test split.
    assert!(held_out < seen, "held-out speakers {held_out}, seen speakers {seen}");
    // English and German versions of a digit are similar: among the errors, the same digit in
    // the other language is far more common than the 1/19 that unrelated confusions would give.
    assert!(language_swaps > 3.0 / 19.0, "language swaps {language_swaps}");
}

/// Prints, for each sample of a file read with h5py: label, speaker, length, and sums of the
/// float16 bit patterns and of the units; checks the dtypes on the way.
const H5PY_SUMMARY: &str = r#"
import json, sys
import h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    times, units = f["spikes/times"], f["spikes/units"]
    assert h5py.check_vlen_dtype(times.dtype) == np.dtype("<f2"), times.dtype
    assert h5py.check_vlen_dtype(units.dtype) == np.dtype("<u2"), units.dtype
    assert f["labels"].dtype == np.uint16 and f["extra/speaker"].dtype == np.uint16
    keys = [k.decode("utf-8") for k in f["extra/keys"][:]]
    assert h5py.check_string_dtype(f["extra/keys"].dtype).length is None
    rows = []
    for t, u, label, speaker in zip(times[:], units[:], f["labels"][:], f["extra/speaker"][:]):
        assert t.dtype == np.float16 and len(t) == len(u)
        rows.append([int(label), int(speaker), len(t), int(t.view(np.uint16).astype(np.int64).sum()), int(u.astype(np.int64).sum())])
    print(json.dumps({"keys": keys, "rows": rows, "meta": [len(f["extra/meta_info"][n]) for n in ["gender", "age", "body_height"]]}))
"#;

#[test]
fn h5py_reads_the_synthetic_files() {
    let Some(python) = python_with_h5py("the synthetic SHD files") else { return };
    let dir = tempfile::tempdir().unwrap();
    synthesize(dir.path(), Tier::Smoke, 3).unwrap();
    let knobs = Knobs::default();
    let world = World::new(&knobs);
    for (file, split, count) in [(TRAIN_FILE, Split::Train, 200), (TEST_FILE, Split::Test, 80)] {
        let out = run_python(&python, H5PY_SUMMARY, &[&dir.path().join("shd").join(file)]);
        let summary: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(summary["keys"], serde_json::json!(KEYS));
        assert_eq!(summary["meta"], serde_json::json!([SPEAKERS, SPEAKERS, SPEAKERS]));
        let expected: Vec<[u64; 5]> = generate(&world, &knobs, split, 3, 0..count)
            .iter()
            .map(|s| {
                let sum = |v: &[u16]| v.iter().map(|&x| x as u64).sum::<u64>();
                [s.label as u64, s.speaker as u64, s.times.len() as u64, sum(&s.times), sum(&s.units)]
            })
            .collect();
        assert_eq!(summary["rows"], serde_json::json!(expected), "{file}");
    }
}
