//! Reader for PyTorch state dicts saved by `torch.save` (the zip format of PyTorch >= 1.6).
//!
//! The archive holds `<prefix>/data.pkl`, a pickle of the state dict in which every tensor is
//! `_rebuild_tensor_v2(storage, offset, size, stride, ...)` and every storage is a persistent
//! id naming the raw member `<prefix>/data/<key>`; `<prefix>/byteorder` (optional, "little"
//! when absent) gives the byte order of those raw storages. We unpickle with our own
//! non-executing reader, then cut each tensor out of its storage.

use crate::io::strided::gather_strided;
use crate::io::tensor_data::{DType, TensorData};
use crate::pickle::{self, TorchTensor};
use anyhow::{anyhow, bail, ensure, Context, Result};
use std::collections::hash_map::{Entry, HashMap};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use zip::result::ZipError;
use zip::{CompressionMethod, ZipArchive};

/// Deflate cannot expand data by more than about 1032:1; a larger declared ratio is a lie
/// or a decompression bomb.
const MAX_COMPRESSION_RATIO: u64 = 1100;

/// Up-front reservation cap when reading an archive member: the size is the header's word, which
/// a damaged file may state as anything (the fuzz harness found 64 MiB reserved for an 80 kB
/// file); the buffer grows past it only as data actually arrives.
const MAX_UPFRONT_RESERVE: u64 = 1 << 20;

/// Named tensors in the order the state dict lists them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StateDict {
    pub entries: Vec<(String, TensorData)>,
}

