//! Figures of an experiment (`[[plot]]` in its declaration), drawn as a reader of the paper would
//! expect them: one series per group with its own colour-blind-safe colour (Okabe-Ito) and marker,
//! the mean over seeds with mean +- sample-std error bars, axis labels with units for the known
//! columns, several labelled ticks on every axis (a log axis spanning one decade included), the
//! legend right of the data, the paper's values as hollow reference marks where the plot names a
//! paper CSV, and "SYNTHETIC data" in the title when any plotted run saw synthetic data. Written
//! as PNG and SVG with plotters. The x axis is a runs.csv column (`params`, `flops_per_sample`), a
//! swept model key (from the `settings` column), or `config`: one tick per configuration label, in
//! the order of the runs (an ablation figure or a table of models).

use super::results::RunRow;
use super::spec::{ExperimentSpec, PaperRef, PlotSpec};
use anyhow::{bail, Context, Result};
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::element::ComposedElement;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Labels with units of the columns and swept keys that figures plot; a plot's `x_label` and
/// `y_label` win over these, unknown names are shown as they are.
const AXIS_LABELS: &[(&str, &str)] = &[
    ("test_soma_rmse", "Soma RMSE (mV)"),
    ("valid_soma_rmse", "Validation soma RMSE (mV)"),
    ("test_soma_mae", "Soma MAE (mV)"),
    ("test_auc", "Spike AUC"),
    ("valid_auc", "Validation spike AUC"),
    ("test_tp_at_fp_0025", "Spike TPR at 0.25% FPR"),
    ("test_accuracy", "Test accuracy"),
    ("valid_accuracy", "Validation accuracy"),
    ("params", "Trainable parameters"),
    ("params_paper_convention", "Trainable parameters (paper's convention)"),
    ("flops_per_sample", "FLOPs per sample"),
    ("wall_s", "Wall time (s)"),
    ("num_memory", "Memory units d_m"),
    ("hidden_size", "Hidden units"),
    ("mlp_num_layers", "MLP hidden layers"),
    ("mlp_hidden_size", "MLP hidden width"),
    ("lambda_value", "Memory update scale lambda"),
    ("memory_tau_max", "Largest memory time constant tau_max (ms)"),
    ("memory_tau_min", "Memory time constant tau_m (ms)"),
    ("num_branch", "Branches d_tree"),
    ("num_synapse_per_branch", "Synapses per branch d_brch"),
    ("task.bin_ms", "Bin size (ms)"),
    ("config", "Configuration"),
];

/// The range a metric cannot leave (AUCs and accuracies are within [0, 1]).
fn metric_bounds(column: &str) -> Option<(f64, f64)> {
    let metric = column.split_once('_').map_or(column, |(_, m)| m);
    (metric == "auc" || metric == "accuracy" || metric.starts_with("tp_at_fp")).then_some((0.0, 1.0))
}

/// The axis title of a column or swept key: the table's, else the name itself.
pub fn axis_label(column: &str) -> String {
    AXIS_LABELS.iter().find(|(c, _)| *c == column).map(|(_, l)| l.to_string()).unwrap_or_else(|| column.to_string())
}

/// Okabe-Ito's colour-blind-safe colours, its yellow (too pale on white) replaced by grey.
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0x00, 0x72, 0xB2), // blue
    RGBColor(0xD5, 0x5E, 0x00), // vermillion
    RGBColor(0x00, 0x9E, 0x73), // bluish green
    RGBColor(0xCC, 0x79, 0xA7), // reddish purple
    RGBColor(0xE6, 0x9F, 0x00), // orange
    RGBColor(0x56, 0xB4, 0xE9), // sky blue
    RGBColor(0x00, 0x00, 0x00), // black
    RGBColor(0x80, 0x80, 0x80), // grey
];

/// The marker shapes, one per series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Marker {
    Circle,
    Square,
    TriangleUp,
    Diamond,
    TriangleDown,
    Plus,
    Cross,
    Star,
}

pub const MARKERS: [Marker; 8] = [
    Marker::Circle,
    Marker::Square,
    Marker::TriangleUp,
    Marker::Diamond,
    Marker::TriangleDown,
    Marker::Plus,
    Marker::Cross,
    Marker::Star,
];

/// The colour and marker of the `i`-th series: distinct for the first 8 (colours repeat after
/// 8, markers shift by one per round, so pairs stay distinct beyond).
pub fn series_style(i: usize) -> (RGBColor, Marker) {
    (PALETTE[i % PALETTE.len()], MARKERS[(i + i / PALETTE.len()) % MARKERS.len()])
}

impl Marker {
    /// The outline in pixels around the point, radius `r`.
    fn outline(self, r: i32) -> Vec<(i32, i32)> {
        let polar = |n: usize, radius: &dyn Fn(usize) -> f64, phase: f64| -> Vec<(i32, i32)> {
            (0..n)
                .map(|k| {
                    let a = phase + k as f64 * std::f64::consts::TAU / n as f64;
                    let rr = radius(k);
                    ((rr * a.cos()).round() as i32, (rr * a.sin()).round() as i32)
                })
                .collect()
        };
        let rf = r as f64;
        let h = (r / 3).max(1);
        match self {
            Marker::Circle => polar(16, &|_| rf, 0.0),
            Marker::Square => vec![(-r + 1, -r + 1), (r - 1, -r + 1), (r - 1, r - 1), (-r + 1, r - 1)],
            Marker::TriangleUp => polar(3, &|_| rf * 1.2, -std::f64::consts::FRAC_PI_2),
            Marker::TriangleDown => polar(3, &|_| rf * 1.2, std::f64::consts::FRAC_PI_2),
            Marker::Diamond => vec![(0, -r - 1), (r, 0), (0, r + 1), (-r, 0)],
            Marker::Plus => vec![
                (-h, -r),
                (h, -r),
                (h, -h),
                (r, -h),
                (r, h),
                (h, h),
                (h, r),
                (-h, r),
                (-h, h),
                (-r, h),
                (-r, -h),
                (-h, -h),
            ],
            Marker::Cross => Marker::Plus
                .outline(r)
                .into_iter()
                .map(|(x, y)| {
                    let (x, y) = (x as f64, y as f64);
                    let c = std::f64::consts::FRAC_1_SQRT_2;
                    (((x - y) * c).round() as i32, ((x + y) * c).round() as i32)
                })
                .collect(),
            Marker::Star => polar(10, &|k| if k % 2 == 0 { rf * 1.25 } else { rf * 0.5 }, -std::f64::consts::FRAC_PI_2),
        }
    }
}

