//! The trend of a history: the nights in order, per configuration and metric the mean over seeds
//! of each night, and the two regression rules applied to the last night's value:
//!
//! - golden band: the value leaves the band a golden entry gives this configuration and metric
//!   (`expected +- tolerance`, intersected with `min` / `max`). Only entries whose selector names
//!   this series alone are bands: selector keys among group / model / config, and either a
//!   `config` key or a group with a single configuration. Relative entries (`less_than`,
//!   `greater_than`) compare groups, not a series with itself, and give no band.
//! - k sigma: the value is more than `sigma` sample standard deviations (ddof = 1) from the mean of
//!   the previous `window` nights that have a value, and at least `min_nights` of them exist.
//!   Deterministic seeds give the same value night after night (std 0), so the std is floored at
//!   1e-6 x max(1, |mean|): changes below runs.csv's 6 decimals are never flagged.

use super::store::Entry;
use crate::golden::GoldenFile;
use std::collections::BTreeMap;

/// The defaults of `elmbench history` (stated in its --help and in the README).
pub const DEFAULT_SIGMA: f64 = 3.0;
pub const DEFAULT_WINDOW: usize = 7;
pub const DEFAULT_MIN_NIGHTS: usize = 3;

#[derive(Clone, Copy, Debug)]
pub struct RuleOptions {
    pub sigma: f64,
    pub window: usize,
    pub min_nights: usize,
}

impl Default for RuleOptions {
    fn default() -> Self {
        Self { sigma: DEFAULT_SIGMA, window: DEFAULT_WINDOW, min_nights: DEFAULT_MIN_NIGHTS }
    }
}

/// One nightly invocation as the history saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct Night {
    pub run_id: String,
    pub date: String,
    pub commit: String,
    pub data_source: String,
    pub device: String,
    /// Sum of the runs' wall times (each run once, not once per metric).
    pub wall_s: f64,
}

/// The nights of `entries`, in order of first appearance (the file's order is the nights' order).
pub fn nights(entries: &[Entry]) -> Vec<Night> {
    let mut out: Vec<Night> = Vec::new();
    let mut runs_seen: BTreeMap<(&str, &str, &str, &str), ()> = BTreeMap::new();
    for e in entries {
        let i = match out.iter().position(|n| n.run_id == e.run_id) {
            Some(i) => i,
            None => {
                out.push(Night {
                    run_id: e.run_id.clone(),
                    date: e.date.clone(),
                    commit: e.commit.clone(),
                    data_source: e.data_source.clone(),
                    device: e.device.clone(),
                    wall_s: 0.0,
                });
                out.len() - 1
            }
        };
        if runs_seen.insert((&e.run_id, &e.group, &e.config, &e.seed), ()).is_none() {
            out[i].wall_s += e.wall_s.parse::<f64>().unwrap_or(0.0);
        }
    }
    out
}

/// One configuration's metric over the nights.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub group: String,
    pub model: String,
    pub config: String,
    pub metric: String,
    /// Per night (the order of `nights`): the mean over that night's seeds, if it has any.
    pub values: Vec<Option<f64>>,
    /// Per night: how many seeds the mean is over.
    pub seeds: Vec<usize>,
}

impl Series {
    pub fn label(&self) -> String {
        if self.config.is_empty() || self.config == self.group {
            self.group.clone()
        } else {
            format!("{} {}", self.group, self.config)
        }
    }

    /// The last night's value and the one before it that has a value.
    pub fn last_two(&self) -> (Option<f64>, Option<f64>) {
        let last = self.values.last().copied().flatten();
        let n = self.values.len();
        let previous = self.values[..n.saturating_sub(1)].iter().rev().find_map(|v| *v);
        (last, previous)
    }
}

/// The series of `entries` (configurations in order of first appearance, then metrics).
pub fn series(entries: &[Entry], nights: &[Night]) -> Vec<Series> {
    let night_index: BTreeMap<&str, usize> = nights.iter().enumerate().map(|(i, n)| (n.run_id.as_str(), i)).collect();
    // (group, config, metric) -> (model, per night: sum of the seeds' values and their count)
    type Key = (String, String, String);
    let mut sums: BTreeMap<Key, (String, Vec<(f64, usize)>)> = BTreeMap::new();
    let mut order: Vec<Key> = Vec::new();
    for e in entries {
        let key = (e.group.clone(), e.config.clone(), e.metric.clone());
        let slot = sums.entry(key.clone()).or_insert_with(|| {
            order.push(key.clone());
            (e.model.clone(), vec![(0.0, 0); nights.len()])
        });
        if let Some(&i) = night_index.get(e.run_id.as_str()) {
            slot.1[i].0 += e.value;
            slot.1[i].1 += 1;
        }
    }
    order
        .into_iter()
        .map(|key| {
            let (model, per_night) = &sums[&key];
            Series {
                group: key.0.clone(),
                model: model.clone(),
                config: key.1.clone(),
                metric: key.2.clone(),
                values: per_night.iter().map(|(sum, n)| (*n > 0).then(|| sum / *n as f64)).collect(),
                seeds: per_night.iter().map(|(_, n)| *n).collect(),
            }
        })
        .collect()
}

