//! `elmbench synth lra` at the smoke tier, read back with the real LRA readers: counts as
//! declared, labels in range with every class present, ListOps targets equal to an independent
//! evaluation, Pathfinder PNGs 8-bit grey of the right size, the same bytes for the same seed
//! and other bytes for another, and real data never overwritten.

use elmbench::tasks::lra::pathfinder::Resolution;
use elmbench::tasks::lra::synthetic::{self, image, sizes, Knobs, Marker, Part, MARKER};
use elmbench::tasks::lra::{ImageData, ImdbText, ListOps, PathfinderIndex, Retrieval};
use elmbench::tasks::{Split, Tier};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// One smoke synthesis (seed 0) shared by the read-back tests.
fn smoke() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        synthetic::synthesize(dir.path(), Tier::Smoke, 0).unwrap();
        dir
    })
    .path()
}

fn distinct(labels: &[u8]) -> BTreeSet<u8> {
    labels.iter().copied().collect()
}

/// Every file under `root` (relative path, SHA-256 of its bytes), sorted.
fn hashes(root: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                let digest = Sha256::digest(std::fs::read(&p).unwrap());
                out.push((rel, digest.iter().map(|b| format!("{b:02x}")).collect()));
            }
        }
    }
    out.sort();
    out
}

/// ListOps' value of an LRA expression, evaluated from its text alone.
fn evaluate(source: &str) -> u8 {
    let mut stack: Vec<(String, Vec<u32>)> = Vec::new();
    let mut result = None;
    for word in source.split_whitespace() {
        let word: String = word.chars().filter(|&c| c != '(' && c != ')').collect();
        let value = match word.as_str() {
            "" => continue,
            "[MIN" | "[MAX" | "[MED" | "[SM" => {
                stack.push((word, Vec::new()));
                continue;
            }
            "]" => {
                let (op, mut args) = stack.pop().expect("] without an operator");
                assert!(!args.is_empty(), "{op} without arguments");
                args.sort_unstable();
                match op.as_str() {
                    "[MIN" => args[0],
                    "[MAX" => args[args.len() - 1],
                    "[SM" => args.iter().sum::<u32>() % 10,
                    _ => {
                        let n = args.len();
                        if n % 2 == 1 {
                            args[n / 2]
                        } else {
                            (args[n / 2 - 1] + args[n / 2]) / 2
                        }
                    }
                }
            }
            digit => digit.parse::<u32>().unwrap_or_else(|_| panic!("unexpected token {digit:?}")),
        };
        match stack.last_mut() {
            Some((_, args)) => args.push(value),
            None => {
                assert!(result.is_none(), "two values at the top level");
                result = Some(value);
            }
        }
    }
    assert!(stack.is_empty(), "unclosed operator");
    result.expect("an empty expression") as u8
}

#[test]
fn smoke_listops_reads_back_and_targets_are_the_expressions_values() {
    let root = smoke();
    let s = sizes(Tier::Smoke);
    let data = ListOps::load(root).unwrap();
    for (split, n) in [Split::Train, Split::Valid, Split::Test].into_iter().zip(s.listops) {
        let part = data.split(split);
        assert_eq!(part.len(), n, "{split:?}");
        assert!(part.labels().iter().all(|&l| l < 10));
    }
    assert!(distinct(data.split(Split::Train).labels()).len() >= 3, "the targets vary");
    let knobs = Knobs::for_tier(Tier::Smoke).listops;
    let dir = root.join("lra/lra_release/lra_release/listops-1000");
    for (split, name) in [(Split::Train, "train"), (Split::Valid, "val"), (Split::Test, "test")] {
        let text = std::fs::read_to_string(dir.join(format!("basic_{name}.tsv"))).unwrap();
        let mut lines = text.split("\r\n");
        assert_eq!(lines.next(), Some("Source\tTarget"));
        let rows: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
        assert!(!text.replace("\r\n", "").contains('\n'), "CRLF line ends only");
        let part = data.split(split);
        assert_eq!(rows.len(), part.len());
        for (i, row) in rows.iter().enumerate() {
            let (source, target) = row.split_once('\t').unwrap();
            let target: u8 = target.parse().unwrap();
            assert_eq!(evaluate(source), target, "{name} line {}: {source}", i + 2);
            assert_eq!(part.label(i), target);
            let tokens = part.tokens(i).len();
            assert!(tokens > knobs.min_length && tokens < knobs.max_length, "{tokens} tokens");
        }
    }
}

