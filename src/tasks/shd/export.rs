//! `elmbench export shd|shd-adding`: what a model is fed, as a safetensors file: `x` (N, T, 700)
//! f32 spike counts and `y` (N,) i64 classes. Validation and test items are the task's evaluation
//! items (every sample of the split in file order; SHD-Adding's fixed pairs), binned as training
//! bins them; training items come from the training stream of a seed (its shuffles or pairs, and
//! its input dropout). The file is written in pieces to a temporary sibling and renamed into
//! place, so a large export never sits whole in memory and a failed one leaves nothing behind.

use super::evaluation::for_each_batch;
use super::stream::BatchBuilder;
use super::{ShdTask, NUM_UNITS};
use crate::engine::SparseSequences;
use crate::tasks::{Split, Targets, Task};
use anyhow::{bail, Context, Result};
use std::io::{BufWriter, Write};
use std::path::Path;

/// Exports larger than this are refused before anything is written (use --limit).
pub const MAX_EXPORT_BYTES: u64 = 4 << 30;

#[derive(Clone, Debug)]
pub struct ExportSummary {
    pub items: usize,
    pub steps: usize,
    pub bytes: u64,
}

/// Writes the first `limit` items (all by default) of `split` to `output`; `seed` picks the
/// training stream.
pub fn export(task: &ShdTask, split: Split, limit: Option<usize>, seed: u64, output: &Path) -> Result<ExportSummary> {
    let steps = task.steps();
    let available = match split {
        Split::Train => task.default_batches_per_epoch(BATCH) * BATCH,
        _ => task.eval_set(split).items.len(),
    };
    let items = limit.map_or(available, |n| n.min(available));
    if items == 0 {
        bail!("nothing to export: the {} split has no items", split.name());
    }
    let x_bytes = (items as u64) * (steps as u64) * (NUM_UNITS as u64) * 4;
    if x_bytes > MAX_EXPORT_BYTES {
        bail!(
            "{items} items of {steps} x {NUM_UNITS} f32 would take {:.1} GiB (more than {} GiB): pass --limit",
            x_bytes as f64 / (1u64 << 30) as f64,
            MAX_EXPORT_BYTES >> 30
        );
    }
    let y_bytes = items as u64 * 8;
    let header = header(items, steps, x_bytes, y_bytes, task)?;
    let tmp = crate::io::temporary_sibling(output)?;
    let written = (|| -> Result<()> {
        let file = std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        out.write_all(&(header.len() as u64).to_le_bytes())?;
        out.write_all(header.as_bytes())?;
        let mut labels: Vec<i64> = Vec::with_capacity(items);
        let mut dense = Vec::new();
        let mut write = |x: &SparseSequences, y: &[u32], labels: &mut Vec<i64>| -> Result<()> {
            let take = (items - labels.len()).min(x.batch);
            dense.clear();
            dense.resize(take * steps * NUM_UNITS, 0.0f32);
            for r in 0..take * steps {
                for (unit, count) in x.row(r) {
                    dense[r * NUM_UNITS + unit] = count;
                }
            }
            for v in &dense {
                out.write_all(&v.to_le_bytes())?;
            }
            labels.extend(y[..take].iter().map(|&l| l as i64));
            Ok(())
        };
        match split {
            Split::Train => {
                let mut stream = task.train_stream(BATCH, seed)?;
                while labels.len() < items {
                    let batch = stream.next_batch()?;
                    let Targets::Classes(y) = &batch.targets else { bail!("SHD batches carry classes") };
                    write(&batch.inputs, y, &mut labels)?;
                }
            }
            _ => {
                let mut builder = BatchBuilder::new(task.binning().clone());
                for_each_batch(task.eval_set(split), &mut builder, task.eval_dropout(), |x, y| {
                    if labels.len() < items {
                        write(&x, &y, &mut labels)?;
                    }
                    Ok(())
                })?;
            }
        }
        for l in &labels {
            out.write_all(&l.to_le_bytes())?;
        }
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, output)?;
        Ok(())
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.with_context(|| format!("writing {}", output.display()))?;
    Ok(ExportSummary { items, steps, bytes: 8 + header.len() as u64 + x_bytes + y_bytes })
}

/// Training items are drawn in the official batch size.
const BATCH: usize = 8;

/// The safetensors header (JSON, padded with spaces to a multiple of 8 bytes as the format's
/// reference writer pads it).
fn header(items: usize, steps: usize, x_bytes: u64, y_bytes: u64, task: &ShdTask) -> Result<String> {
    let mut text = serde_json::to_string(&serde_json::json!({
        "__metadata__": {
            "task": serde_json::to_string(task.config())?,
            "data_source": task.data_source().describe(),
        },
        "x": { "dtype": "F32", "shape": [items, steps, NUM_UNITS], "data_offsets": [0, x_bytes] },
        "y": { "dtype": "I64", "shape": [items], "data_offsets": [x_bytes, x_bytes + y_bytes] },
    }))?;
    while text.len() % 8 != 0 {
        text.push(' ');
    }
    Ok(text)
}
