//! The LRA readers on the real-format fixtures (tests/fixtures/lra). Every expected value comes
//! from outside the reader: Pillow's output (`cases/pil_grey/*.L`, written by
//! `make_lra_cases.py`), the raw file bytes parsed here with plain string splitting, or a hand
//! computation written out in the test.

use crate::support::fixture;
use elmbench::tasks::lra::image::{self, bin16, pil_grey, CifarBatch, ImageData};
use elmbench::tasks::lra::listops::{self, tokenize_into, ListOps};
use elmbench::tasks::lra::pathfinder::{self, PathfinderIndex, PathfinderSplits, Resolution};
use elmbench::tasks::lra::retrieval::{self, parse_label, Retrieval};
use elmbench::tasks::lra::text::{self, ImdbText};
use elmbench::tasks::lra::vocab::UNK;
use elmbench::tasks::lra::{CharVocab, LraTask};
use elmbench::tasks::Split;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const RECORD: usize = 3073;

fn lra_root() -> PathBuf {
    fixture("lra")
}

fn release(relative: &str) -> PathBuf {
    fixture("lra/lra_release/lra_release").join(relative)
}

fn pil_grey_file(name: &str) -> Vec<u8> {
    let path = fixture("lra/cases/pil_grey").join(name);
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run tests/fixtures/lra/make_lra_cases.py)", path.display()))
}

// ---------------------------------------------------------------------------------------------
// Image (CIFAR-10 grey)

#[test]
fn lra_cifar_grey_equals_pil_convert_l_for_every_fixture_record() {
    for name in ["data_batch_1", "test_batch"] {
        let path = lra_root().join(format!("cifar-10-batches-bin/{name}.bin"));
        let raw = std::fs::read(&path).unwrap();
        assert_eq!(raw.len() % RECORD, 0);
        let records = raw.len() / RECORD;
        let expected = pil_grey_file(&format!("cifar_{name}.L"));
        assert_eq!(expected.len(), records * 1024, "{name}: the .L file holds 1,024 levels a record");

        let batch = CifarBatch::read(&path).unwrap();
        assert_eq!(batch.len(), records);
        for r in 0..records {
            assert_eq!(batch.labels[r], raw[r * RECORD], "{name} record {r}: the class is the record's first byte");
            assert_eq!(batch.grey(r), &expected[r * 1024..(r + 1) * 1024], "{name} record {r}: grey differs from PIL");
        }
    }
}

#[test]
fn lra_pil_grey_of_primaries_is_pils() {
    // PIL's convert("L") of pure colours (Pillow >= 9's fixed-point rgb2l): red 76, green 150,
    // blue 29, white 255, black 0; (R*299 + G*587 + B*114) / 1000 gives the same for these.
    assert_eq!(pil_grey(255, 0, 0), 76);
    assert_eq!(pil_grey(0, 255, 0), 150);
    assert_eq!(pil_grey(0, 0, 255), 29);
    assert_eq!(pil_grey(255, 255, 255), 255);
    assert_eq!(pil_grey(0, 0, 0), 0);
}

#[test]
fn lra_cifar_tokens_are_16_equal_bins_of_the_pil_grey() {
    // Hand formula: level = floor(v * 16 / 256).
    for v in 0..=255u8 {
        assert_eq!(bin16(v) as u32, v as u32 * 16 / 256, "v = {v}");
    }
    let data = ImageData::load(&lra_root()).unwrap();
    let train_grey = pil_grey_file("cifar_data_batch_1.L");
    let test_grey = pil_grey_file("cifar_test_batch.L");
    let expected = |grey: &[u8], r: usize| -> Vec<u8> {
        grey[r * 1024..(r + 1) * 1024].iter().map(|&v| (v as u32 * 16 / 256) as u8).collect()
    };
    let all: Vec<(&[u8], u8)> = data
        .train
        .sequences
        .iter()
        .zip(data.train.labels())
        .chain(data.val.sequences.iter().zip(data.val.labels()))
        .map(|(t, &l)| (t, l))
        .collect();
    let raw = std::fs::read(lra_root().join("cifar-10-batches-bin/data_batch_1.bin")).unwrap();
    assert_eq!(all.len(), raw.len() / RECORD);
    for (r, (tokens, label)) in all.iter().enumerate() {
        assert_eq!(tokens.len(), 1024);
        assert_eq!(*tokens, &expected(&train_grey, r)[..], "train record {r}");
        assert_eq!(*label, raw[r * RECORD]);
        assert!(tokens.iter().all(|&t| t < 16));
    }
    let raw_test = std::fs::read(lra_root().join("cifar-10-batches-bin/test_batch.bin")).unwrap();
    assert_eq!(data.test.len(), raw_test.len() / RECORD);
    for r in 0..data.test.len() {
        assert_eq!(data.test.tokens(r), &expected(&test_grey, r)[..], "test record {r}");
        assert_eq!(data.test.label(r), raw_test[r * RECORD]);
    }
    assert_eq!((data.vocab_size(), data.input_size(), data.seq_len()), (16, 16, 1024));
}

