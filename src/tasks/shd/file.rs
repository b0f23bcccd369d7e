//! Reading one SHD HDF5 file (`shd_train.h5`, `shd_test.h5`; DATASETS.md 2.2) into flat arrays.
//!
//! The file holds, per sample, a variable-length array of spike times in seconds
//! (`spikes/times`) and one of input channels (`spikes/units`), a class (`labels`), and optionally
//! a speaker (`extra/speaker`) and the 20 class names (`extra/keys`). All samples' spikes are
//! kept in two flat arrays with one offset per sample, so a real training file (8156 samples,
//! tens of millions of spikes) costs its spikes' bytes and a few allocations, not one per sample.
//! Times keep the file's own precision: float16 stays as its bit pattern (2 bytes a spike, and
//! exact: `SpikeTimes::get` widens it exactly), float32 and float64 as stored.
//!
//! Everything read from the file is checked, and every problem is an error that names the file,
//! the dataset and, where it is about one sample, the sample's index.

use super::numbers::{self, FloatType, IntType};
use super::{ShdSummary, NUM_CLASSES, NUM_UNITS};
use crate::io::float16::f16_to_f32;
use anyhow::{anyhow, Result};
use hdf5_reader::{Dataset, Datatype, Hdf5File, OpenOptions, VarLenKind};
use std::path::{Path, PathBuf};

/// Dataset paths inside the file.
pub const TIMES: &str = "spikes/times";
pub const UNITS: &str = "spikes/units";
pub const LABELS: &str = "labels";
pub const SPEAKERS: &str = "extra/speaker";
pub const KEYS: &str = "extra/keys";

/// The most bytes one dataset read may decode. The largest read is the table of heap references
/// of `spikes/times` (16 bytes a sample, 130 KB for the real training file); the bound stops a
/// damaged dataspace from asking for an allocation the machine cannot make.
const MAX_READ_BYTES: usize = 256 << 20;

/// The element type of the spike times as the file stores them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeType {
    F16,
    F32,
    F64,
}

impl TimeType {
    pub fn name(self) -> &'static str {
        match self {
            TimeType::F16 => "float16",
            TimeType::F32 => "float32",
            TimeType::F64 => "float64",
        }
    }
}

