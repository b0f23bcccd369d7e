//! A cache of parsed NeuronIO files, so a pickle is parsed once, not every epoch or run. Entries
//! are compact safetensors files named by the sha256 of the source file's bytes: a changed
//! source never matches a stale entry, and renaming or copying a source keeps its entry. A
//! damaged entry is ignored and rebuilt.

use super::reader::read_neuronio_file;
use super::{NeuronioFile, Simulation};
use crate::io::write_atomically;
use anyhow::{bail, Context, Result};
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const FORMAT: &str = "elmbench-neuronio-cache-v1";

/// sha256 of a file (the same streamed hashing `fetch` verifies downloads with).
pub fn file_sha256(path: &Path) -> Result<String> {
    Ok(crate::fetch::verify::hash_file(path, false)?.sha256)
}

/// The parsed file, from the cache in `cache_dir` when it has it, else parsed and cached.
pub fn read_cached(path: &Path, cache_dir: &Path) -> Result<NeuronioFile> {
    let entry = cache_dir.join(format!("{}.safetensors", file_sha256(path)?));
    if entry.exists() {
        match load_entry(&entry) {
            Ok(file) => return Ok(file),
            Err(e) => eprintln!("warning: ignoring the damaged cache entry {}: {e:#}", entry.display()),
        }
    }
    let file = read_neuronio_file(path)?;
    std::fs::create_dir_all(cache_dir).with_context(|| format!("creating {}", cache_dir.display()))?;
    store_entry(&file, &entry)?;
    Ok(file)
}

/// The cache folder of a data root.
pub fn cache_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("neuronio").join(".cache")
}

fn bytes_of<T: Copy>(values: &[T], to_le: impl Fn(T) -> Vec<u8>) -> Vec<u8> {
    values.iter().flat_map(|v| to_le(*v)).collect()
}

fn store_entry(file: &NeuronioFile, path: &Path) -> Result<()> {
    // Simulations concatenated, with their lengths: steps, spikes.
    let mut lengths: Vec<u64> = Vec::new();
    let (mut step_start, mut channel, mut output_spike, mut soma) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for sim in &file.simulations {
        lengths.push(sim.steps() as u64);
        lengths.push(sim.channel.len() as u64);
        step_start.extend_from_slice(&sim.step_start);
        channel.extend_from_slice(&sim.channel);
        output_spike.extend_from_slice(&sim.output_spike);
        soma.extend_from_slice(&sim.soma_mv);
    }
    let owned = [
        ("lengths", Dtype::U64, bytes_of(&lengths, |v| v.to_le_bytes().to_vec())),
        ("step_start", Dtype::U32, bytes_of(&step_start, |v| v.to_le_bytes().to_vec())),
        ("channel", Dtype::U16, bytes_of(&channel, |v| v.to_le_bytes().to_vec())),
        ("output_spike", Dtype::U8, output_spike),
        ("soma_mv", Dtype::F32, bytes_of(&soma, |v| v.to_le_bytes().to_vec())),
    ];
    let views = owned
        .iter()
        .map(|(name, dtype, bytes)| {
            let n = bytes.len() * 8 / dtype.bitsize();
            Ok((name.to_string(), TensorView::new(*dtype, vec![n], bytes)?))
        })
        .collect::<Result<Vec<_>>>()?;
    let metadata = HashMap::from([
        ("format".to_string(), FORMAT.to_string()),
        ("segments".to_string(), file.segments.to_string()),
        ("synthetic".to_string(), file.synthetic.to_string()),
    ]);
    write_atomically(path, &safetensors::serialize(views, Some(metadata))?)
}

fn load_entry(path: &Path) -> Result<NeuronioFile> {
    let bytes = std::fs::read(path)?;
    let (_, header) = SafeTensors::read_metadata(&bytes)?;
    let meta = header.metadata().clone().unwrap_or_default();
    if meta.get("format").map(String::as_str) != Some(FORMAT) {
        bail!("not a {FORMAT} file");
    }
    let segments: usize = meta.get("segments").context("no segments")?.parse()?;
    let synthetic = meta.get("synthetic").map(String::as_str) == Some("true");
    let tensors = SafeTensors::deserialize(&bytes)?;
    let data = |name: &str| -> Result<Vec<u8>> { Ok(tensors.tensor(name)?.data().to_vec()) };
    let lengths: Vec<usize> =
        data("lengths")?.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8")) as usize).collect();
    let step_start: Vec<u32> =
        data("step_start")?.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().expect("4"))).collect();
    let channel: Vec<u16> = data("channel")?.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    let output_spike = data("output_spike")?;
    let soma: Vec<f32> =
        data("soma_mv")?.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4"))).collect();
    let (mut at_step, mut at_spike, mut at_start) = (0, 0, 0);
    let mut simulations = Vec::new();
    for pair in lengths.chunks_exact(2) {
        let (steps, spikes) = (pair[0], pair[1]);
        let sim = Simulation {
            step_start: step_start.get(at_start..at_start + steps + 1).context("truncated step_start")?.to_vec(),
            channel: channel.get(at_spike..at_spike + spikes).context("truncated channel")?.to_vec(),
            output_spike: output_spike.get(at_step..at_step + steps).context("truncated output_spike")?.to_vec(),
            soma_mv: soma.get(at_step..at_step + steps).context("truncated soma_mv")?.to_vec(),
        };
        if sim.step_start.last().copied() != Some(spikes as u32)
            || sim.channel.iter().any(|&c| c as usize >= 2 * segments)
        {
            bail!("inconsistent simulation");
        }
        at_start += steps + 1;
        at_step += steps;
        at_spike += spikes;
        simulations.push(sim);
    }
    Ok(NeuronioFile { segments, simulations, synthetic })
}