pub(crate) type MarkerElement<C, DB> = ComposedElement<C, DB, Polygon<(i32, i32)>, PathElement<(i32, i32)>>;

/// A filled marker (ours) or an outlined one (the paper's) at a data point.
pub(crate) fn marker_element<C, DB: DrawingBackend>(
    at: C,
    marker: Marker,
    r: i32,
    color: RGBColor,
    filled: bool,
) -> MarkerElement<C, DB> {
    let outline = marker.outline(r);
    let mut closed = outline.clone();
    closed.push(outline[0]);
    let fill = if filled { color.filled() } else { WHITE.filled() };
    EmptyElement::at(at) + Polygon::new(outline, fill) + PathElement::new(closed, color.stroke_width(2))
}

type CapElement<C, DB> = ComposedElement<C, DB, PathElement<(i32, i32)>, PathElement<(i32, i32)>>;

/// A short horizontal bar in pixels (the caps of an error bar).
fn cap<C, DB: DrawingBackend>(at: C, color: RGBColor) -> CapElement<C, DB> {
    let bar = || PathElement::new(vec![(-5, 0), (5, 0)], color.stroke_width(2));
    EmptyElement::at(at) + bar() + bar()
}

/// An axis with the ticks we chose (plotters' own choice gives a log axis within one decade a
/// single label).
pub(crate) struct Ticked<R: Ranged<ValueType = f64>> {
    pub(crate) inner: R,
    pub(crate) ticks: Vec<f64>,
}

impl<R: Ranged<ValueType = f64>> Ranged for Ticked<R> {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }

    fn axis_pixel_range(&self, limit: (i32, i32)) -> std::ops::Range<i32> {
        self.inner.axis_pixel_range(limit)
    }
}

/// Mean and sample standard deviation (ddof = 1, as the paper's "mean +- std over runs"; 0 for
/// one value) of the seeds of one configuration.
pub fn seed_stats(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = if values.len() > 1 { values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0) } else { 0.0 };
    (mean, var.sqrt())
}

/// Tick positions of a linear axis over [lo, hi]: multiples of 1, 2 or 5 x 10^k, at most about
/// `target` + 1 of them and at least 3 for any range wider than zero.
pub fn linear_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) || !lo.is_finite() || !hi.is_finite() {
        return vec![lo];
    }
    let rough = (hi - lo) / target.max(2) as f64;
    let magnitude = 10f64.powf(rough.log10().floor());
    let step =
        [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * magnitude).find(|s| *s >= rough).unwrap_or(10.0 * magnitude);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// Tick positions of a log axis over [lo, hi]: the decades, else 1-2-5 per decade, else every
/// integer multiple, so that even a range within one decade shows at least 3 labelled ticks.
pub fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) || lo <= 0.0 || !hi.is_finite() {
        return vec![lo];
    }
    let (first, last) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let tol = 1e-9;
    for multiples in [&[1.0][..], &[1.0, 2.0, 5.0], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]] {
        let ticks: Vec<f64> = (first..=last)
            .flat_map(|k| multiples.iter().map(move |m| m * 10f64.powi(k)))
            .filter(|v| *v >= lo * (1.0 - tol) && *v <= hi * (1.0 + tol))
            .collect();
        if ticks.len() >= 3 {
            return ticks;
        }
    }
    linear_ticks(lo, hi, 4)
}

/// A tick label: 1500 -> "1.5K", 2e6 -> "2M", 0.85 -> "0.85" (short, so labels do not collide).
pub(crate) fn tick_text(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let (scaled, suffix) = match v.abs() {
        a if a >= 1e9 => (v / 1e9, "G"),
        a if a >= 1e6 => (v / 1e6, "M"),
        a if a >= 1e4 => (v / 1e3, "K"),
        _ => (v, ""),
    };
    let decimals = (3 - scaled.abs().log10().floor() as i32).clamp(0, 6) as usize;
    let text = format!("{scaled:.decimals$}");
    let text = if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.') } else { &text };
    format!("{text}{suffix}")
}

/// A number of the paper's tables: `0.652`, `5.9K`, `16.04M`, `1.2G`; `None` for blanks and words
/// such as `FAIL`.
pub fn paper_number(text: &str) -> Option<f64> {
    let t = text.trim().trim_start_matches('~');
    let (digits, scale) = match t.chars().last()? {
        'K' | 'k' => (&t[..t.len() - 1], 1e3),
        'M' => (&t[..t.len() - 1], 1e6),
        'G' | 'B' => (&t[..t.len() - 1], 1e9),
        _ => (t, 1.0),
    };
    digits.trim().parse::<f64>().ok().filter(|v| v.is_finite()).map(|v| v * scale)
}

/// Largest paper CSV a plot reads, and its most rows.
const MAX_PAPER_BYTES: u64 = 1 << 20;
const MAX_PAPER_ROWS: usize = 10_000;

/// One of the paper's values: x (a category's index on a `config` axis), y, and its std if given.
#[derive(Clone, Debug, PartialEq)]
pub struct PaperPoint {
    pub x: f64,
    pub y: f64,
    pub std: Option<f64>,
}

