//! `elmbench history`: the nightly history of an experiment's metrics. `history <experiment>`
//! prints and draws the trend and flags regressions; `history record` appends a night's results;
//! `history summary` writes the nightly summary.

use crate::experiments::ExperimentSpec;
use crate::golden::GoldenFile;
use crate::history::figure::{draw, TrendFigure};
use crate::history::render::{night_legend, trend_table};
use crate::history::summary::{experiment_night, render, Sources};
use crate::history::trend::{band, watched, DEFAULT_MIN_NIGHTS, DEFAULT_SIGMA, DEFAULT_WINDOW};
use crate::history::{flags, history_path, nights, read_history, record, series, RuleOptions};
use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Regression rules (on the last night's value of each configuration and metric):\n  \
      golden band  the value is outside expected +- tolerance (and min/max) of golden/<experiment>.<tier>.toml\n  \
      k sigma      the value is more than --sigma sample stds from the mean of the previous --window nights\n               \
      (needs at least 3 previous nights; std floored at 1e-6 x max(1, |mean|))\n\
      Exit status: 0 when nothing is flagged, 1 when a regression is flagged (or on an error)."
)]
pub struct HistoryArgs {
    #[command(subcommand)]
    pub action: Option<HistoryAction>,
    #[command(flatten)]
    pub trend: TrendArgs,
}

#[derive(Subcommand)]
pub enum HistoryAction {
    /// Append the metrics of <results>/<experiment>/<tier>/runs.csv to
    /// <history>/<experiment>.<tier>.csv as one night (what `make nightly` runs after each reproduce).
    Record(RecordArgs),
    /// Write the nightly summary (<history>/nightly-<run id>.md and latest.md): golden checks,
    /// flags and what changed since the previous night, per experiment. Exit status 1 when a
    /// regression is flagged.
    Summary(SummaryArgs),
}

#[derive(Args)]
pub struct Places {
    /// The tier (smoke, quick, paper).
    #[arg(long, default_value = "quick")]
    pub tier: String,
    /// The results root holding <experiment>/<tier>/runs.csv (read by `record` and `summary`).
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// The history folder.
    #[arg(long, default_value = "results/history")]
    pub history: PathBuf,
    /// The repository root holding benchmarks/ and golden/.
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
}

#[derive(Args)]
pub struct Rules {
    /// k of the k-sigma rule: flag a value more than k sample standard deviations from the mean
    /// of the previous nights.
    #[arg(long, default_value_t = DEFAULT_SIGMA)]
    pub sigma: f64,
    /// N of the k-sigma rule: how many previous nights (those with a value) the mean and std are
    /// over; at least 3 of them must exist for the rule to apply.
    #[arg(long, default_value_t = DEFAULT_WINDOW, value_parser = super::at_least_one)]
    pub window: usize,
}

impl Rules {
    fn options(&self) -> Result<RuleOptions> {
        if !(self.sigma.is_finite() && self.sigma > 0.0) {
            bail!("--sigma {}: must be a positive number", self.sigma);
        }
        Ok(RuleOptions { sigma: self.sigma, window: self.window, min_nights: DEFAULT_MIN_NIGHTS })
    }
}

#[derive(Args)]
pub struct TrendArgs {
    /// The experiment (benchmarks/<name>.toml).
    #[arg(required = true)]
    pub experiment: Option<String>,
    /// Only this metric (any recorded runs.csv column such as test_auc); default: the
    /// experiment's declared metrics and those its golden file checks.
    #[arg(long)]
    pub metric: Option<String>,
    /// How many of the last nights the table shows.
    #[arg(long, default_value_t = 5, value_parser = super::at_least_one)]
    pub nights: usize,
    /// Where the figures go (default: the history folder): <experiment>.<tier>.<metric>.png|svg.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub places: Places,
    #[command(flatten)]
    pub rules: Rules,
}

#[derive(Args)]
pub struct RecordArgs {
    /// The experiment (benchmarks/<name>.toml).
    pub experiment: String,
    /// The night's id (letters, digits, . _ -); default: <UTC time>-<commit>. One id per nightly
    /// invocation; recording an id again replaces its entries.
    #[arg(long)]
    pub run_id: Option<String>,
    #[command(flatten)]
    pub places: Places,
}

#[derive(Args)]
pub struct SummaryArgs {
    /// The experiments (default: every benchmarks/*.toml).
    pub experiments: Vec<String>,
    /// The night to summarise (default: each history's last night).
    #[arg(long)]
    pub run_id: Option<String>,
    #[command(flatten)]
    pub places: Places,
    #[command(flatten)]
    pub rules: Rules,
}

pub fn run(args: HistoryArgs) -> Result<()> {
    match args.action {
        Some(HistoryAction::Record(a)) => run_record(a),
        Some(HistoryAction::Summary(a)) => run_summary(a),
        None => run_trend(args.trend),
    }
}

