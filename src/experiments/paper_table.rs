//! An experiment's results laid out like the paper's table (`[table]` in its declaration): a row
//! per trained model, a column per task, each cell the mean +- sample std over seeds of the
//! table's metric (FAIL where the mean is within `fail_margin` of chance, as the paper marks it),
//! the average over the columns and the parameter counts; then the paper's rows (its own runs and
//! the methods it cites) from the `cited` CSV, with their source.

use super::results::RunRow;
use super::spec::{ExperimentSpec, TableSpec};
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

/// One trained cell: the metric's mean and spread over the finished seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    pub mean: f64,
    pub std: f64,
    pub seeds: usize,
    pub fail: bool,
    pub params: usize,
}

/// A row of the paper's CSV: the model, its source, and a value per column (`None` for FAIL).
#[derive(Clone, Debug, PartialEq)]
pub struct CitedRow {
    pub model: String,
    pub source: String,
    pub values: BTreeMap<String, Option<f64>>,
    pub params_note: String,
}

/// The cells of every row the experiment trains, in declaration order.
pub fn trained_cells(
    spec: &ExperimentSpec,
    table: &TableSpec,
    rows: &[RunRow],
) -> Vec<(String, BTreeMap<String, Cell>)> {
    let mut out: Vec<(String, BTreeMap<String, Cell>)> = Vec::new();
    for group in &spec.group {
        let (Some(row), Some(column)) = (&group.table_row, &group.table_column) else { continue };
        let ok: Vec<&RunRow> = rows.iter().filter(|r| r.group == group.name && r.status == "ok").collect();
        let values: Vec<f64> = ok.iter().filter_map(|r| r.cells().get(&table.metric)?.parse().ok()).collect();
        if values.is_empty() {
            continue;
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let std = if values.len() > 1 {
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        let chance = table.chance.get(column).copied();
        let cell = Cell {
            mean,
            std,
            seeds: values.len(),
            fail: chance.is_some_and(|c| mean <= c + table.fail_margin),
            params: ok.first().map_or(0, |r| r.params),
        };
        match out.iter_mut().find(|(name, _)| name == row) {
            Some((_, cells)) => {
                cells.insert(column.clone(), cell);
            }
            None => out.push((row.clone(), BTreeMap::from([(column.clone(), cell)]))),
        }
    }
    out
}

/// The paper's rows from the `cited` CSV (`FAIL` cells become `None`).
pub fn cited_rows(table: &TableSpec, root: &Path) -> Result<Vec<CitedRow>> {
    let Some(cited) = &table.cited else { return Ok(Vec::new()) };
    let path = root.join(cited);
    let rows = crate::io::csv_table::read_csv_maps(&path)?;
    rows.into_iter()
        .enumerate()
        .map(|(i, r)| {
            let field =
                |k: &str| r.get(k).cloned().with_context(|| format!("{} row {}: no `{k}`", path.display(), i + 2));
            let mut values = BTreeMap::new();
            for c in &table.columns {
                let text = field(c)?;
                let value = if text.trim() == "FAIL" {
                    None
                } else {
                    Some(
                        text.trim()
                            .parse::<f64>()
                            .with_context(|| format!("{} row {}: `{c}` = {text:?}", path.display(), i + 2))?,
                    )
                };
                values.insert(c.clone(), value);
            }
            Ok(CitedRow {
                model: field("model")?,
                source: field("source")?,
                values,
                params_note: field("params_note").unwrap_or_default(),
            })
        })
        .collect()
}

/// The average of a row over the table's columns, a FAIL counting as chance (as the LRA
/// averages count it); `None` when a column is missing.
fn average(values: &[Option<f64>]) -> Option<f64> {
    let present: Vec<f64> = values.iter().copied().collect::<Option<Vec<_>>>()?;
    Some(present.iter().sum::<f64>() / present.len().max(1) as f64)
}

/// The table as Markdown.
pub fn render(spec: &ExperimentSpec, table: &TableSpec, rows: &[RunRow], root: &Path, tier: &str) -> Result<String> {
    let trained = trained_cells(spec, table, rows);
    let cited = cited_rows(table, root)?;
    let scale = table.scale;
    let chance = |c: &str| table.chance.get(c).copied().unwrap_or(0.0) * scale;
    let mut out = String::new();
    let _ =
        writeln!(out, "\n## Table: {} ({} x {scale}), tier `{tier}` beside the paper's\n", spec.title, table.metric);
    let _ = writeln!(out, "| model | {} | avg | params | source |", table.columns.join(" | "));
    let _ = writeln!(out, "|---|{}---|---|---|", "---|".repeat(table.columns.len()));
    let synthetic = rows.iter().any(|r| r.data_source.starts_with("synthetic"));
    let data = if synthetic { "SYNTHETIC data" } else { "real data" };
    for (name, cells) in &trained {
        let mut texts = Vec::new();
        let mut for_average = Vec::new();
        for c in &table.columns {
            match cells.get(c) {
                Some(cell) if cell.fail => {
                    texts.push(format!("FAIL ({:.2})", cell.mean * scale));
                    for_average.push(Some(chance(c)));
                }
                Some(cell) => {
                    texts.push(format!("{:.2} +- {:.2}", cell.mean * scale, cell.std * scale));
                    for_average.push(Some(cell.mean * scale));
                }
                None => {
                    texts.push("-".into());
                    for_average.push(None);
                }
            }
        }
        let params: Vec<usize> = cells.values().map(|c| c.params).collect();
        let (lo, hi) = (params.iter().min().copied().unwrap_or(0), params.iter().max().copied().unwrap_or(0));
        let params = if lo == hi { format!("{lo}") } else { format!("{lo}-{hi}") };
        let seeds = cells.values().map(|c| c.seeds).max().unwrap_or(0);
        let avg = average(&for_average).map_or("-".into(), |a| format!("{a:.2}"));
        let _ = writeln!(
            out,
            "| {name} (elmbench) | {} | {avg} | {params} | trained here, tier {tier}, {data}, {seeds} seed(s) |",
            texts.join(" | ")
        );
    }
    for row in &cited {
        let texts: Vec<String> = table
            .columns
            .iter()
            .map(|c| match row.values.get(c).copied().flatten() {
                Some(v) => format!("{v:.2}"),
                None => "FAIL".into(),
            })
            .collect();
        let for_average: Vec<Option<f64>> =
            table.columns.iter().map(|c| Some(row.values.get(c).copied().flatten().unwrap_or(chance(c)))).collect();
        let avg = average(&for_average).map_or("-".into(), |a| format!("{a:.2}"));
        let _ = writeln!(
            out,
            "| {} (paper) | {} | {avg} | {} | {} |",
            row.model,
            texts.join(" | "),
            row.params_note,
            row.source
        );
    }
    let _ = writeln!(
        out,
        "\nFAIL: the mean is within {:.2} of chance ({}); the average counts a FAIL as chance.",
        table.fail_margin * scale,
        table.columns.iter().map(|c| format!("{c} {:.0}", chance(c))).collect::<Vec<_>>().join(", ")
    );
    Ok(out)
}