/// The band a golden file gives a series: [lo, hi] (either may be infinite).
#[derive(Clone, Debug, PartialEq)]
pub struct Band {
    pub lo: f64,
    pub hi: f64,
    pub provenance: String,
}

impl std::fmt::Display for Band {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.lo.is_finite(), self.hi.is_finite()) {
            (true, true) => write!(f, "[{}, {}]", trim(self.lo), trim(self.hi)),
            (true, false) => write!(f, ">= {}", trim(self.lo)),
            (false, true) => write!(f, "<= {}", trim(self.hi)),
            (false, false) => write!(f, "any"),
        }
    }
}

fn trim(v: f64) -> String {
    let t = format!("{v:.6}");
    t.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The golden band of `s`, if the golden file has one for it (see the module's note).
pub fn band(golden: &GoldenFile, s: &Series, all: &[Series]) -> Option<Band> {
    let single_config = all.iter().filter(|o| o.group == s.group && o.metric == s.metric).count() == 1;
    let mut found: Option<Band> = None;
    for e in golden.entry.iter().filter(|e| e.metric == s.metric) {
        let mine = e.selector.iter().all(|(k, v)| {
            let v = crate::experiments::spec::literal(v);
            match k.as_str() {
                "group" => v == s.group,
                "model" => v == s.model,
                "config" => v == s.config,
                _ => false,
            }
        });
        if !mine || !(e.selector.contains_key("config") || single_config) {
            continue;
        }
        let (mut lo, mut hi) = (f64::NEG_INFINITY, f64::INFINITY);
        if let (Some(x), Some(t)) = (e.expected, e.tolerance) {
            (lo, hi) = (x - t, x + t);
        }
        lo = lo.max(e.min.unwrap_or(f64::NEG_INFINITY));
        hi = hi.min(e.max.unwrap_or(f64::INFINITY));
        if lo == f64::NEG_INFINITY && hi == f64::INFINITY {
            continue;
        }
        found = Some(match found {
            None => Band { lo, hi, provenance: e.provenance.clone() },
            Some(b) => Band { lo: b.lo.max(lo), hi: b.hi.min(hi), provenance: b.provenance },
        });
    }
    found
}

/// The metrics a trend watches: the experiment's declared metrics, then any other metric its
/// golden file checks (every metric is recorded; these are shown, drawn and flagged by default).
pub fn watched(declared: &[String], golden: Option<&GoldenFile>) -> Vec<String> {
    let mut out: Vec<String> = declared.to_vec();
    for e in golden.iter().flat_map(|g| g.entry.iter()) {
        if !out.contains(&e.metric) && e.metric != crate::golden::DIVERGED {
            out.push(e.metric.clone());
        }
    }
    out
}

/// The k-sigma rule: `Some((mean, std))` of the window when `value` is beyond `sigma` standard
/// deviations of it, `None` when it is not or when fewer than `min_nights` previous values exist.
pub fn sigma_rule(previous: &[f64], value: f64, options: &RuleOptions) -> Option<(f64, f64)> {
    let window = &previous[previous.len().saturating_sub(options.window)..];
    if window.len() < options.min_nights.max(2) {
        return None;
    }
    let (mean, std) = crate::experiments::plots::seed_stats(window);
    let floor = 1e-6 * mean.abs().max(1.0);
    ((value - mean).abs() > options.sigma * std.max(floor)).then_some((mean, std))
}

/// A flagged regression of the last night.
#[derive(Clone, Debug, PartialEq)]
pub struct Flag {
    pub experiment: String,
    pub group: String,
    pub config: String,
    pub metric: String,
    pub value: f64,
    pub reason: String,
}

impl std::fmt::Display for Flag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "REGRESSION {} group={} config={} {} = {}: {}",
            self.experiment,
            self.group,
            self.config,
            self.metric,
            trim(self.value),
            self.reason
        )
    }
}

