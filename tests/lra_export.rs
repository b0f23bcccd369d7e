//! `elmbench export lra-*` on the real-format fixtures (`tests/fixtures/lra`, copied from
//! ../shared/fixtures/lra): the exported indices equal what independent tools give. CIFAR grey
//! levels and Pathfinder pixels come from Pillow (`cases/pil_grey/*.L`, written by
//! `make_lra_cases.py`); labels from the raw files, parsed here by plain string splitting.

use crate::support::{fixture, TensorFile};
use elmbench::tasks::lra::export::export;
use elmbench::tasks::{Split, TaskConfig};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    fixture("lra")
}

/// Exports `split` of `task` (with task settings `sets`) and reads it back.
fn exported(task: &str, sets: &[&str], split: Split) -> (TensorFile, tempfile::TempDir) {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let config = elmbench::overrides::apply(&TaskConfig::named(task).unwrap(), &sets).unwrap();
    let opened = config.open_lra(&root(), true).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.safetensors");
    export(&opened, split, None, &path).unwrap();
    (TensorFile::load_path(&path), dir)
}

/// Row `i` of an (N, T) tensor.
fn row(x: &[i64], steps: usize, i: usize) -> &[i64] {
    &x[i * steps..(i + 1) * steps]
}

fn pil(name: &str) -> Vec<u8> {
    std::fs::read(fixture(&format!("lra/cases/pil_grey/{name}"))).unwrap()
}

#[test]
fn cifar_grey_levels_are_pils_in_16_bins() {
    let (t, _d) = exported("lra-image", &[], Split::Test);
    assert_eq!(t.shape("x"), vec![2, 1024]);
    let grey = pil("cifar_test_batch.L");
    let raw = std::fs::read(root().join("cifar-10-batches-bin/test_batch.bin")).unwrap();
    let x = t.i64("x");
    for i in 0..2 {
        let want: Vec<i64> = grey[i * 1024..(i + 1) * 1024].iter().map(|&v| (v / 16) as i64).collect();
        assert_eq!(row(&x, 1024, i), want.as_slice(), "record {i}");
    }
    // The class is each record's first byte.
    assert_eq!(t.i64("y"), vec![raw[0] as i64, raw[3073] as i64]);
    // Training and validation together are the training file's records, in order.
    let (train, _d1) = exported("lra-image", &[], Split::Train);
    let (valid, _d2) = exported("lra-image", &[], Split::Valid);
    let mut both = train.i64("x");
    both.extend(valid.i64("x"));
    let grey = pil("cifar_data_batch_1.L");
    assert_eq!(both.len(), grey.len());
    assert!(both.iter().zip(&grey).all(|(&a, &g)| a == (g / 16) as i64));
}

/// The fixture's metadata lines: (image file name, label).
fn metadata(resolution: &str) -> Vec<(String, i64)> {
    let path = root().join(format!("lra_release/lra_release/{resolution}/curv_contour_length_14/metadata/0.npy"));
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            (f[1].to_string(), f[3].parse().unwrap())
        })
        .collect()
}

#[test]
fn pathfinder_pixels_are_the_pngs_binned() {
    for (task, folder, levels) in [("lra-pathfinder", "pathfinder32", 16), ("lra-pathx", "pathfinder128", 8)] {
        // Four images: the 80/10/10 cut leaves them all in training, in metadata order.
        let (t, _d) = exported(task, &[], Split::Train);
        let lines = metadata(folder);
        let steps = t.shape("x")[1];
        assert_eq!(t.shape("x")[0], lines.len(), "{task}");
        let x = t.i64("x");
        for (i, (file, _)) in lines.iter().enumerate() {
            let grey = pil(&format!("{folder}_{}.L", file.trim_end_matches(".png")));
            assert_eq!(grey.len(), steps);
            let want: Vec<i64> = grey.iter().map(|&v| (v as i64 * levels) / 256).collect();
            assert_eq!(row(&x, steps, i), want.as_slice(), "{task} {file}");
        }
        assert_eq!(t.i64("y"), lines.iter().map(|l| l.1).collect::<Vec<_>>(), "{task}: labels are field 4");
    }
}

