//! `elmbench synth lra`: synthetic surrogates of the six Long Range Arena tasks, written in the
//! real datasets' on-disk layouts and where `elmbench fetch lra cifar10 imdb` puts them
//! (`fetch/datasets.toml`), so that the real readers run on a fresh machine without a download:
//!
//! ```text
//! <data>/lra/lra_release/lra_release/listops-1000/basic_{train,val,test}.tsv       (listops.rs)
//! <data>/lra/lra_release/lra_release/tsv_data/new_aan_pairs.{train,eval,test}.tsv  (retrieval.rs)
//! <data>/lra/lra_release/lra_release/pathfinder{32,128}/curv_contour_length_14/
//!         {metadata/<batch>.npy, imgs/<batch>/sample_<k>.png}                      (pathfinder.rs)
//! <data>/cifar10/cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin, batches.meta.txt (image.rs)
//! <data>/imdb/aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt                     (text.rs)
//! ```
//!
//! Each of the three dataset roots (`lra`, `cifar10`, `imdb`: one per `fetch` name) gets a
//! `SYNTHETIC.json` marker (generator, tier, seed, counts, knobs, statistics), is written into a
//! staging folder beside it and renamed into place, and is never written over real data (a
//! non-empty root without the marker). All roots are checked before anything is written.
//!
//! Sizes per tier (train / validation / test; see [`sizes`]):
//!
//! | task | smoke | quick | paper (the real sets) |
//! |---|---|---|---|
//! | ListOps | 24 / 8 / 8 | 10,000 / 1,000 / 1,000 | 96,000 / 2,000 / 2,000 |
//! | Text (reviews per `{train,test}/{pos,neg}`) | 8 | 2,500 | 12,500 |
//! | Retrieval | 16 / 8 / 8 | 10,000 / 1,000 / 1,000 | 147,086 / 18,090 / 17,437 |
//! | Image (records per `data_batch_k`, 5 of them; test) | 20; 20 | 2,000; 2,000 | 10,000; 10,000 |
//! | Pathfinder-32 images (the reader splits 80/10/10) | 24 | 20,000 | 200,000 |
//! | Path-X images | 20 | 2,000 | 200,000 |
//!
//! Items and class signal per tier ([`Knobs::for_tier`]; smoke uses the quick knobs):
//!
//! | task | quick and smoke | paper |
//! |---|---|---|
//! | ListOps | the LRA algorithm, depth 3, 2-5 args, 4 < length < 100 tokens (mean about 10) | the LRA generator: 500 < length < 2,000 |
//! | Text | 300-1,000 characters; half the sentences opinions, all of the label's polarity, from 8 words each, no negations; ends `Verdict: <word>.` | about 250-6,000 characters (median 950), a third opinions agreeing 70-84%, a fifth negated, 32 words each |
//! | Retrieval | documents of about 550-1,000 characters from 4 topics; label 1 exactly when both share a topic (its words, rare terms; a closing `Keywords:` line names it) and paper 1 cites paper 2 | about 800-14,000 characters (median 3,000), 16 topics, label 1 = paper 1 cites paper 2 (noisy: weak citations, shared topics by chance) |
//! | Image | the class's coarse brightness layout (2 x 4 cells, dark / mid / light; the bottom half alone tells the class), tint, jitter, noise | a drawn object of the class in a scene, with clutter |
//! | Pathfinder-32 | 1-pixel paddles at full brightness, 6 a contour (LRA's `curv_baseline` length), one 3-paddle distractor, at most 6 single paddles | LRA's: 0.5-pixel paddles, 14 a contour |
//! | Path-X | 2-pixel paddles, 10 a contour | LRA's: 1.5-pixel paddles, 14 a contour |
//!
//! The folders and file formats are the real ones in every tier (Pathfinder's stay under
//! `curv_contour_length_14`, where the readers look; the metadata records the contour length
//! actually drawn).
//!
//! Measured at the quick tier (seed 0): ListOps 5-30 tokens (mean 10.4; every target 9-11%;
//! trees as deep as the LRA generator's, 51-599 tokens, stayed at the majority class after a
//! minute of training); reviews 317-995 characters (mean 662); AAN documents 557-966
//! characters (mean 768); Pathfinder-32 markers 16.2 (label 0) and 13.9 (label 1) pixels apart on
//! average. Writing it takes 3-20 s on 2 cores, by disk load (230 MB, 32,000 files), up to 1.5
//! minutes when an earlier copy is deleted on a busy disk; smoke about 0.1 s.
//! The paper tier (seed 0) took 7 minutes on 2 busy cores (3.5 GB, 450,000 files; Path-X 5 of
//! them): ListOps 501-1,999 tokens (mean 1,037), reviews 250-6,084 characters (mean 1,206), AAN
//! documents 1,345-13,949 characters (mean 4,598).
//!
//! Determinism: every item (tree, review, pair, image) draws from its own random stream
//! `(seed, task, split, index)`, so the bytes written depend on (tier, seed, knobs) only, never
//! on the number of threads. Items are generated in parallel chunks and written in order.