/// The paper's points a reference names, read from `root/<file>`. On a categorical axis
/// (`categories` given) x cells are matched against the configuration labels and rows of other
/// labels are left out; otherwise x and y must be numbers (rows with `FAIL` or blanks are left
/// out). A missing file or column, or a reference that yields no point on a numeric axis, is an
/// error naming it.
pub fn read_paper(root: &Path, reference: &PaperRef, categories: Option<&[String]>) -> Result<Vec<PaperPoint>> {
    let path = root.join(&reference.file);
    let size = std::fs::metadata(&path)
        .with_context(|| format!("paper reference `{}`: cannot read {}", reference.file, path.display()))?
        .len();
    if size > MAX_PAPER_BYTES {
        bail!("paper reference `{}` is {size} bytes (at most {MAX_PAPER_BYTES})", reference.file);
    }
    let (header, rows) = paper_csv(&path).with_context(|| format!("paper reference `{}`", reference.file))?;
    let wanted = [Some(&reference.x), Some(&reference.y), reference.y_std.as_ref()];
    for column in wanted.into_iter().flatten().chain(reference.rows.keys()) {
        if !header.contains(column) {
            bail!("paper reference `{}` has no column `{column}` (columns: {})", reference.file, header.join(", "));
        }
    }
    let mut points = Vec::new();
    for row in &rows {
        if reference.rows.iter().any(|(k, v)| row.get(k) != Some(v)) {
            continue;
        }
        let x = match categories {
            Some(labels) => labels.iter().position(|l| l == &row[&reference.x]).map(|i| i as f64),
            None => paper_number(&row[&reference.x]),
        };
        let (Some(x), Some(y)) = (x, paper_number(&row[&reference.y])) else { continue };
        let std = reference.y_std.as_ref().and_then(|c| paper_number(&row[c]));
        points.push(PaperPoint { x, y, std });
    }
    if points.is_empty() && categories.is_none() {
        bail!(
            "paper reference `{}` gives no numeric ({}, {}) row{}",
            reference.file,
            reference.x,
            reference.y,
            if reference.rows.is_empty() { String::new() } else { format!(" where {:?}", reference.rows) }
        );
    }
    Ok(points)
}

type CsvRows = Vec<BTreeMap<String, String>>;

/// The header and rows of a paper CSV. The paper's model names hold unquoted commas
/// ("ELM (simplest: 1 memory unit, linear integration)"): a record with more fields than the
/// header has its surplus joined back into the first column, the numbers being on the right.
fn paper_csv(path: &Path) -> Result<(Vec<String>, CsvRows)> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_path(path)?;
    let header: Vec<String> = reader.headers().context("no header")?.iter().map(String::from).collect();
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("record {}", i + 1))?;
        let fields: Vec<&str> = record.iter().collect();
        if fields.len() < header.len() {
            bail!("record {} has {} fields, the header {}", i + 1, fields.len(), header.len());
        }
        if rows.len() == MAX_PAPER_ROWS {
            bail!("more than {MAX_PAPER_ROWS} rows");
        }
        let surplus = fields.len() - header.len();
        let first = fields[..=surplus].join(",");
        let cells = std::iter::once(first).chain(fields[surplus + 1..].iter().map(|f| f.to_string()));
        rows.push(header.iter().cloned().zip(cells).collect());
    }
    Ok((header, rows))
}

fn x_value(row: &RunRow, key: &str) -> Option<f64> {
    let cells = row.cells();
    if let Some(v) = cells.get(key).and_then(|v| v.parse().ok()) {
        return Some(v);
    }
    row.settings.split(';').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| v.parse().ok()).flatten()
    })
}

/// The x value meaning "one tick per configuration".
const CATEGORY_AXIS: &str = "config";

/// The configuration labels of `rows` in order of first appearance (the categorical axis).
fn categories(rows: &[RunRow]) -> Vec<String> {
    let mut labels: Vec<String> = Vec::new();
    for r in rows {
        if !labels.contains(&r.config) {
            labels.push(r.config.clone());
        }
    }
    labels
}

/// A category's tick label: long labels are cut before their parenthesis ("ELM (simplest: ...)"
/// -> "ELM"); the legend names the groups in full.
fn short_category(label: &str) -> String {
    match label.split_once(" (") {
        Some((head, _)) if label.chars().count() > 18 => head.to_string(),
        _ => label.to_string(),
    }
}

/// One configuration of a series: mean and sample std over its seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub x: f64,
    pub mean: f64,
    pub std: f64,
    pub seeds: usize,
}

/// A series of a figure: a group's points and the paper's marks drawn in its style.
struct Series {
    name: String,
    color: RGBColor,
    marker: Marker,
    points: Vec<Point>,
    paper: Vec<PaperPoint>,
}

/// The points of each group a plot shows (rows with status ok; one point per configuration,
/// mean and sample std over its seeds), in declaration order; groups without rows are left out.
pub fn group_points(spec: &ExperimentSpec, plot: &PlotSpec, rows: &[RunRow]) -> Vec<(String, Vec<Point>)> {
    let categories = categories(rows);
    let x_of = |row: &RunRow| -> Option<f64> {
        if plot.x == CATEGORY_AXIS {
            categories.iter().position(|c| c == &row.config).map(|i| i as f64)
        } else {
            x_value(row, &plot.x)
        }
    };
    let mut out = Vec::new();
    for group in shown_groups(spec, plot) {
        let mut by_config: BTreeMap<String, (f64, Vec<f64>)> = BTreeMap::new();
        for row in rows.iter().filter(|r| r.group == group && r.status == "ok") {
            let (Some(x), Some(y)) = (x_of(row), row.cells().get(&plot.y).and_then(|v| v.parse().ok())) else {
                continue;
            };
            by_config.entry(row.config_hash.clone()).or_insert((x, Vec::new())).1.push(y);
        }
        let mut points: Vec<Point> = by_config
            .values()
            .map(|(x, ys)| {
                let (mean, std) = seed_stats(ys);
                Point { x: *x, mean, std, seeds: ys.len() }
            })
            .collect();
        points.sort_by(|a, b| a.x.total_cmp(&b.x));
        if !points.is_empty() {
            out.push((group.to_string(), points));
        }
    }
    out
}

