//! Expanding an experiment at a tier into its runs: groups x sweep points x seeds, each a full
//! training configuration with a stable hash and folder name.

use super::spec::{literal, ExperimentSpec, Settings};
use crate::models::ModelConfig;
use crate::train::config::TrainConfig;
use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

#[derive(Clone, Debug)]
pub struct RunSpec {
    /// Position in the experiment's run list (the Slurm array index).
    pub index: usize,
    pub group: String,
    pub label: String,
    /// The model keys this run sets (group `set` and its sweep point), in order.
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
    pub data_tier: String,
    pub runs: Vec<RunSpec>,
}

/// The sweep points of a group: its `cases`, or the cartesian product of its sweep (with the
/// tier's replacement values), or the group's single configuration.
fn points(spec_sweep: &std::collections::BTreeMap<String, Vec<toml::Value>>, cases: &[Settings]) -> Vec<Settings> {
    if !cases.is_empty() {
        return cases.to_vec();
    }
    let mut points = vec![Settings::new()];
    for (key, values) in spec_sweep {
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

pub fn plan(spec: &ExperimentSpec, tier: &str, seeds_override: Option<usize>) -> Result<Plan> {
    let t = spec.tier(tier)?;
    let seeds = seeds_override.or(t.seeds).unwrap_or(spec.seeds).max(1);
    let mut train_sets: Vec<String> = Vec::new();
    for (k, v) in spec.train.iter().chain(t.train.iter()) {
        train_sets.push(format!("train.{k}={}", literal(v)));
    }
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
        for point in points(&sweep, &group.cases) {
            let mut settings: Vec<(String, String)> = group.set.iter().map(|(k, v)| (k.clone(), literal(v))).collect();
            let swept: Vec<(String, String)> = point.iter().map(|(k, v)| (k.clone(), literal(v))).collect();
            settings.extend(swept.iter().cloned());
            let model_sets: Vec<String> = settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let model = ModelConfig::neuronio_preset(&group.model)
                .and_then(|m| m.with_overrides(&model_sets))
                .with_context(|| format!("{}: group `{}` at {:?}", spec.name, group.name, model_sets))?;
            let label = match &group.label {
                Some(template) => fill_label(template, &settings),
                None if swept.is_empty() => group.name.clone(),
                None => swept.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", "),
            };
            for seed in 0..seeds as u64 {
                let base = TrainConfig { model: model.clone(), data: Default::default(), train: Default::default() };
                let mut sets = train_sets.clone();
                sets.extend(group.train.iter().map(|(k, v)| format!("train.{k}={}", literal(v))));
                sets.push(format!("train.seed={seed}"));
                let config = crate::overrides::apply(&base, &sets)
                    .with_context(|| format!("{}: [train] / tiers.{tier}.train", spec.name))?;
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
    let data_tier = t.data.clone().unwrap_or_else(|| tier.to_string());
    Ok(Plan { experiment: spec.name.clone(), tier: tier.to_string(), data_tier, runs })
}

fn hash_without_seed(config: &TrainConfig) -> Result<String> {
    let mut unseeded = config.clone();
    unseeded.train.seed = 0;
    let text = serde_json::to_string(&unseeded)?;
    let digest = Sha256::digest(text.as_bytes());
    Ok(digest.iter().take(6).map(|b| format!("{b:02x}")).collect())
}