#[test]
fn lra_cifar_split_is_tfds_train_90_percent_then_the_rest_then_test() {
    // The fixture has one training file of 6 records and a test file of 2. TFDS `train[:90%]`
    // ends at int(round(90 * 6 / 100)) = round(5.4) = 5: records 0-4 train, record 5 validates.
    let data = ImageData::load(&lra_root()).unwrap();
    assert_eq!((data.train.len(), data.val.len(), data.test.len()), (5, 1, 2));
    assert_eq!(data.report.items, 8);
    assert!(data.report.notes.iter().any(|n| n.contains("1 of the 5 training files")), "{}", data.report);
    let batch = CifarBatch::read(&lra_root().join("cifar-10-batches-bin/data_batch_1.bin")).unwrap();
    assert_eq!(data.val.tokens(0), &batch.grey(5).iter().map(|&v| v >> 4).collect::<Vec<_>>()[..]);
    assert_eq!(data.split(Split::Valid).len(), 1);
    assert_eq!(data.split(Split::Test).len(), 2);
}

/// Writes `records` CIFAR records (class r % 10, planes of value r) as data_batch_1 .. and a
/// test file of one record, under `<dir>/cifar-10-batches-bin/`.
fn write_cifar(dir: &Path, files: &[usize]) {
    let bin = dir.join("cifar-10-batches-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let mut next = 0usize;
    let record = |r: usize| -> Vec<u8> {
        let mut out = vec![(r % 10) as u8];
        out.extend(std::iter::repeat_n((r % 256) as u8, 3 * 1024));
        out
    };
    for (k, &n) in files.iter().enumerate() {
        let bytes: Vec<u8> = (next..next + n).flat_map(record).collect();
        next += n;
        std::fs::write(bin.join(format!("data_batch_{}.bin", k + 1)), bytes).unwrap();
    }
    std::fs::write(bin.join("test_batch.bin"), record(0)).unwrap();
}

#[test]
fn lra_cifar_split_rounds_halves_to_even_as_python_round() {
    // TFDS: int(round(90 * n / 100.)), Python's round sends halves to the even neighbour:
    // n = 5 -> 4.5 -> 4; n = 15 -> 13.5 -> 14; n = 25 -> 22.5 -> 22; n = 10 -> 9; n = 7 -> 6.3 -> 6.
    for (files, train) in [(vec![5], 4), (vec![10, 5], 14), (vec![20, 5], 22), (vec![10], 9), (vec![3, 4], 6)] {
        let dir = tempfile::tempdir().unwrap();
        write_cifar(dir.path(), &files);
        let data = ImageData::load(dir.path()).unwrap();
        let n: usize = files.iter().sum();
        assert_eq!((data.train.len(), data.val.len()), (train, n - train), "{files:?}");
        // Files are read in order: record r has grey r (all planes r) and class r % 10.
        for r in 0..n {
            let (split, i) = if r < train { (&data.train, r) } else { (&data.val, r - train) };
            assert_eq!(split.label(i) as usize, r % 10);
            assert!(split.tokens(i).iter().all(|&t| t as usize == (r % 256) >> 4));
        }
    }
}

#[test]
fn lra_cifar_real_layout_is_45000_5000_10000() {
    // Five files of 10,000 records: the cut is at record 45,000 (files 1-4 and half of file 5
    // train; the second half of data_batch_5 validates), as LRA's TRAIN_EXAMPLES = 45000.
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("cifar10/cifar-10-batches-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let file: Vec<u8> = (0..10_000)
        .flat_map(|r: usize| {
            let mut rec = vec![(r % 10) as u8];
            rec.extend(std::iter::repeat_n(0u8, 3 * 1024));
            rec
        })
        .collect();
    for k in 1..=5 {
        std::fs::write(bin.join(format!("data_batch_{k}.bin")), &file).unwrap();
    }
    std::fs::write(bin.join("test_batch.bin"), &file).unwrap();
    let data = ImageData::load(dir.path()).unwrap();
    assert_eq!((data.train.len(), data.val.len(), data.test.len()), (45_000, 5_000, 10_000));
    assert!(data.report.notes.is_empty(), "{}", data.report);
    // Memory: one byte a step (plus offsets and labels).
    let steps = 45_000 * 1024;
    assert!(data.train.heap_bytes() <= steps + 45_000 * 9 + 4096, "{}", data.train.heap_bytes());
}

// ---------------------------------------------------------------------------------------------
// Pathfinder / Path-X

/// (relative image path, label) of every metadata line, by plain splitting.
fn metadata_by_hand(resolution: u32) -> Vec<(String, u8)> {
    let path = release(&format!("pathfinder{resolution}/curv_contour_length_14/metadata/0.npy"));
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (format!("{}/{}", f[0], f[1]), f[3].parse().unwrap())
        })
        .collect()
}

