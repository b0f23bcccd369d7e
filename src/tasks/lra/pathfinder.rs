//! Pathfinder-32 and Path-X (DATASETS.md 3.6): `pathfinder32|pathfinder128/<difficulty>/` with
//! `metadata/<n>.npy` (plain text despite the name: one line per image, fields separated by
//! spaces: subdir, file name, index, label, ...) and `imgs/<n>/sample_<k>.png`, 8-bit grey. The
//! difficulty is `curv_contour_length_14`, the one S4 and Mega use.
//!
//! The index follows S4's `PathFinderDataset`: metadata files in numeric order of their stem,
//! lines in file order; image `<difficulty>/<field 0>/<field 1>`, label `int(field 3)`; the image
//! S4 blacklists (empty in the release) is skipped and the report names it. Only the index (paths
//! and labels, about 40 bytes an image) stays in memory: Path-X has 200,000 images of 16,384
//! pixels (3.3 GB as bytes), so images are decoded on demand, a batch at a time, in parallel.
//! A missing or bad image is an error naming it and the metadata line that listed it.
//!
//! Tokens: grey `v >> 4` (16 levels) for Pathfinder, `v >> 5` (8) for Path-X: equal bins, the
//! level counts of the paper's input sizes.
//!
//! Splits: 80/10/10 of a seeded permutation of the index, sizes as S4's (val and test
//! `int(0.1 * n)` each, train the rest: 160,000 / 20,000 / 20,000). The permutation is numpy's
//! `default_rng(seed).shuffle(arange(n))` (`NumpyGenerator::shuffle`), seed 42 by default. S4
//! splits with torch's `random_split` under `torch.Generator().manual_seed(42)`, i.e. torch's
//! `randperm`, whose CPU algorithm elmbench does not reimplement, so S4's exact split cannot be
//! reproduced here: this is a different split of the same sizes, fixed by its seed.

use super::locate::release_folder;
use super::png_grey::read_grey_png_into;
use super::report::ReadReport;
use super::sequences::check_items;
use super::{one_hot_batch, LraTask};
use crate::engine::numpy_random::NumpyGenerator;
use crate::engine::SparseSequences;
use crate::tasks::Split;
use anyhow::{anyhow, bail, Result};
use rayon::prelude::*;
use std::path::{Component, Path, PathBuf};

/// The difficulty S4 and Mega train on.
pub const DIFFICULTY: &str = "curv_contour_length_14";
/// Images S4 leaves out (`PathFinderDataset.blacklist`): empty in the release.
pub const BLACKLIST: &[&str] = &["pathfinder32/curv_baseline/imgs/0/sample_172.png"];
/// The seed of the split permutation.
pub const SPLIT_SEED: u64 = 42;
/// Images per difficulty in the release.
pub const IMAGES: usize = 200_000;
/// The largest metadata file accepted (the real ones hold about 1,000 lines of 40 bytes).
const MAX_METADATA_BYTES: u64 = 64 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Resolution {
    /// Pathfinder-32.
    Px32,
    /// Path-X: Pathfinder-128.
    Px128,
}

impl Resolution {
    pub fn folder(self) -> &'static str {
        match self {
            Resolution::Px32 => "pathfinder32",
            Resolution::Px128 => "pathfinder128",
        }
    }

    pub fn side(self) -> usize {
        match self {
            Resolution::Px32 => 32,
            Resolution::Px128 => 128,
        }
    }

    pub fn pixels(self) -> usize {
        self.side() * self.side()
    }

    /// Grey levels after binning: 16 and 8.
    pub fn levels(self) -> usize {
        256 >> self.shift()
    }

    /// `v >> shift` bins a grey level.
    pub fn shift(self) -> u32 {
        match self {
            Resolution::Px32 => 4,
            Resolution::Px128 => 5,
        }
    }

    pub fn task(self) -> LraTask {
        match self {
            Resolution::Px32 => LraTask::Pathfinder,
            Resolution::Px128 => LraTask::PathX,
        }
    }
}

#[derive(Clone, Debug)]
pub struct PathfinderFiles {
    pub resolution: Resolution,
    pub difficulty: String,
    /// `<release>/pathfinderN/<difficulty>`.
    pub dir: PathBuf,
    /// `metadata/*.npy`, in numeric order of the stem.
    pub metadata: Vec<PathBuf>,
}

/// The standard difficulty of `resolution`.
pub fn locate(data_dir: &Path, resolution: Resolution) -> Result<PathfinderFiles> {
    locate_difficulty(data_dir, resolution, DIFFICULTY)
}

