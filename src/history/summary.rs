//! The nightly summary in Markdown (`<history>/nightly-<run id>.md` and `<history>/latest.md`):
//! an overview line per experiment (data source, golden checks passed, regression flags, metrics
//! changed, wall time), then per experiment its failed checks, its flags, and the metrics that
//! changed since the previous night.

use super::render::{change, number};
use super::store::{history_path, read_history, Entry};
use super::trend::{flags, nights, series, Flag, RuleOptions};
use crate::golden::GoldenFile;
use anyhow::Result;
use std::fmt::Write;
use std::path::Path;

/// Where the summary reads from.
pub struct Sources<'a> {
    /// Repository root (golden/ and benchmarks/).
    pub root: &'a Path,
    pub results: &'a Path,
    pub history: &'a Path,
    pub tier: &'a str,
}

/// One experiment's part of the night.
pub struct ExperimentNight {
    pub experiment: String,
    pub data_source: String,
    /// (passed, total), or None without results or a golden file.
    pub checks: Option<(usize, usize)>,
    pub failed_checks: Vec<String>,
    pub flags: Vec<Flag>,
    /// (label, metric, previous, last) of the metrics that changed.
    pub changed: Vec<(String, String, Option<f64>, Option<f64>)>,
    pub unchanged: usize,
    pub wall_s: f64,
    pub note: Option<String>,
}

/// The entries up to and including night `run_id` (all of them when it is None); None when the
/// history has no such night.
fn up_to(entries: Vec<Entry>, run_id: Option<&str>) -> Option<Vec<Entry>> {
    let Some(id) = run_id else { return Some(entries) };
    let order = nights(&entries);
    let last = order.iter().position(|n| n.run_id == id)?;
    let keep: Vec<&str> = order[..=last].iter().map(|n| n.run_id.as_str()).collect();
    Some(entries.into_iter().filter(|e| keep.contains(&e.run_id.as_str())).collect())
}

/// The night of one experiment.
pub fn experiment_night(
    src: &Sources,
    experiment: &str,
    run_id: Option<&str>,
    options: &RuleOptions,
) -> Result<ExperimentNight> {
    let golden_path = src.root.join("golden").join(format!("{experiment}.{}.toml", src.tier));
    let golden = if golden_path.exists() { Some(GoldenFile::load(&golden_path)?) } else { None };
    let runs = src.results.join(experiment).join(src.tier).join("runs.csv");
    let mut night = ExperimentNight {
        experiment: experiment.to_string(),
        data_source: String::new(),
        checks: None,
        failed_checks: Vec::new(),
        flags: Vec::new(),
        changed: Vec::new(),
        unchanged: 0,
        wall_s: 0.0,
        note: None,
    };
    if runs.exists() {
        super::store::bounded_size(&runs, super::store::MAX_RUNS_BYTES)?;
        let rows = crate::io::csv_table::read_csv_maps(&runs)?;
        let mut sources: Vec<&str> = Vec::new();
        for s in rows.iter().filter_map(|r| r.get("data_source").map(String::as_str)) {
            if !sources.contains(&s) {
                sources.push(s);
            }
        }
        night.data_source = sources.join("; ");
        if let Some(g) = &golden {
            let outcomes = crate::golden::check(g, &rows);
            let passed = outcomes.iter().filter(|o| o.pass).count();
            night.checks = Some((passed, outcomes.len()));
            night.failed_checks = outcomes
                .iter()
                .filter(|o| !o.pass)
                .map(|o| {
                    let actual = o.actual.map_or("(missing)".into(), number);
                    format!("{} {} = {actual}, expected {} ({})", o.selector, o.metric, o.expectation, o.provenance)
                })
                .collect();
        }
    } else {
        night.note = Some(format!("not run: no {}", runs.display()));
    }
    let mut entries = read_history(&history_path(src.history, experiment, src.tier))?;
    let spec = crate::experiments::ExperimentSpec::load(src.root, experiment)?;
    let shown = super::trend::watched(&spec.metrics, golden.as_ref());
    entries.retain(|e| shown.contains(&e.metric));
    let Some(entries) = up_to(entries, run_id) else {
        let id = run_id.unwrap_or_default();
        night.note.get_or_insert_with(|| format!("night {id} not recorded in the history"));
        return Ok(night);
    };
    let order = nights(&entries);
    let all = series(&entries, &order);
    night.wall_s = order.last().map_or(0.0, |n| n.wall_s);
    night.flags = flags(experiment, &all, golden.as_ref(), options);
    for s in &all {
        let (last, previous) = s.last_two();
        if change(last, previous) == "0" || (last.is_none() && previous.is_none()) {
            night.unchanged += 1;
        } else {
            night.changed.push((s.label(), s.metric.clone(), previous, last));
        }
    }
    if order.len() == 1 {
        night.note.get_or_insert_with(|| "first night in the history: nothing to compare with".into());
    }
    Ok(night)
}

/// The whole summary page.
pub fn render(tier: &str, run_id: Option<&str>, date: &str, parts: &[ExperimentNight]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Nightly {} (tier `{tier}`, {date})\n", run_id.unwrap_or("(latest nights)"));
    let flags: usize = parts.iter().map(|p| p.flags.len()).sum();
    let (passed, total) = parts.iter().filter_map(|p| p.checks).fold((0, 0), |(a, b), (p, t)| (a + p, b + t));
    let _ = writeln!(
        out,
        "{} experiments; golden checks {passed} of {total} passed; {flags} regression flag(s).\n",
        parts.len()
    );
    if parts.iter().any(|p| p.data_source.contains("synthetic")) {
        let _ = writeln!(out, "**SYNTHETIC DATA** in the experiments marked below: not comparable to the paper.\n");
    }
    let _ = writeln!(out, "| experiment | data | checks passed | flags | metrics changed | wall time (s) |");
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for p in parts {
        let data = if p.data_source.is_empty() {
            "-".to_string()
        } else if p.data_source.contains("synthetic") {
            "**synthetic**".to_string()
        } else {
            "real".to_string()
        };
        let checks =
            p.checks.map_or("-".into(), |(a, b)| if a == b { format!("{a}/{b}") } else { format!("**{a}/{b}**") });
        let flags = if p.flags.is_empty() { "0".to_string() } else { format!("**{}**", p.flags.len()) };
        let _ = writeln!(
            out,
            "| {} | {data} | {checks} | {flags} | {} of {} | {:.0} |",
            p.experiment,
            p.changed.len(),
            p.changed.len() + p.unchanged,
            p.wall_s
        );
    }
    for p in parts {
        let _ = writeln!(out, "\n## {}\n", p.experiment);
        if !p.data_source.is_empty() {
            let _ = writeln!(out, "Data: {}\n", p.data_source);
        }
        if let Some(note) = &p.note {
            let _ = writeln!(out, "{note}\n");
        }
        for f in &p.failed_checks {
            let _ = writeln!(out, "- check FAILED: {f}");
        }
        for f in &p.flags {
            let _ = writeln!(out, "- **{f}**");
        }
        if !p.changed.is_empty() {
            let _ = writeln!(out, "\n| configuration | metric | previous | now | change |\n|---|---|---|---|---|");
            for (label, metric, previous, last) in &p.changed {
                let show = |v: &Option<f64>| v.map_or("-".into(), number);
                let _ = writeln!(
                    out,
                    "| {label} | {metric} | {} | {} | {} |",
                    show(previous),
                    show(last),
                    change(*last, *previous)
                );
            }
        }
        if p.unchanged > 0 {
            let _ = writeln!(out, "\n{} metric(s) unchanged since the previous night.", p.unchanged);
        }
    }
    out
}