/// The groups a plot shows, in declaration order (their index fixes their colour and marker).
fn shown_groups<'a>(spec: &'a ExperimentSpec, plot: &PlotSpec) -> Vec<&'a str> {
    spec.group
        .iter()
        .map(|g| g.name.as_str())
        .filter(|g| plot.groups.as_ref().is_none_or(|gs| gs.iter().any(|n| n == g)))
        .collect()
}

/// The series of a plot with the paper's marks attached, and the paper's marks of no group.
fn figure_series(
    spec: &ExperimentSpec,
    plot: &PlotSpec,
    rows: &[RunRow],
    root: &Path,
) -> Result<(Vec<Series>, Vec<PaperPoint>)> {
    let groups = shown_groups(spec, plot);
    let categories = categories(rows);
    let categorical = plot.x == CATEGORY_AXIS;
    let mut series: Vec<Series> = group_points(spec, plot, rows)
        .into_iter()
        .map(|(name, points)| {
            let index = groups.iter().position(|g| *g == name).unwrap_or(0);
            let (color, marker) = series_style(index);
            Series { name, color, marker, points, paper: Vec::new() }
        })
        .collect();
    let mut loose = Vec::new();
    for reference in &plot.paper {
        let marks = read_paper(root, reference, categorical.then_some(categories.as_slice()))
            .with_context(|| format!("plot `{}`", plot.name))?;
        match &reference.group {
            Some(group) => {
                if let Some(s) = series.iter_mut().find(|s| &s.name == group) {
                    s.paper.extend(marks);
                } else {
                    let index = groups.iter().position(|g| g == group).unwrap_or(0);
                    let (color, marker) = series_style(index);
                    series.push(Series { name: group.clone(), color, marker, points: Vec::new(), paper: marks });
                }
            }
            None => loose.extend(marks),
        }
    }
    Ok((series, loose))
}

/// Pixel sizes of a figure.
pub(crate) const WIDTH: u32 = 1200;
pub(crate) const HEIGHT: u32 = 720;
pub(crate) const LEGEND_WIDTH: u32 = 290;
pub(crate) const TITLE_FONT: u32 = 28;
pub(crate) const LABEL_FONT: u32 = 22;
pub(crate) const TICK_FONT: u32 = 18;
pub(crate) const LEGEND_FONT: u32 = 18;
pub(crate) const MARKER_RADIUS: i32 = 6;

pub(crate) fn padded(lo: f64, hi: f64, log: bool) -> (f64, f64) {
    if log {
        let (lo, hi) = (lo.max(1e-12), hi.max(1e-12));
        if lo == hi {
            (lo / 2.0, hi * 2.0)
        } else {
            let ratio = (hi / lo).powf(0.06);
            (lo / ratio, hi * ratio)
        }
    } else {
        let pad = if hi > lo { 0.08 * (hi - lo) } else { lo.abs().max(1.0) * 0.1 };
        (lo - pad, hi + pad)
    }
}

struct Figure<'a> {
    plot: &'a PlotSpec,
    series: &'a [Series],
    loose: &'a [PaperPoint],
    title: &'a str,
    categories: &'a [String],
}