#[test]
fn lra_pathfinder_index_takes_path_from_columns_0_1_and_label_from_column_3() {
    for (resolution, side) in [(Resolution::Px32, 32u32), (Resolution::Px128, 128)] {
        let index = PathfinderIndex::load(&lra_root(), resolution).unwrap();
        let by_hand = metadata_by_hand(side);
        assert_eq!(index.len(), by_hand.len());
        assert_eq!(index.len(), 4);
        // Column 2 (the image index) runs 0..3 and column 4 is 1.0, so only column 3 gives
        // these labels.
        assert_eq!(index.labels(), &[0, 1, 0, 1]);
        for (i, (relative, label)) in by_hand.iter().enumerate() {
            assert_eq!(index.relative_path(i), relative);
            assert_eq!(index.label(i), *label);
            assert_eq!(index.image_path(i), release(&format!("pathfinder{side}/curv_contour_length_14/{relative}")));
            let (file, line) = index.listed_at(i);
            assert!(file.ends_with("metadata/0.npy"));
            assert_eq!(line, i + 1);
        }
        assert_eq!(index.report.items, 4);
        assert!(index.report.skipped.is_empty());
        assert_eq!(index.label_batch(&[3, 0]).unwrap(), vec![1, 0]);
    }
}

#[test]
fn lra_pathfinder_pixels_equal_pil_decoded_png() {
    for (resolution, side, levels) in [(Resolution::Px32, 32usize, 16u32), (Resolution::Px128, 128, 8)] {
        let index = PathfinderIndex::load(&lra_root(), resolution).unwrap();
        assert_eq!((index.seq_len(), index.vocab_size()), (side * side, levels as usize));
        let mut expected_tokens = Vec::new();
        for k in 0..4 {
            let expected = pil_grey_file(&format!("pathfinder{side}_sample_{k}.L"));
            assert_eq!(expected.len(), side * side);
            // sample_k is listed on line k + 1.
            assert_eq!(index.decode_grey(k).unwrap(), expected, "pathfinder{side} sample_{k}");
            // Hand formula for the bins: floor(v * levels / 256).
            expected_tokens.push(expected.iter().map(|&v| (v as u32 * levels / 256) as u8).collect::<Vec<u8>>());
        }
        let order = [2, 0, 3, 1, 2];
        let tokens = index.decode_batch(&order).unwrap();
        assert_eq!(tokens.len(), order.len() * side * side);
        for (b, &k) in order.iter().enumerate() {
            assert_eq!(&tokens[b * side * side..(b + 1) * side * side], &expected_tokens[k][..], "batch item {b}");
        }
        // The one-hot input: one non-zero per step, at the token's column.
        let sparse = index.sparse_batch(&[1]).unwrap();
        assert_eq!((sparse.batch, sparse.time, sparse.features), (1, side * side, index.input_size()));
        assert_eq!(sparse.feature.len(), side * side);
        assert!(sparse.feature.iter().zip(&expected_tokens[1]).all(|(&f, &t)| f == t as u32));
    }
}