pub mod image;
pub mod listops;
pub mod pathfinder;
pub mod retrieval;
pub mod text;

use crate::engine::Rng;
use crate::tasks::Tier;
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::time::Instant;

pub use crate::tasks::synthetic_root::MARKER;
use crate::tasks::synthetic_root::{check_replaceable, move_into_place};

pub const GENERATOR: &str = "elmbench synthetic LRA v1";
/// The doubled prefix inside the LRA archive that S4 and S5 read (DATASETS.md 3.1).
pub const RELEASE: &str = "lra_release/lra_release";
/// The Pathfinder difficulty every LRA loader uses (DATASETS.md 3.6).
pub const DIFFICULTY: &str = "curv_contour_length_14";

/// A dataset root as `elmbench fetch` names it: the LRA archive, CIFAR-10 and IMDB are three
/// separate downloads, so each gets its own folder and marker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    /// ListOps, Retrieval, Pathfinder-32 and Path-X (`<data>/lra`).
    Lra,
    /// The Image task's source (`<data>/cifar10`).
    Cifar10,
    /// The Text task's source (`<data>/imdb`).
    Imdb,
}

impl Part {
    pub const ALL: [Part; 3] = [Part::Lra, Part::Cifar10, Part::Imdb];

    /// The folder under the data root (`dest` in `fetch/datasets.toml`).
    pub fn folder(self) -> &'static str {
        match self {
            Part::Lra => "lra",
            Part::Cifar10 => "cifar10",
            Part::Imdb => "imdb",
        }
    }
}

/// Items per split and task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sizes {
    /// train, val, test.
    pub listops: [usize; 3],
    /// Reviews in each of `train/pos`, `train/neg`, `test/pos`, `test/neg`.
    pub text_per_folder: usize,
    /// train, eval, test.
    pub retrieval: [usize; 3],
    /// Records in each of `data_batch_1..5.bin`.
    pub image_per_batch: usize,
    /// Records in `test_batch.bin`.
    pub image_test: usize,
    pub pathfinder32: usize,
    pub pathx: usize,
}

pub fn sizes(tier: Tier) -> Sizes {
    match tier {
        // Every code path and file, in well under a second.
        Tier::Smoke => Sizes {
            listops: [24, 8, 8],
            text_per_folder: 8,
            retrieval: [16, 8, 8],
            image_per_batch: 20,
            image_test: 20,
            pathfinder32: 24,
            // 20: the 80/10/10 split leaves 2 validation and 2 test images.
            pathx: 20,
        },
        // A few thousand items per task: enough for a small model to get clearly above chance
        // (Path-X excepted: 1,000 images of 16,384 pixels are for exercising the pipeline).
        Tier::Quick => Sizes {
            listops: [10_000, 1000, 1000],
            text_per_folder: 2500,
            retrieval: [10_000, 1000, 1000],
            image_per_batch: 2000,
            image_test: 2000,
            pathfinder32: 20_000,
            pathx: 2000,
        },
        // The real sets (DATASETS.md 3.2-3.6 and 4).
        Tier::Paper => Sizes {
            listops: [96_000, 2000, 2000],
            text_per_folder: 12_500,
            retrieval: [147_086, 18_090, 17_437],
            image_per_batch: 10_000,
            image_test: 10_000,
            pathfinder32: 200_000,
            pathx: 200_000,
        },
    }
}

