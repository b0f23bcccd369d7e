//! The reproduction report (`elmbench report paper`): one Markdown page to put beside the paper.
//! For every experiment in benchmarks/ at a tier: the paper's tables and figures it covers (from
//! the inventory), our numbers (mean +- std over seeds), the paper's numbers beside them where the
//! experiment declares them (a `[table]` with its cited rows, `[[plot]]` paper references), the
//! golden checks, the data source (a bold warning when synthetic), device, commits, when the
//! results were written and the wall time; links to the figures `reproduce` drew; "not run" with
//! the command to run it. Then the paper's tables and figures that no experiment covers.

use super::inventory::{Inventory, INVENTORY};
use crate::experiments::plots::{group_points, read_paper};
use crate::experiments::results::RunRow;
use crate::experiments::ExperimentSpec;
use crate::golden::{check, GoldenFile, Outcome};
use crate::history::render::number;
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Component, Path, PathBuf};

/// Largest runs.csv the report reads.
const MAX_RUNS_BYTES: u64 = 16 << 20;

pub struct ReportOptions<'a> {
    /// Repository root: benchmarks/, golden/, the paper's CSVs.
    pub root: &'a Path,
    pub results: &'a Path,
    pub tier: &'a str,
    /// The page to write (its figures are linked relative to its folder).
    pub out: &'a Path,
}

/// An experiment's results at the tier, if it was run.
struct Ran {
    runs_csv: PathBuf,
    cells: Vec<BTreeMap<String, String>>,
    rows: Vec<RunRow>,
    written: String,
    golden: Option<(PathBuf, Vec<Outcome>)>,
}

fn load(opts: &ReportOptions, spec: &ExperimentSpec) -> Result<Option<Ran>> {
    let runs_csv = opts.results.join(&spec.name).join(opts.tier).join("runs.csv");
    if !runs_csv.exists() {
        return Ok(None);
    }
    let meta = std::fs::metadata(&runs_csv).with_context(|| format!("reading {}", runs_csv.display()))?;
    if meta.len() > MAX_RUNS_BYTES {
        anyhow::bail!("{} is {} bytes (at most {MAX_RUNS_BYTES})", runs_csv.display(), meta.len());
    }
    let written = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or("unknown".into(), |d| crate::history::clock::iso_utc(d.as_secs() as i64));
    let cells = crate::io::csv_table::read_csv_maps(&runs_csv)?;
    let rows = cells
        .iter()
        .enumerate()
        .map(|(i, c)| RunRow::from_cells(c).with_context(|| format!("{}: row {}", runs_csv.display(), i + 1)))
        .collect::<Result<Vec<_>>>()?;
    let golden_path = opts.root.join("golden").join(format!("{}.{}.toml", spec.name, opts.tier));
    let golden = if golden_path.exists() {
        let g = GoldenFile::load(&golden_path)?;
        Some((golden_path, check(&g, &cells)))
    } else {
        None
    };
    Ok(Some(Ran { runs_csv, cells, rows, written, golden }))
}

/// The distinct values of a column, in order of first appearance, joined.
fn distinct(cells: &[BTreeMap<String, String>], column: &str, default: &str) -> String {
    let mut seen: Vec<String> = Vec::new();
    for c in cells {
        let v = c.get(column).filter(|v| !v.is_empty()).cloned().unwrap_or_else(|| default.to_string());
        if !seen.contains(&v) {
            seen.push(v);
        }
    }
    if seen.is_empty() {
        default.to_string()
    } else {
        seen.join(", ")
    }
}

fn is_synthetic(ran: &Ran) -> bool {
    ran.rows.iter().any(|r| r.data_source.starts_with("synthetic"))
}

/// `a/b/c` relative to the folder `from` (both made absolute first); the path as given if that fails.
fn relative(from: &Path, to: &Path) -> String {
    let absolute = |p: &Path| std::fs::canonicalize(p).ok();
    let (Some(from), Some(to)) = (absolute(from), absolute(to)) else { return to.display().to_string() };
    let (a, b): (Vec<Component>, Vec<Component>) = (from.components().collect(), to.components().collect());
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<String> = vec!["..".into(); a.len() - common];
    parts.extend(b[common..].iter().map(|c| c.as_os_str().to_string_lossy().to_string()));
    parts.join("/")
}

/// The command that runs an experiment at the tier (with --results when it is not the default).
fn commands(opts: &ReportOptions, name: &str) -> String {
    let results = if opts.results == Path::new("results") {
        String::new()
    } else {
        format!(" --results {}", opts.results.display())
    };
    format!(
        "`elmbench reproduce {name} --tier {t}{results}` then `elmbench check {name} --tier {t}{results}`",
        t = opts.tier
    )
}