#[test]
fn lra_path_x_index_holds_no_pixels_and_batches_are_u8() {
    // An index of 20,000 listed images (the index reads metadata only; no image is opened):
    // paths, offsets, labels and origins, tens of bytes an image against 16,384 pixels.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("lra_release/pathfinder128/curv_contour_length_14");
    std::fs::create_dir_all(root.join("metadata")).unwrap();
    for m in 0..20 {
        let lines: String =
            (0..1000).map(|k| format!("imgs/{m} sample_{k}.png {k} {} 1.0 14 4 2 0.5 1 1\n", k % 2)).collect();
        std::fs::write(root.join(format!("metadata/{m}.npy")), lines).unwrap();
    }
    let big = PathfinderIndex::load(dir.path(), Resolution::Px128).unwrap();
    assert_eq!(big.len(), 20_000);
    assert_eq!(big.relative_path(19_999), "imgs/19/sample_999.png");
    let per_image = big.heap_bytes() as f64 / big.len() as f64;
    assert!(per_image < 48.0, "{per_image} heap bytes an image");
    assert!(big.report.notes.iter().any(|n| n.contains("20000 images listed")), "{}", big.report);

    let index = PathfinderIndex::load(&lra_root(), Resolution::Px128).unwrap();
    // decode_batch_into writes u8 tokens (8 levels) into the caller's byte buffer.
    let mut buffer: Vec<u8> = vec![0xFF; 2 * 16_384];
    index.decode_batch_into(&[0, 3], &mut buffer).unwrap();
    assert!(buffer.iter().all(|&t| t < 8));
    assert_eq!(std::mem::size_of_val(&buffer[0]), 1);
    // The wrong size of buffer is an error, not a panic.
    let err = index.decode_batch_into(&[0, 3], &mut buffer[..16_384]).unwrap_err().to_string();
    assert!(err.contains("buffer"), "{err}");
    // An item past the end is an error.
    let err = index.decode_batch(&[4]).unwrap_err().to_string();
    assert!(err.contains("item 4"), "{err}");
}

fn assert_permutation(splits: &PathfinderSplits, n: usize) {
    let mut all: Vec<usize> = splits.train.iter().chain(&splits.val).chain(&splits.test).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..n).collect::<Vec<_>>(), "the three splits are disjoint and cover 0..{n}");
}

#[test]
fn lra_pathfinder_split_is_a_seeded_80_10_10_permutation() {
    let real = PathfinderSplits::new(pathfinder::IMAGES, pathfinder::SPLIT_SEED);
    assert_eq!((real.train.len(), real.val.len(), real.test.len()), (160_000, 20_000, 20_000));
    assert_permutation(&real, 200_000);
    // Shuffled: the first training items are not 0, 1, 2, ...
    assert_ne!(&real.train[..10], &(0..10).collect::<Vec<_>>()[..]);

    for n in [1, 4, 9, 10, 11, 99, 1000, 1234] {
        let a = PathfinderSplits::new(n, 42);
        // S4: val and test int(0.1 * n) each, train the rest.
        let tenth = (n as f64 * 0.1) as usize;
        assert_eq!((a.train.len(), a.val.len(), a.test.len()), (n - 2 * tenth, tenth, tenth), "n = {n}");
        assert_permutation(&a, n);
        assert_eq!(a, PathfinderSplits::new(n, 42), "same seed, same split");
        assert_eq!(a.get(Split::Train), &a.train[..]);
        assert_eq!(a.get(Split::Valid), &a.val[..]);
        assert_eq!(a.get(Split::Test), &a.test[..]);
    }
    assert_ne!(PathfinderSplits::new(1000, 42).train, PathfinderSplits::new(1000, 43).train, "seed changes it");

    let index = PathfinderIndex::load(&lra_root(), Resolution::Px32).unwrap();
    let splits = index.splits(pathfinder::SPLIT_SEED);
    assert_eq!(splits, PathfinderSplits::new(4, pathfinder::SPLIT_SEED));
    assert_permutation(&splits, 4);
}

// ---------------------------------------------------------------------------------------------
// ListOps

/// (Source, Target) rows of a ListOps file, by plain splitting.
fn listops_by_hand(split: &str) -> Vec<(String, i64)> {
    let text = std::fs::read_to_string(release(&format!("listops-1000/basic_{split}.tsv"))).unwrap();
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    assert_eq!(lines.next(), Some("Source\tTarget"));
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (source, target) = l.split_once('\t').unwrap();
            (source.to_string(), target.parse().unwrap())
        })
        .collect()
}

/// LRA's tokenisation written out: `]` -> X, delete parentheses, split on whitespace.
fn lra_tokens(source: &str) -> Vec<u8> {
    let table = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "[MIN", "[MAX", "[MED", "[SM", "X"];
    source
        .replace(']', "X")
        .replace(['(', ')'], "")
        .split_whitespace()
        .map(|w| table.iter().position(|&t| t == w).unwrap_or_else(|| panic!("{w}")) as u8)
        .collect()
}

