//! Golden files: expected values of result rows, with tolerances or bounds and provenance, and
//! the check that compares results with them (`elmbench check`, the report tests).
//!
//! ```toml
//! [[entry]]
//! selector = { model = "branch-elm", config = "d_m=20" }   # rows whose columns equal these
//! metric = "test_auc"                                       # a column of those rows
//! expected = 0.9924                                         # with tolerance: |mean - expected| <= tolerance
//! tolerance = 0.002
//! min = 0.9                                                 # and/or bounds on the mean
//! max = 1.0
//! less_than = { model = "lif" }                             # or: below the mean of other rows
//! margin = 0.02                                             # with less_than / greater_than: "not worse
//!                                                           # than by more than this" (level with)
//! provenance = "paper appendix F, mean of 3 runs"
//! ```
//!
//! The value checked is the mean of `metric` over every selected row (seeds of one
//! configuration); an entry that selects no row fails, so a renamed configuration cannot pass
//! silently. Unknown keys are errors.
//!
//! `metric = "diverged"` is the share of the selected runs whose status is `diverged` (0 to 1),
//! derived from the `status` column: a diverged run has no metrics, so this is how a golden
//! counts divergences (`max = 0.0`: none may diverge; `less_than`: fewer than another group's).

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

pub type Row = BTreeMap<String, String>;
pub type Selector = BTreeMap<String, toml::Value>;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoldenFile {
    #[serde(default)]
    pub entry: Vec<GoldenEntry>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoldenEntry {
    pub selector: Selector,
    pub metric: String,
    pub expected: Option<f64>,
    pub tolerance: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub less_than: Option<Selector>,
    pub greater_than: Option<Selector>,
    /// Slack of `less_than` / `greater_than`: the comparison passes within `margin` of the other
    /// rows' mean on the wrong side, for claims of the kind "at least level with" that seeds
    /// alone can tip either way.
    pub margin: Option<f64>,
    pub provenance: String,
}

impl GoldenFile {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading golden file {}", path.display()))?;
        let file: GoldenFile =
            toml::from_str(&text).with_context(|| format!("invalid golden file {}", path.display()))?;
        for (i, e) in file.entry.iter().enumerate() {
            let has_check = e.expected.is_some()
                || e.min.is_some()
                || e.max.is_some()
                || e.less_than.is_some()
                || e.greater_than.is_some();
            if !has_check {
                bail!("{}: entry {} ({}) has neither `expected` nor a bound", path.display(), i + 1, e.metric);
            }
            if e.margin.is_some() && e.less_than.is_none() && e.greater_than.is_none() {
                bail!("{}: entry {} ({}): `margin` needs less_than or greater_than", path.display(), i + 1, e.metric);
            }
            if e.margin.is_some_and(|m| !(m.is_finite() && m >= 0.0)) {
                bail!("{}: entry {} ({}): `margin` must be a non-negative number", path.display(), i + 1, e.metric);
            }
            if e.expected.is_some() != e.tolerance.is_some() {
                bail!("{}: entry {} ({}): `expected` and `tolerance` go together", path.display(), i + 1, e.metric);
            }
        }
        Ok(file)
    }
}

/// The outcome of one entry.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub selector: String,
    pub metric: String,
    /// The mean over the selected rows; `None` when no row (or no number) was found.
    pub actual: Option<f64>,
    pub rows: usize,
    pub expectation: String,
    pub pass: bool,
    pub provenance: String,
}

fn describe(selector: &Selector) -> String {
    selector.iter().map(|(k, v)| format!("{k}={}", plain(v))).collect::<Vec<_>>().join(" ")
}