/// The flags of the last night of every series.
pub fn flags(experiment: &str, all: &[Series], golden: Option<&GoldenFile>, options: &RuleOptions) -> Vec<Flag> {
    let mut out = Vec::new();
    for s in all {
        let Some(value) = s.values.last().copied().flatten() else { continue };
        let flag = |reason: String| Flag {
            experiment: experiment.to_string(),
            group: s.group.clone(),
            config: s.config.clone(),
            metric: s.metric.clone(),
            value,
            reason,
        };
        if let Some(b) = golden.and_then(|g| band(g, s, all)) {
            if !(value >= b.lo && value <= b.hi) {
                out.push(flag(format!("outside the golden band {b} ({})", b.provenance)));
            }
        }
        let previous: Vec<f64> = s.values[..s.values.len() - 1].iter().filter_map(|v| *v).collect();
        if let Some((mean, std)) = sigma_rule(&previous, value, options) {
            let n = previous.len().min(options.window);
            out.push(flag(format!(
                "beyond {} sigma of the last {n} nights (mean {}, std {})",
                trim(options.sigma),
                trim(mean),
                trim(std)
            )));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> RuleOptions {
        RuleOptions::default()
    }

    #[test]
    fn k_sigma_flags_an_outlier_and_not_normal_noise() {
        // Previous nights 0.80, 0.82, 0.78, 0.80: mean 0.80, squared deviations 0, 4e-4, 4e-4, 0,
        // sample variance 8e-4 / 3, std 0.0163299; 3 sigma = 0.0489898.
        let previous = [0.80, 0.82, 0.78, 0.80];
        assert_eq!(sigma_rule(&previous, 0.84, &opts()), None, "0.04 from the mean is noise");
        assert_eq!(sigma_rule(&previous, 0.76, &opts()), None);
        let (mean, std) = sigma_rule(&previous, 0.86, &opts()).expect("0.06 from the mean is beyond 3 sigma");
        assert!((mean - 0.80).abs() < 1e-12 && (std - 0.016_329_9).abs() < 1e-7, "{mean} {std}");
        assert!(sigma_rule(&previous, 0.74, &opts()).is_some(), "both directions");
        // k = 2: 2 sigma = 0.03266, so 0.84 is flagged.
        assert!(sigma_rule(&previous, 0.84, &RuleOptions { sigma: 2.0, ..opts() }).is_some());
    }

    #[test]
    fn k_sigma_needs_enough_nights_and_uses_only_the_window() {
        // Two previous nights: never flagged, however far the value.
        assert_eq!(sigma_rule(&[0.80, 0.82], 100.0, &opts()), None);
        // Window 3 of [0.10, 0.80, 0.82, 0.78]: the old 0.10 is out; mean 0.80, std 0.02 (squared
        // deviations 0, 4e-4, 4e-4 over 2), 3 sigma = 0.06: 0.85 is noise, 0.87 is not.
        let w3 = RuleOptions { window: 3, ..opts() };
        assert_eq!(sigma_rule(&[0.10, 0.80, 0.82, 0.78], 0.85, &w3), None);
        assert!(sigma_rule(&[0.10, 0.80, 0.82, 0.78], 0.87, &w3).is_some());
        // With the old night in the window (default 7) its spread hides the same value.
        assert_eq!(sigma_rule(&[0.10, 0.80, 0.82, 0.78], 0.87, &opts()), None);
    }

    #[test]
    fn identical_nights_flag_a_real_change_but_not_float_noise() {
        let same = [0.5, 0.5, 0.5];
        assert_eq!(sigma_rule(&same, 0.500_001, &opts()), None, "below runs.csv's 6 decimals x 3");
        assert!(sigma_rule(&same, 0.51, &opts()).is_some());
    }

    fn entry(run: &str, group: &str, config: &str, seed: &str, metric: &str, value: f64) -> Entry {
        Entry {
            run_id: run.into(),
            date: format!("{run}-date"),
            commit: "c".into(),
            tier: "smoke".into(),
            experiment: "x".into(),
            group: group.into(),
            model: group.into(),
            config: config.into(),
            seed: seed.into(),
            metric: metric.into(),
            value,
            device: "cpu".into(),
            data_source: "synthetic".into(),
            wall_s: "2.0".into(),
            status: "ok".into(),
        }
    }

    #[test]
    fn nights_average_over_seeds_and_flag_the_golden_band() {
        let entries = vec![
            entry("n1", "elm", "d=1", "0", "auc", 0.5),
            entry("n1", "elm", "d=1", "1", "auc", 0.7),
            entry("n1", "elm", "d=1", "0", "rmse", 3.0),
            entry("n2", "elm", "d=1", "0", "auc", 0.9),
            entry("n2", "elm", "d=1", "1", "auc", 1.0),
        ];
        let nights = nights(&entries);
        assert_eq!(nights.iter().map(|n| n.run_id.as_str()).collect::<Vec<_>>(), ["n1", "n2"]);
        // Wall time once per run: n1 has seeds 0 and 1 (2 s each), n2 likewise.
        assert_eq!(nights[0].wall_s, 4.0);
        let s = series(&entries, &nights);
        assert_eq!(s[0].values, vec![Some(0.6), Some(0.95)]);
        assert_eq!(s[1].values, vec![Some(3.0), None]);
        let golden: GoldenFile = toml::from_str(
            "[[entry]]\nselector = { group = \"elm\", config = \"d=1\" }\nmetric = \"auc\"\nexpected = 0.6\ntolerance = 0.1\nmin = 0.55\nprovenance = \"p\"\n",
        )
        .unwrap();
        // Band [0.55, 0.7]: min 0.55 is tighter than 0.6 - 0.1.
        let b = band(&golden, &s[0], &s).unwrap();
        assert!((b.lo - 0.55).abs() < 1e-12 && (b.hi - 0.7).abs() < 1e-12, "{b:?}");
        let f = flags("x", &s, Some(&golden), &opts());
        assert_eq!(f.len(), 1, "{f:?}");
        let text = f[0].to_string();
        assert!(text.contains("x group=elm config=d=1 auc = 0.95") && text.contains("[0.55, 0.7]"), "{text}");
    }
}