#[test]
fn lra_listops_labels_are_the_target_column_and_tokens_are_lras() {
    let data = ListOps::load(&lra_root()).unwrap();
    for (split, name) in [(Split::Train, "train"), (Split::Valid, "val"), (Split::Test, "test")] {
        let rows = listops_by_hand(name);
        let got = data.split(split);
        assert_eq!(got.len(), rows.len(), "{name}");
        for (i, (source, target)) in rows.iter().enumerate() {
            assert_eq!(got.label(i) as i64, *target, "{name} row {i}");
            assert_eq!(got.tokens(i), &lra_tokens(source)[..], "{name} row {i}");
        }
    }
    assert_eq!((data.train.len(), data.val.len(), data.test.len()), (12, 4, 4));
    assert_eq!(data.report.items, 20);
    assert_eq!(data.report.truncated, 0);
    assert!(data.report.notes.iter().any(|n| n.contains("published")), "{}", data.report);
    assert_eq!((data.vocab_size(), data.input_size(), data.seq_len()), (15, 25, 2000));
}

#[test]
fn lra_listops_one_row_by_hand() {
    let data = ListOps::load(&lra_root()).unwrap();
    // basic_train.tsv line 5: `( ( ( ( ( [SM 6 ) 0 ) 1 ) 8 ) ] )` -> 5, i.e. (6+0+1+8) mod 10.
    // Tokens: [SM=13, 6, 0, 1, 8, ]=14; the ten parentheses are dropped.
    assert_eq!(data.train.tokens(3), &[13, 6, 0, 1, 8, 14]);
    assert_eq!(data.train.label(3), 5);
    // Line 11: `( ( ( ( [MIN 7 ) 2 ) 1 ) ] )` -> min(7, 2, 1) = 1.
    assert_eq!(data.train.tokens(9), &[10, 7, 2, 1, 14]);
    assert_eq!(data.train.label(9), 1);
    // DATASETS.md 3.2's example, and a glued parenthesis.
    let mut out = Vec::new();
    assert_eq!(tokenize_into("( ( ( [MAX 2 ) 9 ) ] )", 2000, &mut out), Ok(4));
    assert_eq!(out, [11, 2, 9, 14]);
    out.clear();
    assert_eq!(tokenize_into("((([MED 2) 9) 3) ])", 2000, &mut out), Ok(5));
    assert_eq!(out, [12, 2, 9, 3, 14]);
    // Cut to max_len, the count before the cut returned.
    out.clear();
    assert_eq!(tokenize_into("( ( ( [MAX 2 ) 9 ) ] )", 2, &mut out), Ok(4));
    assert_eq!(out, [11, 2]);
    assert_eq!(listops::TOKENS[14], "]");
}

#[test]
fn lra_listops_long_expression_is_cut_to_2000_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("lra_release/listops-1000");
    std::fs::create_dir_all(&folder).unwrap();
    // [SM with 2,100 arguments of 1: 2,102 tokens, value 2100 mod 10 = 0.
    let mut source = String::from("( [SM");
    for _ in 0..2100 {
        source.push_str(" 1 )");
    }
    source.push_str(" ] )");
    let body = format!("Source\tTarget\r\n{source}\t0\r\n( [MAX 3 ) ] )\t3\r\n");
    for name in ["train", "val", "test"] {
        std::fs::write(folder.join(format!("basic_{name}.tsv")), &body).unwrap();
    }
    let data = ListOps::load(dir.path()).unwrap();
    assert_eq!(data.train.tokens(0).len(), 2000);
    assert_eq!(data.train.tokens(0)[..3], [13, 1, 1]);
    assert_eq!(data.train.tokens(1), &[11, 3, 14]);
    assert_eq!(data.report.truncated, 3, "one per file");
}

// ---------------------------------------------------------------------------------------------
// Text (IMDB)

#[test]
fn lra_text_counts_labels_and_vocabulary_round_trip() {
    let files = text::locate(&lra_root()).unwrap();
    // Every character of the training reviews (min count 1): tokens decode back to the review.
    let data = ImdbText::read_with(&files, 1, 169).unwrap();
    assert_eq!((data.train.len(), data.test.len()), (4, 4));
    // pos first (label 1), then neg (0), each in file-name order.
    assert_eq!(data.train.labels(), &[1, 1, 0, 0]);
    assert_eq!(data.test.labels(), &[1, 1, 0, 0]);
    assert_eq!(data.split(Split::Valid), &data.test);
    assert_eq!(data.report.items, 8);
    assert_eq!(data.report.truncated, 0);
    assert_eq!(data.report.unknown_tokens, 0);

    let review = "A great film.<br /><br />Café scene 0.";
    assert_eq!(std::fs::read_to_string(lra_root().join("aclImdb/train/pos/0_7.txt")).unwrap(), review);
    let tokens = data.train.tokens(0);
    assert_eq!(tokens.len(), review.chars().count(), "one token a character (é is one)");
    let decoded: String = tokens.iter().map(|&t| data.vocab.symbol(t).unwrap()).collect();
    assert_eq!(decoded, review);
    // Same characters, same tokens: 'e' (5 in "great film ... scene") and 'é' each one index.
    let positions: Vec<usize> = review.chars().enumerate().filter(|&(_, c)| c == 'e').map(|(i, _)| i).collect();
    assert!(positions.iter().all(|&i| tokens[i] == tokens[positions[0]]));
    assert_eq!(tokens[review.chars().position(|c| c == 'é').unwrap()], data.vocab.index('é'));
    assert_ne!(data.vocab.index('é'), UNK);
    assert_eq!(data.vocab.index('Z'), UNK, "not in the training reviews");
    assert!(data.vocab.len() <= data.input_size());
}