fn draw_on<DB: DrawingBackend>(area: DrawingArea<DB, Shift>, f: &Figure) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow::anyhow!("{e:?}");
    area.fill(&WHITE).map_err(err)?;
    let plot = f.plot;
    let categorical = plot.x == CATEGORY_AXIS;
    let log_x = plot.log_x && !categorical;
    let mut xs: Vec<f64> = Vec::new();
    let mut ys: Vec<f64> = Vec::new();
    for s in f.series {
        for p in &s.points {
            xs.push(p.x);
            ys.extend([p.mean - p.std, p.mean + p.std]);
        }
        for p in &s.paper {
            xs.push(p.x);
            ys.extend([p.y - p.std.unwrap_or(0.0), p.y + p.std.unwrap_or(0.0)]);
        }
    }
    for p in f.loose {
        xs.push(p.x);
        ys.extend([p.y - p.std.unwrap_or(0.0), p.y + p.std.unwrap_or(0.0)]);
    }
    let xs: Vec<f64> = xs.into_iter().filter(|x| x.is_finite() && (!log_x || *x > 0.0)).collect();
    let ys: Vec<f64> = ys.into_iter().filter(|y| y.is_finite()).collect();
    let range = |v: &[f64]| v.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(*x), b.max(*x)));
    let (x_lo, x_hi) = range(&xs);
    let (y_lo, y_hi) = range(&ys);
    let (x_lo, x_hi) =
        if categorical { (-0.5, f.categories.len().max(1) as f64 - 0.5) } else { padded(x_lo, x_hi, log_x) };
    let (mut y_lo, mut y_hi) = padded(y_lo, y_hi, false);
    if let Some((lo, hi)) = metric_bounds(&plot.y) {
        // A probability's axis stops just past its bounds (an error bar may run off it).
        let headroom = 0.02 * (hi - lo);
        (y_lo, y_hi) = (y_lo.max(lo - headroom), y_hi.min(hi + headroom));
    }
    let x_ticks = if categorical {
        (0..f.categories.len()).map(|i| i as f64).collect()
    } else if log_x {
        log_ticks(x_lo, x_hi)
    } else if xs.iter().all(|x| x.fract() == 0.0) {
        // Counts (layers, branches): whole-number ticks only.
        let whole: Vec<f64> = linear_ticks(x_lo, x_hi, 7).into_iter().filter(|t| t.fract() == 0.0).collect();
        if whole.len() >= 2 {
            whole
        } else {
            linear_ticks(x_lo, x_hi, 7)
        }
    } else {
        linear_ticks(x_lo, x_hi, 7)
    };
    let y_ticks = linear_ticks(y_lo, y_hi, 7);
    let x_format = |v: &f64| -> String {
        if !categorical {
            return tick_text(*v);
        }
        let i = v.round();
        if (v - i).abs() < 1e-6 && i >= 0.0 {
            f.categories.get(i as usize).map(|c| short_category(c)).unwrap_or_default()
        } else {
            String::new()
        }
    };
    let y_format = |v: &f64| tick_text(*v);
    let x_desc = plot.x_label.clone().unwrap_or_else(|| axis_label(&plot.x));
    let y_desc = plot.y_label.clone().unwrap_or_else(|| axis_label(&plot.y));

    let area = area.titled(f.title, ("sans-serif", TITLE_FONT)).map_err(err)?;
    let (chart_area, legend_area) = area.split_horizontally(WIDTH - LEGEND_WIDTH);
    let mut builder = ChartBuilder::on(&chart_area);
    builder.margin(16).margin_top(8).x_label_area_size(64).y_label_area_size(96);
    macro_rules! finish {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .x_desc(x_desc.as_str())
                .y_desc(y_desc.as_str())
                .axis_desc_style(("sans-serif", LABEL_FONT))
                .label_style(("sans-serif", TICK_FONT))
                .x_label_formatter(&x_format)
                .y_label_formatter(&y_format)
                .bold_line_style(RGBColor(225, 225, 225))
                .light_line_style(TRANSPARENT)
                .draw()
                .map_err(err)?;
            for s in f.series {
                let color = s.color;
                if !categorical && s.points.len() > 1 {
                    chart
                        .draw_series(LineSeries::new(s.points.iter().map(|p| (p.x, p.mean)), color.stroke_width(2)))
                        .map_err(err)?;
                }
                for p in s.points.iter().filter(|p| p.std > 0.0) {
                    let (lo, hi) = ((p.x, p.mean - p.std), (p.x, p.mean + p.std));
                    chart.draw_series([PathElement::new(vec![lo, hi], color.stroke_width(2))]).map_err(err)?;
                    chart.draw_series([cap(lo, color), cap(hi, color)]).map_err(err)?;
                }
                if !categorical && s.paper.len() > 1 {
                    let mut marks: Vec<(f64, f64)> = s.paper.iter().map(|p| (p.x, p.y)).collect();
                    marks.sort_by(|a, b| a.0.total_cmp(&b.0));
                    chart.draw_series(DashedLineSeries::new(marks, 6, 4, color.stroke_width(1))).map_err(err)?;
                }
                for p in s.paper.iter().filter(|p| p.std.is_some_and(|v| v > 0.0)) {
                    let std = p.std.unwrap_or(0.0);
                    let (lo, hi) = ((p.x, p.y - std), (p.x, p.y + std));
                    chart.draw_series([PathElement::new(vec![lo, hi], color.stroke_width(1))]).map_err(err)?;
                }
                chart
                    .draw_series(
                        s.paper.iter().map(|p| marker_element((p.x, p.y), s.marker, MARKER_RADIUS, color, false)),
                    )
                    .map_err(err)?;
                chart
                    .draw_series(
                        s.points.iter().map(|p| marker_element((p.x, p.mean), s.marker, MARKER_RADIUS, color, true)),
                    )
                    .map_err(err)?;
            }
            chart
                .draw_series(
                    f.loose
                        .iter()
                        .map(|p| marker_element((p.x, p.y), Marker::Diamond, MARKER_RADIUS + 1, BLACK, false)),
                )
                .map_err(err)?;
        }};
    }
    let xr = x_lo..x_hi;
    let y_axis = Ticked { inner: RangedCoordf64::from(y_lo..y_hi), ticks: y_ticks };
    if log_x {
        let x: plotters::coord::combinators::LogCoord<f64> = xr.log_scale().into();
        finish!(builder.build_cartesian_2d(Ticked { inner: x, ticks: x_ticks }, y_axis).map_err(err)?);
    } else {
        let x: RangedCoordf64 = xr.into();
        finish!(builder.build_cartesian_2d(Ticked { inner: x, ticks: x_ticks }, y_axis).map_err(err)?);
    }
    draw_legend(&legend_area, f).map_err(err)?;
    area.present().map_err(err)?;
    Ok(())
}

/// The legend, right of the plotting area: per series its line and filled marker, then its
/// hollow paper marker; the paper's marks of no group last.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    f: &Figure,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let font = ("sans-serif", LEGEND_FONT).into_font();
    let line_height = LEGEND_FONT as i32 + 12;
    let mut y = 40;
    let mut entry =
        |area: &DrawingArea<DB, Shift>, marker: Marker, color: RGBColor, filled: bool, line: bool, text: String| {
            if line {
                area.draw(&PathElement::new(vec![(6, y), (40, y)], color.stroke_width(2)))?;
            }
            area.draw(&marker_element((23, y), marker, MARKER_RADIUS, color, filled))?;
            area.draw(&Text::new(text, (50, y - LEGEND_FONT as i32 / 2 - 1), font.clone()))?;
            y += line_height;
            Ok::<(), DrawingAreaErrorKind<DB::ErrorType>>(())
        };
    let categorical = f.plot.x == CATEGORY_AXIS;
    for s in f.series {
        if !s.points.is_empty() {
            entry(area, s.marker, s.color, true, !categorical && s.points.len() > 1, s.name.clone())?;
        }
        if !s.paper.is_empty() {
            entry(area, s.marker, s.color, false, false, format!("{} (paper)", s.name))?;
        }
    }
    if !f.loose.is_empty() {
        entry(area, Marker::Diamond, BLACK, false, false, "paper".to_string())?;
    }
    let seeds = f.series.iter().flat_map(|s| s.points.iter().map(|p| p.seeds)).max().unwrap_or(0);
    let note = if seeds > 1 { "bars: mean +- std over seeds" } else { "one seed per point" };
    area.draw(&Text::new(
        note.to_string(),
        (6, y),
        ("sans-serif", LEGEND_FONT - 3).into_font().color(&RGBColor(90, 90, 90)),
    ))?;
    Ok(())
}

