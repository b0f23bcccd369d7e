//! The trend as a Markdown table: per configuration and metric, the last nights' values (mean
//! over seeds), the change from the previous night, the golden band and the flags.

use super::trend::{band, Flag, Night, Series};
use crate::golden::GoldenFile;
use std::fmt::Write;

/// A value with up to 6 decimals (runs.csv's precision), trailing zeros cut.
pub fn number(v: f64) -> String {
    let t = format!("{v:.6}");
    let t = if t.contains('.') { t.trim_end_matches('0').trim_end_matches('.') } else { &t };
    if t == "-0" {
        "0".into()
    } else {
        t.to_string()
    }
}

/// The change from `previous` to `last`, signed.
pub fn change(last: Option<f64>, previous: Option<f64>) -> String {
    match (last, previous) {
        (Some(a), Some(b)) => {
            let d = a - b;
            if d.abs() < 5e-7 {
                "0".into()
            } else if d > 0.0 {
                format!("+{}", number(d))
            } else {
                number(d)
            }
        }
        _ => "-".into(),
    }
}

/// The legend of the night columns: `#k` = run id (date, commit).
pub fn night_legend(nights: &[Night], shown: usize) -> String {
    let first = nights.len().saturating_sub(shown);
    let mut out = String::new();
    for (k, n) in nights.iter().enumerate().skip(first) {
        let _ =
            writeln!(out, "- #{} = {} ({}, commit {}, {:.0} s of runs)", k + 1, n.run_id, n.date, n.commit, n.wall_s);
    }
    out
}

/// The table of every series over the last `shown` nights.
pub fn trend_table(
    nights: &[Night],
    all: &[Series],
    golden: Option<&GoldenFile>,
    flags: &[Flag],
    shown: usize,
) -> String {
    let first = nights.len().saturating_sub(shown.max(1));
    let heads: Vec<String> = (first..nights.len()).map(|k| format!("#{}", k + 1)).collect();
    let mut out = String::new();
    let _ = writeln!(out, "| group | config | metric | {} | change | golden band | flag |", heads.join(" | "));
    let _ = writeln!(out, "|---|---|---|{}---|---|---|", "---|".repeat(heads.len()));
    for s in all {
        let values: Vec<String> = s.values[first..].iter().map(|v| v.map_or("-".into(), number)).collect();
        let (last, previous) = s.last_two();
        let b = golden.and_then(|g| band(g, s, all)).map_or("-".into(), |b| b.to_string());
        let mine: Vec<&str> = flags
            .iter()
            .filter(|f| f.group == s.group && f.config == s.config && f.metric == s.metric)
            .map(|f| if f.reason.starts_with("outside") { "**GOLDEN**" } else { "**K-SIGMA**" })
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {b} | {} |",
            s.group,
            s.config,
            s.metric,
            values.join(" | "),
            change(last, previous),
            mine.join(" ")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_changes() {
        assert_eq!(number(0.812_345_4), "0.812345");
        assert_eq!(number(2.5), "2.5");
        assert_eq!(change(Some(0.9), Some(0.85)), "+0.05");
        assert_eq!(change(Some(0.8), Some(0.85)), "-0.05");
        assert_eq!(change(Some(0.8), None), "-");
        assert_eq!(change(Some(0.8), Some(0.8)), "0");
    }
}