#[test]
fn lra_text_min_count_15_sends_rare_characters_to_unk() {
    // Counted here: characters of the four training reviews, then every character (train and
    // test) seen fewer than 15 times in training is <unk>.
    let mut counts: HashMap<char, u64> = HashMap::new();
    let mut all_text = Vec::new();
    for split in ["train", "test"] {
        for folder in ["pos", "neg"] {
            for name in ["0_7.txt", "1_7.txt", "0_2.txt", "1_2.txt"] {
                let Ok(text) = std::fs::read_to_string(lra_root().join(format!("aclImdb/{split}/{folder}/{name}")))
                else {
                    continue;
                };
                if split == "train" {
                    text.chars().for_each(|c| *counts.entry(c).or_insert(0) += 1);
                }
                all_text.push(text);
            }
        }
    }
    assert_eq!(all_text.len(), 8);
    let frequent = counts.values().filter(|&&n| n >= 15).count();
    let unknown: usize =
        all_text.iter().flat_map(|t| t.chars()).filter(|c| counts.get(c).is_none_or(|&n| n < 15)).count();

    let data = ImdbText::load(&lra_root()).unwrap();
    assert_eq!(data.vocab.len(), frequent + 1);
    assert_eq!(data.report.unknown_tokens, unknown);
    assert!(data.report.notes.iter().any(|n| n.contains("the real data has 25000")), "{}", data.report);
}

#[test]
fn lra_text_long_review_is_cut_to_4096_characters_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    for split in ["train", "test"] {
        for folder in ["pos", "neg"] {
            std::fs::create_dir_all(dir.path().join(format!("aclImdb/{split}/{folder}"))).unwrap();
        }
        // 5,000 characters, 2 bytes each (é): cut by characters, not bytes.
        std::fs::write(dir.path().join(format!("aclImdb/{split}/pos/3_9.txt")), "é".repeat(5000)).unwrap();
        std::fs::write(dir.path().join(format!("aclImdb/{split}/neg/3_1.txt")), "short\r\nline").unwrap();
    }
    let data = ImdbText::read_with(&text::locate(dir.path()).unwrap(), 1, 169).unwrap();
    assert_eq!(data.train.tokens(0).len(), text::MAX_LEN);
    // HF's imdb script yields `f.read().decode("utf-8")`: CRLF stays, 11 characters.
    let crlf = data.train.tokens(1);
    assert_eq!(crlf.len(), "short\r\nline".len());
    assert_eq!(data.vocab.symbol(crlf[5]), Some('\r'));
    assert_eq!(data.vocab.symbol(crlf[6]), Some('\n'));
    assert_eq!(data.report.truncated, 2, "one in train, one in test");
    assert!(data.report.notes.iter().any(|n| n.contains("2 reviews hold \\r")), "{}", data.report);
}

// ---------------------------------------------------------------------------------------------
// Retrieval (AAN)

/// (label, text1, text2) of each line, by plain splitting.
fn aan_by_hand(split: &str) -> Vec<(u8, String, String)> {
    let text = std::fs::read_to_string(release(&format!("tsv_data/new_aan_pairs.{split}.tsv"))).unwrap();
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            assert_eq!(c.len(), 5);
            let label = match c[0] {
                "0" | "0.0" => 0,
                "1" | "1.0" => 1,
                other => panic!("{other}"),
            };
            (label, c[3].to_string(), c[4].to_string())
        })
        .collect()
}

