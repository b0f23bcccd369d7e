//! `elmbench export lra-*`: the token (or grey-level) indices a model's one-hot input is made of,
//! as a safetensors file: `x` (N, T) i64, or `x1` and `x2` for Retrieval's two documents, and `y`
//! (N,) i64 classes. Rows are laid out as the model sees them: a sequence shorter than T is
//! LEFT-padded, and padding is -1 (it has no one-hot column). Items are the split's used items
//! in their order (every item unless the task settings subsample), written in pieces to a
//! temporary sibling and renamed into place.

use crate::tasks::{Split, Task, TaskConfig};
use anyhow::{bail, Context, Result};
use std::io::{BufWriter, Write};
use std::path::Path;

/// Exports larger than this are refused before anything is written (use --limit).
pub const MAX_EXPORT_BYTES: u64 = 4 << 30;
/// Items read per piece.
const PIECE: usize = 256;

#[derive(Clone, Debug)]
pub struct ExportSummary {
    pub items: usize,
    pub steps: usize,
    pub bytes: u64,
}

pub fn export(task: &super::Lra, split: Split, limit: Option<usize>, output: &Path) -> Result<ExportSummary> {
    let data = task.data();
    let available = data.items(split);
    let items = limit.map_or(available, |n| n.min(available));
    if items == 0 {
        bail!("nothing to export: the {} split has no items", split.name());
    }
    let steps = data.steps();
    let names: &[&str] = if data.is_pairs() { &["x1", "x2"] } else { &["x"] };
    let x_bytes = items as u64 * steps as u64 * 8;
    let total = x_bytes * names.len() as u64 + items as u64 * 8;
    if total > MAX_EXPORT_BYTES {
        bail!(
            "{items} items of {steps} i64 steps would take {:.1} GiB (more than {} GiB): pass --limit",
            total as f64 / (1u64 << 30) as f64,
            MAX_EXPORT_BYTES >> 30
        );
    }
    let header = header(task.config(), &task.data_source().describe(), names, items, steps)?;
    let tmp = crate::io::temporary_sibling(output)?;
    let written = (|| -> Result<()> {
        let file = std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        out.write_all(&(header.len() as u64).to_le_bytes())?;
        out.write_all(header.as_bytes())?;
        // Each tensor is written whole before the next: one pass over the items per tensor.
        let mut labels = Vec::with_capacity(items);
        for (k, _) in names.iter().enumerate() {
            for start in (0..items).step_by(PIECE) {
                let picks: Vec<usize> = (start..(start + PIECE).min(items)).collect();
                let batch = data.tokens(split, &picks)?;
                let sequences =
                    if k == 0 { &batch.first } else { batch.second.as_ref().context("second documents")? };
                for tokens in sequences {
                    write_row(&mut out, tokens, steps)?;
                }
                if k == 0 {
                    labels.extend(batch.labels.iter().map(|&l| l as i64));
                }
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
    Ok(ExportSummary { items, steps, bytes: 8 + header.len() as u64 + total })
}

/// One row: -1 for each padding step, then the tokens.
fn write_row(out: &mut impl Write, tokens: &[u8], steps: usize) -> Result<()> {
    for _ in tokens.len()..steps {
        out.write_all(&(-1i64).to_le_bytes())?;
    }
    for &t in tokens {
        out.write_all(&(t as i64).to_le_bytes())?;
    }
    Ok(())
}

fn header(config: &TaskConfig, source: &str, names: &[&str], items: usize, steps: usize) -> Result<String> {
    let x_bytes = (items * steps * 8) as u64;
    let mut tensors = serde_json::Map::new();
    tensors.insert(
        "__metadata__".into(),
        serde_json::json!({ "task": serde_json::to_string(config)?, "data_source": source, "padding": "left, -1" }),
    );
    let mut offset = 0;
    for name in names {
        tensors.insert(
            (*name).into(),
            serde_json::json!({ "dtype": "I64", "shape": [items, steps], "data_offsets": [offset, offset + x_bytes] }),
        );
        offset += x_bytes;
    }
    tensors.insert(
        "y".into(),
        serde_json::json!({ "dtype": "I64", "shape": [items], "data_offsets": [offset, offset + items as u64 * 8] }),
    );
    let mut text = serde_json::to_string(&tensors)?;
    while text.len() % 8 != 0 {
        text.push(' ');
    }
    Ok(text)
}