fn plain(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn matches(row: &Row, selector: &Selector) -> bool {
    selector.iter().all(|(k, v)| row.get(k).is_some_and(|cell| cell == &plain(v)))
}

/// The derived metric: the share of runs that diverged.
pub const DIVERGED: &str = "diverged";

/// A row's value of `metric`: its column, or for `diverged` (when no such column exists) 1 if the
/// run diverged, else 0.
fn value(row: &Row, metric: &str) -> Option<f64> {
    match row.get(metric) {
        Some(v) => v.trim_end_matches('%').parse::<f64>().ok(),
        None if metric == DIVERGED => row.get("status").map(|s| if s == "diverged" { 1.0 } else { 0.0 }),
        None => None,
    }
}

/// Mean of `metric` over the rows `selector` picks, and how many rows it picked.
fn mean(rows: &[Row], selector: &Selector, metric: &str) -> (Option<f64>, usize) {
    let values: Vec<f64> = rows.iter().filter(|r| matches(r, selector)).filter_map(|r| value(r, metric)).collect();
    let n = rows.iter().filter(|r| matches(r, selector)).count();
    if values.is_empty() || values.len() != n {
        return (None, n);
    }
    (Some(values.iter().sum::<f64>() / values.len() as f64), n)
}

pub fn check(golden: &GoldenFile, rows: &[Row]) -> Vec<Outcome> {
    golden
        .entry
        .iter()
        .map(|e| {
            let (actual, n) = mean(rows, &e.selector, &e.metric);
            let mut parts = Vec::new();
            let mut pass = actual.is_some();
            let value = actual.unwrap_or(f64::NAN);
            if let (Some(expected), Some(tol)) = (e.expected, e.tolerance) {
                parts.push(format!("{expected} +- {tol}"));
                pass &= (value - expected).abs() <= tol;
            }
            if let Some(min) = e.min {
                parts.push(format!(">= {min}"));
                pass &= value >= min;
            }
            if let Some(max) = e.max {
                parts.push(format!("<= {max}"));
                pass &= value <= max;
            }
            for (other, below) in [(&e.less_than, true), (&e.greater_than, false)] {
                if let Some(other) = other {
                    let (theirs, _) = mean(rows, other, &e.metric);
                    let sign = if below { "<" } else { ">" };
                    let margin = e.margin.unwrap_or(0.0);
                    match theirs {
                        Some(t) => {
                            let slack = if margin > 0.0 { format!(" - {margin}") } else { String::new() };
                            let shown = if below { format!("{t:.6} + {margin}") } else { format!("{t:.6}{slack}") };
                            let shown = if margin > 0.0 { shown } else { format!("{t:.6}") };
                            parts.push(format!("{sign} {shown} ({})", describe(other)));
                            pass &= if below { value < t + margin } else { value > t - margin };
                        }
                        None => {
                            parts.push(format!("{sign} [no rows: {}]", describe(other)));
                            pass = false;
                        }
                    }
                }
            }
            Outcome {
                selector: describe(&e.selector),
                metric: e.metric.clone(),
                actual,
                rows: n,
                expectation: parts.join(", "),
                pass,
                provenance: e.provenance.clone(),
            }
        })
        .collect()
}

/// A side-by-side table of the outcomes.
pub fn render(outcomes: &[Outcome]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "| status | selector | metric | actual | expected | rows | provenance |");
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    for o in outcomes {
        let actual = o.actual.map_or("(missing)".to_string(), |v| format!("{v:.6}"));
        let status = if o.pass { "ok" } else { "FAIL" };
        let _ = writeln!(
            out,
            "| {status} | {} | {} | {actual} | {} | {} | {} |",
            o.selector, o.metric, o.expectation, o.rows, o.provenance
        );
    }
    let failed = outcomes.iter().filter(|o| !o.pass).count();
    let _ = writeln!(out, "\n{} of {} checks passed.", outcomes.len() - failed, outcomes.len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(values: &[(&str, f64)]) -> Vec<Row> {
        values
            .iter()
            .map(|(group, v)| Row::from([("group".to_string(), group.to_string()), ("acc".into(), v.to_string())]))
            .collect()
    }

    fn entry(text: &str) -> GoldenFile {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.toml");
        std::fs::write(&path, text).unwrap();
        GoldenFile::load(&path).unwrap()
    }

    #[test]
    fn a_margin_lets_level_pass_and_still_fails_beyond_it() {
        let golden = entry(
            "[[entry]]\nselector = { group = \"small\" }\nmetric = \"acc\"\ngreater_than = { group = \"big\" }\nmargin = 0.02\nprovenance = \"t\"\n",
        );
        // small 0.59 vs big 0.60: 0.01 worse, within the margin.
        assert!(check(&golden, &rows(&[("small", 0.59), ("big", 0.60)]))[0].pass);
        // 0.03 worse: beyond it.
        assert!(!check(&golden, &rows(&[("small", 0.57), ("big", 0.60)]))[0].pass);
        // Without a margin, level is not greater.
        let strict =
            entry("[[entry]]\nselector = { group = \"small\" }\nmetric = \"acc\"\ngreater_than = { group = \"big\" }\nprovenance = \"t\"\n");
        assert!(!check(&strict, &rows(&[("small", 0.6), ("big", 0.6)]))[0].pass);
        let below =
            entry("[[entry]]\nselector = { group = \"a\" }\nmetric = \"acc\"\nless_than = { group = \"b\" }\nmargin = 0.1\nprovenance = \"t\"\n");
        assert!(check(&below, &rows(&[("a", 0.65), ("b", 0.6)]))[0].pass);
        assert!(!check(&below, &rows(&[("a", 0.75), ("b", 0.6)]))[0].pass);
    }
}