fn run_record(args: RecordArgs) -> Result<()> {
    let p = &args.places;
    ExperimentSpec::load(&p.root, &args.experiment)?.tier(&p.tier)?;
    let r = record(&p.results, &p.history, &args.experiment, &p.tier, args.run_id.as_deref())?;
    println!(
        "recorded night {} of {} ({}): {} entries{}; {} night(s) in {}",
        r.run_id,
        args.experiment,
        p.tier,
        r.added,
        if r.replaced > 0 { format!(" (replacing {} of an earlier recording)", r.replaced) } else { String::new() },
        r.nights,
        r.path.display()
    );
    Ok(())
}

fn run_trend(args: TrendArgs) -> Result<()> {
    let p = &args.places;
    let experiment = args.experiment.clone().unwrap_or_default();
    let spec = ExperimentSpec::load(&p.root, &experiment)?;
    spec.tier(&p.tier)?;
    let path = history_path(&p.history, &experiment, &p.tier);
    if !path.exists() {
        bail!(
            "no history at {}: record a night with `elmbench history record {experiment} --tier {}`",
            path.display(),
            p.tier
        );
    }
    let golden_path = p.root.join("golden").join(format!("{experiment}.{}.toml", p.tier));
    let golden = if golden_path.exists() { Some(GoldenFile::load(&golden_path)?) } else { None };
    let mut entries = read_history(&path)?;
    let known: std::collections::BTreeSet<String> = entries.iter().map(|e| e.metric.clone()).collect();
    let shown: Vec<String> = match &args.metric {
        Some(m) if known.contains(m) => vec![m.clone()],
        Some(m) => {
            bail!("{}: no metric `{m}` (metrics: {})", path.display(), known.into_iter().collect::<Vec<_>>().join(", "))
        }
        None => watched(&spec.metrics, golden.as_ref()),
    };
    entries.retain(|e| shown.contains(&e.metric));
    let order = nights(&entries);
    let all = series(&entries, &order);
    let options = args.rules.options()?;
    let flagged = flags(&experiment, &all, golden.as_ref(), &options);
    println!("{} (tier {}): {} night(s) in {}\n", spec.title, p.tier, order.len(), path.display());
    print!("{}", night_legend(&order, args.nights));
    if order.iter().any(|n| n.data_source.contains("synthetic")) {
        println!("\n**SYNTHETIC DATA** in these nights: not comparable to the paper's numbers.");
    }
    println!("\n{}", trend_table(&order, &all, golden.as_ref(), &flagged, args.nights));
    let out = args.out.clone().unwrap_or_else(|| p.history.clone());
    let mut metrics: Vec<&str> = Vec::new();
    for s in &all {
        if !metrics.contains(&s.metric.as_str()) {
            metrics.push(&s.metric);
        }
    }
    let synthetic = order.iter().any(|n| n.data_source.contains("synthetic"));
    for metric in metrics {
        let chosen: Vec<_> = all
            .iter()
            .filter(|s| s.metric == metric)
            .map(|s| (s, golden.as_ref().and_then(|g| band(g, s, &all))))
            .collect();
        let title = format!(
            "{} ({}): {} per night{}",
            spec.title.split(':').next().unwrap_or(&experiment),
            p.tier,
            crate::experiments::plots::axis_label(metric),
            if synthetic { " (SYNTHETIC data)" } else { "" }
        );
        let figure = TrendFigure { title, metric, nights: &order, series: chosen };
        for file in draw(&figure, &out, &format!("{experiment}.{}.{metric}", p.tier))? {
            println!("wrote {}", file.display());
        }
    }
    if !flagged.is_empty() {
        for f in &flagged {
            eprintln!("{f}");
        }
        bail!("{} regression(s) flagged in {experiment} ({})", flagged.len(), p.tier);
    }
    println!("\nno regression flagged (golden bands; {} sigma over the last {} nights)", options.sigma, options.window);
    Ok(())
}

fn run_summary(args: SummaryArgs) -> Result<()> {
    let p = &args.places;
    let options = args.rules.options()?;
    let experiments =
        if args.experiments.is_empty() { crate::experiments::spec::list(&p.root)? } else { args.experiments.clone() };
    if let Some(id) = &args.run_id {
        crate::history::store::validate_run_id(id)?;
    }
    let src = Sources { root: &p.root, results: &p.results, history: &p.history, tier: &p.tier };
    let mut parts = Vec::new();
    for e in &experiments {
        ExperimentSpec::load(&p.root, e)?;
        parts.push(experiment_night(&src, e, args.run_id.as_deref(), &options)?);
    }
    let date = crate::history::clock::iso_utc(crate::history::clock::now_seconds());
    let text = render(&p.tier, args.run_id.as_deref(), &date, &parts);
    std::fs::create_dir_all(&p.history)?;
    let name = match &args.run_id {
        Some(id) => format!("nightly-{id}.md"),
        None => format!("nightly-{}.md", date.replace(':', "")),
    };
    let page = p.history.join(name);
    crate::io::write_atomically(&page, text.as_bytes())?;
    crate::io::write_atomically(&p.history.join("latest.md"), text.as_bytes())?;
    print!("{text}");
    println!("\nwrote {} and latest.md", page.display());
    let flagged: usize = parts.iter().map(|x| x.flags.len()).sum();
    if flagged > 0 {
        bail!("{flagged} regression(s) flagged; see {}", page.display());
    }
    Ok(())
}