/// Our numbers: a row per configuration, mean +- sample std over its finished seeds.
fn our_table(spec: &ExperimentSpec, rows: &[RunRow]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "| group | config | params | seeds | {} | diverged | failed |", spec.metrics.join(" | "));
    let _ = writeln!(out, "|---|---|---|---|{}---|---|", "---|".repeat(spec.metrics.len()));
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for r in rows {
        let key = (r.group.as_str(), r.config_hash.as_str());
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let mine: Vec<&RunRow> = rows.iter().filter(|o| (o.group.as_str(), o.config_hash.as_str()) == key).collect();
        let ok: Vec<BTreeMap<String, String>> = mine.iter().filter(|o| o.status == "ok").map(|o| o.cells()).collect();
        let count = |s: &str| mine.iter().filter(|o| o.status == s).count();
        let cells: Vec<String> = spec
            .metrics
            .iter()
            .map(|m| {
                let v: Vec<f64> = ok.iter().filter_map(|c| c.get(m)?.parse().ok()).collect();
                if v.is_empty() {
                    "-".into()
                } else {
                    let (mean, std) = crate::experiments::plots::seed_stats(&v);
                    format!("{mean:.4} +- {std:.4}")
                }
            })
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.group,
            r.config,
            r.params,
            ok.len(),
            cells.join(" | "),
            count("diverged"),
            count("failed")
        );
    }
    out
}

/// Per plot that names the paper's values: ours and the paper's points in one table.
fn beside_plots(spec: &ExperimentSpec, rows: &[RunRow], root: &Path) -> Result<String> {
    let mut out = String::new();
    let mut labels: Vec<String> = Vec::new();
    for r in rows {
        if !labels.contains(&r.config) {
            labels.push(r.config.clone());
        }
    }
    for plot in spec.plot.iter().filter(|p| !p.paper.is_empty()) {
        let categorical = plot.x == "config";
        let x_text = |x: f64| {
            if categorical {
                labels.get(x.round() as usize).cloned().unwrap_or_default()
            } else {
                number(x)
            }
        };
        let _ = writeln!(out, "\n#### `{}`: {} against {}, ours beside the paper's\n", plot.name, plot.y, plot.x);
        let ours = group_points(spec, plot, rows);
        let mut theirs = Vec::new();
        for reference in &plot.paper {
            let source = match &reference.group {
                Some(g) => format!("{g} (paper, {})", reference.file),
                None => format!("the paper ({})", reference.file),
            };
            for p in read_paper(root, reference, categorical.then_some(labels.as_slice()))? {
                theirs.push((source.clone(), p));
            }
        }
        let paper_text = |p: &crate::experiments::plots::PaperPoint| {
            format!("{}{}", number(p.y), p.std.map_or(String::new(), |s| format!(" +- {}", number(s))))
        };
        if categorical {
            // One row per configuration: ours and the paper's side by side.
            let _ = writeln!(out, "| {} | ours (elmbench) | the paper's |\n|---|---|---|", plot.x);
            for (i, label) in labels.iter().enumerate() {
                let mine: Vec<String> = ours
                    .iter()
                    .flat_map(|(g, ps)| ps.iter().filter(|p| p.x.round() as usize == i).map(move |p| (g, p)))
                    .map(|(g, p)| format!("{:.4} +- {:.4} ({g}, {} seed(s))", p.mean, p.std, p.seeds))
                    .collect();
                let paper: Vec<String> =
                    theirs.iter().filter(|(_, p)| p.x.round() as usize == i).map(|(_, p)| paper_text(p)).collect();
                let show = |v: Vec<String>| if v.is_empty() { "-".to_string() } else { v.join("; ") };
                let _ = writeln!(out, "| {label} | {} | {} |", show(mine), show(paper));
            }
            continue;
        }
        let _ = writeln!(out, "| series | {} | {} |\n|---|---|---|", plot.x, plot.y);
        for (group, points) in &ours {
            for p in points {
                let _ = writeln!(
                    out,
                    "| {group} (elmbench, {} seed(s)) | {} | {:.4} +- {:.4} |",
                    p.seeds,
                    x_text(p.x),
                    p.mean,
                    p.std
                );
            }
        }
        for (source, p) in &theirs {
            let _ = writeln!(out, "| {source} | {} | {} |", x_text(p.x), paper_text(p));
        }
    }
    Ok(out)
}