/// Writes `<dir>/<plot>.png` and `.svg` for every declared plot with data. Paper CSVs are read
/// below `root`.
pub fn draw(spec: &ExperimentSpec, rows: &[RunRow], dir: &Path, root: &Path) -> Result<Vec<PathBuf>> {
    let categories = categories(rows);
    let mut written = Vec::new();
    for plot in &spec.plot {
        let (series, loose) = figure_series(spec, plot, rows, root)?;
        if series.iter().all(|s| s.points.is_empty()) {
            continue;
        }
        let groups = shown_groups(spec, plot);
        let synthetic =
            rows.iter().any(|r| groups.contains(&r.group.as_str()) && r.data_source.starts_with("synthetic"));
        let mut title = plot.title.clone().unwrap_or_else(|| {
            let y = plot.y_label.clone().unwrap_or_else(|| axis_label(&plot.y));
            let x = plot.x_label.clone().unwrap_or_else(|| axis_label(&plot.x));
            format!("{}: {y} against {x}", spec.title.split(':').next().unwrap_or(&spec.title))
        });
        if synthetic {
            title.push_str(" (SYNTHETIC data)");
        }
        let figure = Figure { plot, series: &series, loose: &loose, title: &title, categories: &categories };
        let png = dir.join(format!("{}.png", plot.name));
        let svg = dir.join(format!("{}.svg", plot.name));
        draw_on(BitMapBackend::new(&png, (WIDTH, HEIGHT)).into_drawing_area(), &figure)
            .with_context(|| format!("drawing {}", png.display()))?;
        draw_on(SVGBackend::new(&svg, (WIDTH, HEIGHT)).into_drawing_area(), &figure)
            .with_context(|| format!("drawing {}", svg.display()))?;
        written.extend([png, svg]);
    }
    Ok(written)
}

/// Redraws the figures of `dir` (`results/<experiment>/<tier>`) from its runs.csv alone, without
/// the run folders (what a committed reference result holds). Returns the files written.
pub fn redraw(spec: &ExperimentSpec, dir: &Path, root: &Path) -> Result<Vec<PathBuf>> {
    let csv = dir.join("runs.csv");
    if !csv.exists() {
        bail!("{} does not exist; run `elmbench reproduce {}` first", csv.display(), spec.name);
    }
    let rows = super::results::read_runs_csv(&csv)?
        .iter()
        .enumerate()
        .map(|(i, cells)| RunRow::from_cells(cells).with_context(|| format!("{}: row {}", csv.display(), i + 1)))
        .collect::<Result<Vec<_>>>()?;
    let mut written = draw(spec, &rows, dir, root)?;
    if spec.table.is_some() && draw_table(spec, &rows, dir, root)? {
        written.extend([dir.join("table.png"), dir.join("table.svg")]);
    }
    Ok(written)
}

/// The `[table]` as a figure: x the table's columns, y its metric; our trained rows as filled
/// points with mean +- std bars, the paper's rows as crosses in the same colour
/// where a row carries the same name, in grey shades otherwise. Written as `<dir>/table.png|svg`.
pub fn draw_table(spec: &ExperimentSpec, rows: &[RunRow], dir: &Path, root: &Path) -> Result<bool> {
    let Some(table) = &spec.table else { return Ok(false) };
    let trained = super::paper_table::trained_cells(spec, table, rows);
    let cited = super::paper_table::cited_rows(table, root)?;
    if trained.is_empty() {
        return Ok(false);
    }
    let synthetic = rows.iter().any(|r| r.data_source.starts_with("synthetic"));
    let mut title = format!("{}: {} per task", spec.title, table.metric);
    if synthetic {
        title.push_str(" (SYNTHETIC data; crosses: the paper)");
    } else {
        title.push_str(" (crosses: the paper)");
    }
    let png = dir.join("table.png");
    let svg = dir.join("table.svg");
    let data = TableFigure { table, trained: &trained, cited: &cited, title: &title };
    draw_table_on(BitMapBackend::new(&png, (1000, 600)).into_drawing_area(), &data)
        .with_context(|| format!("drawing {}", png.display()))?;
    draw_table_on(SVGBackend::new(&svg, (1000, 600)).into_drawing_area(), &data)
        .with_context(|| format!("drawing {}", svg.display()))?;
    Ok(true)
}

struct TableFigure<'a> {
    table: &'a super::spec::TableSpec,
    trained: &'a [(String, BTreeMap<String, super::paper_table::Cell>)],
    cited: &'a [super::paper_table::CitedRow],
    title: &'a str,
}

