//! Report rows and their Markdown and CSV forms.

use anyhow::{bail, Result};
use std::fmt::Write;

#[derive(Clone, Debug)]
pub struct ReportRow {
    pub model: String,
    pub config: String,
    /// Trainable scalars as PyTorch counts them.
    pub params: usize,
    /// In the convention of the paper's tables (see each model's `param_count_paper_convention`).
    pub params_paper_convention: usize,
    /// As the paper prints it; empty where it reports nothing.
    pub paper_reported: String,
    /// Which of our two counts the reported number is comparable with.
    pub reported_convention: Convention,
    pub flops_per_sample: u64,
    pub paper_flops: String,
    pub seq_len: usize,
    pub flop_components: Vec<(String, u64)>,
    pub source: String,
}

/// The counting convention of a reported parameter number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Convention {
    /// Trainable tensors of the PyTorch model (the official code's `model_stats.json`).
    PyTorch,
    /// The paper's (JAX) tables; see `Elm::param_count_paper_convention`.
    Paper,
}

impl Convention {
    pub fn name(self) -> &'static str {
        match self {
            Convention::PyTorch => "pytorch",
            Convention::Paper => "paper",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Csv,
}

impl Format {
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "md" | "markdown" => Ok(Format::Markdown),
            "csv" => Ok(Format::Csv),
            other => bail!("unknown --format `{other}` (expected md or csv)"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportKind {
    Params,
    Flops,
}

/// A number as the paper prints it: "52.92K", "18.27M", "~100k", "8104".
pub fn parse_reported(text: &str) -> Option<f64> {
    let t = text.trim().trim_start_matches('~');
    let (digits, scale) = match t.chars().last()? {
        'k' | 'K' => (&t[..t.len() - 1], 1e3),
        'M' => (&t[..t.len() - 1], 1e6),
        'G' => (&t[..t.len() - 1], 1e9),
        _ => (t, 1.0),
    };
    digits.parse::<f64>().ok().map(|v| v * scale)
}

/// (ours - paper) / paper, as a percentage with one decimal; empty without a paper number.
fn relative_difference(ours: f64, paper: &str) -> String {
    match parse_reported(paper) {
        Some(p) if p > 0.0 => format!("{:+.1}%", 100.0 * (ours - p) / p),
        _ => String::new(),
    }
}

impl ReportRow {
    pub fn params_rel_diff(&self) -> String {
        let ours = match self.reported_convention {
            Convention::PyTorch => self.params,
            Convention::Paper => self.params_paper_convention,
        };
        relative_difference(ours as f64, &self.paper_reported)
    }

    pub fn flops_rel_diff(&self) -> String {
        relative_difference(self.flops_per_sample as f64, &self.paper_flops)
    }

    fn breakdown(&self) -> String {
        self.flop_components.iter().map(|(name, f)| format!("{name}={f}")).collect::<Vec<_>>().join("; ")
    }
}

const COLUMNS: &[&str] = &[
    "model",
    "config",
    "params",
    "params_paper_convention",
    "paper_reported",
    "reported_convention",
    "params_rel_diff",
    "flops_per_sample",
    "paper_flops",
    "flops_rel_diff",
    "seq_len",
    "source",
];

#[derive(Clone, Debug, Default)]
pub struct ReportTable {
    pub rows: Vec<ReportRow>,
}

impl ReportTable {
    fn cells(row: &ReportRow) -> Vec<String> {
        vec![
            row.model.clone(),
            row.config.clone(),
            row.params.to_string(),
            row.params_paper_convention.to_string(),
            row.paper_reported.clone(),
            if row.paper_reported.is_empty() { String::new() } else { row.reported_convention.name().to_string() },
            row.params_rel_diff(),
            row.flops_per_sample.to_string(),
            row.paper_flops.clone(),
            row.flops_rel_diff(),
            row.seq_len.to_string(),
            row.source.clone(),
        ]
    }

    /// Rows as column -> cell maps (what golden files select and check).
    pub fn as_maps(&self) -> Vec<crate::golden::Row> {
        self.rows.iter().map(|row| COLUMNS.iter().map(|c| c.to_string()).zip(Self::cells(row)).collect()).collect()
    }

    pub fn render(&self, kind: ReportKind, format: Format) -> String {
        let mut out = String::new();
        let mut columns: Vec<&str> = COLUMNS.to_vec();
        if kind == ReportKind::Flops {
            columns.push("flop_breakdown");
        }
        match format {
            Format::Csv => {
                let rows = self.rows.iter().map(|row| {
                    let mut cells = Self::cells(row);
                    if kind == ReportKind::Flops {
                        cells.push(row.breakdown());
                    }
                    cells
                });
                // Writing to memory fails only on a bug (csv checks record lengths).
                out = crate::io::csv_table::to_csv(&columns, rows).expect("the report's rows have the header's width");
            }
            Format::Markdown => {
                let _ = writeln!(out, "| {} |", COLUMNS.join(" | "));
                let _ = writeln!(out, "|{}|", vec!["---"; COLUMNS.len()].join("|"));
                for row in &self.rows {
                    let _ = writeln!(out, "| {} |", Self::cells(row).join(" | "));
                }
                if kind == ReportKind::Flops {
                    out.push_str("\nFLOPs per sample by component (multiply-add = 2, other ops = 1):\n\n");
                    for row in &self.rows {
                        let _ =
                            writeln!(out, "- {} {} (T={}): {}", row.model, row.config, row.seq_len, row.breakdown());
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_numbers_parse_as_printed() {
        assert_eq!(parse_reported("52.92K"), Some(52_920.0));
        assert_eq!(parse_reported("18.27M"), Some(18_270_000.0));
        assert_eq!(parse_reported("~100k"), Some(100_000.0));
        assert_eq!(parse_reported("8104"), Some(8104.0));
        assert_eq!(parse_reported(""), None);
        assert_eq!(relative_difference(110.0, "100"), "+10.0%");
    }
}