/// The spike times of one sample, in seconds, in the file's precision.
#[derive(Clone, Copy, Debug)]
pub enum SpikeTimes<'a> {
    /// IEEE half bit patterns.
    F16(&'a [u16]),
    F32(&'a [f32]),
    F64(&'a [f64]),
}

impl SpikeTimes<'_> {
    pub fn len(&self) -> usize {
        match self {
            SpikeTimes::F16(t) => t.len(),
            SpikeTimes::F32(t) => t.len(),
            SpikeTimes::F64(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn time_type(&self) -> TimeType {
        match self {
            SpikeTimes::F16(_) => TimeType::F16,
            SpikeTimes::F32(_) => TimeType::F32,
            SpikeTimes::F64(_) => TimeType::F64,
        }
    }

    /// Time `j` in seconds, exactly (every float16 and float32 is a float64).
    pub fn get(&self, j: usize) -> f64 {
        match self {
            SpikeTimes::F16(t) => f16_to_f32(t[j]) as f64,
            SpikeTimes::F32(t) => t[j] as f64,
            SpikeTimes::F64(t) => t[j],
        }
    }

    /// All times in seconds, exactly.
    pub fn to_f64(&self) -> Vec<f64> {
        (0..self.len()).map(|j| self.get(j)).collect()
    }
}

/// One sample of an SHD file: its spikes (`times[j]` on channel `units[j]`; the order is the
/// file's, not necessarily sorted), its class and its speaker.
#[derive(Clone, Copy, Debug)]
pub struct ShdSample<'a> {
    pub index: usize,
    pub times: SpikeTimes<'a>,
    pub units: &'a [u16],
    pub label: u8,
    pub speaker: Option<u32>,
}

#[derive(Clone, Debug, PartialEq)]
enum TimeStore {
    F16(Vec<u16>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

/// A whole SHD file, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct ShdFile {
    path: PathBuf,
    /// Sample k's spikes are `sample_start[k]..sample_start[k + 1]` of `times` and `units`.
    sample_start: Vec<usize>,
    times: TimeStore,
    units: Vec<u16>,
    labels: Vec<u8>,
    speakers: Option<Vec<u32>>,
    keys: Option<Vec<String>>,
}

impl ShdFile {
    /// Reads and checks an SHD file.
    ///
    /// `hdf5-reader` returns errors, not panics, on damaged files: 30,000 seeded corruptions and
    /// truncations of the fixtures (metadata and data) gave none, so no `catch_unwind` wraps it;
    /// `tests/shd_reader.rs` keeps a few hundred of them as a regression test.
    pub fn read(path: &Path) -> Result<Self> {
        Reader::open(path).and_then(Reader::read)
    }

    /// Reads and checks the bytes of an SHD file that are already in memory (a download being
    /// verified, a test's damaged copy); `name` is the file that errors name.
    pub fn from_bytes(name: &Path, bytes: Vec<u8>) -> Result<Self> {
        Reader::from_bytes(name, bytes).and_then(Reader::read)
    }

    /// The file this was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Sample `k` (panics if `k >= len()`, like slice indexing).
    pub fn sample(&self, k: usize) -> ShdSample<'_> {
        let span = self.sample_start[k]..self.sample_start[k + 1];
        let times = match &self.times {
            TimeStore::F16(t) => SpikeTimes::F16(&t[span.clone()]),
            TimeStore::F32(t) => SpikeTimes::F32(&t[span.clone()]),
            TimeStore::F64(t) => SpikeTimes::F64(&t[span.clone()]),
        };
        ShdSample {
            index: k,
            times,
            units: &self.units[span],
            label: self.labels[k],
            speaker: self.speakers.as_ref().map(|s| s[k]),
        }
    }

    pub fn samples(&self) -> impl ExactSizeIterator<Item = ShdSample<'_>> + '_ {
        (0..self.len()).map(|k| self.sample(k))
    }

    /// The class of every sample, 0..20.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// The speaker of every sample, if the file has `extra/speaker`.
    pub fn speakers(&self) -> Option<&[u32]> {
        self.speakers.as_deref()
    }

    /// The class names (`extra/keys`), if the file has them.
    pub fn keys(&self) -> Option<&[String]> {
        self.keys.as_deref()
    }

    /// Total number of spikes.
    pub fn spike_count(&self) -> usize {
        self.units.len()
    }

    pub fn time_type(&self) -> TimeType {
        match self.times {
            TimeStore::F16(_) => TimeType::F16,
            TimeStore::F32(_) => TimeType::F32,
            TimeStore::F64(_) => TimeType::F64,
        }
    }

    /// What the file holds, for structural checks and logs.
    pub fn summary(&self) -> ShdSummary {
        let mut label_counts = [0usize; NUM_CLASSES];
        for &label in &self.labels {
            label_counts[label as usize] += 1;
        }
        let speakers = self.speakers.as_ref().map(|s| {
            let mut distinct = s.clone();
            distinct.sort_unstable();
            distinct.dedup();
            distinct.len()
        });
        let max_time_s = match &self.times {
            TimeStore::F16(t) => t.iter().map(|&b| f16_to_f32(b) as f64).fold(0.0, f64::max),
            TimeStore::F32(t) => t.iter().map(|&v| v as f64).fold(0.0, f64::max),
            TimeStore::F64(t) => t.iter().copied().fold(0.0, f64::max),
        };
        ShdSummary {
            samples: self.len(),
            spikes: self.spike_count(),
            time_type: self.time_type(),
            max_time_s,
            max_unit: self.units.iter().copied().max(),
            label_counts,
            speakers,
            keys: self.keys.as_ref().map(Vec::len),
        }
    }
}

/// An open file and what errors need to name.
struct Reader<'a> {
    path: &'a Path,
    file: Hdf5File,
    /// Bytes on disk: no sample can hold more spike bytes than this.
    file_len: u64,
}

/// The heap references of a variable-length dataset (`size` bytes each) and the number of
/// values they point to in all.
struct VlenReferences {
    bytes: Vec<u8>,
    size: usize,
    total: usize,
}

/// A 1-D dataset, opened.
struct Opened {
    dataset: Dataset,
    len: usize,
}

impl<'a> Reader<'a> {
    fn open(path: &'a Path) -> Result<Self> {
        let file_len = std::fs::metadata(path).map_err(|e| anyhow!("{}: cannot read ({e})", path.display()))?.len();
        Self::new(path, file_len, Hdf5File::open_with_options(path, Self::options()))
    }

    fn from_bytes(name: &'a Path, bytes: Vec<u8>) -> Result<Self> {
        let file_len = bytes.len() as u64;
        Self::new(name, file_len, Hdf5File::from_vec_with_options(bytes, Self::options()))
    }

    fn options() -> OpenOptions {
        OpenOptions::default().with_max_read_bytes(MAX_READ_BYTES).with_max_chunk_bytes(MAX_READ_BYTES)
    }

    fn new(path: &'a Path, file_len: u64, opened: hdf5_reader::error::Result<Hdf5File>) -> Result<Self> {
        let file = opened.map_err(|e| {
            anyhow!("{}: not a readable HDF5 file ({e}); is it truncated or still gzipped?", path.display())
        })?;
        // libhdf5 refuses a file shorter than its superblock's end-of-file address; so does this
        // reader, as a truncation can otherwise cut only bytes no dataset needs (free space at the
        // end of a heap) and go unnoticed until another copy of the file differs.
        let superblock = file.superblock();
        let end = superblock.base_address.saturating_add(superblock.eof_address);
        if end > file_len {
            return Err(anyhow!(
                "{}: truncated: the HDF5 superblock says the file ends at byte {end}, but it has {file_len} bytes",
                path.display()
            ));
        }
        Ok(Self { path, file, file_len })
    }

    fn fail(&self, message: impl std::fmt::Display) -> anyhow::Error {
        anyhow!("{}: {message}", self.path.display())
    }

    fn required(&self, name: &str) -> Result<Opened> {
        self.dataset(name, false)?.ok_or_else(|| self.fail(format_args!("no dataset `{name}`")))
    }

    /// A dataset; `Ok(None)` only for an `optional` one that is absent.
    fn dataset(&self, name: &str, optional: bool) -> Result<Option<Opened>> {
        let dataset = match self.file.dataset(name) {
            Ok(d) => d,
            Err(e) if optional && is_not_found(&e) => return Ok(None),
            Err(e) if is_not_found(&e) => {
                return Err(
                    self.fail(format_args!("no dataset `{name}` (an SHD file has {TIMES}, {UNITS} and {LABELS})"))
                )
            }
            Err(e) => return Err(self.fail(format_args!("cannot open dataset `{name}` ({e})"))),
        };
        let shape = dataset.shape();
        if shape.len() != 1 {
            return Err(self.fail(format_args!("dataset `{name}` has shape {shape:?}, expected one value per sample")));
        }
        let len = usize::try_from(shape[0]).map_err(|_| self.fail(format_args!("`{name}` is too long")))?;
        Ok(Some(Opened { dataset, len }))
    }

    fn read(self) -> Result<ShdFile> {
        let times = self.required(TIMES)?;
        let units = self.required(UNITS)?;
        let labels = self.required(LABELS)?;
        let speakers = self.dataset(SPEAKERS, true)?;
        let keys = self.dataset(KEYS, true)?;

        // Sample counts first: a mismatch is found before the spikes are read.
        let n = times.len;
        for (name, other) in [(UNITS, Some(&units)), (LABELS, Some(&labels)), (SPEAKERS, speakers.as_ref())] {
            if let Some(other) = other {
                if other.len != n {
                    return Err(self.fail(format_args!(
                        "`{name}` has {} samples but `{TIMES}` has {n}: the datasets do not describe the same samples",
                        other.len
                    )));
                }
            }
        }
        let time_type = self.vlen_base(&times, TIMES).and_then(|base| {
            FloatType::of(base)
                .ok_or_else(|| self.fail(format_args!("`{TIMES}` holds {}, not floats", numbers::describe(base))))
        })?;
        let unit_type = self.vlen_base(&units, UNITS).and_then(|base| {
            IntType::of(base)
                .ok_or_else(|| self.fail(format_args!("`{UNITS}` holds {}, not integers", numbers::describe(base))))
        })?;

        let (sample_start, times) = self.read_times(&times, time_type)?;
        let units = self.read_units(&units, unit_type, &sample_start)?;
        let labels = self.read_integers(&labels, LABELS, |k, v| {
            u8::try_from(v).ok().filter(|&l| (l as usize) < NUM_CLASSES).ok_or_else(|| {
                self.fail(format_args!("`{LABELS}`, sample {k}: label {v} is not a class 0..{}", NUM_CLASSES - 1))
            })
        })?;
        let speakers = match speakers {
            Some(s) => Some(self.read_integers(&s, SPEAKERS, |k, v| {
                u32::try_from(v)
                    .map_err(|_| self.fail(format_args!("`{SPEAKERS}`, sample {k}: speaker {v} is not a speaker id")))
            })?),
            None => None,
        };
        let keys = match keys {
            Some(k) => Some(self.read_keys(&k)?),
            None => None,
        };
        Ok(ShdFile { path: self.path.to_path_buf(), sample_start, times, units, labels, speakers, keys })
    }

    /// The element type of a variable-length dataset.
    fn vlen_base<'d>(&self, opened: &'d Opened, name: &str) -> Result<&'d Datatype> {
        match opened.dataset.dtype() {
            Datatype::VarLen { base, kind: VarLenKind::Sequence, .. } => Ok(base),
            other => Err(self.fail(format_args!(
                "`{name}` holds {}, not one variable-length array per sample",
                numbers::describe(other)
            ))),
        }
    }

    /// The heap references of a variable-length dataset, and the total number of values they
    /// point to.
    fn vlen_references(&self, opened: &Opened, name: &str, element_size: usize) -> Result<VlenReferences> {
        let bytes =
            opened.dataset.read_raw_bytes().map_err(|e| self.fail(format_args!("cannot read `{name}` ({e})")))?;
        let size = opened.dataset.vlen_reference_size();
        if bytes.len() != opened.len * size {
            return Err(self.fail(format_args!(
                "`{name}` has {} bytes of heap references for {} samples",
                bytes.len(),
                opened.len
            )));
        }
        // Each reference starts with its element count. The arrays live in the global heap,
        // unfiltered, so together they cannot hold more bytes than the file: checking that before
        // reserving keeps a damaged count from asking for an impossible allocation.
        let mut total = 0usize;
        for (k, reference) in bytes.chunks_exact(size).enumerate() {
            total += element_count(reference);
            if (total as u64).saturating_mul(element_size as u64) > self.file_len {
                return Err(self.fail(format_args!(
                    "`{name}`, sample {k}: the arrays up to this sample claim {total} values, more than the \
                     {}-byte file holds",
                    self.file_len
                )));
            }
        }
        Ok(VlenReferences { bytes, size, total })
    }

    /// Calls `take(k, bytes)` with the bytes of sample k's array, in sample order.
    fn for_each_array(
        &self,
        opened: &Opened,
        name: &str,
        references: &VlenReferences,
        element_size: usize,
        mut take: impl FnMut(usize, &[u8]) -> Result<()>,
    ) -> Result<()> {
        for (k, reference) in references.bytes.chunks_exact(references.size).enumerate() {
            let count = element_count(reference);
            let bytes = opened
                .dataset
                .resolve_vlen_reference_bytes(reference, element_size)
                .map_err(|e| self.fail(format_args!("`{name}`, sample {k}: cannot read its array ({e})")))?;
            if bytes.len() != count * element_size {
                return Err(self.fail(format_args!(
                    "`{name}`, sample {k}: its array of {count} values is missing from the file's heap"
                )));
            }
            take(k, &bytes)?;
        }
        Ok(())
    }

    fn read_times(&self, opened: &Opened, ty: FloatType) -> Result<(Vec<usize>, TimeStore)> {
        let mut sample_start = Vec::with_capacity(opened.len + 1);
        sample_start.push(0);
        let bad = |k: usize, j: usize, t: f64| {
            let why = if t.is_nan() {
                "is not a number"
            } else if t.is_infinite() {
                "is infinite"
            } else {
                "is negative"
            };
            self.fail(format_args!("`{TIMES}`, sample {k}: spike {j} at {t} s {why}"))
        };
        // -0.0 passes (`>= 0.0`): numpy's digitize puts it in the first bin, as 0.
        let valid = |t: f64| t >= 0.0 && t.is_finite();
        macro_rules! decode {
            ($store:ident, $t:ty, $n:literal, $to:expr) => {{
                let references = self.vlen_references(opened, TIMES, $n)?;
                let mut out: Vec<$t> = Vec::with_capacity(references.total);
                self.for_each_array(opened, TIMES, &references, $n, |k, bytes| {
                    for (j, chunk) in bytes.chunks_exact($n).enumerate() {
                        let mut raw = [0u8; $n];
                        raw.copy_from_slice(chunk);
                        let value = if ty.big_endian { <$t>::from_be_bytes(raw) } else { <$t>::from_le_bytes(raw) };
                        let seconds: f64 = $to(value);
                        if !valid(seconds) {
                            return Err(bad(k, j, seconds));
                        }
                        out.push(value);
                    }
                    sample_start.push(out.len());
                    Ok(())
                })?;
                TimeStore::$store(out)
            }};
        }
        let store = match ty.size {
            2 => decode!(F16, u16, 2, |b: u16| f16_to_f32(b) as f64),
            4 => decode!(F32, f32, 4, |v: f32| v as f64),
            _ => decode!(F64, f64, 8, |v: f64| v),
        };
        Ok((sample_start, store))
    }

    fn read_units(&self, opened: &Opened, ty: IntType, sample_start: &[usize]) -> Result<Vec<u16>> {
        let references = self.vlen_references(opened, UNITS, ty.size)?;
        let mut units: Vec<u16> = Vec::with_capacity(references.total);
        self.for_each_array(opened, UNITS, &references, ty.size, |k, bytes| {
            let expected = sample_start[k + 1] - sample_start[k];
            let count = bytes.len() / ty.size;
            if count != expected {
                return Err(self.fail(format_args!(
                    "sample {k}: `{UNITS}` has {count} values but `{TIMES}` has {expected}: every spike needs a \
                     time and a unit"
                )));
            }
            ty.for_each(bytes, |j, v| {
                let unit = u16::try_from(v).ok().filter(|&u| (u as usize) < NUM_UNITS).ok_or_else(|| {
                    self.fail(format_args!(
                        "`{UNITS}`, sample {k}: spike {j} is on unit {v}, not one of the {NUM_UNITS} channels 0..{}",
                        NUM_UNITS - 1
                    ))
                })?;
                units.push(unit);
                Ok::<(), anyhow::Error>(())
            })
        })?;
        Ok(units)
    }

    /// A 1-D integer dataset, each value converted by `convert(sample, value)`.
    fn read_integers<T>(
        &self,
        opened: &Opened,
        name: &str,
        mut convert: impl FnMut(usize, i128) -> Result<T>,
    ) -> Result<Vec<T>> {
        let ty = IntType::of(opened.dataset.dtype()).ok_or_else(|| {
            self.fail(format_args!("`{name}` holds {}, not integers", numbers::describe(opened.dataset.dtype())))
        })?;
        let bytes =
            opened.dataset.read_raw_bytes().map_err(|e| self.fail(format_args!("cannot read `{name}` ({e})")))?;
        if bytes.len() != opened.len * ty.size {
            return Err(self.fail(format_args!("`{name}` has {} bytes for {} values", bytes.len(), opened.len)));
        }
        let mut out = Vec::with_capacity(opened.len);
        ty.for_each(&bytes, |k, v| {
            out.push(convert(k, v)?);
            Ok::<(), anyhow::Error>(())
        })?;
        Ok(out)
    }

    fn read_keys(&self, opened: &Opened) -> Result<Vec<String>> {
        let keys =
            opened.dataset.read_strings().map_err(|e| self.fail(format_args!("cannot read `{KEYS}` as text ({e})")))?;
        if keys.len() != NUM_CLASSES {
            return Err(self.fail(format_args!("`{KEYS}` names {} classes, SHD has {NUM_CLASSES}", keys.len())));
        }
        Ok(keys)
    }
}

/// The element count at the start of an HDF5 variable-length reference.
fn element_count(reference: &[u8]) -> usize {
    let mut count = [0u8; 4];
    count.copy_from_slice(&reference[..4]);
    u32::from_le_bytes(count) as usize
}

fn is_not_found(error: &hdf5_reader::error::Error) -> bool {
    use hdf5_reader::error::Error;
    match error {
        Error::DatasetNotFound(_) | Error::GroupNotFound(_) => true,
        Error::Context { source, .. } => is_not_found(source),
        _ => false,
    }
}