/// Everything that shapes the surrogates, per task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Knobs {
    pub listops: listops::Knobs,
    pub text: text::Knobs,
    pub retrieval: retrieval::Knobs,
    pub image: image::Knobs,
    pub pathfinder32: pathfinder::Knobs,
    pub pathx: pathfinder::Knobs,
}

impl Default for Knobs {
    /// The paper tier's.
    fn default() -> Self {
        Self::for_tier(Tier::Paper)
    }
}

impl Knobs {
    /// The knobs of a tier (see the module's table): the real generators' for the paper tier,
    /// strong and simple class signals for the smoke and quick tiers.
    pub fn for_tier(tier: Tier) -> Self {
        Self {
            listops: listops::Knobs::for_tier(tier),
            text: text::Knobs::for_tier(tier),
            retrieval: retrieval::Knobs::for_tier(tier),
            image: image::Knobs::for_tier(tier),
            pathfinder32: pathfinder::Knobs::for_tier(tier, 32),
            pathx: pathfinder::Knobs::for_tier(tier, 128),
        }
    }

    /// Refuses values a generator cannot work with, naming the task and the knob.
    pub fn validate(&self) -> Result<()> {
        self.listops.validate().context("ListOps knobs")?;
        self.text.validate().context("Text knobs")?;
        self.retrieval.validate().context("Retrieval knobs")?;
        self.image.validate().context("Image knobs")?;
        self.pathfinder32.validate().context("Pathfinder-32 knobs")?;
        self.pathx.validate().context("Path-X knobs")?;
        Ok(())
    }
}

/// What `SYNTHETIC.json` records in a dataset root.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Marker {
    pub generator: String,
    /// `lra`, `cifar10` or `imdb`.
    pub dataset: String,
    pub tier: Tier,
    pub seed: u64,
    /// Items per written split, keyed `<task>/<split>` (e.g. `listops/train`).
    pub counts: BTreeMap<String, usize>,
    /// The knobs of the tasks in this root, keyed by task.
    pub knobs: serde_json::Value,
    /// What the generators measured while writing (lengths, label counts, ...), keyed by task.
    pub statistics: serde_json::Value,
}

impl Marker {
    pub fn read(root: &Path) -> Result<Marker> {
        let path = root.join(MARKER);
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }
}

/// Time and size of one task's output (not in the marker, which must not depend on the machine).
#[derive(Clone, Debug, PartialEq)]
pub struct TaskReport {
    pub task: &'static str,
    pub seconds: f64,
    pub files: u64,
    pub bytes: u64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    pub markers: Vec<Marker>,
    pub tasks: Vec<TaskReport>,
}

/// Task numbers in the random streams: different tasks never share a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    ListOps = 1,
    Text = 2,
    Retrieval = 3,
    Image = 4,
    Pathfinder32 = 5,
    PathX = 6,
    /// Pathfinder label pairs (see `pathfinder::label`).
    PathfinderLabels = 7,
    /// Image label permutations.
    ImageLabels = 8,
}

/// The random stream of item `index` of `split` of a task.
pub fn item_rng(seed: u64, task: Stream, split: u64, index: u64) -> Rng {
    debug_assert!(split < 256 && index < 1 << 48);
    Rng::derive(seed, ((task as u64) << 56) | (split << 48) | index)
}

/// Items generated at once: bounds memory while keeping every core busy.
pub(crate) const CHUNK: usize = 512;

/// A progress bar for the paper tier (hours of work for Path-X); hidden for the small tiers.
pub(crate) fn progress(tier: Tier, what: &str, len: u64) -> Result<ProgressBar> {
    if tier != Tier::Paper {
        return Ok(ProgressBar::hidden());
    }
    let bar = ProgressBar::new(len);
    bar.set_style(ProgressStyle::with_template("{prefix:>22} [{bar:30}] {pos}/{len} {elapsed} (eta {eta})")?);
    bar.set_prefix(format!("synthesizing {what}"));
    Ok(bar)
}

pub(crate) fn create(path: &Path) -> Result<BufWriter<File>> {
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    Ok(BufWriter::with_capacity(1 << 20, file))
}

