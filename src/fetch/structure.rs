//! Structural checks of unpacked datasets: the folders and files the loaders need, and record
//! counts where shared/DATASETS.md gives them. Content (pickles, images) is checked by the readers;
//! this only answers "is everything there?" with a clear list of what is missing. The SHD files are
//! the exception: they are small enough to read whole here, so the SHD reader checks them.

use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

/// The outcome of checking one dataset.
#[derive(Debug, Default, Clone)]
pub struct StructureReport {
    pub dataset: String,
    /// What was checked and found as expected.
    pub found: Vec<String>,
    /// What is missing or wrong.
    pub problems: Vec<String>,
    /// What was not checked, or expectations that are not verified upstream.
    pub notes: Vec<String>,
}

impl StructureReport {
    pub fn is_complete(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks `dataset` in the folders its files were unpacked to (`roots`, inside the data dir).
pub fn check(dataset: &str, roots: &[PathBuf]) -> StructureReport {
    let mut report = StructureReport { dataset: dataset.to_string(), ..StructureReport::default() };
    match dataset {
        "neuronio" => check_neuronio(roots, &mut report),
        "shd" => check_shd(roots, &mut report),
        "lra" => check_lra(roots, &mut report),
        "cifar10" => check_cifar10(roots, &mut report),
        "imdb" => check_imdb(roots, &mut report),
        other => report.notes.push(format!(
            "no structural check is defined for dataset `{other}`; only the downloads' checksums were verified"
        )),
    }
    report
}

fn roots_text(roots: &[PathBuf]) -> String {
    roots.iter().map(|r| r.display().to_string()).collect::<Vec<_>>().join(" or ")
}

/// DATASETS.md 1.1: the train dataset unpacks to `full_ergodic_train_batch_1` .. `_10` and the
/// test dataset to `Data_test`, each holding `*.p` pickles. Where they sit inside the Kaggle zips
/// is not verified, so they are looked for up to four folders deep.
fn check_neuronio(roots: &[PathBuf], report: &mut StructureReport) {
    let mut wanted: Vec<String> = (1..=10).map(|k| format!("full_ergodic_train_batch_{k}")).collect();
    wanted.push("Data_test".to_string());
    let found = find_folders(roots, &wanted, 4);
    for name in &wanted {
        match found.iter().find(|(n, _)| n == name) {
            None => report.problems.push(format!("folder {name} not found under {}", roots_text(roots))),
            Some((_, path)) => {
                let pickles = count_files(path, |n| n.ends_with(".p"));
                if pickles == 0 {
                    report.problems.push(format!("{} holds no *.p files", path.display()));
                } else {
                    report.found.push(format!("{}: {pickles} .p files", path.display()));
                }
            }
        }
    }
    report.notes.push(
        "the number of .p files per folder is not published (DATASETS.md 1.1); the pickles are checked when read"
            .to_string(),
    );
}

/// Breadth-first search for folders with the given names, at most `depth` levels below a root.
fn find_folders(roots: &[PathBuf], names: &[String], depth: usize) -> Vec<(String, PathBuf)> {
    let mut found: Vec<(String, PathBuf)> = Vec::new();
    let mut level: Vec<PathBuf> = roots.to_vec();
    for _ in 0..depth {
        let mut next = Vec::new();
        for dir in &level {
            let Ok(items) = fs::read_dir(dir) else {
                continue;
            };
            for item in items.flatten() {
                let path = item.path();
                if !path.is_dir() {
                    continue;
                }
                let name = item.file_name().to_string_lossy().into_owned();
                if names.contains(&name) {
                    if !found.iter().any(|(n, _)| *n == name) {
                        found.push((name, path));
                    }
                } else if !name.starts_with('.') {
                    next.push(path);
                }
            }
        }
        level = next;
    }
    found
}

fn count_files(dir: &Path, keep: impl Fn(&str) -> bool) -> usize {
    fs::read_dir(dir)
        .map(|items| items.flatten().filter(|i| i.path().is_file() && keep(&i.file_name().to_string_lossy())).count())
        .unwrap_or(0)
}

/// Finds `rel` in the first root that has it.
fn locate(roots: &[PathBuf], rel: &str) -> Option<PathBuf> {
    roots.iter().map(|r| r.join(rel)).find(|p| p.exists())
}

/// DATASETS.md 2.2: one HDF5 file per split, read and checked whole by the SHD reader (every
/// unit below 700, every label a class 0..19, times and units of equal length per sample). A file
/// that fails is a problem. Sample counts other than the published ones, or classes without a
/// sample, are notes: the md5 is what vouches for a download, the counts differ between the two
/// releases, and a hand-placed subset is still a valid file.
fn check_shd(roots: &[PathBuf], report: &mut StructureReport) {
    use crate::tasks::shd::{
        ShdFile, EARLIER_TEST_SAMPLES, EARLIER_TRAIN_SAMPLES, NUM_CLASSES, TEST_SAMPLES, TRAIN_SAMPLES,
    };
    for (name, published, earlier) in
        [("shd_train.h5", TRAIN_SAMPLES, EARLIER_TRAIN_SAMPLES), ("shd_test.h5", TEST_SAMPLES, EARLIER_TEST_SAMPLES)]
    {
        let Some(path) = locate(roots, name) else {
            report.problems.push(format!("{name} not found in {}", roots_text(roots)));
            continue;
        };
        let summary = match ShdFile::read(&path) {
            Ok(file) => file.summary(),
            Err(e) => {
                report.problems.push(format!("{e:#}"));
                continue;
            }
        };
        report.found.push(format!("{}: {}", path.display(), summary.describe()));
        if summary.samples == earlier {
            report.notes.push(format!(
                "{}: {} samples, as in the earlier SHD release ({published} in the current one)",
                path.display(),
                summary.samples
            ));
        } else if summary.samples != published {
            report.notes.push(format!(
                "{}: {} samples; the published {name} has {published} (DATASETS.md 2.2)",
                path.display(),
                summary.samples
            ));
        }
        if summary.classes_present() < NUM_CLASSES {
            report.notes.push(format!(
                "{}: only {} of the {NUM_CLASSES} classes have samples",
                path.display(),
                summary.classes_present()
            ));
        }
    }
}

/// Non-blank lines of a text file, minus a header line if `header` is given and present.
fn count_records(path: &Path, header: Option<&str>) -> std::io::Result<u64> {
    let mut reader = BufReader::with_capacity(1 << 20, File::open(path)?);
    let mut line = Vec::new();
    let mut count = 0u64;
    let mut first = true;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        let is_header = first && header.is_some_and(|h| line.starts_with(h.as_bytes()));
        first = false;
        if !is_header && line.iter().any(|b| !b.is_ascii_whitespace()) {
            count += 1;
        }
    }
    Ok(count)
}

/// Checks that a text file holds `expected` records; `verified` says whether DATASETS.md marks
/// the count as checked upstream (a mismatch is then a problem, otherwise only a note).
fn expect_records(report: &mut StructureReport, path: &Path, header: Option<&str>, expected: u64, verified: bool) {
    if !path.is_file() {
        report.problems.push(format!("{} not found", path.display()));
        return;
    }
    match count_records(path, header) {
        Ok(n) if n == expected => report.found.push(format!("{}: {n} records", path.display())),
        Ok(n) if verified => report.problems.push(format!("{}: {n} records, expected {expected}", path.display())),
        Ok(n) => {
            report.notes.push(format!("{}: {n} records (DATASETS.md expects {expected}, unverified)", path.display()))
        }
        Err(e) => report.problems.push(format!("{}: cannot read ({e})", path.display())),
    }
}

/// DATASETS.md 3.1: the release unpacks to `lra_release/lra_release/...` (S4, S5); some code reads a
/// single `lra_release/`, so both are accepted. Counts: ListOps 96,000/2,000/2,000 (3.2),
/// Retrieval train 147,086 (3.4; eval/test unverified), Pathfinder 200,000 per difficulty (3.6).
fn check_lra(roots: &[PathBuf], report: &mut StructureReport) {
    let candidates: Vec<PathBuf> =
        roots.iter().flat_map(|r| [r.join("lra_release/lra_release"), r.join("lra_release"), r.clone()]).collect();
    let Some(base) = candidates.iter().find(|c| c.join("listops-1000").is_dir()) else {
        report.problems.push(format!(
            "listops-1000 not found in any of: {}",
            candidates.iter().map(|c| c.display().to_string()).collect::<Vec<_>>().join(", ")
        ));
        return;
    };
    report.found.push(format!("LRA release at {}", base.display()));
    let listops = base.join("listops-1000");
    for (split, n) in [("train", 96_000), ("val", 2_000), ("test", 2_000)] {
        let path = listops.join(format!("basic_{split}.tsv"));
        expect_records(report, &path, Some("Source"), n, true);
    }
    let aan = base.join("tsv_data");
    for (split, n, verified) in [("train", 147_086, true), ("eval", 18_090, false), ("test", 17_437, false)] {
        let path = aan.join(format!("new_aan_pairs.{split}.tsv"));
        expect_records(report, &path, None, n, verified);
    }
    for folder in ["pathfinder32", "pathfinder128"] {
        check_pathfinder(report, &base.join(folder).join("curv_contour_length_14"));
    }
}

/// A Pathfinder difficulty folder: `imgs/` and `metadata/*.npy` (plain text, one line per image).
fn check_pathfinder(report: &mut StructureReport, dir: &Path) {
    const IMAGES_PER_DIFFICULTY: u64 = 200_000;
    if !dir.join("imgs").is_dir() {
        report.problems.push(format!("{} not found", dir.join("imgs").display()));
    }
    let metadata = dir.join("metadata");
    let Ok(items) = fs::read_dir(&metadata) else {
        report.problems.push(format!("{} not found", metadata.display()));
        return;
    };
    let mut lines = 0;
    for item in items.flatten() {
        let path = item.path();
        if path.extension().is_some_and(|e| e == "npy") {
            match count_records(&path, None) {
                Ok(n) => lines += n,
                Err(e) => {
                    report.problems.push(format!("{}: cannot read ({e})", path.display()));
                    return;
                }
            }
        }
    }
    if lines == IMAGES_PER_DIFFICULTY {
        report.found.push(format!("{}: {lines} images listed", dir.display()));
    } else {
        report
            .problems
            .push(format!("{}: metadata lists {lines} images, expected {IMAGES_PER_DIFFICULTY}", dir.display()));
    }
}

/// DATASETS.md 3.5: `cifar-10-batches-bin/data_batch_{1..5}.bin` and `test_batch.bin`, 10,000
/// records of 3073 bytes each, and `batches.meta.txt`.
fn check_cifar10(roots: &[PathBuf], report: &mut StructureReport) {
    const BATCH_BYTES: u64 = 10_000 * 3073;
    let Some(dir) = locate(roots, "cifar-10-batches-bin") else {
        report.problems.push(format!("cifar-10-batches-bin not found in {}", roots_text(roots)));
        return;
    };
    let mut names: Vec<String> = (1..=5).map(|k| format!("data_batch_{k}.bin")).collect();
    names.push("test_batch.bin".to_string());
    for name in names {
        let path = dir.join(&name);
        match fs::metadata(&path) {
            Ok(meta) if meta.len() == BATCH_BYTES => report.found.push(format!("{}: 10000 records", path.display())),
            Ok(meta) => report.problems.push(format!(
                "{}: {} bytes, expected {BATCH_BYTES} (10000 records of 3073 bytes)",
                path.display(),
                meta.len()
            )),
            Err(_) => report.problems.push(format!("{} not found", path.display())),
        }
    }
    if !dir.join("batches.meta.txt").is_file() {
        report.problems.push(format!("{} not found", dir.join("batches.meta.txt").display()));
    }
}

/// DATASETS.md 3.3: `aclImdb/{train,test}/{pos,neg}` with 12,500 reviews each.
fn check_imdb(roots: &[PathBuf], report: &mut StructureReport) {
    const REVIEWS_PER_FOLDER: usize = 12_500;
    let Some(dir) = locate(roots, "aclImdb") else {
        report.problems.push(format!("aclImdb not found in {}", roots_text(roots)));
        return;
    };
    for split in ["train", "test"] {
        for label in ["pos", "neg"] {
            let folder = dir.join(split).join(label);
            if !folder.is_dir() {
                report.problems.push(format!("{} not found", folder.display()));
                continue;
            }
            let n = count_files(&folder, |name| name.ends_with(".txt"));
            if n == REVIEWS_PER_FOLDER {
                report.found.push(format!("{}: {n} reviews", folder.display()));
            } else {
                report.problems.push(format!("{}: {n} reviews, expected {REVIEWS_PER_FOLDER}", folder.display()));
            }
        }
    }
}
