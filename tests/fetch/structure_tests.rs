//! Structural checks report exactly what is missing, with counts from shared/DATASETS.md.

use std::fs::{self, File};
use std::path::PathBuf;

use elmbench::fetch::structure::check;

use super::support::*;

#[test]
fn cifar10_batches_of_the_right_size_pass_and_a_short_one_is_named() {
    let tmp = TempDir::new("cifar");
    let dir = tmp.path().join("cifar10/cifar-10-batches-bin");
    fs::create_dir_all(&dir).unwrap();
    let names = [
        "data_batch_1.bin",
        "data_batch_2.bin",
        "data_batch_3.bin",
        "data_batch_4.bin",
        "data_batch_5.bin",
        "test_batch.bin",
    ];
    for name in names {
        // Sparse files: 10,000 records of 3073 bytes each without using the disk space.
        File::create(dir.join(name)).unwrap().set_len(30_730_000).unwrap();
    }
    fs::write(dir.join("batches.meta.txt"), "airplane\n").unwrap();
    let roots = vec![tmp.path().join("cifar10")];
    let report = check("cifar10", &roots);
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.found.len(), 6);

    File::create(dir.join("data_batch_3.bin")).unwrap().set_len(3073).unwrap();
    fs::remove_file(dir.join("batches.meta.txt")).unwrap();
    let report = check("cifar10", &roots);
    assert_eq!(report.problems.len(), 2, "{report:?}");
    assert!(report.problems[0].contains("data_batch_3.bin: 3073 bytes, expected 30730000"));
    assert!(report.problems[1].contains("batches.meta.txt not found"));
}

#[test]
fn neuronio_reports_each_missing_folder_and_empty_ones() {
    let tmp = TempDir::new("neuronio");
    let root = tmp.path().join("neuronio");
    for k in 1..=10 {
        if k == 7 {
            continue;
        }
        let dir = root.join(format!("train/some_zip_folder/full_ergodic_train_batch_{k}"));
        fs::create_dir_all(&dir).unwrap();
        if k != 3 {
            fs::write(dir.join("L5PC_sim__Output_spikes_0800.p"), b"x").unwrap();
        }
    }
    fs::create_dir_all(root.join("test/Data_test")).unwrap();
    fs::write(root.join("test/Data_test/sim__a.p"), b"x").unwrap();
    let report = check("neuronio", &[root]);
    assert_eq!(report.problems.len(), 2, "{report:?}");
    assert!(report.problems.iter().any(|p| p.contains("full_ergodic_train_batch_7 not found")));
    assert!(report.problems.iter().any(|p| p.contains("full_ergodic_train_batch_3") && p.contains("no *.p files")));
    assert_eq!(report.found.len(), 9);
}

#[test]
fn lra_counts_records_and_accepts_the_doubled_release_folder() {
    let tmp = TempDir::new("lra");
    let base = tmp.path().join("lra/lra_release/lra_release");
    fs::create_dir_all(base.join("listops-1000")).unwrap();
    // Header plus 3 records (CRLF, as Python's csv writer produces): fewer than the 2,000 expected.
    fs::write(
        base.join("listops-1000/basic_val.tsv"),
        "Source\tTarget\r\n( [MAX 2 9 ] )\t9\r\n( [MIN 2 9 ] )\t2\r\n( [SM 2 9 ] )\t1\r\n",
    )
    .unwrap();
    let roots: Vec<PathBuf> = vec![tmp.path().join("lra")];
    let report = check("lra", &roots);
    assert!(report.found[0].contains("lra_release/lra_release"), "{report:?}");
    let problems = report.problems.join("\n");
    assert!(problems.contains("basic_val.tsv: 3 records, expected 2000"), "{problems}");
    assert!(problems.contains("basic_train.tsv not found"), "{problems}");
    assert!(problems.contains("new_aan_pairs.train.tsv not found"), "{problems}");
    assert!(problems.contains("pathfinder32/curv_contour_length_14/metadata not found"), "{problems}");
    assert!(problems.contains("pathfinder128/curv_contour_length_14/imgs not found"), "{problems}");
}

#[test]
fn imdb_and_shd_report_what_is_missing() {
    let tmp = TempDir::new("imdbshd");
    let imdb = tmp.path().join("imdb/aclImdb");
    fs::create_dir_all(imdb.join("train/pos")).unwrap();
    for i in 0..3 {
        fs::write(imdb.join(format!("train/pos/{i}_9.txt")), "great").unwrap();
    }
    let report = check("imdb", &[tmp.path().join("imdb")]);
    let problems = report.problems.join("\n");
    assert!(problems.contains("pos: 3 reviews, expected 12500"), "{problems}");
    assert!(problems.contains("test/neg not found"), "{problems}");

    fs::create_dir_all(tmp.path().join("shd")).unwrap();
    fs::write(tmp.path().join("shd/shd_train.h5"), b"not hdf5 at all").unwrap();
    let report = check("shd", &[tmp.path().join("shd")]);
    let problems = report.problems.join("\n");
    assert!(problems.contains("shd_train.h5: not a readable HDF5 file"), "{problems}");
    assert!(problems.contains("shd_test.h5 not found"), "{problems}");
}

#[test]
fn shd_files_are_read_and_their_counts_reported() {
    let tmp = TempDir::new("shdread");
    let dir = tmp.path().join("shd");
    fs::create_dir_all(&dir).unwrap();
    let fixtures = crate::support::fixture("shd");
    fs::copy(fixtures.join("shd_fixture.h5"), dir.join("shd_train.h5")).unwrap();
    fs::copy(fixtures.join("cases/bad_unit_700.h5"), dir.join("shd_test.h5")).unwrap();
    let report = check("shd", std::slice::from_ref(&dir));
    let found = report.found.join("\n");
    assert!(found.contains("shd_train.h5: 24 samples, 14168 spikes (float16 times"), "{found}");
    let notes = report.notes.join("\n");
    assert!(notes.contains("shd_train.h5: 24 samples; the published shd_train.h5 has 8156"), "{notes}");
    assert!(notes.contains("only 13 of the 20 classes have samples"), "{notes}");
    let problems = report.problems.join("\n");
    assert!(problems.contains("shd_test.h5: `spikes/units`, sample 2: spike 1 is on unit 700"), "{problems}");
    assert!(!report.is_complete());
}