#[test]
fn lra_retrieval_counts_labels_and_vocabulary_round_trip() {
    let files = retrieval::locate(&lra_root()).unwrap();
    let data = Retrieval::read(&files).unwrap();
    for (split, name) in [(Split::Train, "train"), (Split::Valid, "eval"), (Split::Test, "test")] {
        let rows = aan_by_hand(name);
        let got = data.split(split);
        assert_eq!(got.len(), rows.len(), "{name}");
        for (i, (label, text1, text2)) in rows.iter().enumerate() {
            assert_eq!(got.label(i), *label, "{name} line {}", i + 1);
            let (first, second) = got.tokens(i);
            assert_eq!(first.len(), text1.chars().count());
            assert_eq!(second.len(), text2.chars().count());
            if split == Split::Train {
                // Every training character is in the vocabulary: both documents decode back.
                let decode = |t: &[u8]| t.iter().map(|&k| data.vocab.symbol(k).unwrap()).collect::<String>();
                assert_eq!(&decode(first), text1);
                assert_eq!(&decode(second), text2);
            }
        }
    }
    assert_eq!(data.train.labels(), &[0, 1, 1, 0, 0, 1], "0.0, 1.0, 1, 0, 0.0, 1.0");
    assert_eq!(data.report.items, 18);
    assert_eq!(data.report.truncated, 0);
    assert!((data.vocab_size()) <= data.input_size());
    assert_eq!((data.input_size(), data.seq_len()), (105, 4000));

    // A hand-checked string: "we propose" encodes to its characters' indices and back.
    let mut out = Vec::new();
    assert_eq!(data.vocab.encode_into("we propose", &mut out), 0);
    assert_eq!(out.len(), 10);
    assert_eq!(out[0], data.vocab.index('w'));
    assert_eq!(out[3], out[6], "p and p");
    assert_eq!(out[5], out[7], "o and o");
    assert_eq!(out[1], out[9], "e and e");
    assert_ne!(out[3], out[5]);
    assert_eq!(out.iter().map(|&k| data.vocab.symbol(k).unwrap()).collect::<String>(), "we propose");
    // A character outside the training documents is <unk> and counted.
    out.clear();
    assert_eq!(data.vocab.encode_into("w€", &mut out), 1);
    assert_eq!(out[1], UNK);
}

#[test]
fn lra_retrieval_labels_accept_float_text() {
    assert_eq!(parse_label("1.0"), Ok(1));
    assert_eq!(parse_label("1"), Ok(1));
    assert_eq!(parse_label("0.0"), Ok(0));
    assert_eq!(parse_label("0"), Ok(0));
    assert!(parse_label("2").is_err());
    assert!(parse_label("0.5").is_err());
    assert!(parse_label("nan").is_err());
    assert!(parse_label("").is_err());
}

#[test]
fn lra_retrieval_long_documents_are_cut_to_4000_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("lra/lra_release/lra_release/tsv_data");
    std::fs::create_dir_all(&folder).unwrap();
    let long = "ab".repeat(2500); // 5,000 characters
    let body = format!("1.0\tA\tB\t{long}\tshort\n0\tC\tD\tshort\t{long}\n\n1\tE\tF\t{long}\t{long}\n");
    for name in ["train", "eval", "test"] {
        std::fs::write(folder.join(format!("new_aan_pairs.{name}.tsv")), &body).unwrap();
    }
    let data = Retrieval::load(dir.path()).unwrap();
    assert_eq!(data.train.labels(), &[1, 0, 1]);
    assert_eq!(data.train.tokens(0).0.len(), retrieval::MAX_LEN);
    assert_eq!(data.train.tokens(0).1.len(), 5);
    assert_eq!(data.train.tokens(2).1.len(), 4000);
    assert_eq!(data.report.truncated, 4 * 3, "four long documents in each of three files");
    assert_eq!(data.report.blank_lines, 3);
    // The vocabulary of "ab" and "short": a, b, s, h, o, r, t.
    assert_eq!(data.vocab.len(), 8);
}

// ---------------------------------------------------------------------------------------------
// The vocabulary on its own

#[test]
fn lra_char_vocab_orders_by_count_then_code_point() {
    let mut counter = elmbench::tasks::lra::vocab::CharCounter::new();
    counter.add("bbaacé");
    // b 2, a 2, c 1, é 1: by count, ties in code-point order: a, b, c, é.
    let vocab = CharVocab::build(&counter, 1, 169).unwrap();
    assert_eq!(vocab.entries(), ["<unk>", "a", "b", "c", "é"]);
    let capped = CharVocab::build(&counter, 1, 3).unwrap();
    assert_eq!(capped.entries(), ["<unk>", "a", "b"]);
    assert_eq!(capped.left_out(), 2);
    let frequent = CharVocab::build(&counter, 2, 169).unwrap();
    assert_eq!(frequent.entries(), ["<unk>", "a", "b"]);
    assert!(CharVocab::build(&counter, 1, 1).is_err());
    assert!(CharVocab::build(&counter, 1, 257).is_err());
}