#[test]
fn smoke_text_retrieval_and_image_read_back() {
    let root = smoke();
    let s = sizes(Tier::Smoke);

    let text = ImdbText::load(root).unwrap();
    for split in [Split::Train, Split::Test] {
        let part = text.split(split);
        assert_eq!(part.len(), 2 * s.text_per_folder, "{split:?}");
        assert_eq!(distinct(part.labels()), BTreeSet::from([0, 1]));
        assert!((0..part.len()).all(|i| part.tokens(i).len() >= 250));
    }
    assert!(text.vocab.len() <= 169);

    let retrieval = Retrieval::load(root).unwrap();
    for (split, n) in [Split::Train, Split::Valid, Split::Test].into_iter().zip(s.retrieval) {
        let part = retrieval.split(split);
        assert_eq!(part.len(), n, "{split:?}");
        assert_eq!(distinct(part.labels()), BTreeSet::from([0, 1]), "{split:?}");
        for i in 0..part.len() {
            let (a, b) = part.tokens(i);
            assert!(!a.is_empty() && !b.is_empty());
        }
    }
    assert!(retrieval.vocab.len() <= 105);

    let images = ImageData::load(root).unwrap();
    let train = image::TRAIN_BATCHES * s.image_per_batch;
    assert_eq!(images.split(Split::Train).len() + images.split(Split::Valid).len(), train);
    assert_eq!(images.split(Split::Test).len(), s.image_test);
    let mut seen = distinct(images.split(Split::Train).labels());
    seen.extend(distinct(images.split(Split::Valid).labels()));
    assert_eq!(seen, (0..10).collect());
    assert_eq!(distinct(images.split(Split::Test).labels()), (0..10).collect());
    for split in [Split::Train, Split::Valid, Split::Test] {
        let part = images.split(split);
        for i in 0..part.len() {
            assert_eq!(part.tokens(i).len(), 1024);
            assert!(part.tokens(i).iter().all(|&t| t < 16));
        }
    }
}

/// Width, height, bit depth and colour type from a PNG's IHDR.
fn png_header(bytes: &[u8]) -> (u32, u32, u8, u8) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (be(16), be(20), bytes[24], bytes[25])
}

#[test]
fn smoke_pathfinder_and_pathx_are_grey_pngs_with_metadata() {
    let root = smoke();
    let s = sizes(Tier::Smoke);
    for (resolution, n, side) in [(Resolution::Px32, s.pathfinder32, 32), (Resolution::Px128, s.pathx, 128)] {
        let index = PathfinderIndex::load(root, resolution).unwrap();
        assert_eq!(index.len(), n, "{resolution:?}");
        assert_eq!(distinct(index.labels()), BTreeSet::from([0, 1]), "{resolution:?}");
        for i in 0..index.len() {
            let bytes = std::fs::read(index.image_path(i)).unwrap();
            assert_eq!(png_header(&bytes), (side, side, 8, 0), "{}: 8-bit grey", index.relative_path(i));
            let pixels = index.decode_grey(i).unwrap();
            assert_eq!(pixels.len(), (side * side) as usize);
            let ink = pixels.iter().filter(|&&v| v > 0).count();
            assert!(ink > 20, "{}: {ink} drawn pixels", index.relative_path(i));
            assert_eq!(pixels.iter().max(), Some(&255), "markers at full brightness");
        }
    }
}

