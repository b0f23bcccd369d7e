//! Bad LRA input: each case is an `Err` whose message names the file (and the line, where the
//! format has lines), never a panic and never a silent skip. Bad files are written into temp
//! dirs; the bad PNGs come from `tests/fixtures/lra/cases` (made by Pillow).

use crate::support::fixture;
use elmbench::tasks::lra::image::{CifarBatch, ImageData};
use elmbench::tasks::lra::listops::{self, ListOps};
use elmbench::tasks::lra::pathfinder::{self, PathfinderIndex, Resolution};
use elmbench::tasks::lra::png_grey::read_grey_png;
use elmbench::tasks::lra::report::ReadReport;
use elmbench::tasks::lra::retrieval::{self, Retrieval};
use elmbench::tasks::lra::text::ImdbText;
use std::path::{Path, PathBuf};

/// `err`'s whole chain as text, which must name every needle.
fn assert_names(err: anyhow::Error, needles: &[&str]) -> String {
    let text = format!("{err:#}");
    for needle in needles {
        assert!(text.contains(needle), "expected `{needle}` in: {text}");
    }
    text
}

fn path_str(path: &Path) -> String {
    path.display().to_string()
}

// ---------------------------------------------------------------------------------------------
// ListOps

/// A ListOps tree whose train file is `train` (val and test are good one-liners).
fn listops_tree(train: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("lra/lra_release/lra_release/listops-1000");
    std::fs::create_dir_all(&folder).unwrap();
    let good = b"Source\tTarget\r\n( ( [MAX 2 ) 9 ) ] )\t9\r\n";
    std::fs::write(folder.join("basic_val.tsv"), good).unwrap();
    std::fs::write(folder.join("basic_test.tsv"), good).unwrap();
    let train_path = folder.join("basic_train.tsv");
    std::fs::write(&train_path, train).unwrap();
    (dir, train_path)
}

fn listops_err(train: &[u8]) -> (anyhow::Error, PathBuf) {
    let (dir, path) = listops_tree(train);
    let err = ListOps::load(dir.path()).unwrap_err();
    // The split on its own gives the same error.
    let mut report = ReadReport::default();
    let again = listops::read_split(&path, &mut report).unwrap_err();
    assert_eq!(format!("{err:#}"), format!("{again:#}"));
    (err, path)
}

#[test]
fn lra_bad_listops_row_without_target_column() {
    let (err, path) = listops_err(b"Source\tTarget\r\n( [MIN 1 ) ] )\t1\r\n( [MAX 2 ) 9 ) ] )\r\n");
    assert_names(err, &[&format!("{}:3:", path_str(&path)), "1 tab-separated columns, expected 2"]);
}

#[test]
fn lra_bad_listops_row_with_an_extra_column() {
    let (err, path) = listops_err(b"Source\tTarget\r\n( [MIN 1 ) ] )\t1\t1\r\n");
    assert_names(err, &[&format!("{}:2:", path_str(&path)), "3 tab-separated columns"]);
}

#[test]
fn lra_bad_listops_target_out_of_range() {
    for target in ["10", "-1", "x", "255", "256", "", "1.0"] {
        let body = format!("Source\tTarget\n( [MIN 1 ) ] )\t1\n( [MAX 2 ) 9 ) ] )\t{target}\n");
        let (err, path) = listops_err(body.as_bytes());
        let text = assert_names(err, &[&format!("{}:3:", path_str(&path)), "Target"]);
        assert!(text.contains(&format!("{target:?}")) || text.contains(target), "{text}");
    }
}

#[test]
fn lra_bad_listops_unknown_symbol_and_missing_header() {
    let (err, path) = listops_err(b"Source\tTarget\n( [MIN 1 ) ] )\t1\n( [FIRST 2 ) ] )\t2\n");
    assert_names(err, &[&format!("{}:3:", path_str(&path)), "[FIRST"]);
    let (err, path) = listops_err(b"( [MIN 1 ) ] )\t1\n");
    assert_names(err, &[&format!("{}:1:", path_str(&path)), "header"]);
    let (err, path) = listops_err(b"");
    assert_names(err, &[&path_str(&path), "empty file"]);
    let (err, path) = listops_err(b"Source\tTarget\n( ( ) )\t1\n");
    assert_names(err, &[&format!("{}:2:", path_str(&path)), "no tokens"]);
}

