//! Image (DATASETS.md 3.5): grey CIFAR-10 from the binary release,
//! `cifar-10-batches-bin/data_batch_{1..5}.bin` and `test_batch.bin`, records of 3,073 bytes: the
//! class (0-9), then the R, G and B planes of 32x32, row-major.
//!
//! Grey is PIL's `convert("L")` as S4 and Mega use it, bit for bit. Pillow computes ITU-R 601-2
//! luma in 16-bit fixed point with rounding, `(R*19595 + G*38470 + B*7471 + 0x8000) >> 16`
//! (libImaging/Convert.c, `rgb2l` with `L24`); the older `(R*299 + G*587 + B*114) / 1000` with
//! truncation differs by one level on about half the pixels (469 of 1,024 in the fixture's first
//! record), so it is not used. LRA's TF grey (float weights) can also differ by one level.
//!
//! The 256 grey levels become the paper's 16 by `v >> 4` (equal bins of 16 levels, i.e.
//! floor(v * 16 / 256)); the paper states only the count. Steps: the 1,024 pixels in raster order.
//!
//! Splits as LRA's TFDS `train[:90%]` / `train[90%:]` / `test`: the first 45,000 training records
//! (files in order) train, the last 5,000 (the second half of `data_batch_5.bin`) validate, and
//! the test file tests. This is not S4's or Mega's validation set (a seeded `random_split` of the
//! 50,000), which needs torch's generator. With fewer records (a subset) the cut is TFDS's
//! `int(round(0.9 * n))`, halves to even (`train_cut`).

use super::locate::dataset_folder;
use super::report::ReadReport;
use super::sequences::LraSplit;
use super::LraTask;
use crate::tasks::Split;
use anyhow::{anyhow, bail, Result};
use std::path::{Path, PathBuf};

pub const SIDE: usize = 32;
pub const PIXELS: usize = SIDE * SIDE;
pub const RECORD_BYTES: usize = 1 + 3 * PIXELS;
/// Records of each real batch file; more in one file is refused before it is read.
pub const RECORDS_PER_FILE: usize = 10_000;
pub const NUM_CLASSES: usize = 10;
pub const GREY_LEVELS: usize = 16;
pub const TRAIN_FILES: usize = 5;

/// PIL's `convert("L")` of one pixel.
pub fn pil_grey(r: u8, g: u8, b: u8) -> u8 {
    ((r as u32 * 19595 + g as u32 * 38470 + b as u32 * 7471 + 0x8000) >> 16) as u8
}

/// A grey level 0..=255 as one of the 16 tokens.
pub fn bin16(v: u8) -> u8 {
    v >> 4
}

/// One batch file, checked: a class and 1,024 grey levels per record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CifarBatch {
    pub path: PathBuf,
    pub labels: Vec<u8>,
    /// Record i's grey levels are `grey[i * 1024..(i + 1) * 1024]`.
    pub grey: Vec<u8>,
}

impl CifarBatch {
    pub fn read(path: &Path) -> Result<Self> {
        let len = std::fs::metadata(path).map_err(|e| anyhow!("{}: cannot read ({e})", path.display()))?.len();
        if len > (RECORDS_PER_FILE * RECORD_BYTES) as u64 {
            bail!(
                "{}: {len} bytes, more than a CIFAR-10 batch file ({RECORDS_PER_FILE} records of {RECORD_BYTES} bytes)",
                path.display()
            );
        }
        let bytes = std::fs::read(path).map_err(|e| anyhow!("{}: cannot read ({e})", path.display()))?;
        Self::from_bytes(path, &bytes)
    }

