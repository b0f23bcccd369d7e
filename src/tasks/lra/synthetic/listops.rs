//! ListOps with the LRA generator's algorithm (DATASETS.md 3.2; google-research/long-range-arena
//! `lra_benchmarks/data/listops.py`), written as `listops-1000/basic_{train,val,test}.tsv`.
//!
//! * A node at depth d < `max_depth` draws r uniform in [0, 1) (at `max_depth`, r = 1); r >
//!   `value_p` makes a leaf, a uniform digit 0-9; otherwise an operator node with k uniform in
//!   [2, `max_args`] children (generated first, at depth d + 1) and an operator uniform over MIN,
//!   MAX, MED, SM. Length: 1 per leaf, 2 + the children's per operator (the operator and `]`).
//! * The root is drawn at depth 1 until 500 < length < 2000 (strict) and kept only if no earlier
//!   tree of the whole dataset (all three splits, as the original's set) is the same tree.
//! * Serialisation: the node is the left-nested pair chain ((op, c1), c2) ... , `]`, and a pair
//!   (a, b) prints as `( a b )`, so `[MAX 2 9]` is `( ( ( [MAX 2 ) 9 ) ] )`.
//! * Values: MIN, MAX; MED is the median, the mean of the middle two for an even count,
//!   truncated (Python's `int(np.median(...))`); SM is the sum mod 10.
//! * TSV: header `Source\tTarget`, CRLF line ends (Python's csv writer), no quoting (no field
//!   holds a tab or a quote).
//!
//! The random numbers are the project's, not Python's, so the trees are not the real files'
//! trees; their distribution is. Only one thing differs from the Python loop: a tree is
//! abandoned as soon as it reaches `max_length` tokens (it would be rejected anyway), which
//! changes nothing about the accepted trees' distribution.
//! Splits are consecutive runs of the accepted trees: train, then val, then test.
//! The smoke and quick tiers narrow the accepted lengths only ([`Knobs::for_tier`]).

