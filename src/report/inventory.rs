//! The paper's tables and figures and the experiments that cover them
//! (`benchmarks/paper/inventory.toml`; schema in its header): what the reproduction report lists,
//! covered or not. Data, not code, so a new experiment or a newly identified figure is one entry.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::path::Path;

/// Where the inventory lives below the repository root (a folder of its own: every
/// `benchmarks/*.toml` is an experiment).
pub const INVENTORY: &str = "benchmarks/paper/inventory.toml";
const MAX_BYTES: u64 = 1 << 20;
const MAX_ITEMS: usize = 500;
const SECTIONS: [&str; 3] = ["main", "appendix", "rebuttal"];

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    #[serde(default)]
    pub item: Vec<Item>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub id: String,
    pub section: String,
    pub title: String,
    #[serde(default)]
    pub experiments: Vec<String>,
    pub part: Option<String>,
    pub note: Option<String>,
}

impl Inventory {
    /// Reads `root/benchmarks/paper/inventory.toml`; every experiment it names must exist in
    /// `known` (the names of benchmarks/*.toml).
    pub fn load(root: &Path, known: &[String]) -> Result<Self> {
        let path = root.join(INVENTORY);
        let size = std::fs::metadata(&path).with_context(|| format!("reading {}", path.display()))?.len();
        if size > MAX_BYTES {
            bail!("{} is {size} bytes (at most {MAX_BYTES})", path.display());
        }
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let inventory: Inventory = toml::from_str(&text).with_context(|| format!("invalid {}", path.display()))?;
        if inventory.item.len() > MAX_ITEMS {
            bail!("{}: {} items (at most {MAX_ITEMS})", path.display(), inventory.item.len());
        }
        for (i, item) in inventory.item.iter().enumerate() {
            if !SECTIONS.contains(&item.section.as_str()) {
                bail!(
                    "{}: item {} ({}): section = {:?} is not one of {}",
                    path.display(),
                    i + 1,
                    item.id,
                    item.section,
                    SECTIONS.join(", ")
                );
            }
            if inventory.item[..i].iter().any(|o| o.id == item.id) {
                bail!("{}: item {} repeats id {:?}", path.display(), i + 1, item.id);
            }
            for e in &item.experiments {
                if !known.contains(e) {
                    bail!(
                        "{}: item {} ({}) names the experiment {e:?}, which is not in benchmarks/ ({})",
                        path.display(),
                        i + 1,
                        item.id,
                        known.join(", ")
                    );
                }
            }
        }
        Ok(inventory)
    }

    /// The items an experiment covers.
    pub fn covered_by(&self, experiment: &str) -> Vec<&Item> {
        self.item.iter().filter(|i| i.experiments.iter().any(|e| e == experiment)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Inventory> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("benchmarks/paper")).unwrap();
        std::fs::write(dir.path().join(INVENTORY), text).unwrap();
        Inventory::load(dir.path(), &["fig2".to_string()])
    }

    #[test]
    fn unknown_experiments_sections_and_keys_are_named() {
        let item = |extra: &str| format!("[[item]]\nid = \"Figure 2\"\nsection = \"main\"\ntitle = \"t\"\n{extra}\n");
        assert_eq!(load(&item("experiments = [\"fig2\"]")).unwrap().covered_by("fig2").len(), 1);
        let err = format!("{:#}", load(&item("experiments = [\"fig9\"]")).unwrap_err());
        assert!(err.contains("item 1 (Figure 2) names the experiment \"fig9\""), "{err}");
        let err = format!("{:#}", load(&item("colour = 1")).unwrap_err());
        assert!(err.contains("colour"), "{err}");
        let err = format!("{:#}", load(&item("").replace("main", "middle")).unwrap_err());
        assert!(err.contains("section = \"middle\""), "{err}");
    }
}
