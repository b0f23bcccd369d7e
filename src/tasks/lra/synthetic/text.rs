//! The Text task's source, IMDB, in the `aclImdb_v1` layout (DATASETS.md 3.3):
//! `aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt`, ids 0.. per folder, ratings 1-4 in `neg`
//! and 7-10 in `pos` (drawn with about the real set's frequencies: the extremes 1 and 10 are the
//! most common), UTF-8 without a final newline, paragraphs joined by `<br /><br />` as in the
//! real reviews. `train/unsup` is not written (no LRA pipeline reads it).
//!
//! A review is a few hundred to a few thousand characters (log-normal, median `median_chars`) of
//! sentences about an invented film: mostly neutral ones (plot, cast, production, the viewing),
//! and, at a rate of `opinion_share`, opinions about an aspect (acting, script, pacing, ...).
//! Each opinion agrees with the review's label with a probability that grows with the rating's
//! distance from the middle (`agreement`), so single opinions are weak evidence and the label is
//! what most of them say; a share `negation` of the opinions is phrased through a negated word
//! of the opposite polarity ("the script was not clever"), so counting words alone misleads. The
//! opinions are spread evenly over the whole review: a reader of the first few hundred
//! characters sees only a few of them, which is why the task needs long-range integration.
//!
//! The smoke and quick tiers ([`Knobs::for_tier`]) make the signal strong: shorter reviews,
//! more opinions, all agreeing, from 8 words per polarity, and a closing `Verdict: <word>.`

