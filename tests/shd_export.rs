//! `elmbench export` and the SHD tasks on the real-format fixture: the exported `x` holds exactly
//! the official binning's counts (`expected_binned.safetensors`, made by the official Python
//! binning) at 1, 2, 10 and 100 ms; SHD-Adding items are two binned digits in a row with the sum
//! of their values as the class; the validation split is the official numpy draw.

use crate::support::{fixture, TensorFile};
use elmbench::engine::numpy_random::NumpyGenerator;
use elmbench::tasks::shd::export::export;
use elmbench::tasks::shd::split::validation_split;
use elmbench::tasks::shd::ShdTask;
use elmbench::tasks::{Split, TaskConfig};
use std::path::Path;

/// A data root whose SHD train and test files are both the 24-sample fixture.
fn fixture_root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("shd")).unwrap();
    for name in ["shd_train.h5", "shd_test.h5"] {
        std::fs::copy(fixture("shd/shd_fixture.h5"), dir.path().join("shd").join(name)).unwrap();
    }
    dir
}

fn task(name: &str, sets: &[&str], root: &Path) -> ShdTask {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let config = elmbench::overrides::apply(&TaskConfig::named(name).unwrap(), &sets).unwrap();
    ShdTask::open(config, root).unwrap()
}

/// (x as f32 values, shape, y) of an exported file.
fn read_export(path: &Path) -> (Vec<f32>, Vec<usize>, Vec<i64>) {
    let t = TensorFile::load_path(path);
    (t.f32("x"), t.shape("x"), t.i64("y"))
}

#[test]
fn the_fixture_exports_exactly_the_official_counts() {
    let root = fixture_root();
    let expected = TensorFile::load("shd/expected_binned.safetensors");
    let out = tempfile::tempdir().unwrap();
    for bin_ms in [1, 2, 10, 100] {
        let t = task("shd", &[&format!("bin_ms={bin_ms}")], root.path());
        let path = out.path().join(format!("x{bin_ms}.safetensors"));
        let summary = export(&t, Split::Test, None, 0, &path).unwrap();
        let (x, shape, y) = read_export(&path);
        let want_shape: Vec<usize> =
            expected.i64(&format!("binned_{bin_ms}ms_shape")).iter().map(|&v| v as usize).collect();
        assert_eq!(shape, want_shape, "{bin_ms} ms");
        assert_eq!(summary.items, 24);
        let mut want = vec![0.0f32; x.len()];
        let index = expected.i32_triples(&format!("binned_{bin_ms}ms_index"));
        for (&(b, t, u), &c) in index.iter().zip(&expected.f32(&format!("binned_{bin_ms}ms_count"))) {
            want[(b * shape[1] + t) * shape[2] + u] = c;
        }
        assert!(x == want, "{bin_ms} ms: the exported counts differ from the official binning");
        assert_eq!(y, expected.i64("labels"), "{bin_ms} ms: labels");
    }
}

#[test]
fn shd_adding_items_are_two_digits_in_a_row_with_the_sum_of_their_values() {
    let root = fixture_root();
    let out = tempfile::tempdir().unwrap();
    let single = task("shd", &["bin_ms=10"], root.path());
    let single_path = out.path().join("single.safetensors");
    export(&single, Split::Test, None, 0, &single_path).unwrap();
    let (digits, dshape, labels) = read_export(&single_path);
    let per_digit = dshape[1] * dshape[2];
    let adding = task("shd-adding", &["bin_ms=10", "test_batches=3"], root.path());
    let path = out.path().join("pairs.safetensors");
    export(&adding, Split::Test, None, 0, &path).unwrap();
    let (x, shape, y) = read_export(&path);
    assert_eq!(shape, vec![24, 200, 700]);
    // The official notebook's pairs: rng.integers(0, n, size=16) per batch of 8 from
    // default_rng(0), items i and 8 + i.
    let mut rng = NumpyGenerator::new(0);
    for batch in 0..3 {
        let draws = rng.integers_vec(0, 24, 16).unwrap();
        for i in 0..8 {
            let (a, b) = (draws[i] as usize, draws[8 + i] as usize);
            let item = batch * 8 + i;
            let got = &x[item * 2 * per_digit..(item + 1) * 2 * per_digit];
            assert_eq!(&got[..per_digit], &digits[a * per_digit..(a + 1) * per_digit], "item {item}: first digit");
            assert_eq!(&got[per_digit..], &digits[b * per_digit..(b + 1) * per_digit], "item {item}: second digit");
            assert_eq!(y[item], labels[a] % 10 + labels[b] % 10, "item {item}: the sum of the two values");
        }
    }
}

#[test]
fn validation_is_the_official_numpy_split_and_training_drops_inputs() {
    let root = fixture_root();
    let out = tempfile::tempdir().unwrap();
    let t = task("shd", &["bin_ms=100"], root.path());
    let (train_idx, valid_idx) = validation_split(24, 0.2, 0).unwrap();
    let path = out.path().join("valid.safetensors");
    export(&t, Split::Valid, None, 0, &path).unwrap();
    let (valid, shape, y) = read_export(&path);
    let all = out.path().join("all.safetensors");
    export(&t, Split::Test, None, 0, &all).unwrap();
    let (everything, _, labels) = read_export(&all);
    let per = shape[1] * shape[2];
    assert_eq!(y.len(), valid_idx.len());
    for (i, &k) in valid_idx.iter().enumerate() {
        assert_eq!(&valid[i * per..(i + 1) * per], &everything[k * per..(k + 1) * per]);
        assert_eq!(y[i], labels[k]);
    }
    // Training items: samples of the training split only, with about half of the counts dropped
    // (input dropout 0.5) and the rest unchanged.
    let train_path = out.path().join("train.safetensors");
    export(&t, Split::Train, Some(8), 5, &train_path).unwrap();
    let (train, _, ty) = read_export(&train_path);
    let (mut kept, mut total) = (0usize, 0usize);
    for (i, &label) in ty.iter().enumerate() {
        let x = &train[i * per..(i + 1) * per];
        let source = train_idx
            .iter()
            .find(|&&k| {
                labels[k] == label
                    && x.iter().zip(&everything[k * per..(k + 1) * per]).all(|(a, b)| *a == 0.0 || a == b)
            })
            .unwrap_or_else(|| panic!("training item {i} is not a training sample with some counts dropped"));
        assert!(!valid_idx.contains(source));
        total += everything[source * per..(source + 1) * per].iter().filter(|v| **v != 0.0).count();
        kept += x.iter().filter(|v| **v != 0.0).count();
    }
    let fraction = kept as f64 / total as f64;
    assert!((0.4..0.6).contains(&fraction), "kept {fraction} of the counts at dropout 0.5");
}

#[test]
fn an_export_too_large_is_refused_and_leaves_nothing() {
    let root = fixture_root();
    let out = tempfile::tempdir().unwrap();
    let t = task("shd-adding", &["bin_ms=1", "test_batches=100000"], root.path());
    let path = out.path().join("huge.safetensors");
    let err = format!("{:#}", export(&t, Split::Test, None, 0, &path).unwrap_err());
    assert!(err.contains("--limit"), "{err}");
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0, "nothing may be left behind");
}