#[test]
fn smoke_roots_carry_the_marker() {
    let root = smoke();
    for part in Part::ALL {
        let dir = root.join(part.folder());
        assert!(dir.join(MARKER).is_file(), "{}", dir.display());
        let m = Marker::read(&dir).unwrap();
        assert_eq!(m.dataset, part.folder());
        assert_eq!(m.tier, Tier::Smoke);
        assert_eq!(m.seed, 0);
        assert!(!m.counts.is_empty());
    }
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let (a, b, c) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    synthetic::synthesize(a.path(), Tier::Smoke, 7).unwrap();
    synthetic::synthesize(b.path(), Tier::Smoke, 7).unwrap();
    synthetic::synthesize(c.path(), Tier::Smoke, 8).unwrap();
    let (ha, hb, hc) = (hashes(a.path()), hashes(b.path()), hashes(c.path()));
    assert_eq!(ha, hb);
    assert!(ha.len() > 50);
    // Another seed changes every data file: the same files (reviews are named by their drawn
    // rating, so those names may differ), other contents; the class-name list
    // `batches.meta.txt` is the same by design.
    assert_eq!(ha.len(), hc.len());
    let first: std::collections::BTreeMap<&str, &str> = ha.iter().map(|(n, h)| (n.as_str(), h.as_str())).collect();
    for (name, y) in &hc {
        if !name.ends_with("batches.meta.txt") {
            assert_ne!(first.get(name.as_str()), Some(&y.as_str()), "{name} is the same for seeds 7 and 8");
        }
    }
    // Rewriting an earlier synthetic root in place works and gives the new seed's bytes.
    synthetic::synthesize(a.path(), Tier::Smoke, 8).unwrap();
    assert_eq!(hashes(a.path()), hc);
}

#[test]
fn real_data_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let real: PathBuf = dir.path().join("imdb");
    std::fs::create_dir_all(&real).unwrap();
    std::fs::write(real.join("aclImdb_v1.tar.gz"), b"real").unwrap();
    let err = synthetic::synthesize(dir.path(), Tier::Smoke, 0).unwrap_err();
    assert!(format!("{err:#}").contains("refusing"), "{err:#}");
    assert_eq!(std::fs::read(real.join("aclImdb_v1.tar.gz")).unwrap(), b"real");
    // Checked before anything is written: no other root appeared.
    let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(entries, vec![std::ffi::OsString::from("imdb")]);
}

#[test]
fn tier_sizes_grow_and_paper_is_the_real_scale() {
    let (smoke, quick, paper) = (sizes(Tier::Smoke), sizes(Tier::Quick), sizes(Tier::Paper));
    assert_eq!(paper.listops, [96_000, 2000, 2000]);
    assert_eq!(paper.retrieval, [147_086, 18_090, 17_437]);
    assert_eq!(paper.text_per_folder, 12_500);
    assert_eq!((paper.image_per_batch, paper.image_test), (10_000, 10_000));
    assert_eq!((paper.pathfinder32, paper.pathx), (200_000, 200_000));
    assert!(smoke.listops[0] < quick.listops[0] && quick.listops[0] < paper.listops[0]);
    assert!(smoke.pathfinder32 < quick.pathfinder32 && quick.pathfinder32 < paper.pathfinder32);
    let k = Knobs::for_tier(Tier::Paper);
    assert_eq!((k.listops.min_length, k.listops.max_length), (500, 2000));
    assert_eq!(k.pathfinder32.contour_length, 14);
    assert_eq!(k, Knobs::default());
    Knobs::for_tier(Tier::Quick).validate().unwrap();
    k.validate().unwrap();
}