/// Links to the figures `reproduce` drew for this experiment (PNG shown, SVG linked).
fn figures(spec: &ExperimentSpec, dir: &Path, page_dir: &Path) -> String {
    let mut names: Vec<String> = spec.plot.iter().map(|p| p.name.clone()).collect();
    if spec.table.is_some() {
        names.push("table".into());
    }
    let mut out = String::new();
    for name in names {
        let png = dir.join(format!("{name}.png"));
        if png.exists() {
            let svg = dir.join(format!("{name}.svg"));
            let _ = writeln!(out, "\n![{name}]({}) ([SVG]({}))", relative(page_dir, &png), relative(page_dir, &svg));
        }
    }
    out
}

fn experiment_section(
    opts: &ReportOptions,
    spec: &ExperimentSpec,
    ran: Option<&Ran>,
    inventory: &Inventory,
    page_dir: &Path,
) -> Result<String> {
    let mut out = String::new();
    let _ = writeln!(out, "\n## `{}`: {}\n", spec.name, spec.title);
    let covers: Vec<String> = inventory
        .covered_by(&spec.name)
        .iter()
        .map(|i| match &i.part {
            Some(part) => format!("{} ({part})", i.id),
            None => i.id.clone(),
        })
        .collect();
    let covers = if covers.is_empty() { "(not in the inventory)".to_string() } else { covers.join(", ") };
    let _ = writeln!(out, "The paper's: {covers}. Declared in `benchmarks/{}.toml`.\n", spec.name);
    let Some(ran) = ran else {
        let _ = writeln!(out, "**Not run** at tier `{}`. Run it: {}.", opts.tier, commands(opts, &spec.name));
        return Ok(out);
    };
    if is_synthetic(ran) {
        let _ = writeln!(
            out,
            "> **WARNING: SYNTHETIC DATA** ({}). These numbers come from a synthetic surrogate and are \
             NOT comparable to the paper's.\n",
            distinct(&ran.cells, "data_source", "?")
        );
    } else {
        let _ = writeln!(out, "Data: {} (real).\n", distinct(&ran.cells, "data_source", "?"));
    }
    let count = |s: &str| ran.rows.iter().filter(|r| r.status == s).count();
    let wall: f64 = ran.rows.iter().map(|r| r.wall_s).sum();
    let longest = ran.rows.iter().map(|r| r.wall_s).fold(0.0, f64::max);
    let _ = writeln!(out, "- results: `{}` (written {})", ran.runs_csv.display(), ran.written);
    let _ = writeln!(
        out,
        "- runs: {} ({} ok, {} diverged, {} failed); device: {}; commit(s): {}",
        ran.rows.len(),
        count("ok"),
        count("diverged"),
        count("failed"),
        distinct(&ran.cells, "device", "cpu"),
        distinct(&ran.cells, "git_commit", "unknown")
    );
    let _ = writeln!(out, "- wall time: {wall:.1} s in all, {longest:.1} s the longest run");
    match &ran.golden {
        Some((path, outcomes)) => {
            let passed = outcomes.iter().filter(|o| o.pass).count();
            let _ = writeln!(
                out,
                "- golden checks: {passed} of {} passed (`{}`)",
                outcomes.len(),
                relative(opts.root, path)
            );
            for o in outcomes.iter().filter(|o| !o.pass) {
                let actual = o.actual.map_or("(missing)".into(), number);
                let _ =
                    writeln!(out, "  - **FAIL** {} {} = {actual}, expected {}", o.selector, o.metric, o.expectation);
            }
        }
        None => {
            let _ = writeln!(out, "- golden checks: none at this tier (no `golden/{}.{}.toml`)", spec.name, opts.tier);
        }
    }
    let _ = writeln!(out, "\n### Our numbers (mean +- std over seeds)\n\n{}", our_table(spec, &ran.rows));
    if let Some(table) = &spec.table {
        out.push_str(&crate::experiments::paper_table::render(spec, table, &ran.rows, opts.root, opts.tier)?);
    }
    let beside = beside_plots(spec, &ran.rows, opts.root)?;
    if !beside.is_empty() {
        let _ = writeln!(out, "\n### Beside the paper's values{beside}");
    } else if spec.table.is_none() {
        let _ = writeln!(out, "The experiment declares no values of the paper to compare with.");
    }
    let dir = ran.runs_csv.parent().unwrap_or(Path::new("."));
    let figs = figures(spec, dir, page_dir);
    if !figs.is_empty() {
        let _ = writeln!(out, "\n### Figures\n{figs}");
    }
    Ok(out)
}