use super::{check_range, create, create_dir, finish, item_rng, progress, Stream, CHUNK};
use crate::engine::Rng;
use crate::tasks::Tier;
use anyhow::{bail, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

pub const FOLDER: &str = "listops-1000";
pub const SPLITS: [&str; 3] = ["train", "val", "test"];
pub const HEADER: &str = "Source\tTarget";

pub fn file_name(split: &str) -> String {
    format!("basic_{split}.tsv")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Operator {
    Min,
    Max,
    Med,
    SumMod,
}

impl Operator {
    /// In the original's `OPERATORS` order (FIRST and LAST are disabled there).
    pub const ALL: [Operator; 4] = [Operator::Min, Operator::Max, Operator::Med, Operator::SumMod];

    pub fn token(self) -> &'static str {
        match self {
            Operator::Min => "[MIN",
            Operator::Max => "[MAX",
            Operator::Med => "[MED",
            Operator::SumMod => "[SM",
        }
    }

    /// The operator applied to its arguments' values (at least one).
    pub fn apply(self, args: &[u8]) -> u8 {
        match self {
            Operator::Min => args.iter().copied().min().unwrap_or(0),
            Operator::Max => args.iter().copied().max().unwrap_or(0),
            Operator::SumMod => (args.iter().map(|&a| a as u32).sum::<u32>() % 10) as u8,
            Operator::Med => {
                let mut sorted = args.to_vec();
                sorted.sort_unstable();
                let n = sorted.len();
                if n == 0 {
                    0
                } else if n % 2 == 1 {
                    sorted[n / 2]
                } else {
                    // int() of the mean of the middle two: non-negative, so truncation is floor.
                    ((sorted[n / 2 - 1] as u32 + sorted[n / 2] as u32) / 2) as u8
                }
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Tree {
    Digit(u8),
    Apply { operator: Operator, args: Vec<Tree> },
}

impl Tree {
    /// The generator's length: tokens once the parentheses are removed.
    pub fn length(&self) -> usize {
        match self {
            Tree::Digit(_) => 1,
            Tree::Apply { args, .. } => 2 + args.iter().map(Tree::length).sum::<usize>(),
        }
    }

    pub fn value(&self) -> u8 {
        match self {
            Tree::Digit(d) => *d,
            Tree::Apply { operator, args } => {
                let values: Vec<u8> = args.iter().map(Tree::value).collect();
                operator.apply(&values)
            }
        }
    }

    /// Levels of operators (a digit has depth 0).
    pub fn depth(&self) -> usize {
        match self {
            Tree::Digit(_) => 0,
            Tree::Apply { args, .. } => 1 + args.iter().map(Tree::depth).max().unwrap_or(0),
        }
    }

    /// Appends the LRA serialisation (left-nested pairs in parentheses).
    pub fn write(&self, out: &mut String) {
        match self {
            Tree::Digit(d) => out.push((b'0' + d) as char),
            Tree::Apply { operator, args } => {
                // k args + `]` make k + 1 pairs, each opening here and closing after its right part.
                for _ in 0..=args.len() {
                    out.push_str("( ");
                }
                out.push_str(operator.token());
                for (i, arg) in args.iter().enumerate() {
                    if i > 0 {
                        out.push_str(" ) ");
                    } else {
                        out.push(' ');
                    }
                    arg.write(out);
                }
                out.push_str(" ) ] )");
            }
        }
    }

    pub fn to_source(&self) -> String {
        let mut s = String::with_capacity(self.length() * 7);
        self.write(&mut s);
        s
    }

    /// Operator nodes by operator (in `Operator::ALL` order), and the number of arguments of
    /// each operator node.
    pub fn census(&self, operators: &mut [u64; 4], arity: &mut [u64; 11]) {
        if let Tree::Apply { operator, args } = self {
            operators[Operator::ALL.iter().position(|o| o == operator).unwrap_or(0)] += 1;
            arity[args.len().min(10)] += 1;
            for a in args {
                a.census(operators, arity);
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Knobs {
    /// Probability that a node (above `max_depth`) is an operator: the original's VALUE_P.
    pub value_p: f64,
    pub max_depth: usize,
    pub max_args: usize,
    /// Accepted lengths are strictly between these.
    pub min_length: usize,
    pub max_length: usize,
}

impl Default for Knobs {
    /// The LRA generator's defaults (the paper tier).
    fn default() -> Self {
        Self { value_p: 0.25, max_depth: 10, max_args: 10, min_length: 500, max_length: 2000 }
    }
}

impl Knobs {
    /// The paper tier keeps the LRA generator's limits; the smoke and quick tiers keep its
    /// algorithm but draw shallow trees (depth 3, at most 5 arguments, 4 < length < 100), whose
    /// value a model trained for a minute can learn (trees as deep as the paper tier's stayed at
    /// the majority class, 18 %, after 9,000 presentations).
    pub fn for_tier(tier: Tier) -> Self {
        match tier {
            Tier::Paper => Self::default(),
            Tier::Smoke | Tier::Quick => {
                Self { max_depth: 3, max_args: 5, min_length: 4, max_length: 100, ..Self::default() }
            }
        }
    }

    pub fn validate(&self) -> Result<()> {
        check_range("value_p", self.value_p, 0.01, 1.0)?;
        check_range("max_depth", self.max_depth as f64, 2.0, 64.0)?;
        check_range("max_args", self.max_args as f64, 2.0, 64.0)?;
        if self.min_length + 1 >= self.max_length {
            bail!("knobs min_length = {} and max_length = {} leave no length", self.min_length, self.max_length);
        }
        // The longest tree: operators with max_args children down to max_depth.
        let longest =
            (1..self.max_depth).fold(1usize, |below, _| below.saturating_mul(self.max_args).saturating_add(2));
        if longest <= self.min_length {
            bail!(
                "knobs max_depth = {} and max_args = {} allow at most {longest} tokens, not more than min_length = {}",
                self.max_depth,
                self.max_args,
                self.min_length
            );
        }
        Ok(())
    }
}

/// One node at `depth`; `None` once the tree has `max_length` tokens (it cannot be accepted).
fn grow(rng: &mut Rng, knobs: &Knobs, depth: usize, tokens: &mut usize) -> Option<Tree> {
    let r = if depth < knobs.max_depth { rng.uniform_f64() } else { 1.0 };
    if r > knobs.value_p {
        *tokens += 1;
        return (*tokens < knobs.max_length).then(|| Tree::Digit(rng.below(10) as u8));
    }
    *tokens += 2;
    if *tokens >= knobs.max_length {
        return None;
    }
    let k = 2 + rng.below(knobs.max_args as u64 - 1) as usize;
    let mut args = Vec::with_capacity(k);
    for _ in 0..k {
        args.push(grow(rng, knobs, depth + 1, tokens)?);
    }
    let operator = Operator::ALL[rng.below(4) as usize];
    Some(Tree::Apply { operator, args })
}

/// Root draws before the knobs are declared unable to give an accepted length (the defaults
/// need about a dozen).
pub const MAX_DRAWS: u64 = 10_000_000;

/// Draws roots until one has min_length < length < max_length; returns it and the draws used.
pub fn draw(rng: &mut Rng, knobs: &Knobs) -> Result<(Tree, u64)> {
    for draws in 1..=MAX_DRAWS {
        let mut tokens = 0;
        if let Some(tree) = grow(rng, knobs, 1, &mut tokens) {
            if tokens > knobs.min_length {
                return Ok((tree, draws));
            }
        }
    }
    bail!(
        "no ListOps tree with {} < length < {} in {MAX_DRAWS} draws (value_p {}, max_depth {}, max_args {})",
        knobs.min_length,
        knobs.max_length,
        knobs.value_p,
        knobs.max_depth,
        knobs.max_args
    )
}

/// Redraws of one tree before the knobs are declared too narrow for unique trees.
pub const MAX_REDRAWS: u64 = 255;

/// Tree `index` of the whole dataset (train, val and test counted on), before duplicates are
/// removed; `redraw` (at most [`MAX_REDRAWS`]) > 0 is the redraw after as many duplicates.
pub fn tree(seed: u64, knobs: &Knobs, index: usize, redraw: u64) -> Result<(Tree, u64)> {
    draw(&mut item_rng(seed, Stream::ListOps, redraw % (MAX_REDRAWS + 1), index as u64), knobs)
}

/// What the marker records.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Statistics {
    pub trees: u64,
    pub mean_length: f64,
    pub min_length: usize,
    pub max_length: usize,
    pub mean_depth: f64,
    pub max_depth: usize,
    /// Root draws per accepted tree.
    pub draws_per_tree: f64,
    /// Trees drawn again because an earlier tree was the same.
    pub duplicates_redrawn: u64,
    /// Targets 0-9 over all splits.
    pub targets: [u64; 10],
    /// Operator nodes per operator (MIN, MAX, MED, SM).
    pub operators: [u64; 4],
    /// Operator nodes per argument count (index = count).
    pub arity: [u64; 11],
    /// Root operators (MIN, MAX, MED, SM).
    pub root_operators: [u64; 4],
}

/// Writes the three TSV files into `dir`.
pub fn write(dir: &Path, tier: Tier, seed: u64, knobs: &Knobs, sizes: [usize; 3]) -> Result<Statistics> {
    create_dir(dir)?;
    let total: usize = sizes.iter().sum();
    let bar = progress(tier, "ListOps", total as u64)?;
    let mut seen: HashSet<[u8; 16]> = HashSet::with_capacity(total);
    let mut stats = Statistics { min_length: usize::MAX, ..Statistics::default() };
    let (mut length_sum, mut depth_sum, mut draws) = (0u64, 0u64, 0u64);
    let mut first = 0;
    for (split, &count) in SPLITS.iter().zip(&sizes) {
        let path = dir.join(file_name(split));
        let mut out = create(&path)?;
        write!(out, "{HEADER}\r\n")?;
        for begin in (first..first + count).step_by(CHUNK) {
            let end = (begin + CHUNK).min(first + count);
            let drawn: Vec<(Tree, u64, String)> = (begin..end)
                .into_par_iter()
                .map(|i| {
                    let (t, n) = tree(seed, knobs, i, 0)?;
                    let s = t.to_source();
                    Ok((t, n, s))
                })
                .collect::<Result<_>>()?;
            for (offset, (mut t, mut n, mut s)) in drawn.into_iter().enumerate() {
                // Duplicates are checked in index order, so the outcome does not depend on threads.
                let mut redraw = 0;
                loop {
                    let digest: [u8; 32] = Sha256::digest(s.as_bytes()).into();
                    let mut key = [0u8; 16];
                    key.copy_from_slice(&digest[..16]);
                    if seen.insert(key) {
                        break;
                    }
                    redraw += 1;
                    stats.duplicates_redrawn += 1;
                    if redraw > MAX_REDRAWS {
                        bail!(
                            "ListOps tree {}: {MAX_REDRAWS} redraws all repeated earlier trees; the knobs \
                             (lengths {}..{}) leave too few distinct trees for {total}",
                            begin + offset,
                            knobs.min_length,
                            knobs.max_length
                        );
                    }
                    (t, n) = tree(seed, knobs, begin + offset, redraw)?;
                    s = t.to_source();
                }
                let (length, depth, value) = (t.length(), t.depth(), t.value());
                write!(out, "{s}\t{value}\r\n")?;
                stats.trees += 1;
                length_sum += length as u64;
                depth_sum += depth as u64;
                draws += n;
                stats.min_length = stats.min_length.min(length);
                stats.max_length = stats.max_length.max(length);
                stats.max_depth = stats.max_depth.max(depth);
                stats.targets[value as usize] += 1;
                t.census(&mut stats.operators, &mut stats.arity);
                if let Tree::Apply { operator, .. } = &t {
                    stats.root_operators[Operator::ALL.iter().position(|o| o == operator).unwrap_or(0)] += 1;
                }
                bar.inc(1);
            }
        }
        finish(out, &path)?;
        first += count;
    }
    bar.finish_and_clear();
    let n = stats.trees.max(1) as f64;
    stats.mean_length = length_sum as f64 / n;
    stats.mean_depth = depth_sum as f64 / n;
    stats.draws_per_tree = draws as f64 / n;
    if stats.trees == 0 {
        stats.min_length = 0;
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialisation_matches_the_documented_example() {
        let t = Tree::Apply { operator: Operator::Max, args: vec![Tree::Digit(2), Tree::Digit(9)] };
        assert_eq!(t.to_source(), "( ( ( [MAX 2 ) 9 ) ] )");
        let nested = Tree::Apply { operator: Operator::SumMod, args: vec![Tree::Digit(7), t.clone(), Tree::Digit(5)] };
        assert_eq!(nested.to_source(), "( ( ( ( [SM 7 ) ( ( ( [MAX 2 ) 9 ) ] ) ) 5 ) ] )");
        assert_eq!(nested.value(), (7 + 9 + 5) % 10);
        assert_eq!(nested.length(), 2 + 1 + 4 + 1);
    }

    #[test]
    fn median_truncates_the_mean_of_the_middle_two() {
        assert_eq!(Operator::Med.apply(&[1, 4]), 2);
        assert_eq!(Operator::Med.apply(&[9, 0, 3]), 3);
        assert_eq!(Operator::Med.apply(&[8, 1, 2, 7]), 4);
        assert_eq!(Operator::SumMod.apply(&[9, 9, 9]), 7);
    }

    #[test]
    fn drawn_trees_respect_the_limits() {
        let knobs = Knobs::default();
        let mut rng = Rng::new(1);
        for _ in 0..20 {
            let (t, _) = draw(&mut rng, &knobs).unwrap();
            assert!(t.length() > 500 && t.length() < 2000);
            assert!(t.depth() <= 9, "operators only above max_depth");
        }
    }
}