fn draw_table_on<DB: DrawingBackend>(area: DrawingArea<DB, Shift>, f: &TableFigure) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow::anyhow!("{e:?}");
    area.fill(&WHITE).map_err(err)?;
    let columns = &f.table.columns;
    let scale = f.table.scale;
    let mut top = 0.0f64;
    for (_, cells) in f.trained {
        for c in cells.values() {
            top = top.max((c.mean + c.std) * scale);
        }
    }
    for r in f.cited {
        for v in r.values.values().flatten() {
            top = top.max(*v);
        }
    }
    let mut chart = ChartBuilder::on(&area)
        .caption(f.title, ("sans-serif", 20))
        .margin(14)
        .x_label_area_size(42)
        .y_label_area_size(64)
        .build_cartesian_2d(-0.5f64..columns.len() as f64 - 0.5, 0.0f64..(top * 1.08).max(1.0))
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_labels(columns.len())
        .x_label_formatter(&|v| {
            let i = v.round();
            if (v - i).abs() < 1e-6 && i >= 0.0 {
                columns.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_desc(format!("{} x {scale}", f.table.metric))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)?;
    let offset = |k: usize, n: usize| (k as f64 - (n as f64 - 1.0) / 2.0) * 0.12;
    for (k, (name, cells)) in f.trained.iter().enumerate() {
        let color = series_style(k).0;
        let dx = offset(k, f.trained.len());
        let points: Vec<(f64, f64, f64)> = columns
            .iter()
            .enumerate()
            .filter_map(|(i, c)| cells.get(c).map(|cell| (i as f64 + dx, cell.mean * scale, cell.std * scale)))
            .collect();
        chart
            .draw_series(points.iter().map(|p| Circle::new((p.0, p.1), 5, color.filled())))
            .map_err(err)?
            .label(format!("{name} (elmbench)"))
            .legend(move |(x, y)| Circle::new((x + 9, y), 5, color.filled()));
        chart
            .draw_series(
                points
                    .iter()
                    .map(|p| PathElement::new(vec![(p.0, p.1 - p.2), (p.0, p.1 + p.2)], color.stroke_width(2))),
            )
            .map_err(err)?;
        if let Some(paper) = f.cited.iter().find(|r| &r.model == name) {
            let marks: Vec<(f64, f64)> = columns
                .iter()
                .enumerate()
                .filter_map(|(i, c)| paper.values.get(c).copied().flatten().map(|v| (i as f64 + dx, v)))
                .collect();
            chart
                .draw_series(marks.iter().map(|p| Cross::new(*p, 7, color.stroke_width(2))))
                .map_err(err)?
                .label(format!("{name} (paper)"))
                .legend(move |(x, y)| Cross::new((x + 9, y), 6, color.stroke_width(2)));
        }
    }
    let others: Vec<&super::paper_table::CitedRow> =
        f.cited.iter().filter(|r| !f.trained.iter().any(|(name, _)| name == &r.model)).collect();
    for (j, row) in others.iter().enumerate() {
        let shade = 90 + (j as u8).saturating_mul(35);
        let color = RGBColor(shade, shade, shade);
        let marks: Vec<(f64, f64)> = columns
            .iter()
            .enumerate()
            .filter_map(|(i, c)| row.values.get(c).copied().flatten().map(|v| (i as f64 + 0.3, v)))
            .collect();
        chart
            .draw_series(marks.iter().map(|p| Cross::new(*p, 5, color.stroke_width(1))))
            .map_err(err)?
            .label(format!("{} (cited)", row.model))
            .legend(move |(x, y)| Cross::new((x + 9, y), 5, color.stroke_width(1)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(err)?;
    area.present().map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::spec::PaperRef;

    #[test]
    fn known_columns_get_labels_with_units_and_unknown_ones_their_name() {
        assert_eq!(axis_label("test_soma_rmse"), "Soma RMSE (mV)");
        assert_eq!(axis_label("test_auc"), "Spike AUC");
        assert_eq!(axis_label("params"), "Trainable parameters");
        assert_eq!(axis_label("flops_per_sample"), "FLOPs per sample");
        assert_eq!(axis_label("test_accuracy"), "Test accuracy");
        assert_eq!(axis_label("num_memory"), "Memory units d_m");
        assert_eq!(axis_label("task.bin_ms"), "Bin size (ms)");
        assert_eq!(axis_label("something_new"), "something_new");
        let names: Vec<&str> = AXIS_LABELS.iter().map(|(c, _)| *c).collect();
        for (i, n) in names.iter().enumerate() {
            assert!(!names[..i].contains(n), "{n} twice");
        }
    }

    #[test]
    fn a_log_axis_within_one_decade_gets_several_labelled_ticks() {
        // Figure 3a's quick tier: d_m 1..20 padded, and ranges inside a single decade.
        assert_eq!(log_ticks(0.8, 25.0), vec![1.0, 2.0, 5.0, 10.0, 20.0]);
        for (lo, hi) in [(2.0, 8.0), (12.0, 90.0), (1.5e4, 9e4), (3.0, 4.0), (0.011, 0.05)] {
            let ticks = log_ticks(lo, hi);
            assert!(ticks.len() >= 3, "{lo}..{hi}: {ticks:?}");
            assert!(ticks.iter().all(|t| *t >= lo * (1.0 - 1e-9) && *t <= hi * (1.0 + 1e-9)), "{ticks:?}");
        }
        // Many decades: the decades alone.
        assert_eq!(log_ticks(5e2, 2e6), vec![1e3, 1e4, 1e5, 1e6]);
    }

    #[test]
    fn linear_ticks_are_round_and_at_least_three() {
        assert_eq!(linear_ticks(0.0, 1.0, 5), vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]);
        for (lo, hi) in [(4.55, 4.79), (0.5, 1.03), (-0.16, 2.16), (100.0, 101.0)] {
            let ticks = linear_ticks(lo, hi, 7);
            assert!((3..=9).contains(&ticks.len()), "{lo}..{hi}: {ticks:?}");
        }
        assert_eq!(tick_text(0.6000000000000001), "0.6");
        assert_eq!(tick_text(15_000.0), "15K");
        assert_eq!(tick_text(2e6), "2M");
        assert_eq!(tick_text(4.55), "4.55");
    }

    #[test]
    fn eight_series_get_distinct_colours_and_markers() {
        let styles: Vec<(RGBColor, Marker)> = (0..8).map(series_style).collect();
        for i in 0..8 {
            for j in 0..i {
                assert_ne!(styles[i].0, styles[j].0, "colours {i} and {j}");
                assert_ne!(styles[i].1, styles[j].1, "markers {i} and {j}");
            }
        }
        // No pale yellow: every colour stands out from white.
        for (c, _) in &styles {
            let luminance = 0.2126 * c.0 as f64 + 0.7152 * c.1 as f64 + 0.0722 * c.2 as f64;
            assert!(luminance < 180.0, "{c:?}");
        }
        // Beyond 8 the (colour, marker) pairs still differ.
        assert_ne!(series_style(0), series_style(8));
    }

    fn row(group: &str, config: &str, seed: u64, rmse: f64) -> RunRow {
        let mut test = crate::metrics::Metrics::new();
        test.set("soma_rmse", rmse);
        RunRow {
            experiment: "e".into(),
            tier: "smoke".into(),
            group: group.into(),
            model: "elm".into(),
            config: config.into(),
            config_hash: format!("h-{config}"),
            seed,
            data_source: "synthetic (test)".into(),
            device: "cpu".into(),
            test: Some(test),
            valid: None,
            train: None,
            params: 100,
            params_paper_convention: 100,
            flops_per_sample: 1000,
            wall_s: 1.0,
            status: "ok".into(),
            git_commit: "x".into(),
            settings: format!("num_memory={}", &config[4..]),
            error: String::new(),
        }
    }

    fn spec() -> ExperimentSpec {
        toml::from_str(
            r#"
            name = "e"
            title = "E"
            task = "neuronio"
            seeds = 3
            metrics = ["test_soma_rmse"]
            [[group]]
            name = "a"
            model = "elm"
            [[plot]]
            name = "p"
            x = "num_memory"
            y = "test_soma_rmse"
            "#,
        )
        .unwrap()
    }

    #[test]
    fn error_bars_are_the_mean_and_sample_std_of_each_configurations_seeds() {
        // d_m=10: 1, 2, 4 -> mean 7/3, sample variance ((4/3)^2 + (1/3)^2 + (5/3)^2) / 2 = 7/3.
        // d_m=20: 3, 5 -> mean 4, sample std sqrt(2); d_m=30: one seed, std 0.
        let rows = vec![
            row("a", "d_m=10", 0, 1.0),
            row("a", "d_m=10", 1, 2.0),
            row("a", "d_m=20", 0, 3.0),
            row("a", "d_m=10", 2, 4.0),
            row("a", "d_m=20", 1, 5.0),
            row("a", "d_m=30", 0, 6.0),
        ];
        let spec = spec();
        let points = group_points(&spec, &spec.plot[0], &rows);
        assert_eq!(points.len(), 1);
        let p = &points[0].1;
        assert_eq!(p.iter().map(|p| (p.x, p.seeds)).collect::<Vec<_>>(), vec![(10.0, 3), (20.0, 2), (30.0, 1)]);
        assert!((p[0].mean - 7.0 / 3.0).abs() < 1e-12 && (p[0].std - (7.0f64 / 3.0).sqrt()).abs() < 1e-12, "{p:?}");
        assert!((p[1].mean - 4.0).abs() < 1e-12 && (p[1].std - 2f64.sqrt()).abs() < 1e-12, "{p:?}");
        assert_eq!((p[2].mean, p[2].std), (6.0, 0.0));
    }

    fn reference(file: &str, x: &str, y: &str) -> PaperRef {
        PaperRef { file: file.into(), x: x.into(), y: y.into(), y_std: None, group: None, rows: Default::default() }
    }

    #[test]
    fn the_paper_reader_reads_the_papers_numbers_and_names_what_is_missing() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut r = reference("tests/fixtures/paper/appF_neuronio_branch_elm.csv", "params", "spike_auc_mean");
        r.y_std = Some("spike_auc_std".into());
        let points = read_paper(root, &r, None).unwrap();
        assert_eq!(points[0], PaperPoint { x: 5900.0, y: 0.989, std: Some(0.0001) });
        // Unquoted commas in Table S4's model names; matched against configuration labels.
        let labels: Vec<String> =
            ["ALIF (classic)", "ELM (simplest: 1 memory unit, linear integration)"].map(String::from).to_vec();
        let s4 = reference("tests/fixtures/paper/tableS4_tiny_models.csv", "model", "soma_rmse");
        let points = read_paper(root, &s4, Some(&labels)).unwrap();
        assert_eq!(points.iter().map(|p| (p.x, p.y)).collect::<Vec<_>>(), vec![(0.0, 2.29), (1.0, 1.60)]);
        // Rows filtered by a column.
        let mut shd = reference("tests/fixtures/paper/appF_shd.csv", "bin_ms", "test_acc_mean");
        shd.rows.insert("model".into(), "SNN".into());
        assert!(!read_paper(root, &shd, None).unwrap().is_empty());

        let missing = reference("tests/fixtures/paper/no_such.csv", "params", "spike_auc_mean");
        let e = format!("{:#}", read_paper(root, &missing, None).unwrap_err());
        assert!(e.contains("no_such.csv"), "{e}");
        let bad_column = reference("tests/fixtures/paper/appF_neuronio_elm.csv", "params", "spike_auc");
        let e = format!("{:#}", read_paper(root, &bad_column, None).unwrap_err());
        assert!(e.contains("no column `spike_auc`") && e.contains("spike_auc_mean"), "{e}");
        shd.rows.insert("model".into(), "Transformer".into());
        let e = format!("{:#}", read_paper(root, &shd, None).unwrap_err());
        assert!(e.contains("appF_shd.csv") && e.contains("Transformer"), "{e}");
        assert_eq!(paper_number("16.04M"), Some(16.04e6));
        assert_eq!(paper_number("FAIL"), None);
    }
}