#[test]
fn lra_bad_listops_line_too_long() {
    // A line of 2 MB (the bound is 1 MB): refused without reading it whole.
    let mut body = b"Source\tTarget\n( [MIN 1 ) ] )\t1\n".to_vec();
    body.extend(std::iter::repeat_n(b'1', 2 << 20));
    body.extend_from_slice(b"\t1\n");
    let (err, path) = listops_err(&body);
    assert_names(err, &[&format!("{}:3:", path_str(&path)), "longer than"]);
}

#[test]
fn lra_bad_listops_not_utf8() {
    let (err, path) = listops_err(b"Source\tTarget\n( [MIN 1 ) ] )\t1\n( [MAX \xff ) ] )\t1\n");
    assert_names(err, &[&format!("{}:3:", path_str(&path)), "UTF-8"]);
}

#[test]
fn lra_bad_listops_missing_file() {
    let (dir, path) = listops_tree(b"Source\tTarget\n");
    std::fs::remove_file(&path).unwrap();
    assert_names(ListOps::load(dir.path()).unwrap_err(), &[&path_str(&path), "missing"]);
}

// ---------------------------------------------------------------------------------------------
// Retrieval

fn retrieval_err(train: &[u8]) -> (anyhow::Error, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("lra_release/tsv_data");
    std::fs::create_dir_all(&folder).unwrap();
    let good = b"1\tA\tB\tsome text\tmore text\n";
    std::fs::write(folder.join("new_aan_pairs.eval.tsv"), good).unwrap();
    std::fs::write(folder.join("new_aan_pairs.test.tsv"), good).unwrap();
    let path = folder.join("new_aan_pairs.train.tsv");
    std::fs::write(&path, train).unwrap();
    let err = Retrieval::read(&retrieval::locate(dir.path()).unwrap()).unwrap_err();
    (err, path)
}

#[test]
fn lra_bad_retrieval_fewer_than_5_columns() {
    let (err, path) = retrieval_err(b"1\tA\tB\tx\ty\n0\tA\tB\tonly one text\n");
    assert_names(err, &[&format!("{}:2:", path_str(&path)), "4 tab-separated columns, expected 5"]);
}

#[test]
fn lra_bad_retrieval_label_2() {
    let (err, path) = retrieval_err(b"1.0\tA\tB\tx\ty\n2\tA\tB\tx\ty\n");
    assert_names(err, &[&format!("{}:2:", path_str(&path)), "label \"2\""]);
    let (err, path) = retrieval_err(b"yes\tA\tB\tx\ty\n");
    assert_names(err, &[&format!("{}:1:", path_str(&path)), "\"yes\""]);
}

#[test]
fn lra_bad_retrieval_line_too_long() {
    // The bound is 64 MB a line (two whole papers are far below it): a line past it is refused,
    // read no further than the bound.
    let mut body = b"1\tA\tB\tx\ty\n1\tA\tB\t".to_vec();
    body.resize(body.len() + (64 << 20) + 10, b'a');
    body.extend_from_slice(b"\ty\n");
    let (err, path) = retrieval_err(&body);
    assert_names(err, &[&format!("{}:2:", path_str(&path)), "longer than"]);
}

#[test]
fn lra_bad_retrieval_not_utf8() {
    let (err, path) = retrieval_err(b"1\tA\tB\tx\ty\n1\tA\tB\tcaf\xe9\ty\n");
    assert_names(err, &[&format!("{}:2:", path_str(&path)), "UTF-8"]);
}

// ---------------------------------------------------------------------------------------------
// Text