/// The quick tier read back with the real readers: the counts, the item lengths the module
/// documents, the vocabularies within the paper's input sizes, balanced labels. Ignored by
/// default (about 200 MB and 30,000 files in a temporary folder); run with `--ignored`.
#[test]
#[ignore]
fn quick_tier_reads_back_with_the_documented_lengths() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    synthetic::synthesize(root, Tier::Quick, 0).unwrap();
    let s = sizes(Tier::Quick);

    let listops = ListOps::load(root).unwrap();
    let train = listops.split(Split::Train);
    assert_eq!(train.len(), s.listops[0]);
    let lengths: Vec<usize> = (0..train.len()).map(|i| train.tokens(i).len()).collect();
    assert!(lengths.iter().all(|&n| n > 4 && n < 100));
    let classes = distinct(train.labels());
    assert_eq!(classes.len(), 10);

    let text = ImdbText::load(root).unwrap();
    let part = text.split(Split::Train);
    assert_eq!(part.len(), 2 * s.text_per_folder);
    assert!((0..part.len()).all(|i| (300..=1000).contains(&part.tokens(i).len())));
    assert_eq!(part.labels().iter().filter(|&&l| l == 1).count(), s.text_per_folder);
    assert!(text.vocab.len() <= 169);

    let retrieval = Retrieval::load(root).unwrap();
    let part = retrieval.split(Split::Train);
    assert_eq!(part.len(), s.retrieval[0]);
    for i in 0..part.len() {
        let (a, b) = part.tokens(i);
        assert!(a.len() <= 1000 && b.len() <= 1000, "pair {i}: {} and {} characters", a.len(), b.len());
    }
    assert_eq!(part.labels().iter().filter(|&&l| l == 1).count(), s.retrieval[0] / 2);
    assert!(retrieval.vocab.len() <= 105);

    let images = ImageData::load(root).unwrap();
    assert_eq!(images.split(Split::Test).len(), s.image_test);

    for (resolution, n) in [(Resolution::Px32, s.pathfinder32), (Resolution::Px128, s.pathx)] {
        let index = PathfinderIndex::load(root, resolution).unwrap();
        assert_eq!(index.len(), n);
        assert_eq!(index.labels().iter().filter(|&&l| l == 1).count(), n / 2);
        index.decode_batch(&[0, 1, n - 1]).unwrap();
    }
}

/// The paper tier's knobs (the real generators' settings: long ListOps trees, scenes, noisy
/// reviews and citations, LRA's Pathfinder contours) at the smoke tier's counts: every reader
/// takes them, and the ListOps limits are the LRA generator's.
#[test]
fn paper_knobs_at_smoke_counts_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let knobs = Knobs::for_tier(Tier::Paper);
    synthetic::synthesize_with(root, Tier::Smoke, 3, &knobs, &Part::ALL).unwrap();
    let s = sizes(Tier::Smoke);

    let listops = ListOps::load(root).unwrap();
    let train = listops.split(Split::Train);
    assert_eq!(train.len(), s.listops[0]);
    assert!((0..train.len()).all(|i| (501..2000).contains(&train.tokens(i).len())));

    let text = ImdbText::load(root).unwrap();
    assert_eq!(distinct(text.split(Split::Test).labels()), BTreeSet::from([0, 1]));
    let retrieval = Retrieval::load(root).unwrap();
    assert_eq!(retrieval.split(Split::Test).len(), s.retrieval[2]);
    let images = ImageData::load(root).unwrap();
    assert_eq!(distinct(images.split(Split::Test).labels()), (0..10).collect());
    for (resolution, n) in [(Resolution::Px32, s.pathfinder32), (Resolution::Px128, s.pathx)] {
        let index = PathfinderIndex::load(root, resolution).unwrap();
        assert_eq!(index.len(), n);
        assert_eq!(distinct(index.labels()), BTreeSet::from([0, 1]));
        index.decode_batch(&(0..n).collect::<Vec<_>>()).unwrap();
    }
    let m = Marker::read(&root.join("lra")).unwrap();
    assert_eq!(m.knobs["listops"]["min_length"], 500);
}