use super::{chance, check_range, create_dir, item_rng, pick, progress, Stream, CHUNK};
use crate::engine::Rng;
use crate::tasks::Tier;
use anyhow::{Context, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const FOLDER: &str = "aclImdb";
pub const SPLITS: [&str; 2] = ["train", "test"];
/// Folder names by label: 0 = neg, 1 = pos.
pub const LABELS: [&str; 2] = ["neg", "pos"];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Knobs {
    /// Median review length (characters).
    pub median_chars: f64,
    /// Standard deviation of the log length.
    pub length_sigma: f64,
    pub min_chars: usize,
    pub max_chars: usize,
    /// Share of sentences that are opinions.
    pub opinion_share: f64,
    /// Probability that an opinion agrees with the label, for ratings 1|10, 2|9, 3|8, 4|7.
    pub agreement: [f64; 4],
    /// Share of opinions phrased as a negated opposite.
    pub negation: f64,
    /// Probability that a review states its score ("7/10"), as some real ones do.
    pub rating_mention: f64,
    /// Opinion words used from each of [`POSITIVE`] and [`NEGATIVE`] (their first entries).
    pub lexicon: usize,
    /// End every review with a one-word verdict of the label's polarity ("Verdict: superb."),
    /// so the signal is also at the last steps, which a last-step readout sees best.
    pub closing_verdict: bool,
}

impl Default for Knobs {
    fn default() -> Self {
        Self {
            median_chars: 950.0,
            length_sigma: 0.65,
            min_chars: 250,
            max_chars: 6000,
            opinion_share: 0.3,
            agreement: [0.84, 0.8, 0.75, 0.7],
            negation: 0.2,
            rating_mention: 0.02,
            lexicon: POSITIVE.len(),
            closing_verdict: false,
        }
    }
}

impl Knobs {
    /// The paper tier: real-length reviews with weak, noisy evidence (the defaults). The smoke
    /// and quick tiers: 300-1,000 characters, half the sentences opinions, all agreeing with the
    /// label, no negations, 8 frequent words per polarity and a closing verdict, so a model
    /// trained for a minute can learn the words.
    pub fn for_tier(tier: Tier) -> Self {
        match tier {
            Tier::Paper => Self::default(),
            Tier::Smoke | Tier::Quick => Self {
                median_chars: 600.0,
                length_sigma: 0.3,
                min_chars: 300,
                max_chars: 880,
                opinion_share: 0.5,
                agreement: [1.0; 4],
                negation: 0.0,
                rating_mention: 0.0,
                lexicon: 8,
                closing_verdict: true,
            },
        }
    }
}

impl Knobs {
    pub fn validate(&self) -> Result<()> {
        check_range("median_chars", self.median_chars, 50.0, 100_000.0)?;
        check_range("length_sigma", self.length_sigma, 0.0, 3.0)?;
        check_range("min_chars", self.min_chars as f64, 1.0, self.max_chars as f64)?;
        check_range("max_chars", self.max_chars as f64, self.min_chars as f64, 1e6)?;
        check_range("opinion_share", self.opinion_share, 0.0, 1.0)?;
        for (i, &a) in self.agreement.iter().enumerate() {
            check_range(&format!("agreement[{i}]"), a, 0.0, 1.0)?;
        }
        check_range("negation", self.negation, 0.0, 1.0)?;
        check_range("rating_mention", self.rating_mention, 0.0, 1.0)?;
        check_range("lexicon", self.lexicon as f64, 1.0, POSITIVE.len() as f64)?;
        Ok(())
    }
}

/// Ratings by label with weights close to the real training set's counts.
const NEG_RATINGS: [(u8, u64); 4] = [(1, 5100), (2, 2284), (3, 2420), (4, 2696)];
const POS_RATINGS: [(u8, u64); 4] = [(7, 2496), (8, 3009), (9, 2263), (10, 4732)];

pub const POSITIVE: [&str; 32] = [
    "brilliant",
    "wonderful",
    "superb",
    "moving",
    "gripping",
    "excellent",
    "delightful",
    "charming",
    "beautiful",
    "stunning",
    "masterful",
    "memorable",
    "hilarious",
    "touching",
    "engaging",
    "fantastic",
    "clever",
    "powerful",
    "outstanding",
    "heartfelt",
    "fresh",
    "terrific",
    "enjoyable",
    "impressive",
    "inspired",
    "compelling",
    "perfect",
    "solid",
    "great",
    "lovely",
    "witty",
    "haunting",
];
pub const NEGATIVE: [&str; 32] = [
    "dull",
    "boring",
    "awful",
    "terrible",
    "tedious",
    "lifeless",
    "clumsy",
    "predictable",
    "pointless",
    "bland",
    "weak",
    "poor",
    "mediocre",
    "forgettable",
    "horrible",
    "laughable",
    "dreadful",
    "painful",
    "messy",
    "flat",
    "shallow",
    "annoying",
    "uninspired",
    "wooden",
    "silly",
    "bad",
    "stupid",
    "incoherent",
    "lazy",
    "disappointing",
    "clichéd",
    "tiresome",
];
const INTENSIFIERS: [&str; 8] = ["", "", "", "really ", "truly ", "very ", "quite ", "utterly "];
const ASPECTS: [&str; 16] = [
    "acting",
    "script",
    "plot",
    "direction",
    "soundtrack",
    "cinematography",
    "ending",
    "dialogue",
    "pacing",
    "cast",
    "editing",
    "story",
    "score",
    "humour",
    "final act",
    "opening scene",
];
const FIRST: [&str; 24] = [
    "John",
    "Mary",
    "Peter",
    "Laura",
    "James",
    "Anna",
    "Robert",
    "Helen",
    "David",
    "Susan",
    "Michael",
    "Karen",
    "José",
    "Zoë",
    "Björn",
    "Chloé",
    "François",
    "Renée",
    "Ingrid",
    "Tomás",
    "Paul",
    "Grace",
    "Henry",
    "Alice",
];
const LAST: [&str; 24] = [
    "Walker", "Bennett", "Hayes", "Moreno", "Fischer", "Kowalski", "Doyle", "Price", "Sutton", "Reyes", "Lang",
    "Cooper", "Álvarez", "Müller", "Sæther", "Dubois", "Laurent", "Novak", "O'Brien", "Marsh", "Quinn", "Hale",
    "Tanaka", "Rossi",
];
const TITLE_ADJ: [&str; 12] =
    ["Silent", "Last", "Broken", "Golden", "Hidden", "Long", "Red", "Distant", "Lost", "Seventh", "Quiet", "Burning"];
const TITLE_NOUN: [&str; 12] = [
    "Harbour", "Summer", "Road", "Mirror", "Garden", "Winter", "Station", "River", "Letter", "Island", "Promise",
    "Night",
];
const ROLES: [&str; 14] = [
    "a retired detective",
    "a young nurse",
    "a small-town lawyer",
    "a struggling musician",
    "a ship's captain",
    "a schoolteacher",
    "a war veteran",
    "a journalist",
    "a farmer's widow",
    "a con artist",
    "a teenage runaway",
    "a police chief",
    "a scientist",
    "a boxer",
];
const PLACES: [&str; 12] = [
    "a fishing village",
    "Chicago",
    "the Scottish highlands",
    "a boarding school",
    "post-war Berlin",
    "a desert town",
    "New Orleans",
    "a space station",
    "the suburbs",
    "a Paris café",
    "an old hotel",
    "a mining town",
];
const EVENTS: [&str; 12] = [
    "a stranger arrives",
    "a letter is found",
    "the money goes missing",
    "a storm cuts the town off",
    "an old friend returns",
    "a body is discovered",
    "the factory closes",
    "a secret comes out",
    "the election nears",
    "a child disappears",
    "the war ends",
    "a wedding is planned",
];

fn name(rng: &mut Rng) -> String {
    format!("{} {}", pick(rng, &FIRST), pick(rng, &LAST))
}

/// A sentence that carries no opinion.
fn neutral(rng: &mut Rng, film: &str) -> String {
    let year = 1950 + rng.below(60);
    match rng.below(16) {
        0 => format!("{film} was released in {year} and runs about {} minutes.", 85 + rng.below(70)),
        1 => format!("{} plays {} who lives in {}.", name(rng), pick(rng, &ROLES), pick(rng, &PLACES)),
        2 => format!("The story is set in {}, where {}.", pick(rng, &PLACES), pick(rng, &EVENTS)),
        3 => format!(
            "I watched it on a {} evening with {}.",
            pick(rng, &["Sunday", "rainy", "Friday", "late"]),
            pick(rng, &["my wife", "friends", "my brother", "my parents", "nobody"])
        ),
        4 => format!("It was directed by {} and produced by {}.", name(rng), name(rng)),
        5 => format!("Halfway through, {} and {} has to decide what to do.", pick(rng, &EVENTS), pick(rng, &ROLES)),
        6 => format!("The film was shot in {} over {} weeks.", pick(rng, &PLACES), 5 + rng.below(20)),
        7 => format!(
            "{} also appears as {}, a role that is small but important to the plot.",
            name(rng),
            pick(rng, &ROLES)
        ),
        8 => format!("I first heard about it from a review in {year}."),
        9 => {
            format!("There is a scene in {} where {} — I won't spoil it here.", pick(rng, &PLACES), pick(rng, &EVENTS))
        }
        10 => format!(
            "The running time is {} minutes, and the DVD has a commentary track by {}.",
            85 + rng.below(70),
            name(rng)
        ),
        11 => format!("Most of the action takes place in {}.", pick(rng, &PLACES)),
        12 => format!("It is based on a novel by {} that I have not read.", name(rng)),
        13 => format!("The character played by {} is {} with a past.", name(rng), pick(rng, &ROLES)),
        14 => format!("Some viewers will compare it to \"{}\", which came out the same year.", title(rng)),
        _ => format!("After {}, the second half moves to {}…", pick(rng, &EVENTS), pick(rng, &PLACES)),
    }
}

fn title(rng: &mut Rng) -> String {
    format!("The {} {}", pick(rng, &TITLE_ADJ), pick(rng, &TITLE_NOUN))
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// An opinion of `positive` polarity, phrased directly or as a negated opposite.
fn opinion(rng: &mut Rng, knobs: &Knobs, positive: bool, negated: bool, film: &str) -> String {
    let (pos, neg) = (&POSITIVE[..knobs.lexicon], &NEGATIVE[..knobs.lexicon]);
    let aspect = pick(rng, &ASPECTS);
    if negated {
        // The word said is the opposite polarity's; the negation flips it back.
        let word = if positive { pick(rng, neg) } else { pick(rng, pos) };
        return match rng.below(6) {
            0 => format!("The {aspect} was not {word} at all."),
            1 => format!("I would never call the {aspect} {word}."),
            2 => format!("The {aspect} is hardly {word}."),
            3 => format!("Nobody could say the {aspect} is {word}."),
            4 => format!("{film} is not {} {word} film by any means.", article(word)),
            _ => format!("It would be wrong to find the {aspect} {word}."),
        };
    }
    let word = if positive { pick(rng, pos) } else { pick(rng, neg) };
    let intensifier = pick(rng, &INTENSIFIERS);
    match rng.below(8) {
        0 => format!("The {aspect} was {intensifier}{word}."),
        1 => format!("I thought the {aspect} was {word}."),
        2 => format!("{} gives {} {word} performance.", name(rng), article(word)),
        3 => format!("All in all {} {word} film.", article(word)),
        4 => format!("The {aspect} is simply {word}!"),
        5 => format!("What {} {word} {aspect}.", article(word)),
        6 => format!("I found the {aspect} {intensifier}{word}, especially in the second half."),
        _ => format!("{film} has {} {word} {aspect}.", article(word)),
    }
}

/// One review: its rating and text.
#[derive(Clone, Debug, PartialEq)]
pub struct Review {
    pub rating: u8,
    pub text: String,
    /// Opinions written, and how many of them agree with the label.
    pub opinions: usize,
    pub agreeing: usize,
}

fn weighted(rng: &mut Rng, items: &[(u8, u64)]) -> u8 {
    let total: u64 = items.iter().map(|(_, w)| w).sum();
    let mut r = rng.below(total);
    for &(v, w) in items {
        if r < w {
            return v;
        }
        r -= w;
    }
    items[items.len() - 1].0
}

/// Review `id` of `split` (0 train, 1 test) with `label` (0 neg, 1 pos).
pub fn review(knobs: &Knobs, seed: u64, split: usize, label: u8, id: usize) -> Review {
    let mut rng = item_rng(seed, Stream::Text, (split * 2 + label as usize) as u64, id as u64);
    let rng = &mut rng;
    let rating = weighted(rng, if label == 1 { &POS_RATINGS } else { &NEG_RATINGS });
    let strength = if label == 1 { 10 - rating } else { rating - 1 } as usize;
    let agreement = knobs.agreement[strength.min(3)];
    let target = (knobs.median_chars * (knobs.length_sigma * rng.normal()).exp())
        .clamp(knobs.min_chars as f64, knobs.max_chars as f64) as usize;
    let film = title(rng);
    let mut text = String::with_capacity(target + 200);
    let mut chars = 0;
    let (mut opinions, mut agreeing) = (0, 0);
    let mut in_paragraph = 0;
    let mut paragraph_length = 3 + rng.below(5);
    let mention = chance(rng, knobs.rating_mention);
    while chars < target {
        if in_paragraph == paragraph_length {
            text.push_str("<br /><br />");
            chars += 12;
            in_paragraph = 0;
            paragraph_length = 3 + rng.below(5);
        } else if !text.is_empty() {
            text.push(' ');
            chars += 1;
        }
        let sentence = if chance(rng, knobs.opinion_share) {
            let agrees = chance(rng, agreement);
            opinions += 1;
            agreeing += agrees as usize;
            let positive = agrees == (label == 1);
            let negated = chance(rng, knobs.negation);
            opinion(rng, knobs, positive, negated, &film)
        } else {
            neutral(rng, &film)
        };
        chars += sentence.chars().count();
        text.push_str(&sentence);
        in_paragraph += 1;
    }
    if mention {
        text.push_str(&format!(" My score: {rating}/10."));
    }
    if knobs.closing_verdict {
        let words = if label == 1 { &POSITIVE[..knobs.lexicon] } else { &NEGATIVE[..knobs.lexicon] };
        let word = pick(rng, words);
        text.push_str(&format!(" Verdict: {word}."));
        opinions += 1;
        agreeing += 1;
    }
    Review { rating, text, opinions, agreeing }
}

/// File name of a review in its folder.
pub fn file_name(id: usize, rating: u8) -> String {
    format!("{id}_{rating}.txt")
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Statistics {
    pub reviews: u64,
    pub mean_chars: f64,
    pub min_chars: usize,
    pub max_chars: usize,
    /// Reviews per rating 1..10 (index 0 unused).
    pub ratings: [u64; 11],
    pub opinions_per_review: f64,
    /// Share of opinions that agree with their review's label.
    pub agreeing_share: f64,
}

/// Writes `per_folder` reviews into each of `{train,test}/{pos,neg}` under `dir` (`aclImdb`).
pub fn write(dir: &Path, tier: Tier, seed: u64, knobs: &Knobs, per_folder: usize) -> Result<Statistics> {
    let bar = progress(tier, "Text", (4 * per_folder) as u64)?;
    let mut stats = Statistics { min_chars: usize::MAX, ..Statistics::default() };
    let (mut chars, mut opinions, mut agreeing) = (0u64, 0u64, 0u64);
    for (split, split_name) in SPLITS.iter().enumerate() {
        for (label, label_name) in LABELS.iter().enumerate() {
            let folder = dir.join(split_name).join(label_name);
            create_dir(&folder)?;
            for begin in (0..per_folder).step_by(CHUNK) {
                let end = (begin + CHUNK).min(per_folder);
                let written: Vec<(usize, u8, usize, usize)> = (begin..end)
                    .into_par_iter()
                    .map(|id| {
                        let r = review(knobs, seed, split, label as u8, id);
                        let path = folder.join(file_name(id, r.rating));
                        std::fs::write(&path, r.text.as_bytes())
                            .with_context(|| format!("writing {}", path.display()))?;
                        Ok((r.text.chars().count(), r.rating, r.opinions, r.agreeing))
                    })
                    .collect::<Result<_>>()?;
                for (n, rating, o, a) in written {
                    stats.reviews += 1;
                    chars += n as u64;
                    stats.min_chars = stats.min_chars.min(n);
                    stats.max_chars = stats.max_chars.max(n);
                    stats.ratings[rating as usize] += 1;
                    opinions += o as u64;
                    agreeing += a as u64;
                    bar.inc(1);
                }
            }
        }
    }
    bar.finish_and_clear();
    stats.mean_chars = chars as f64 / stats.reviews.max(1) as f64;
    stats.opinions_per_review = opinions as f64 / stats.reviews.max(1) as f64;
    stats.agreeing_share = agreeing as f64 / opinions.max(1) as f64;
    if stats.reviews == 0 {
        stats.min_chars = 0;
    }
    Ok(stats)
}