fn imdb_tree(bad_name: &str, bad: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for split in ["train", "test"] {
        for (folder, name) in [("pos", "0_8.txt"), ("neg", "0_3.txt")] {
            let d = dir.path().join(format!("imdb/aclImdb/{split}/{folder}"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join(name), "A fine review.").unwrap();
        }
    }
    let path = dir.path().join("imdb/aclImdb/test/neg").join(bad_name);
    std::fs::write(&path, bad).unwrap();
    (dir, path)
}

#[test]
fn lra_bad_text_review_not_utf8() {
    // Latin-1 é (0xE9) where UTF-8 is expected: Python's open(encoding="UTF-8") would raise.
    let (dir, path) = imdb_tree("5_1.txt", b"Caf\xe9 society.");
    assert_names(ImdbText::load(dir.path()).unwrap_err(), &[&path_str(&path), "not UTF-8", "offset 3"]);
}

#[test]
fn lra_bad_text_review_name() {
    let (dir, path) = imdb_tree("review.txt", b"ok");
    assert_names(ImdbText::load(dir.path()).unwrap_err(), &[&path_str(&path), "<id>_<rating>.txt"]);
    let (dir, path) = imdb_tree("5_9.txt", b"ok");
    assert_names(ImdbText::load(dir.path()).unwrap_err(), &[&path_str(&path), "rating 9"]);
}

#[test]
fn lra_bad_text_missing_folder() {
    let (dir, _) = imdb_tree("5_1.txt", b"ok");
    let neg = dir.path().join("imdb/aclImdb/train/neg");
    std::fs::remove_dir_all(&neg).unwrap();
    assert_names(ImdbText::load(dir.path()).unwrap_err(), &[&path_str(&neg)]);
}

// ---------------------------------------------------------------------------------------------
// CIFAR-10

fn cifar_tree(train: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("cifar10/cifar-10-batches-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let good = std::fs::read(fixture("lra/cifar-10-batches-bin/test_batch.bin")).unwrap();
    std::fs::write(bin.join("test_batch.bin"), good).unwrap();
    let path = bin.join("data_batch_1.bin");
    std::fs::write(&path, train).unwrap();
    (dir, path)
}

#[test]
fn lra_bad_cifar_short_record() {
    let good = std::fs::read(fixture("lra/cifar-10-batches-bin/data_batch_1.bin")).unwrap();
    // Two records and 100 bytes of a third.
    let (dir, path) = cifar_tree(&good[..2 * 3073 + 100]);
    assert_names(ImageData::load(dir.path()).unwrap_err(), &[&path_str(&path), "record 2 is short", "100 of its 3073"]);
    let (dir, path) = cifar_tree(&[]);
    assert_names(ImageData::load(dir.path()).unwrap_err(), &[&path_str(&path), "empty"]);
}

#[test]
fn lra_bad_cifar_class_out_of_range() {
    let mut bytes = std::fs::read(fixture("lra/cifar-10-batches-bin/data_batch_1.bin")).unwrap();
    bytes[3073] = 10;
    let path = Path::new("some/data_batch_1.bin");
    assert_names(CifarBatch::from_bytes(path, &bytes).unwrap_err(), &["some/data_batch_1.bin", "record 1", "class 10"]);
}

#[test]
fn lra_bad_cifar_missing_or_gapped_files() {
    let good = std::fs::read(fixture("lra/cifar-10-batches-bin/data_batch_1.bin")).unwrap();
    let (dir, path) = cifar_tree(&good);
    let test = path.with_file_name("test_batch.bin");
    std::fs::remove_file(&test).unwrap();
    assert_names(ImageData::load(dir.path()).unwrap_err(), &[&path_str(&test), "missing"]);
    let (dir, path) = cifar_tree(&good);
    let third = path.with_file_name("data_batch_3.bin");
    std::fs::write(&third, &good).unwrap();
    assert_names(ImageData::load(dir.path()).unwrap_err(), &[&path_str(&third), "data_batch_2.bin"]);
}

// ---------------------------------------------------------------------------------------------
// Pathfinder / Path-X

/// A pathfinder32 tree of one difficulty: the four fixture images, `metadata` as 0.npy, and
/// `extra` images (name, bytes) beside them.
fn pathfinder_tree(difficulty: &str, metadata: &str, extra: &[(&str, &[u8])]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("lra/lra_release/lra_release/pathfinder32").join(difficulty);
    let imgs = root.join("imgs/0");
    std::fs::create_dir_all(&imgs).unwrap();
    std::fs::create_dir_all(root.join("metadata")).unwrap();
    for k in 0..4 {
        let name = format!("sample_{k}.png");
        let src = fixture("lra/lra_release/lra_release/pathfinder32/curv_contour_length_14/imgs/0").join(&name);
        std::fs::copy(src, imgs.join(name)).unwrap();
    }
    for (name, bytes) in extra {
        std::fs::write(imgs.join(name), bytes).unwrap();
    }
    std::fs::write(root.join("metadata/0.npy"), metadata).unwrap();
    (dir, root)
}

const GOOD_METADATA: &str = "imgs/0 sample_0.png 0 0 1.0 14 4 2 0.5 1 1\nimgs/0 sample_1.png 1 1 1.0 14 4 2 0.5 1 1\n";

/// Line 3 of the metadata lists `bad.png`, holding `bytes`: the index reads, decoding it fails
/// naming the image and the metadata line, and the good images around it still decode.
fn bad_image(bytes: &[u8], needles: &[&str]) {
    let metadata = format!("{GOOD_METADATA}imgs/0 bad.png 2 0 1.0 14 4 2 0.5 1 1\n");
    let (dir, root) = pathfinder_tree(pathfinder::DIFFICULTY, &metadata, &[("bad.png", bytes)]);
    let index = PathfinderIndex::load(dir.path(), Resolution::Px32).unwrap();
    assert_eq!(index.len(), 3);
    let image = root.join("imgs/0/bad.png");
    let listed = format!("{}:3", path_str(&root.join("metadata/0.npy")));
    let mut all = vec![path_str(&image), listed];
    all.extend(needles.iter().map(|s| s.to_string()));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    assert_names(index.decode_grey(2).unwrap_err(), &all);
    assert_names(index.decode_batch(&[0, 2, 1]).unwrap_err(), &all);
    assert_names(index.sparse_batch(&[2]).unwrap_err(), &all);
    index.decode_batch(&[0, 1]).unwrap();
    // The decoder on its own names the file too.
    assert_names(read_grey_png(&image, 32).unwrap_err(), &[&path_str(&image)]);
}

fn case(name: &str) -> Vec<u8> {
    std::fs::read(fixture("lra/cases").join(name)).unwrap()
}

#[test]
fn lra_bad_png_truncated() {
    bad_image(&case("bad_truncated.png"), &["PNG"]);
}

#[test]
fn lra_bad_png_rgb() {
    bad_image(&case("bad_rgb.png"), &["Rgb", "expected 8-bit grey"]);
}

#[test]
fn lra_bad_png_grey_alpha() {
    bad_image(&case("bad_grey_alpha.png"), &["GrayscaleAlpha", "expected 8-bit grey"]);
}

#[test]
fn lra_bad_png_16_bit() {
    bad_image(&case("bad_grey16.png"), &["16 bits", "expected 8-bit grey"]);
}

#[test]
fn lra_bad_png_wrong_size() {
    bad_image(&case("bad_size_32x30.png"), &["32x30", "expected 32x32"]);
    // A good 128x128 image where a 32x32 one belongs.
    let big =
        std::fs::read(fixture("lra/lra_release/lra_release/pathfinder128/curv_contour_length_14/imgs/0/sample_0.png"))
            .unwrap();
    bad_image(&big, &["128x128", "expected 32x32"]);
}

#[test]
fn lra_bad_png_not_a_png() {
    bad_image(&case("bad_not_png.png"), &["not a readable PNG"]);
}

#[test]
fn lra_bad_png_empty_is_an_error_unless_s4_blacklists_it() {
    // An empty image that S4 does not blacklist: an error at decode.
    bad_image(&case("bad_empty.png"), &["empty file"]);
    // The one S4 blacklists (pathfinder32/curv_baseline/imgs/0/sample_172.png, empty in the
    // release): left out of the index, counted and named in the report.
    let metadata = format!("{GOOD_METADATA}imgs/0 sample_172.png 172 1 1.0 6 4 2 0.5 1 1\n");
    let (dir, _) = pathfinder_tree("curv_baseline", &metadata, &[("sample_172.png", b"")]);
    let files = pathfinder::locate_difficulty(dir.path(), Resolution::Px32, "curv_baseline").unwrap();
    let index = PathfinderIndex::read(&files).unwrap();
    assert_eq!(index.len(), 2);
    assert_eq!(index.report.skipped_count(), 1);
    assert_eq!(index.report.skipped[0].item, pathfinder::BLACKLIST[0]);
    assert!(index.report.to_string().contains("skipped pathfinder32/curv_baseline/imgs/0/sample_172.png"));
    index.decode_batch(&[0, 1]).unwrap();
    // Under another difficulty the same name is an ordinary image: an empty one is an error.
    let (dir, root) = pathfinder_tree(pathfinder::DIFFICULTY, &metadata, &[("sample_172.png", b"")]);
    let index = PathfinderIndex::load(dir.path(), Resolution::Px32).unwrap();
    assert_eq!(index.len(), 3);
    assert_names(index.decode_grey(2).unwrap_err(), &[&path_str(&root.join("imgs/0/sample_172.png")), "empty"]);
}

#[test]
fn lra_bad_pathfinder_missing_image() {
    let metadata = format!("{GOOD_METADATA}imgs/0 sample_9.png 9 0 1.0 14 4 2 0.5 1 1\n");
    let (dir, root) = pathfinder_tree(pathfinder::DIFFICULTY, &metadata, &[]);
    let index = PathfinderIndex::load(dir.path(), Resolution::Px32).unwrap();
    let listed = format!("{}:3", path_str(&root.join("metadata/0.npy")));
    assert_names(
        index.decode_batch(&[2]).unwrap_err(),
        &[&path_str(&root.join("imgs/0/sample_9.png")), "missing", &listed],
    );
}

#[test]
fn lra_bad_pathfinder_metadata_lines() {
    let cases: [(&str, &[&str]); 5] = [
        ("imgs/0 sample_0.png 0\n", &[":1:", "3 fields"]),
        ("imgs/0 sample_0.png 0 0\nimgs/0 sample_1.png 1 2 1.0\n", &[":2:", "\"2\" is not 0 or 1"]),
        ("imgs/0 sample_0.png 0 x\n", &[":1:", "\"x\""]),
        ("imgs/0 sample_0.png 0 -1\n", &[":1:", "\"-1\""]),
        ("../.. sample_0.png 0 1\n", &[":1:", "leaves"]),
    ];
    for (metadata, needles) in cases {
        let (dir, root) = pathfinder_tree(pathfinder::DIFFICULTY, metadata, &[]);
        let err = PathfinderIndex::load(dir.path(), Resolution::Px32).unwrap_err();
        let file = path_str(&root.join("metadata/0.npy"));
        let mut all = vec![file.as_str()];
        all.extend_from_slice(needles);
        assert_names(err, &all);
    }
    // No images at all.
    let (dir, root) = pathfinder_tree(pathfinder::DIFFICULTY, "\n\n", &[]);
    assert_names(
        PathfinderIndex::load(dir.path(), Resolution::Px32).unwrap_err(),
        &[&path_str(&root.join("metadata"))],
    );
    // A metadata file whose name is not a number.
    let (dir, root) = pathfinder_tree(pathfinder::DIFFICULTY, GOOD_METADATA, &[]);
    std::fs::write(root.join("metadata/extra.npy"), GOOD_METADATA).unwrap();
    assert_names(
        PathfinderIndex::load(dir.path(), Resolution::Px32).unwrap_err(),
        &[&path_str(&root.join("metadata/extra.npy"))],
    );
}