impl StateDict {
    pub fn get(&self, name: &str) -> Option<&TensorData> {
        self.entries.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(n, _)| n.as_str())
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Reads the state dict saved at `path`.
pub fn read_state_dict(path: &Path) -> Result<StateDict> {
    let file = File::open(path).with_context(|| format!("opening PyTorch state dict {}", path.display()))?;
    read_state_dict_from(BufReader::new(file), &path.display().to_string())
}

/// Reads a state dict from any seekable byte source; `source` names it in error messages.
pub fn read_state_dict_from<R: Read + Seek>(reader: R, source: &str) -> Result<StateDict> {
    read_archive(reader).with_context(|| format!("reading PyTorch state dict {source}"))
}

fn read_archive<R: Read + Seek>(mut reader: R) -> Result<StateDict> {
    let mut magic = Vec::with_capacity(4);
    (&mut reader).take(4).read_to_end(&mut magic).context("reading the file header")?;
    reader.seek(SeekFrom::Start(0)).context("seeking to the start")?;
    let mut archive = match ZipArchive::new(reader) {
        Ok(archive) => archive,
        Err(e) => bail!(not_a_zip_message(&magic, &e)),
    };
    let prefix = archive_prefix(&archive)?;
    let big_endian = storages_are_big_endian(&mut archive, &prefix)?;

    let pickle_name = format!("{prefix}/data.pkl");
    // Read the whole member (checking its CRC) before unpickling: the pickle is small, and
    // the parser stops at STOP, before a streaming read would have verified the checksum.
    let pickle_bytes = read_member(&mut archive, &pickle_name)?;
    let root = pickle::from_slice(&pickle_bytes).with_context(|| format!("unpickling {pickle_name}"))?;
    let dict = root.as_dict().ok_or_else(|| {
        anyhow!("{pickle_name} holds a {}, not a state dict (a mapping of names to tensors)", root.describe())
    })?;

    let mut storages: HashMap<String, Vec<u8>> = HashMap::new();
    let mut entries = Vec::with_capacity(dict.len());
    for (key, value) in dict {
        let name =
            key.as_text().ok_or_else(|| anyhow!("state dict key is a {}, not a str", key.describe()))?.into_owned();
        let tensor =
            value.as_tensor().ok_or_else(|| anyhow!("entry '{name}' is a {}, not a tensor", value.describe()))?;
        let data = tensor_data(&mut archive, &prefix, &mut storages, tensor, big_endian)
            .with_context(|| format!("entry '{name}'"))?;
        entries.push((name, data));
    }
    Ok(StateDict { entries })
}

fn not_a_zip_message(magic: &[u8], error: &ZipError) -> String {
    if magic.starts_with(b"PK") {
        format!("corrupt zip archive ({error})")
    } else if magic.first() == Some(&0x80) {
        "this is the legacy torch.save format (a bare pickle, PyTorch < 1.6), which is not \
         supported; re-save it with a newer PyTorch"
            .to_string()
    } else {
        format!("not a zip archive, so not a torch.save file ({error})")
    }
}

/// The archive's top-level folder: the one holding `data.pkl`.
fn archive_prefix<R: Read + Seek>(archive: &ZipArchive<R>) -> Result<String> {
    let prefixes: Vec<String> = archive
        .file_names_raw()
        .filter_map(|name| name.strip_suffix(b"/data.pkl"))
        .filter(|prefix| !prefix.contains(&b'/'))
        .map(|prefix| String::from_utf8_lossy(prefix).into_owned())
        .collect();
    match prefixes.as_slice() {
        [one] => Ok(one.clone()),
        [] => bail!("the archive has no <prefix>/data.pkl member, so it is not a torch.save file"),
        many => bail!("the archive has several data.pkl members ({})", many.join(", ")),
    }
}

fn storages_are_big_endian<R: Read + Seek>(archive: &mut ZipArchive<R>, prefix: &str) -> Result<bool> {
    let name = format!("{prefix}/byteorder");
    if archive.index_for_name(&name).is_none() {
        // Writers before PyTorch 1.10 omitted it; they only ran on little-endian machines.
        return Ok(false);
    }
    let bytes = read_member(archive, &name)?;
    match bytes.trim_ascii() {
        b"little" => Ok(false),
        b"big" => Ok(true),
        other => bail!("{name} says {:?} (expected \"little\" or \"big\")", String::from_utf8_lossy(other)),
    }
}

/// The whole content of an archive member, CRC-checked by the zip reader.
fn read_member<R: Read + Seek>(archive: &mut ZipArchive<R>, name: &str) -> Result<Vec<u8>> {
    let mut file = match archive.by_name(name) {
        Ok(file) => file,
        Err(ZipError::FileNotFound) => bail!("the archive has no member {name}"),
        Err(e) => return Err(anyhow!(e).context(format!("opening member {name}"))),
    };
    let size = file.size();
    if file.compression() != CompressionMethod::Stored {
        ensure!(
            size <= file.compressed_size().saturating_mul(MAX_COMPRESSION_RATIO) + 4096,
            "member {name} claims to expand {} bytes to {size}",
            file.compressed_size()
        );
    }
    let mut bytes = Vec::with_capacity(size.min(MAX_UPFRONT_RESERVE) as usize);
    file.read_to_end(&mut bytes).with_context(|| format!("reading member {name}"))?;
    ensure!(bytes.len() as u64 == size, "member {name} holds {} bytes, its header says {size}", bytes.len());
    Ok(bytes)
}

/// Cuts one tensor out of its storage (reading each storage once), as a contiguous
/// little-endian tensor.
fn tensor_data<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    prefix: &str,
    storages: &mut HashMap<String, Vec<u8>>,
    tensor: &TorchTensor,
    big_endian: bool,
) -> Result<TensorData> {
    let storage = &tensor.storage;
    let dtype: DType = storage.dtype.ok_or_else(|| anyhow!("unsupported storage type torch.{}", storage.type_name))?;
    let member = format!("{prefix}/data/{}", storage.key);
    let bytes = match storages.entry(member) {
        Entry::Occupied(e) => e.into_mut(),
        Entry::Vacant(e) => {
            let needed = storage
                .numel
                .checked_mul(dtype.size() as u64)
                .ok_or_else(|| anyhow!("storage size {} overflows", storage.numel))?;
            let name = e.key();
            if archive.index_for_name(name).is_none() {
                bail!("missing storage {name}");
            }
            let mut bytes = read_member(archive, name)?;
            ensure!(
                bytes.len() as u64 >= needed,
                "storage {name} holds {} bytes, but the pickle declares {} elements of {dtype} \
                 ({needed} bytes)",
                bytes.len(),
                storage.numel
            );
            // Torch reads exactly `numel` elements; anything after them is not part of it.
            bytes.truncate(needed as usize);
            e.insert(bytes)
        }
    };
    let mut out = gather_strided(bytes, dtype.size(), tensor.storage_offset, &tensor.shape, &tensor.stride)
        .with_context(|| format!("storage {prefix}/data/{} ({dtype})", storage.key))?;
    if big_endian && dtype.size() > 1 {
        for element in out.chunks_exact_mut(dtype.size()) {
            element.reverse();
        }
    }
    TensorData::new(dtype, tensor.shape.clone(), out)
}