pub fn locate_difficulty(data_dir: &Path, resolution: Resolution, difficulty: &str) -> Result<PathfinderFiles> {
    let relative = format!("{}/{difficulty}", resolution.folder());
    let dir = release_folder(data_dir, &relative, &format!("{} data ({relative}/)", resolution.task().name()))?;
    let metadata_dir = dir.join("metadata");
    let entries =
        std::fs::read_dir(&metadata_dir).map_err(|e| anyhow!("{}: cannot list ({e})", metadata_dir.display()))?;
    let mut numbered = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| anyhow!("{}: cannot list ({e})", metadata_dir.display()))?.path();
        if path.extension().is_none_or(|e| e != "npy") {
            continue;
        }
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        let number: u64 = stem
            .parse()
            .map_err(|_| anyhow!("{}: a metadata file's name must be a number (<n>.npy)", path.display()))?;
        numbered.push((number, path));
    }
    if numbered.is_empty() {
        bail!("{}: no metadata files (<n>.npy)", metadata_dir.display());
    }
    numbered.sort();
    Ok(PathfinderFiles {
        resolution,
        difficulty: difficulty.to_string(),
        dir,
        metadata: numbered.into_iter().map(|(_, p)| p).collect(),
    })
}

/// Where an index entry came from: metadata file and 1-based line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Origin {
    file: u32,
    line: u32,
}

/// The images of one difficulty: relative paths, labels and where each was listed.
#[derive(Clone, Debug)]
pub struct PathfinderIndex {
    pub resolution: Resolution,
    pub difficulty: String,
    pub dir: PathBuf,
    metadata: Vec<PathBuf>,
    /// Image i's path below `dir` is `paths[ends[i - 1]..ends[i]]`.
    paths: String,
    ends: Vec<u32>,
    labels: Vec<u8>,
    origins: Vec<Origin>,
    pub report: ReadReport,
}

impl PathfinderIndex {
    /// Reads every metadata file of `files`.
    pub fn read(files: &PathfinderFiles) -> Result<Self> {
        let mut index = PathfinderIndex {
            resolution: files.resolution,
            difficulty: files.difficulty.clone(),
            dir: files.dir.clone(),
            metadata: files.metadata.clone(),
            paths: String::new(),
            ends: Vec::new(),
            labels: Vec::new(),
            origins: Vec::new(),
            report: ReadReport::default(),
        };
        for (file_number, path) in files.metadata.iter().enumerate() {
            index.read_metadata(file_number, path)?;
        }
        if index.is_empty() {
            bail!("{}: the metadata lists no images", files.dir.join("metadata").display());
        }
        index.report.items = index.len();
        if index.len() != IMAGES {
            index.report.note(format!(
                "{} images listed, the release has {IMAGES} per difficulty (a subset or a synthetic copy?)",
                index.len()
            ));
        }
        Ok(index)
    }

    /// `locate` then `read`.
    pub fn load(data_dir: &Path, resolution: Resolution) -> Result<Self> {
        Self::read(&locate(data_dir, resolution)?)
    }