    /// Checks and converts a batch file's bytes; `path` is what errors name.
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Self> {
        if bytes.is_empty() {
            bail!("{}: empty file, expected records of {RECORD_BYTES} bytes", path.display());
        }
        let whole = bytes.len() / RECORD_BYTES;
        if !bytes.len().is_multiple_of(RECORD_BYTES) {
            bail!(
                "{}: record {whole} is short: {} of its {RECORD_BYTES} bytes ({} bytes in all, not a whole number of \
                 records; truncated?)",
                path.display(),
                bytes.len() % RECORD_BYTES,
                bytes.len()
            );
        }
        let mut labels = Vec::with_capacity(whole);
        let mut grey = Vec::with_capacity(whole * PIXELS);
        for (i, record) in bytes.chunks_exact(RECORD_BYTES).enumerate() {
            let label = record[0];
            if label as usize >= NUM_CLASSES {
                bail!("{}: record {i}: class {label} is not 0..9", path.display());
            }
            labels.push(label);
            let (r, rest) = record[1..].split_at(PIXELS);
            let (g, b) = rest.split_at(PIXELS);
            grey.extend(r.iter().zip(g).zip(b).map(|((&r, &g), &b)| pil_grey(r, g, b)));
        }
        Ok(Self { path: path.to_path_buf(), labels, grey })
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Record `i`'s grey levels, raster order.
    pub fn grey(&self, i: usize) -> &[u8] {
        &self.grey[i * PIXELS..(i + 1) * PIXELS]
    }
}

#[derive(Clone, Debug)]
pub struct CifarFiles {
    pub dir: PathBuf,
    /// `data_batch_1.bin` .. the last present, in order (all five in the real data).
    pub train: Vec<PathBuf>,
    pub test: PathBuf,
}

/// `data_batch_1.bin` and `test_batch.bin` must be there; `data_batch_2..5` are taken while
/// present (a gap is an error), so a subset of the release reads too, and the report says so.
pub fn locate(data_dir: &Path) -> Result<CifarFiles> {
    let dir =
        dataset_folder(data_dir, "cifar10", "cifar-10-batches-bin", "CIFAR-10 binary data (cifar-10-batches-bin/)")?;
    let mut train = Vec::new();
    for k in 1..=TRAIN_FILES {
        let path = dir.join(format!("data_batch_{k}.bin"));
        match (path.is_file(), train.len() + 1 == k) {
            (true, true) => train.push(path),
            (true, false) => {
                bail!("{}: present, but data_batch_{}.bin before it is missing", path.display(), train.len() + 1)
            }
            (false, _) => {}
        }
    }
    if train.is_empty() {
        bail!("{}: missing", dir.join("data_batch_1.bin").display());
    }
    let test = dir.join("test_batch.bin");
    if !test.is_file() {
        bail!("{}: missing", test.display());
    }
    Ok(CifarFiles { dir, train, test })
}

#[derive(Clone, Debug)]
pub struct ImageData {
    pub train: LraSplit,
    pub val: LraSplit,
    pub test: LraSplit,
    pub report: ReadReport,
}

impl ImageData {
    pub fn read(files: &CifarFiles) -> Result<Self> {
        let mut report = ReadReport::default();
        // The cut needs the record count, which the file sizes give (each file is checked to be
        // whole records when read), so every record goes straight to its split: the tokens are
        // held once, one byte a step.
        let mut n = 0;
        for path in &files.train {
            let len = std::fs::metadata(path).map_err(|e| anyhow!("{}: cannot read ({e})", path.display()))?.len();
            // Bounded before anything is reserved; `CifarBatch::read` checks the rest.
            n += (len as usize).min(RECORDS_PER_FILE * RECORD_BYTES) / RECORD_BYTES;
        }
        let cut = train_cut(n);
        let (mut train, mut val) = (LraSplit::default(), LraSplit::default());
        train.sequences.reserve(cut, cut * PIXELS);
        train.labels.reserve_exact(cut);
        val.sequences.reserve(n - cut, (n - cut) * PIXELS);
        val.labels.reserve_exact(n - cut);
        let mut seen = 0;
        for path in &files.train {
            let batch = CifarBatch::read(path)?;
            for i in 0..batch.len() {
                append(if seen < cut { &mut train } else { &mut val }, &batch, i);
                seen += 1;
            }
        }
        if seen != n {
            bail!(
                "{}: the training files changed while being read ({n} records by size, {seen} read)",
                files.dir.display()
            );
        }
        let mut test = LraSplit::default();
        let batch = CifarBatch::read(&files.test)?;
        for i in 0..batch.len() {
            append(&mut test, &batch, i);
        }
        for split in [&mut train, &mut val, &mut test] {
            split.sequences.shrink_to_fit();
            split.labels.shrink_to_fit();
        }
        if files.train.len() < TRAIN_FILES {
            report.note(format!(
                "{} of the {TRAIN_FILES} training files present ({n} records): train/val cut at record {cut}",
                files.train.len()
            ));
        }
        report.items = n + test.len();
        Ok(Self { train, val, test, report })
    }

    pub fn load(data_dir: &Path) -> Result<Self> {
        Self::read(&locate(data_dir)?)
    }

    pub fn split(&self, split: Split) -> &LraSplit {
        match split {
            Split::Train => &self.train,
            Split::Valid => &self.val,
            Split::Test => &self.test,
        }
    }

    /// The 16 grey tokens.
    pub fn vocab_size(&self) -> usize {
        GREY_LEVELS
    }

    pub fn input_size(&self) -> usize {
        LraTask::Image.input_size()
    }

    pub fn seq_len(&self) -> usize {
        LraTask::Image.seq_len()
    }
}

/// Training records of `n` that TFDS's `train[:90%]` takes: `int(round(90 * n / 100.))`, with
/// Python's `round`, which sends halves to the even neighbour (n = 5 gives 4, n = 25 gives 22;
/// 45,000 of the real 50,000). `90 * n / 100.` is exact whenever it is a half, so integer
/// arithmetic gives the same.
pub fn train_cut(n: usize) -> usize {
    let (whole, tenths) = (9 * n / 10, 9 * n % 10);
    match tenths {
        0..=4 => whole,
        5 => whole + whole % 2,
        _ => whole + 1,
    }
}

fn append(split: &mut LraSplit, batch: &CifarBatch, i: usize) {
    split.sequences.push_with(|out| out.extend(batch.grey(i).iter().map(|&v| bin16(v))));
    split.labels.push(batch.labels[i]);
}