/// Flushes and syncs a finished file, naming it on failure.
pub(crate) fn finish(out: BufWriter<File>, path: &Path) -> Result<()> {
    let file = out.into_inner().map_err(|e| e.into_error()).with_context(|| format!("writing {}", path.display()))?;
    file.sync_all().with_context(|| format!("syncing {}", path.display()))
}

pub(crate) fn create_dir(path: &Path) -> Result<()> {
    std::fs::create_dir_all(path).with_context(|| format!("creating {}", path.display()))
}

/// Python's `str(float)` for the values the metadata holds (`1.0`, `0.5`, `1.8`): Rust's `{:?}`
/// prints the same shortest round-trip form with a `.0` for whole numbers.
pub(crate) fn python_float(x: f64) -> String {
    format!("{x:?}")
}

/// Files and bytes (apparent sizes) under `dir`.
pub fn folder_size(dir: &Path) -> Result<(u64, u64)> {
    let (mut files, mut bytes) = (0, 0);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for item in std::fs::read_dir(&d).with_context(|| format!("listing {}", d.display()))? {
            let item = item?;
            let meta = item.metadata()?;
            if meta.is_dir() {
                stack.push(item.path());
            } else {
                files += 1;
                bytes += meta.len();
            }
        }
    }
    Ok((files, bytes))
}

/// Runs one task's writer, timing it and measuring what it wrote under `dir`.
fn timed<T>(report: &mut Report, task: &'static str, dir: &Path, write: impl FnOnce() -> Result<T>) -> Result<T> {
    let start = Instant::now();
    let out = write().with_context(|| format!("writing the synthetic {task}"))?;
    let seconds = start.elapsed().as_secs_f64();
    let (files, bytes) = folder_size(dir)?;
    report.tasks.push(TaskReport { task, seconds, files, bytes });
    Ok(out)
}

fn marker(part: Part, tier: Tier, seed: u64) -> Marker {
    Marker {
        generator: GENERATOR.to_string(),
        dataset: part.folder().to_string(),
        tier,
        seed,
        counts: BTreeMap::new(),
        knobs: serde_json::json!({}),
        statistics: serde_json::json!({}),
    }
}

fn write_lra(staging: &Path, tier: Tier, seed: u64, knobs: &Knobs, report: &mut Report) -> Result<Marker> {
    let sizes = sizes(tier);
    let base = staging.join(RELEASE);
    let mut m = marker(Part::Lra, tier, seed);

    let dir = base.join(listops::FOLDER);
    let stats = timed(report, "ListOps", &dir, || listops::write(&dir, tier, seed, &knobs.listops, sizes.listops))?;
    for (split, n) in listops::SPLITS.iter().zip(sizes.listops) {
        m.counts.insert(format!("listops/{split}"), n);
    }
    m.knobs["listops"] = serde_json::to_value(&knobs.listops)?;
    m.statistics["listops"] = serde_json::to_value(stats)?;

    let dir = base.join(retrieval::FOLDER);
    let stats =
        timed(report, "Retrieval", &dir, || retrieval::write(&dir, tier, seed, &knobs.retrieval, sizes.retrieval))?;
    for (split, n) in retrieval::SPLITS.iter().zip(sizes.retrieval) {
        m.counts.insert(format!("retrieval/{split}"), n);
    }
    m.knobs["retrieval"] = serde_json::to_value(&knobs.retrieval)?;
    m.statistics["retrieval"] = serde_json::to_value(stats)?;

    for (name, task, k, n, stream) in [
        ("pathfinder32", "Pathfinder-32", &knobs.pathfinder32, sizes.pathfinder32, Stream::Pathfinder32),
        ("pathfinder128", "Path-X", &knobs.pathx, sizes.pathx, Stream::PathX),
    ] {
        let dir = base.join(k.folder()).join(DIFFICULTY);
        let stats = timed(report, task, &dir, || pathfinder::write(&dir, tier, seed, k, n, stream))?;
        m.counts.insert(format!("{name}/images"), n);
        m.knobs[name] = serde_json::to_value(k)?;
        m.statistics[name] = serde_json::to_value(stats)?;
    }
    Ok(m)
}