/// The whole page.
pub fn render(opts: &ReportOptions) -> Result<String> {
    let names = crate::experiments::spec::list(opts.root)?;
    let inventory = Inventory::load(opts.root, &names)?;
    let specs = names.iter().map(|n| ExperimentSpec::load(opts.root, n)).collect::<Result<Vec<_>>>()?;
    let ran = specs.iter().map(|s| load(opts, s)).collect::<Result<Vec<_>>>()?;
    let page_dir = opts.out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let now = crate::history::clock::iso_utc(crate::history::clock::now_seconds());
    let mut out = String::new();
    let _ = writeln!(out, "# elmbench reproduction report, tier `{}`\n", opts.tier);
    let _ = writeln!(
        out,
        "Written {now} by elmbench {} at commit {}, from `{}`. Every table and figure of the paper \
         (inventory: `{INVENTORY}`) with the experiment that covers it; ours beside the paper's \
         numbers where the experiment declares them.\n",
        env!("CARGO_PKG_VERSION"),
        crate::experiments::runner::git_commit(),
        opts.results.display()
    );
    let synthetic: Vec<&str> = specs
        .iter()
        .zip(&ran)
        .filter(|(_, r)| r.as_ref().is_some_and(is_synthetic))
        .map(|(s, _)| s.name.as_str())
        .collect();
    if !synthetic.is_empty() {
        let _ = writeln!(
            out,
            "**WARNING: SYNTHETIC DATA in {}: those numbers are not comparable to the paper's.**\n",
            synthetic.join(", ")
        );
    }
    let _ = writeln!(out, "## Overview\n");
    let _ = writeln!(out, "| the paper's | experiment | status | data | golden checks | runs | device | commit | results written | wall time (s) |");
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|");
    for (spec, ran) in specs.iter().zip(&ran) {
        let covers: Vec<&str> = inventory.covered_by(&spec.name).iter().map(|i| i.id.as_str()).collect();
        let covers = if covers.is_empty() { "-".to_string() } else { covers.join(", ") };
        match ran {
            None => {
                let _ = writeln!(out, "| {covers} | `{}` | **not run** | - | - | - | - | - | - | - |", spec.name);
            }
            Some(r) => {
                let data = if is_synthetic(r) { "**SYNTHETIC**" } else { "real" };
                let checks = r.golden.as_ref().map_or("-".into(), |(_, o)| {
                    let passed = o.iter().filter(|x| x.pass).count();
                    if passed == o.len() {
                        format!("{passed}/{}", o.len())
                    } else {
                        format!("**{passed}/{}**", o.len())
                    }
                });
                let wall: f64 = r.rows.iter().map(|x| x.wall_s).sum();
                let _ = writeln!(
                    out,
                    "| {covers} | `{}` | run | {data} | {checks} | {} | {} | {} | {} | {wall:.0} |",
                    spec.name,
                    r.rows.len(),
                    distinct(&r.cells, "device", "cpu"),
                    distinct(&r.cells, "git_commit", "unknown"),
                    r.written
                );
            }
        }
    }
    let _ = writeln!(out, "\n## The paper's tables and figures\n");
    let _ = writeln!(out, "| the paper's | section | what it shows | experiment | at tier `{}` |", opts.tier);
    let _ = writeln!(out, "|---|---|---|---|---|");
    for item in &inventory.item {
        let experiments = if item.experiments.is_empty() {
            "**none yet**".to_string()
        } else {
            item.experiments.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ")
        };
        let state = if item.experiments.is_empty() {
            item.note.clone().unwrap_or_else(|| "no experiment".into())
        } else {
            item.experiments
                .iter()
                .map(|e| {
                    let run = names.iter().position(|n| n == e).is_some_and(|i| ran[i].is_some());
                    if run {
                        format!("{e}: run")
                    } else {
                        format!("{e}: not run")
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(out, "| {} | {} | {} | {experiments} | {state} |", item.id, item.section, item.title);
    }
    let _ = writeln!(out, "\n### Not covered by any experiment yet\n");
    for item in inventory.item.iter().filter(|i| i.experiments.is_empty()) {
        let note = item.note.as_ref().map_or(String::new(), |n| format!(" ({n})"));
        let _ = writeln!(out, "- {} ({}): {}{note}", item.id, item.section, item.title);
    }
    let _ = writeln!(out, "\n## Experiments");
    for (spec, ran) in specs.iter().zip(&ran) {
        out.push_str(&experiment_section(opts, spec, ran.as_ref(), &inventory, page_dir)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_links_climb_and_descend() {
        let dir = tempfile::tempdir().unwrap();
        let page = dir.path().join("reports");
        let fig = dir.path().join("results/fig2/smoke");
        std::fs::create_dir_all(&page).unwrap();
        std::fs::create_dir_all(&fig).unwrap();
        std::fs::write(fig.join("a.png"), b"").unwrap();
        assert_eq!(relative(&page, &fig.join("a.png")), "../results/fig2/smoke/a.png");
        assert_eq!(relative(dir.path(), &fig.join("a.png")), "results/fig2/smoke/a.png");
    }
}