#[test]
fn downscaled_path_x_averages_blocks_before_binning() {
    let (t, _d) = exported("lra-pathx", &["downscale=4"], Split::Train);
    assert_eq!(t.shape("x"), vec![4, 1024]);
    let grey = pil("pathfinder128_sample_0.L");
    let x = t.i64("x");
    for (k, &got) in row(&x, 1024, 0).iter().enumerate() {
        let (by, bx) = (k / 32, k % 32);
        let sum: u32 = (0..16).map(|j| grey[(by * 4 + j / 4) * 128 + bx * 4 + j % 4] as u32).sum();
        let mean = (sum as f64 / 16.0 + 0.5).floor() as i64;
        assert_eq!(got, mean / 32, "block {k}");
    }
}

/// ListOps tokens as LRA's: digits are their own tokens, `(` and `)` are dropped.
#[test]
fn listops_labels_are_the_target_column() {
    let (t, _d) = exported("lra-listops", &[], Split::Test);
    let tsv = std::fs::read_to_string(root().join("lra_release/lra_release/listops-1000/basic_test.tsv")).unwrap();
    let rows: Vec<(Vec<&str>, i64)> = tsv
        .lines()
        .skip(1)
        .map(|line| {
            let (source, target) = line.split_once('\t').unwrap();
            (source.split_whitespace().filter(|s| *s != "(" && *s != ")").collect(), target.trim().parse().unwrap())
        })
        .collect();
    assert_eq!(t.i64("y"), rows.iter().map(|r| r.1).collect::<Vec<_>>());
    let x = t.i64("x");
    for (i, (symbols, _)) in rows.iter().enumerate() {
        let tokens: Vec<i64> = row(&x, 2000, i).iter().copied().filter(|&v| v >= 0).collect();
        assert_eq!(tokens.len(), symbols.len(), "row {i}: one token per symbol but parentheses");
        assert!(row(&x, 2000, i)[..2000 - symbols.len()].iter().all(|&v| v == -1), "left padding is -1");
        for (tok, sym) in tokens.iter().zip(symbols) {
            if let Ok(d) = sym.parse::<i64>() {
                assert_eq!(*tok, d, "row {i}: digit {sym}");
            } else {
                assert!(*tok >= 10 && *tok < 25, "row {i}: {sym} is an operator token, got {tok}");
            }
        }
    }
    // A declared shorter length keeps the first tokens.
    let (short, _d) = exported("lra-listops", &["max_length=20"], Split::Test);
    let short_x = short.i64("x");
    for i in 0..rows.len() {
        let kept: Vec<i64> = row(&x, 2000, i).iter().copied().filter(|&v| v >= 0).take(20).collect();
        let mut want = vec![-1; 20 - kept.len()];
        want.extend(kept);
        assert_eq!(row(&short_x, 20, i), want.as_slice(), "row {i} cut to 20 steps");
    }
}

#[test]
fn retrieval_exports_two_documents_and_the_float_labels() {
    let (t, _d) = exported("lra-retrieval", &[], Split::Test);
    let tsv = std::fs::read_to_string(root().join("lra_release/lra_release/tsv_data/new_aan_pairs.test.tsv")).unwrap();
    let rows: Vec<Vec<&str>> = tsv.lines().map(|l| l.split('\t').collect()).collect();
    let labels: Vec<i64> = rows.iter().map(|r| r[0].parse::<f64>().unwrap() as i64).collect();
    assert_eq!(t.i64("y"), labels);
    for (name, column) in [("x1", 3), ("x2", 4)] {
        let x = t.i64(name);
        for (i, r) in rows.iter().enumerate() {
            let real = row(&x, 4000, i).iter().filter(|&&v| v >= 0).count();
            assert_eq!(real, r[column].chars().count().min(4000), "{name} row {i}: one token per character");
        }
    }
}

#[test]
fn text_labels_come_from_the_folders() {
    let (t, _d) = exported("lra-text", &[], Split::Test);
    let dir = |sentiment: &str| root().join("aclImdb/test").join(sentiment);
    let count = |p: &Path| std::fs::read_dir(p).unwrap().count();
    let (pos, neg) = (count(&dir("pos")), count(&dir("neg")));
    let y = t.i64("y");
    assert_eq!(y.iter().filter(|&&v| v == 1).count(), pos);
    assert_eq!(y.iter().filter(|&&v| v == 0).count(), neg);
}
