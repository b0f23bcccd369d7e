//! Figures of an experiment (`[[plot]]` in its declaration): one series per group, mean over
//! seeds with min-max error bars, written as PNG and SVG with plotters. The x axis is a runs.csv
//! column (`params`, `flops_per_sample`) or a swept model key (from the `settings` column), or
//! `config`: one tick per configuration label, in the order of the runs (an ablation figure).

use super::results::RunRow;
use super::spec::{ExperimentSpec, PlotSpec};
use anyhow::{Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// (x, mean y, min y, max y) per configuration of each group, in declaration order.
type Series = Vec<(String, Vec<(f64, f64, f64, f64)>)>;

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

fn series(spec: &ExperimentSpec, plot: &PlotSpec, rows: &[RunRow]) -> Series {
    let categories = categories(rows);
    let x_of = |row: &RunRow| -> Option<f64> {
        if plot.x == CATEGORY_AXIS {
            categories.iter().position(|c| c == &row.config).map(|i| i as f64)
        } else {
            x_value(row, &plot.x)
        }
    };
    let mut out = Vec::new();
    for group in &spec.group {
        if plot.groups.as_ref().is_some_and(|g| !g.contains(&group.name)) {
            continue;
        }
        let mut by_config: BTreeMap<String, (f64, Vec<f64>)> = BTreeMap::new();
        for row in rows.iter().filter(|r| r.group == group.name && r.status == "ok") {
            let (Some(x), Some(y)) = (x_of(row), row.cells().get(&plot.y).and_then(|v| v.parse().ok())) else {
                continue;
            };
            by_config.entry(row.config_hash.clone()).or_insert((x, Vec::new())).1.push(y);
        }
        let mut points: Vec<(f64, f64, f64, f64)> = by_config
            .values()
            .map(|(x, ys)| {
                let mean = ys.iter().sum::<f64>() / ys.len() as f64;
                let lo = ys.iter().cloned().fold(f64::INFINITY, f64::min);
                let hi = ys.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                (*x, mean, lo, hi)
            })
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        if !points.is_empty() {
            out.push((group.name.clone(), points));
        }
    }
    out
}

/// 1500 -> "1.5K", 2e6 -> "2M": short axis labels that do not collide on a log axis.
fn compact(v: f64) -> String {
    let (scaled, suffix) = match v.abs() {
        a if a >= 1e9 => (v / 1e9, "G"),
        a if a >= 1e6 => (v / 1e6, "M"),
        a if a >= 1e3 => (v / 1e3, "K"),
        _ => (v, ""),
    };
    let text = format!("{scaled:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}{suffix}")
}

fn padded(lo: f64, hi: f64, log: bool) -> (f64, f64) {
    if log {
        let (lo, hi) = (lo.max(1e-12), hi.max(1e-12));
        if lo == hi {
            (lo / 2.0, hi * 2.0)
        } else {
            (lo / 1.3, hi * 1.3)
        }
    } else {
        let pad = if hi > lo { 0.08 * (hi - lo) } else { lo.abs().max(1.0) * 0.1 };
        (lo - pad, hi + pad)
    }
}

fn draw_on<DB: DrawingBackend>(
    area: DrawingArea<DB, Shift>,
    plot: &PlotSpec,
    data: &Series,
    title: &str,
    categories: &[String],
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let xs = data.iter().flat_map(|(_, p)| p.iter().map(|q| q.0));
    let ys = data.iter().flat_map(|(_, p)| p.iter().flat_map(|q| [q.2, q.3]));
    let (x_lo, x_hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    let (y_lo, y_hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    let categorical = plot.x == CATEGORY_AXIS;
    let (x_lo, x_hi) = if categorical { (-0.5, categories.len() as f64 - 0.5) } else { padded(x_lo, x_hi, plot.log_x) };
    let x_format = |v: &f64| -> String {
        if !categorical {
            return compact(*v);
        }
        let i = v.round();
        if (v - i).abs() < 1e-6 && i >= 0.0 {
            categories.get(i as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    let x_ticks = if categorical { categories.len().max(1) } else { 8 };
    let (y_lo, y_hi) = padded(y_lo, y_hi, false);
    let mut builder = ChartBuilder::on(&area);
    builder.caption(title, ("sans-serif", 22)).margin(14).x_label_area_size(42).y_label_area_size(64);
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow::anyhow!("{e:?}");
    macro_rules! finish {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .x_desc(plot.x_label.as_deref().unwrap_or(&plot.x))
                .y_desc(plot.y_label.as_deref().unwrap_or(&plot.y))
                .x_labels(x_ticks)
                .x_label_formatter(&x_format)
                .light_line_style(RGBColor(235, 235, 235))
                .draw()
                .map_err(err)?;
            for (i, (name, points)) in data.iter().enumerate() {
                let color = Palette99::pick(i).to_rgba();
                chart
                    // Categories are not a scale: points without a connecting line.
                    .draw_series(LineSeries::new(
                        points.iter().filter(|_| !categorical).map(|p| (p.0, p.1)),
                        color.stroke_width(2),
                    ))
                    .map_err(err)?
                    .label(name.as_str())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
                chart.draw_series(points.iter().map(|p| Circle::new((p.0, p.1), 4, color.filled()))).map_err(err)?;
                chart
                    .draw_series(
                        points.iter().map(|p| PathElement::new(vec![(p.0, p.2), (p.0, p.3)], color.stroke_width(1))),
                    )
                    .map_err(err)?;
            }
            chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(err)?;
        }};
    }
    if plot.log_x && !categorical {
        finish!(builder.build_cartesian_2d((x_lo..x_hi).log_scale(), y_lo..y_hi).map_err(err)?);
    } else {
        finish!(builder.build_cartesian_2d(x_lo..x_hi, y_lo..y_hi).map_err(err)?);
    }
    area.present().map_err(err)?;
    Ok(())
}

/// Writes `<dir>/<plot>.png` and `.svg` for every declared plot with data.
pub fn draw(spec: &ExperimentSpec, rows: &[RunRow], dir: &Path) -> Result<()> {
    let synthetic = rows.iter().any(|r| r.data_source.starts_with("synthetic"));
    let categories = categories(rows);
    for plot in &spec.plot {
        let data = series(spec, plot, rows);
        if data.is_empty() {
            continue;
        }
        let mut title = plot.title.clone().unwrap_or_else(|| format!("{}: {} vs {}", plot.name, plot.y, plot.x));
        if synthetic {
            title.push_str(" (SYNTHETIC data)");
        }
        let png = dir.join(format!("{}.png", plot.name));
        let svg = dir.join(format!("{}.svg", plot.name));
        draw_on(BitMapBackend::new(&png, (900, 600)).into_drawing_area(), plot, &data, &title, &categories)
            .with_context(|| format!("drawing {}", png.display()))?;
        draw_on(SVGBackend::new(&svg, (900, 600)).into_drawing_area(), plot, &data, &title, &categories)
            .with_context(|| format!("drawing {}", svg.display()))?;
    }
    Ok(())
}

/// The `[table]` as a figure: x the table's columns, y its metric; our trained rows as filled
/// points with mean +- std bars, the paper's rows as crosses in the same colour
/// where a row carries the same name, in grey shades otherwise. Written as `<dir>/table.png|svg`.
pub fn draw_table(spec: &ExperimentSpec, rows: &[RunRow], dir: &Path, root: &Path) -> Result<()> {
    let Some(table) = &spec.table else { return Ok(()) };
    let trained = super::paper_table::trained_cells(spec, table, rows);
    let cited = super::paper_table::cited_rows(table, root)?;
    if trained.is_empty() {
        return Ok(());
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
        .with_context(|| format!("drawing {}", svg.display()))
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
        let color = Palette99::pick(k).to_rgba();
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
