//! `forward`'s input: tensor `x` of a safetensors file, read header first, so its shape is
//! checked against the model before any of its data is read, and then converted to f32 piece by
//! piece (the peak is the f32 result plus one piece, not the file, its copy and the result).

use crate::io::tensor_data::append_f32;
use crate::io::DType;
use anyhow::{bail, ensure, Context, Result};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// The header a safetensors file may have (the format's own limit).
const MAX_HEADER_BYTES: u64 = 100_000_000;
/// Bytes converted at a time.
const PIECE_BYTES: usize = 1 << 20;

/// Where tensor `x` is and what it holds, from the file's header.
#[derive(Debug, Clone)]
pub struct InputHeader {
    pub path: PathBuf,
    pub dtype: DType,
    /// (batch, time, inputs).
    pub shape: [usize; 3],
    /// The data's first byte, from the start of the file.
    pub start: u64,
    pub bytes: u64,
    /// Bytes the file holds from `start` on (fewer than `bytes` when it is truncated; checked
    /// by `read_values`, so that a wrong width is reported first).
    pub available: u64,
}

impl InputHeader {
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// Reads and checks the header only: `x` is there, 3-D, of a numeric dtype, with as many bytes
/// as its shape needs (whether the file holds them is `read_values`' check).
pub fn read_header(path: &Path) -> Result<InputHeader> {
    let shown = path.display();
    let mut file = File::open(path).with_context(|| format!("reading input {shown}"))?;
    let file_len = file.metadata().with_context(|| format!("reading input {shown}"))?.len();
    let mut len = [0u8; 8];
    file.read_exact(&mut len).with_context(|| format!("{shown} is not a safetensors file (shorter than 8 bytes)"))?;
    let header_len = u64::from_le_bytes(len);
    if header_len > MAX_HEADER_BYTES || header_len > file_len - 8 {
        bail!(
            "{shown} is not a safetensors file: its header length {header_len} is beyond the file ({file_len} bytes)"
        );
    }
    let mut header = vec![0u8; header_len as usize];
    file.read_exact(&mut header).with_context(|| format!("reading the header of {shown}"))?;
    let header: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&header)
        .with_context(|| format!("{shown} is not a safetensors file (its header is not a JSON object)"))?;
    let Some(x) = header.get("x") else {
        let names: Vec<&str> = header.keys().map(String::as_str).filter(|k| *k != "__metadata__").collect();
        bail!("{shown} has no tensor `x` (it has: {})", names.join(", "));
    };
    #[derive(serde::Deserialize)]
    struct Info {
        dtype: safetensors::Dtype,
        shape: Vec<usize>,
        data_offsets: [u64; 2],
    }
    let info: Info = serde_json::from_value(x.clone()).with_context(|| format!("{shown}: the header of tensor `x`"))?;
    let dtype = DType::from_safetensors(info.dtype).with_context(|| format!("{shown}: tensor `x`"))?;
    if dtype == DType::Bool {
        bail!("{shown}: tensor `x` is bool; forward takes a float or integer dtype");
    }
    let shape: [usize; 3] = info.shape.as_slice().try_into().map_err(|_| {
        anyhow::anyhow!("{shown}: tensor `x` must be (batch, time, inputs), found shape {:?}", info.shape)
    })?;
    let [begin, end] = info.data_offsets;
    ensure!(begin <= end, "{shown}: tensor `x` has data_offsets [{begin}, {end}], which end before they begin");
    let needed = shape.iter().try_fold(dtype.size() as u64, |acc, &d| acc.checked_mul(d as u64));
    ensure!(
        needed == Some(end - begin),
        "{shown}: tensor `x` of shape {shape:?} and dtype {dtype} needs {} bytes, the header gives it {}",
        needed.map_or_else(|| "more than 2^64".to_string(), |n| n.to_string()),
        end - begin
    );
    let start = (8 + header_len).saturating_add(begin);
    let available = file_len.saturating_sub(start);
    Ok(InputHeader { path: path.to_path_buf(), dtype, shape, start, bytes: end - begin, available })
}

/// Reads `x`'s values as f32, a piece at a time.
pub fn read_values(header: &InputHeader) -> Result<Vec<f32>> {
    let shown = header.path.display();
    ensure!(
        header.bytes <= header.available,
        "{shown}: tensor `x` needs {} bytes, but the file holds {} after its start (truncated?)",
        header.bytes,
        header.available
    );
    let mut file = File::open(&header.path).with_context(|| format!("reading input {shown}"))?;
    file.seek(SeekFrom::Start(header.start)).with_context(|| format!("reading input {shown}"))?;
    let mut values = Vec::with_capacity(header.numel());
    let piece = PIECE_BYTES - PIECE_BYTES % header.dtype.size();
    let mut buffer = vec![0u8; piece];
    let mut left = header.bytes;
    while left > 0 {
        let n = (left as usize).min(piece);
        file.read_exact(&mut buffer[..n]).with_context(|| format!("reading tensor `x` of {shown}"))?;
        append_f32(header.dtype, &buffer[..n], &mut values).with_context(|| format!("{shown}: tensor `x`"))?;
        left -= n as u64;
    }
    Ok(values)
}

/// Tensor `x` as f32, with its shape.
pub fn read_input(path: &Path) -> Result<(Vec<usize>, Vec<f32>)> {
    let header = read_header(path)?;
    Ok((header.shape.to_vec(), read_values(&header)?))
}