    fn read_metadata(&mut self, file_number: usize, path: &Path) -> Result<()> {
        let len = std::fs::metadata(path).map_err(|e| anyhow!("{}: cannot read ({e})", path.display()))?.len();
        if len > MAX_METADATA_BYTES {
            bail!("{}: {len} bytes, more than a metadata file holds", path.display());
        }
        let bytes = std::fs::read(path).map_err(|e| anyhow!("{}: cannot read ({e})", path.display()))?;
        let text = std::str::from_utf8(&bytes).map_err(|e| {
            anyhow!("{}: not text (invalid UTF-8 at byte {}); metadata files are text", path.display(), e.valid_up_to())
        })?;
        // Lines, then whitespace-separated fields, as S4 reads them (`splitlines`, `split`).
        for (k, line) in text.lines().enumerate() {
            let n = k + 1;
            let at = |message: String| anyhow!("{}:{n}: {message}", path.display());
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.is_empty() {
                self.report.blank_lines += 1;
                continue;
            }
            if fields.len() < 4 {
                return Err(at(format!(
                    "{} fields, expected at least 4 (subdir, file name, index, label, ...)",
                    fields.len()
                )));
            }
            let relative = format!("{}/{}", fields[0], fields[1]);
            if !Path::new(&relative).components().all(|c| matches!(c, Component::Normal(_))) {
                return Err(at(format!("image path {relative:?} leaves the difficulty's folder")));
            }
            let label = match fields[3] {
                "0" => 0,
                "1" => 1,
                other => return Err(at(format!("label (field 4) {other:?} is not 0 or 1"))),
            };
            let full = format!("{}/{}/{relative}", self.resolution.folder(), self.difficulty);
            if BLACKLIST.contains(&full.as_str()) {
                self.report.skip(full, "blacklisted by S4 (an empty file in the release)");
                continue;
            }
            self.paths.push_str(&relative);
            let end = u32::try_from(self.paths.len()).map_err(|_| at("the index outgrows 4 GB of paths".into()))?;
            self.ends.push(end);
            self.labels.push(label);
            self.origins.push(Origin { file: file_number as u32, line: n as u32 });
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn label(&self, i: usize) -> u8 {
        self.labels[i]
    }

    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// Image i's path below the difficulty's folder (`imgs/0/sample_0.png`).
    pub fn relative_path(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.paths[start..self.ends[i] as usize]
    }

    pub fn image_path(&self, i: usize) -> PathBuf {
        self.dir.join(self.relative_path(i))
    }

    /// The metadata file and line that listed image i.
    pub fn listed_at(&self, i: usize) -> (&Path, usize) {
        let origin = self.origins[i];
        (&self.metadata[origin.file as usize], origin.line as usize)
    }

    /// Steps per image (T).
    pub fn seq_len(&self) -> usize {
        self.resolution.pixels()
    }

    /// Tokens: 16 or 8 grey levels.
    pub fn vocab_size(&self) -> usize {
        self.resolution.levels()
    }

    pub fn input_size(&self) -> usize {
        self.resolution.task().input_size()
    }

    /// Heap bytes of the index.
    pub fn heap_bytes(&self) -> usize {
        self.paths.capacity() + self.ends.capacity() * 4 + self.labels.capacity() + self.origins.capacity() * 8
    }

    /// Image i's grey levels 0..=255, raster order, undecimated.
    pub fn decode_grey(&self, i: usize) -> Result<Vec<u8>> {
        let mut out = vec![0; self.seq_len()];
        self.decode_grey_into(i, &mut out)?;
        Ok(out)
    }

    fn decode_grey_into(&self, i: usize, out: &mut [u8]) -> Result<()> {
        let path = self.image_path(i);
        let (metadata, line) = self.listed_at(i);
        let listed = || format!("listed at {}:{line}", metadata.display());
        if !path.is_file() {
            bail!("{}: missing image ({})", path.display(), listed());
        }
        read_grey_png_into(&path, self.resolution.side(), out).map_err(|e| anyhow!("{e:#} ({})", listed()))
    }

    /// The tokens of `items`, one image after the other (`items.len() * seq_len()` bytes),
    /// decoded in parallel; the first failing item (in batch order) is the error.
    pub fn decode_batch(&self, items: &[usize]) -> Result<Vec<u8>> {
        let mut out = vec![0; items.len() * self.seq_len()];
        self.decode_batch_into(items, &mut out)?;
        Ok(out)
    }

    /// As `decode_batch`, into `out` (reusable across batches).
    pub fn decode_batch_into(&self, items: &[usize], out: &mut [u8]) -> Result<()> {
        check_items(items, self.len())?;
        let t = self.seq_len();
        if out.len() != items.len() * t {
            bail!("a batch of {} images needs {} bytes, the buffer has {}", items.len(), items.len() * t, out.len());
        }
        let shift = self.resolution.shift();
        let results: Vec<Result<()>> = out
            .par_chunks_mut(t)
            .zip(items.par_iter())
            .map(|(image, &i)| {
                self.decode_grey_into(i, image)?;
                image.iter_mut().for_each(|v| *v >>= shift);
                Ok(())
            })
            .collect();
        results.into_iter().collect()
    }

    /// The model input of `items`: one-hot grey tokens, `seq_len()` steps, `input_size()` columns.
    pub fn sparse_batch(&self, items: &[usize]) -> Result<SparseSequences> {
        let tokens = self.decode_batch(items)?;
        one_hot_batch(tokens.chunks_exact(self.seq_len()), self.seq_len(), self.input_size())
    }

    pub fn label_batch(&self, items: &[usize]) -> Result<Vec<u8>> {
        check_items(items, self.len())?;
        Ok(items.iter().map(|&i| self.labels[i]).collect())
    }

    /// The 80/10/10 split under `seed` (`SPLIT_SEED` for the standard one).
    pub fn splits(&self, seed: u64) -> PathfinderSplits {
        PathfinderSplits::new(self.len(), seed)
    }
}

/// Index positions of each split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathfinderSplits {
    pub seed: u64,
    pub train: Vec<usize>,
    pub val: Vec<usize>,
    pub test: Vec<usize>,
}

impl PathfinderSplits {
    /// `n` items: a permutation of 0..n by `seed`, cut into train (the rest), val and test
    /// (`n / 10` each, S4's `int(0.1 * n)` for every n up to far beyond 200,000).
    pub fn new(n: usize, seed: u64) -> Self {
        let mut order: Vec<usize> = (0..n).collect();
        NumpyGenerator::new(seed).shuffle(&mut order);
        let tenth = n / 10;
        let test = order.split_off(n - tenth);
        let val = order.split_off(n - 2 * tenth);
        Self { seed, train: order, val, test }
    }

    pub fn get(&self, split: Split) -> &[usize] {
        match split {
            Split::Train => &self.train,
            Split::Valid => &self.val,
            Split::Test => &self.test,
        }
    }
}