#[test]
fn lra_task_sizes_match_the_paper() {
    let dims: Vec<usize> = LraTask::ALL.iter().map(|t| t.input_size()).collect();
    assert_eq!(dims, [25, 169, 105, 16, 16, 8]);
    assert_eq!(image::GREY_LEVELS, 16);
    assert_eq!(Resolution::Px32.levels(), 16);
    assert_eq!(Resolution::Px128.levels(), 8);
    assert_eq!(listops::VOCAB_SIZE, 15);
}

/// 300 distinct characters (U+4E00..), the first k of them twice: more than a byte of provisional
/// codes, so the readers take their second pass over the training text.
fn many_characters(twice: usize) -> (String, Vec<char>) {
    let chars: Vec<char> = (0x4E00u32..0x4E00 + 300).map(|c| char::from_u32(c).unwrap()).collect();
    let mut text: String = chars.iter().collect();
    text.extend(&chars[..twice]);
    (text, chars)
}

#[test]
fn lra_text_more_than_256_distinct_characters_and_the_size_cap() {
    let dir = tempfile::tempdir().unwrap();
    let (text, chars) = many_characters(10);
    for split in ["train", "test"] {
        for (folder, name) in [("pos", "0_8.txt"), ("neg", "0_3.txt")] {
            let d = dir.path().join(format!("aclImdb/{split}/{folder}"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join(name), if folder == "pos" { text.as_str() } else { "ab" }).unwrap();
        }
    }
    let data = ImdbText::read_with(&text::locate(dir.path()).unwrap(), 1, 169).unwrap();
    // Counts: the first 10 CJK characters 2 each, the other 290 once, a and b once. Kept: the
    // ten (count 2, code-point order), then 158 of the count-1 characters in code-point order:
    // a, b, then U+4E0A.. (156 of them). Left out: 292 - 158 = 134.
    assert_eq!(data.vocab.len(), 169);
    assert_eq!(data.vocab.left_out(), 134);
    let mut expected: Vec<String> = vec!["<unk>".into()];
    expected.extend(chars[..10].iter().map(|c| c.to_string()));
    expected.extend(["a".to_string(), "b".to_string()]);
    expected.extend(chars[10..166].iter().map(|c| c.to_string()));
    assert_eq!(data.vocab.entries(), expected);
    // Tokens of the training review, as the vocabulary encodes them (first pass codes replaced).
    let tokens = data.train.tokens(0);
    assert_eq!(tokens.len(), 310);
    for (k, c) in text.chars().enumerate() {
        let want = expected.iter().position(|e| *e == c.to_string()).unwrap_or(0) as u8;
        assert_eq!(tokens[k], want, "character {k}");
    }
    assert_eq!(data.train.tokens(1), &[11, 12]);
    // 134 unknown in the train review and 134 in the test one.
    assert_eq!(data.report.unknown_tokens, 2 * 134);
    assert!(data.report.notes.iter().any(|n| n.contains("134 more qualified")), "{}", data.report);
}

#[test]
fn lra_retrieval_more_than_256_distinct_characters_and_the_size_cap() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("lra_release/tsv_data");
    std::fs::create_dir_all(&folder).unwrap();
    let (text, chars) = many_characters(0);
    let body = format!("1\tA\tB\t{text}\tab\n0\tC\tD\tba\t{text}\n");
    for name in ["train", "eval", "test"] {
        std::fs::write(folder.join(format!("new_aan_pairs.{name}.tsv")), &body).unwrap();
    }
    let data = Retrieval::load(dir.path()).unwrap();
    // Counts: every CJK character 2, a and b 2 each: all tied, so code-point order: a, b, then
    // the first 102 CJK characters; 198 left out.
    assert_eq!(data.vocab.len(), 105);
    assert_eq!(data.vocab.left_out(), 198);
    assert_eq!(data.vocab.index('a'), 1);
    assert_eq!(data.vocab.index('b'), 2);
    assert_eq!(data.vocab.index(chars[0]), 3);
    assert_eq!(data.vocab.index(chars[101]), 104);
    assert_eq!(data.vocab.index(chars[102]), UNK);
    let (first, second) = data.train.tokens(0);
    assert_eq!(second, &[1, 2]);
    assert_eq!(first.len(), 300);
    assert!(first.iter().enumerate().all(|(k, &t)| t as usize == if k < 102 { k + 3 } else { 0 }));
    assert_eq!(data.train.tokens(1).0, &[2, 1]);
    assert_eq!(data.train.tokens(1).1, first);
    assert_eq!(data.report.unknown_tokens, 3 * 2 * 198, "198 a document, two documents a file, three files");
}