fn write_cifar(staging: &Path, tier: Tier, seed: u64, knobs: &Knobs, report: &mut Report) -> Result<Marker> {
    let sizes = sizes(tier);
    let dir = staging.join(image::FOLDER);
    let mut m = marker(Part::Cifar10, tier, seed);
    let stats = timed(report, "Image", &dir, || {
        image::write(&dir, tier, seed, &knobs.image, sizes.image_per_batch, sizes.image_test)
    })?;
    m.counts.insert("image/train".into(), 5 * sizes.image_per_batch);
    m.counts.insert("image/test".into(), sizes.image_test);
    m.knobs["image"] = serde_json::to_value(&knobs.image)?;
    m.statistics["image"] = serde_json::to_value(stats)?;
    Ok(m)
}

fn write_imdb(staging: &Path, tier: Tier, seed: u64, knobs: &Knobs, report: &mut Report) -> Result<Marker> {
    let n = sizes(tier).text_per_folder;
    let dir = staging.join(text::FOLDER);
    let mut m = marker(Part::Imdb, tier, seed);
    let stats = timed(report, "Text", &dir, || text::write(&dir, tier, seed, &knobs.text, n))?;
    m.counts.insert("text/train".into(), 2 * n);
    m.counts.insert("text/test".into(), 2 * n);
    m.knobs["text"] = serde_json::to_value(&knobs.text)?;
    m.statistics["text"] = serde_json::to_value(stats)?;
    Ok(m)
}

/// Writes all three dataset roots (`lra`, `cifar10`, `imdb`) with the tier's knobs.
pub fn synthesize(data_dir: &Path, tier: Tier, seed: u64) -> Result<Report> {
    synthesize_with(data_dir, tier, seed, &Knobs::for_tier(tier), &Part::ALL)
}

/// Writes the given dataset roots under `data_dir`. Each is built in a staging folder beside its
/// root and renamed into place, replacing an earlier synthetic one; a root that holds real data
/// (not empty, no marker) is refused before anything is written.
pub fn synthesize_with(data_dir: &Path, tier: Tier, seed: u64, knobs: &Knobs, parts: &[Part]) -> Result<Report> {
    knobs.validate()?;
    for part in parts {
        check_replaceable(&data_dir.join(part.folder()))?;
    }
    create_dir(data_dir)?;
    let mut report = Report::default();
    for &part in parts {
        let root = data_dir.join(part.folder());
        let staging = crate::io::temporary_sibling(&root)?;
        create_dir(&staging)?;
        let written = (|| -> Result<Marker> {
            let m = match part {
                Part::Lra => write_lra(&staging, tier, seed, knobs, &mut report)?,
                Part::Cifar10 => write_cifar(&staging, tier, seed, knobs, &mut report)?,
                Part::Imdb => write_imdb(&staging, tier, seed, knobs, &mut report)?,
            };
            let json = serde_json::to_string_pretty(&m)?;
            crate::io::write_atomically(&staging.join(MARKER), json.as_bytes())?;
            Ok(m)
        })();
        let m = match written {
            Ok(m) => m,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staging);
                return Err(e.context(format!("synthesizing {} into {}", part.folder(), staging.display())));
            }
        };
        if let Err(e) = move_into_place(&staging, &root) {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
        report.markers.push(m);
    }
    Ok(report)
}

/// Uniform in [low, high).
pub(crate) fn uniform(rng: &mut Rng, low: f64, high: f64) -> f64 {
    low + (high - low) * rng.uniform_f64()
}

/// An element of a non-empty slice, uniformly.
pub(crate) fn pick<'a, T>(rng: &mut Rng, items: &'a [T]) -> &'a T {
    &items[rng.below(items.len() as u64) as usize]
}

/// True with probability `p`.
pub(crate) fn chance(rng: &mut Rng, p: f64) -> bool {
    rng.uniform_f64() < p
}

/// A knob check: `value` must lie in [low, high].
pub(crate) fn check_range(name: &str, value: f64, low: f64, high: f64) -> Result<()> {
    if !(low..=high).contains(&value) {
        bail!("knob {name} = {value} is outside [{low}, {high}]");
    }
    Ok(())
}
