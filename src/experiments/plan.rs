//! Expanding an experiment at a tier into its runs: groups x sweep points x seeds, each a full
//! training configuration (model, task, training settings) with a stable hash and folder name.
//!
//! A run's settings come from its group's `set` (with the tier's additions) and its sweep point.
//! A key names a model key as it is (`num_memory`), a task setting as `task.<key>` and a training
//! setting as `train.<key>`. The task's settings are applied first, because the task's model
//! preset depends on them (SHD's bin size is the model's time step); then the model keys; then
//! the training settings in the order experiment, group, tier, run: a group says how the paper
//! trains it (Path-X's batch of 768), a tier shrinks every group alike (one epoch), and a tier's
//! per-group `set` has the last word.

use super::spec::{literal, ExperimentSpec, Settings};
use crate::tasks::{TaskConfig, Tier};
use crate::train::config::TrainConfig;
use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

#[derive(Clone, Debug)]
pub struct RunSpec {
    /// Position in the experiment's run list (the Slurm array index).
    pub index: usize,
    pub group: String,
    pub label: String,
    /// The keys this run sets (group `set` and its sweep point), in order, as written.
    pub settings: Vec<(String, String)>,
    pub config: TrainConfig,
    pub seed: u64,
    /// sha256 of the configuration without the seed, first 12 hex digits.
    pub config_hash: String,
    /// Folder name: `<group>-<hash>-seed<k>`.
    pub run_id: String,
}

pub struct Plan {
    pub experiment: String,
    pub tier: String,
    /// The synthetic tier to use when no real data is present.
    pub data_tier: Tier,
    pub runs: Vec<RunSpec>,
}

/// More runs than this in one plan is a mistake in a declaration, not an experiment.
pub const MAX_RUNS: usize = 100_000;

/// The sweep points of a group: its `cases`, or the cartesian product of its sweep (with the
/// tier's replacement values), or the group's single configuration.
fn points(sweep: &std::collections::BTreeMap<String, Vec<toml::Value>>, cases: &[Settings]) -> Vec<Settings> {
    if !cases.is_empty() {
        return cases.to_vec();
    }
    let mut points = vec![Settings::new()];
    for (key, values) in sweep {
        points = points
            .into_iter()
            .flat_map(|p| {
                values.iter().map(move |v| {
                    let mut q = p.clone();
                    q.insert(key.clone(), v.clone());
                    q
                })
            })
            .collect();
    }
    points
}

fn fill_label(template: &str, settings: &[(String, String)]) -> String {
    let mut label = template.to_string();
    for (k, v) in settings {
        label = label.replace(&format!("{{{k}}}"), v);
    }
    label
}

/// Splits settings into (task, model, train) assignments by their prefix.
fn by_section(settings: &[(String, String)]) -> (Vec<String>, Vec<String>, Vec<String>) {
    let (mut task, mut model, mut train) = (Vec::new(), Vec::new(), Vec::new());
    for (k, v) in settings {
        if let Some(key) = k.strip_prefix("task.") {
            task.push(format!("{key}={v}"));
        } else if k.starts_with("train.") {
            train.push(format!("{k}={v}"));
        } else {
            model.push(format!("{k}={v}"));
        }
    }
    (task, model, train)
}

pub fn plan(spec: &ExperimentSpec, tier: &str, seeds_override: Option<usize>) -> Result<Plan> {
    let t = spec.tier(tier)?;
    let seeds = seeds_override.or(t.seeds).unwrap_or(spec.seeds).max(1);
    if seeds > super::spec::MAX_SEEDS {
        bail!("{seeds} seeds: at most {} per configuration", super::spec::MAX_SEEDS);
    }
    let as_sets = |settings: &Settings| -> Vec<String> {
        settings.iter().map(|(k, v)| format!("train.{k}={}", literal(v))).collect()
    };
    let mut runs = Vec::new();
    for group in &spec.group {
        if t.groups.as_ref().is_some_and(|gs| !gs.contains(&group.name)) {
            continue;
        }
        let mut sweep = group.sweep.clone();
        if let Some(replacement) = t.sweep.get(&group.name) {
            for (k, v) in replacement {
                sweep.insert(k.clone(), v.clone());
            }
        }
        let mut fixed = group.set.clone();
        if let Some(extra) = t.set.get(&group.name) {
            for (k, v) in extra {
                fixed.insert(k.clone(), v.clone());
            }
        }
        let planned = sweep.values().try_fold(seeds, |n, values| n.checked_mul(values.len().max(1)));
        if planned.is_none_or(|n| runs.len() + n > MAX_RUNS) {
            bail!("{}: group `{}` would add more than {MAX_RUNS} runs", spec.name, group.name);
        }
        for point in points(&sweep, &group.cases) {
            let mut settings: Vec<(String, String)> = fixed.iter().map(|(k, v)| (k.clone(), literal(v))).collect();
            let swept: Vec<(String, String)> = point.iter().map(|(k, v)| (k.clone(), literal(v))).collect();
            settings.extend(swept.iter().cloned());
            let (task_sets, model_sets, run_train_sets) = by_section(&settings);
            let context = || format!("{}: group `{}` at {:?}", spec.name, group.name, settings);
            let task = TaskConfig::named(spec.task_of(group))
                .and_then(|task| crate::overrides::apply(&task, &task_sets))
                .and_then(|task| task.validate().map(|()| task))
                .with_context(context)?;
            let model =
                task.model_preset(&group.model).and_then(|m| m.with_overrides(&model_sets)).with_context(context)?;
            let label = match &group.label {
                Some(template) => fill_label(template, &settings),
                None if swept.is_empty() => group.name.clone(),
                None => swept.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", "),
            };
            for seed in 0..seeds as u64 {
                let base = TrainConfig { model: model.clone(), task: task.clone(), train: Default::default() };
                let mut sets = as_sets(&spec.train);
                sets.extend(as_sets(&group.train));
                sets.extend(as_sets(&t.train));
                sets.extend(run_train_sets.iter().cloned());
                sets.push(format!("train.seed={seed}"));
                let config = crate::overrides::apply(&base, &sets)
                    .and_then(|c| c.validate().map(|()| c))
                    .with_context(|| format!("{}: [train] / group `{}` / tiers.{tier}.train", spec.name, group.name))?;
                let config_hash = hash_without_seed(&config)?;
                let run_id = format!("{}-{config_hash}-seed{seed}", group.name);
                runs.push(RunSpec {
                    index: runs.len(),
                    group: group.name.clone(),
                    label: label.clone(),
                    settings: settings.clone(),
                    config,
                    seed,
                    config_hash,
                    run_id,
                });
            }
        }
    }
    let data_tier = Tier::parse(t.data.as_deref().unwrap_or(tier))?;
    Ok(Plan { experiment: spec.name.clone(), tier: tier.to_string(), data_tier, runs })
}

fn hash_without_seed(config: &TrainConfig) -> Result<String> {
    let mut unseeded = config.clone();
    unseeded.train.seed = 0;
    let text = serde_json::to_string(&unseeded)?;
    let digest = Sha256::digest(text.as_bytes());
    Ok(digest.iter().take(6).map(|b| format!("{b:02x}")).collect())
}
