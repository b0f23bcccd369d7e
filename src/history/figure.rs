//! The trend figure of one metric: a line per configuration over the nights (x: the nights in
//! order, labelled with their date), each configuration's golden band shaded in its colour where
//! the golden file gives one. Drawn in the project's figure style (`experiments::plots`: palette,
//! markers, fonts, ticks) as PNG and SVG.

use super::trend::{Band, Night, Series};
use crate::experiments::plots::{
    axis_label, linear_ticks, marker_element, padded, series_style, tick_text, Ticked, HEIGHT, LABEL_FONT, LEGEND_FONT,
    LEGEND_WIDTH, MARKER_RADIUS, TICK_FONT, TITLE_FONT, WIDTH,
};
use anyhow::{Context, Result};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// What one figure shows: the series of one metric and their bands.
pub struct TrendFigure<'a> {
    pub title: String,
    pub metric: &'a str,
    pub nights: &'a [Night],
    pub series: Vec<(&'a Series, Option<Band>)>,
}

/// A night's tick label: `MM-DD HH:MM` of its date (the run id where the date is not ISO).
fn night_label(night: &Night) -> String {
    let d = &night.date;
    if d.len() >= 16 && d.as_bytes()[10] == b'T' {
        format!("{} {}", &d[5..10], &d[11..16])
    } else {
        night.run_id.chars().take(16).collect()
    }
}

fn draw_on<DB: DrawingBackend>(area: DrawingArea<DB, Shift>, f: &TrendFigure) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow::anyhow!("{e:?}");
    area.fill(&WHITE).map_err(err)?;
    let n = f.nights.len();
    let mut ys: Vec<f64> = Vec::new();
    for (s, band) in &f.series {
        ys.extend(s.values.iter().flatten());
        if let Some(b) = band {
            ys.extend([b.lo, b.hi].into_iter().filter(|v| v.is_finite()));
        }
    }
    let (lo, hi) = ys.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| (a.min(*y), b.max(*y)));
    let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
    let (y_lo, y_hi) = padded(lo, hi, false);
    let (x_lo, x_hi) = (0.5, n.max(1) as f64 + 0.5);
    // At most about 10 labelled nights, evenly spread, the last always among them.
    let step = n.div_ceil(10).max(1);
    let x_ticks: Vec<f64> = (1..=n).filter(|i| (n - i).is_multiple_of(step)).map(|i| i as f64).collect();
    let labels: Vec<String> = f.nights.iter().map(night_label).collect();
    let x_format = |v: &f64| labels.get((v.round() as usize).wrapping_sub(1)).cloned().unwrap_or_default();
    let y_format = |v: &f64| tick_text(*v);
    let area = area.titled(&f.title, ("sans-serif", TITLE_FONT)).map_err(err)?;
    let (chart_area, legend_area) = area.split_horizontally(WIDTH - LEGEND_WIDTH);
    let mut chart = ChartBuilder::on(&chart_area)
        .margin(16)
        .margin_top(8)
        .x_label_area_size(64)
        .y_label_area_size(96)
        .build_cartesian_2d(
            Ticked { inner: RangedCoordf64::from(x_lo..x_hi), ticks: x_ticks },
            Ticked { inner: RangedCoordf64::from(y_lo..y_hi), ticks: linear_ticks(y_lo, y_hi, 7) },
        )
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("Night (UTC date and time)")
        .y_desc(axis_label(f.metric))
        .axis_desc_style(("sans-serif", LABEL_FONT))
        .label_style(("sans-serif", TICK_FONT))
        .x_label_formatter(&x_format)
        .y_label_formatter(&y_format)
        .bold_line_style(RGBColor(225, 225, 225))
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(err)?;
    for (i, (_, band)) in f.series.iter().enumerate() {
        if let Some(b) = band {
            let (color, _) = series_style(i);
            let (b_lo, b_hi) = (b.lo.max(y_lo), b.hi.min(y_hi));
            if b_lo < b_hi {
                chart
                    .draw_series([Rectangle::new([(x_lo, b_lo), (x_hi, b_hi)], color.mix(0.12).filled())])
                    .map_err(err)?;
                // Dashed edges in the series' colour say whose band it is where bands overlap.
                for edge in [b.lo, b.hi].into_iter().filter(|v| *v > y_lo && *v < y_hi) {
                    chart
                        .draw_series(DashedLineSeries::new([(x_lo, edge), (x_hi, edge)], 8, 5, color.stroke_width(1)))
                        .map_err(err)?;
                }
            }
        }
    }
    for (i, (s, _)) in f.series.iter().enumerate() {
        let (color, marker) = series_style(i);
        let points: Vec<(f64, f64)> =
            s.values.iter().enumerate().filter_map(|(k, v)| v.map(|v| ((k + 1) as f64, v))).collect();
        if points.len() > 1 {
            chart.draw_series(LineSeries::new(points.clone(), color.stroke_width(2))).map_err(err)?;
        }
        chart
            .draw_series(points.iter().map(|p| marker_element(*p, marker, MARKER_RADIUS, color, true)))
            .map_err(err)?;
    }
    let font = ("sans-serif", LEGEND_FONT).into_font();
    let mut y = 40;
    for (i, (s, _)) in f.series.iter().enumerate() {
        let (color, marker) = series_style(i);
        legend_area.draw(&PathElement::new(vec![(6, y), (40, y)], color.stroke_width(2))).map_err(err)?;
        legend_area.draw(&marker_element((23, y), marker, MARKER_RADIUS, color, true)).map_err(err)?;
        legend_area.draw(&Text::new(s.label(), (50, y - LEGEND_FONT as i32 / 2 - 1), font.clone())).map_err(err)?;
        y += LEGEND_FONT as i32 + 12;
    }
    let mut notes = vec!["points: mean over seeds"];
    if f.series.iter().any(|(_, b)| b.is_some()) {
        notes.push("shaded, dashed: golden band");
    }
    for note in notes {
        let style = ("sans-serif", LEGEND_FONT - 3).into_font().color(&RGBColor(90, 90, 90));
        legend_area.draw(&Text::new(note, (6, y), style)).map_err(err)?;
        y += LEGEND_FONT as i32 + 4;
    }
    area.present().map_err(err)?;
    Ok(())
}

/// Writes `<dir>/<stem>.png` and `.svg`; returns their paths.
pub fn draw(figure: &TrendFigure, dir: &Path, stem: &str) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let png = dir.join(format!("{stem}.png"));
    let svg = dir.join(format!("{stem}.svg"));
    draw_on(BitMapBackend::new(&png, (WIDTH, HEIGHT)).into_drawing_area(), figure)
        .with_context(|| format!("drawing {}", png.display()))?;
    draw_on(SVGBackend::new(&svg, (WIDTH, HEIGHT)).into_drawing_area(), figure)
        .with_context(|| format!("drawing {}", svg.display()))?;
    Ok(vec![png, svg])
}
