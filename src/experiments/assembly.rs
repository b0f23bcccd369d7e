//! Assembling a tier's outputs from its runs' rows: runs.csv, summary.md (with the paper's
//! table or the tier's note under it) and, when asked, the figures. Local runs, every Slurm
//! array task and the final assembly job all end here, possibly at the same moment on different
//! nodes, so the whole read-rows-then-write-files sequence holds the tier's lock: whichever
//! process assembles last has seen every row written before it started, and no row is lost.

use super::results::{assemble, tier_dir, RunRow};
use super::{ExperimentSpec, Plan};
use crate::io::{write_atomically, FileLock};
use anyhow::Result;
use std::path::Path;

/// The lock file beside runs.csv.
pub const LOCK_FILE: &str = ".assembly.lock";

/// Writes runs.csv and summary.md (and the figures when `draw_figures`) for `plan` under the
/// tier's lock, and returns the rows.
pub fn assemble_outputs(
    spec: &ExperimentSpec,
    plan: &Plan,
    results: &Path,
    root: &Path,
    draw_figures: bool,
) -> Result<Vec<RunRow>> {
    let dir = tier_dir(results, plan);
    std::fs::create_dir_all(&dir)?;
    let _lock = FileLock::exclusive(&dir.join(LOCK_FILE))?;
    let rows = assemble(results, plan, &spec.metrics, &spec.title)?;
    let summary = dir.join("summary.md");
    if let Some(table) = &spec.table {
        // The paper's layout after the per-configuration summary.
        let text = super::paper_table::render(spec, table, &rows, root, &plan.tier)?;
        let mut full = std::fs::read_to_string(&summary)?;
        full.push_str(&text);
        write_atomically(&summary, full.as_bytes())?;
    } else if let Some(note) = spec.tier(&plan.tier).ok().and_then(|t| t.table_note) {
        // Without a paper table the tier's note goes under the per-configuration summary.
        let mut full = std::fs::read_to_string(&summary)?;
        full.push_str(&format!("\nTier `{}`: {}\n", plan.tier, note.trim()));
        write_atomically(&summary, full.as_bytes())?;
    }
    if draw_figures {
        super::plots::draw(spec, &rows, &dir, root)?;
        super::plots::draw_table(spec, &rows, &dir, root)?;
    }
    Ok(rows)
}
