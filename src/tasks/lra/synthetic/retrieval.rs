//! Retrieval (AAN) as `tsv_data/new_aan_pairs.{train,eval,test}.tsv` (DATASETS.md 3.4): no
//! header, LF line ends, five tab-separated columns `label id1 id2 text1 text2`; the label is
//! `1`/`0` or, on a share `float_labels` of the lines, `1.0`/`0.0` (LRA parses it as a float,
//! and the fixture mixes both); the texts hold `"` characters, which must not be read as quotes,
//! and never a tab or a line break.
//!
//! Each document is the flattened text of an invented NLP paper: title, authors, affiliation,
//! abstract, numbered sections and a reference list. A paper belongs to one of `topics` topics
//! (their words are real NLP vocabulary), has 1-3 authors from a pool of invented surnames and a
//! few "signature terms" (invented method names from its topic's pool of rare terms) that it
//! uses throughout, and it cites other papers: a citation sentence names the cited paper's
//! first author and year and usually one or two of its signature terms, and the reference list
//! gives its authors, year and title.
//!
//! The label is 1 when paper 1 cites paper 2, and 0 when it does not. Both labels are built the
//! same way, so neither document alone tells the label: paper 1 always has the same number of
//! citations (to papers 2 or to other invented papers), paper 2 is always an ordinary paper, and
//! paper 1 is never older than paper 2. What tells the label is shared content far apart in two
//! long texts: an author surname with a year, signature terms, a title. It is noisy on purpose:
//! a share `weak_citation` of the citations of paper 2 name only its author and year (and
//! its title in the references, at the end of a long text that LRA's 4,000-byte view cuts),
//! citations of other papers of the same topic share rare terms and surnames with paper 2 by
//! chance, and cited papers share their citer's topic more often (`same_topic`), as real
//! citations do.
//!
//! The smoke and quick tiers ([`Knobs::for_tier`]) make it simple: short documents, 4 topics,
//! and label 1 exactly when both papers share a topic (its words and rare terms), each document
//! ending with a keyword line that names its topic.

use super::{chance, check_range, create, create_dir, finish, item_rng, pick, progress, Stream, CHUNK};
use crate::engine::Rng;
use crate::tasks::Tier;
use anyhow::{Context, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

pub const FOLDER: &str = "tsv_data";
pub const SPLITS: [&str; 3] = ["train", "eval", "test"];

pub fn file_name(split: &str) -> String {
    format!("new_aan_pairs.{split}.tsv")
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Knobs {
    /// Seed of the "field": topics' rare terms and the author pool. Not the data seed.
    pub world_seed: u64,
    /// Median document length (characters).
    pub median_chars: f64,
    /// Standard deviation of the log length.
    pub length_sigma: f64,
    pub min_chars: usize,
    pub max_chars: usize,
    /// Rare terms per topic.
    pub terms_per_topic: usize,
    /// Signature terms per paper.
    pub terms_per_paper: usize,
    /// Author surnames in the pool.
    pub authors: usize,
    /// Papers each document cites: from [0] to [1].
    pub citations: [usize; 2],
    /// Probability that paper 2 has paper 1's topic, for label 0 and label 1.
    pub same_topic: [f64; 2],
    /// Share of paper 2's citations that name only its author and year.
    pub weak_citation: f64,
    /// Share of lines whose label is printed as a float.
    pub float_labels: f64,
    /// Topics used (the first of the 16).
    pub topics: usize,
    /// End every document with a keyword line (`Keywords: <topic>, <word>, <term>.`), so the
    /// paper's topic is also in its last characters, which a last-step readout sees best.
    pub keywords: bool,
}

impl Default for Knobs {
    fn default() -> Self {
        Self {
            world_seed: 0xAA_4E,
            median_chars: 3000.0,
            length_sigma: 0.5,
            min_chars: 800,
            max_chars: 12_000,
            terms_per_topic: 30,
            terms_per_paper: 4,
            authors: 400,
            citations: [3, 8],
            same_topic: [0.5, 0.8],
            weak_citation: 0.2,
            float_labels: 0.5,
            topics: TOPICS.len(),
            keywords: false,
        }
    }
}

impl Knobs {
    /// The paper tier: long documents and noisy citation evidence (the defaults). The smoke and
    /// quick tiers: documents of about 550-1,000 characters from 4 topics, and the two papers
    /// share their topic exactly when the label is 1, so the label is "the two documents use the
    /// same topic words and rare terms" (and the citation of paper 2 by paper 1 on top).
    pub fn for_tier(tier: Tier) -> Self {
        match tier {
            Tier::Paper => Self::default(),
            Tier::Smoke | Tier::Quick => Self {
                median_chars: 420.0,
                length_sigma: 0.25,
                min_chars: 300,
                max_chars: 520,
                terms_per_topic: 6,
                terms_per_paper: 3,
                citations: [1, 1],
                same_topic: [0.0, 1.0],
                weak_citation: 0.0,
                topics: 4,
                keywords: true,
                ..Self::default()
            },
        }
    }
}

impl Knobs {
    pub fn validate(&self) -> Result<()> {
        check_range("median_chars", self.median_chars, 100.0, 1e6)?;
        check_range("length_sigma", self.length_sigma, 0.0, 3.0)?;
        check_range("min_chars", self.min_chars as f64, 1.0, self.max_chars as f64)?;
        check_range("max_chars", self.max_chars as f64, self.min_chars as f64, 1e7)?;
        check_range("terms_per_topic", self.terms_per_topic as f64, self.terms_per_paper as f64, 10_000.0)?;
        check_range("terms_per_paper", self.terms_per_paper as f64, 1.0, 50.0)?;
        check_range("authors", self.authors as f64, 3.0, 100_000.0)?;
        check_range("citations[0]", self.citations[0] as f64, 1.0, 100.0)?;
        check_range("citations[1]", self.citations[1] as f64, self.citations[0] as f64, 100.0)?;
        check_range("same_topic[0]", self.same_topic[0], 0.0, 1.0)?;
        check_range("same_topic[1]", self.same_topic[1], 0.0, 1.0)?;
        check_range("weak_citation", self.weak_citation, 0.0, 1.0)?;
        check_range("float_labels", self.float_labels, 0.0, 1.0)?;
        check_range("topics", self.topics as f64, 2.0, TOPICS.len() as f64)?;
        Ok(())
    }
}

/// Topics: a name (for section titles) and common words of the field.
const TOPICS: [(&str, [&str; 10]); 16] = [
    (
        "parsing",
        [
            "parser",
            "treebank",
            "dependency",
            "constituent",
            "grammar",
            "derivation",
            "head",
            "arc",
            "chart",
            "attachment",
        ],
    ),
    (
        "machine translation",
        [
            "translation",
            "alignment",
            "phrase",
            "decoder",
            "bilingual",
            "reordering",
            "source",
            "target",
            "BLEU",
            "parallel",
        ],
    ),
    (
        "summarization",
        [
            "summary",
            "sentence",
            "extraction",
            "redundancy",
            "ROUGE",
            "document",
            "compression",
            "salience",
            "abstract",
            "cluster",
        ],
    ),
    (
        "sentiment analysis",
        [
            "sentiment",
            "polarity",
            "opinion",
            "review",
            "subjectivity",
            "lexicon",
            "aspect",
            "rating",
            "emotion",
            "stance",
        ],
    ),
    (
        "speech recognition",
        [
            "speech",
            "acoustic",
            "phoneme",
            "recognizer",
            "prosody",
            "utterance",
            "transcript",
            "lattice",
            "spoken",
            "pronunciation",
        ],
    ),
    (
        "morphology",
        [
            "morphology",
            "stem",
            "affix",
            "inflection",
            "segmentation",
            "lemma",
            "paradigm",
            "suffix",
            "compound",
            "analyser",
        ],
    ),
    (
        "semantic role labeling",
        [
            "semantic",
            "frame",
            "role",
            "predicate",
            "argument",
            "ontology",
            "entailment",
            "meaning",
            "logical",
            "proposition",
        ],
    ),
    (
        "information extraction",
        [
            "entity",
            "extraction",
            "relation",
            "template",
            "slot",
            "pattern",
            "event",
            "mention",
            "gazetteer",
            "recognition",
        ],
    ),
    (
        "coreference resolution",
        [
            "coreference",
            "anaphora",
            "antecedent",
            "pronoun",
            "mention",
            "chain",
            "resolution",
            "salience",
            "referent",
            "binding",
        ],
    ),
    (
        "dialogue systems",
        ["dialogue", "turn", "user", "system", "act", "speaker", "response", "agent", "intention", "conversation"],
    ),
    (
        "text generation",
        [
            "generation",
            "surface",
            "realization",
            "planner",
            "content",
            "lexical",
            "template",
            "output",
            "fluency",
            "aggregation",
        ],
    ),
    (
        "word sense disambiguation",
        [
            "word",
            "sense",
            "disambiguation",
            "WordNet",
            "synonym",
            "similarity",
            "context",
            "gloss",
            "collocation",
            "thesaurus",
        ],
    ),
    (
        "information retrieval",
        ["query", "retrieval", "document", "ranking", "index", "relevance", "search", "term", "precision", "recall"],
    ),
    (
        "part-of-speech tagging",
        ["tag", "tagger", "part-of-speech", "sequence", "HMM", "tagset", "token", "accuracy", "lexicon", "unknown"],
    ),
    (
        "discourse",
        [
            "discourse",
            "coherence",
            "rhetorical",
            "segment",
            "connective",
            "relation",
            "structure",
            "text",
            "nucleus",
            "satellite",
        ],
    ),
    (
        "machine learning",
        [
            "classifier",
            "feature",
            "training",
            "kernel",
            "model",
            "perceptron",
            "margin",
            "label",
            "unsupervised",
            "clustering",
        ],
    ),
];

const SYLLABLES: [&str; 24] = [
    "ka", "vor", "lin", "tes", "mar", "qui", "zel", "dro", "pli", "nex", "sor", "tam", "vi", "rel", "gon", "bra", "fu",
    "shi", "lo", "mek", "tra", "dan", "ost", "ul",
];
const TERM_ENDINGS: [&str; 10] = ["", "", "", "-net", "-tree", "++", "-lattice", "grams", "-LM", "-align"];
const NAME_ENDINGS: [&str; 10] = ["son", "er", "ov", "ez", "i", "a", "berg", "ski", "man", "ez"];
const VENUES: [&str; 8] = ["ACL", "COLING", "EMNLP", "NAACL", "EACL", "HLT", "CoNLL", "ANLP"];
const VENUE_LETTERS: [char; 8] = ['P', 'C', 'D', 'N', 'E', 'H', 'W', 'A'];
const AFFILIATIONS: [&str; 8] = [
    "Department of Computer Science, University of Edinburgh",
    "Language Technologies Institute, Carnegie Mellon University",
    "Information Sciences Institute, University of Southern California",
    "Computer Laboratory, University of Cambridge",
    "Department of Linguistics, Stanford University",
    "IBM T. J. Watson Research Center",
    "Microsoft Research, Redmond",
    "Institute for Natural Language Processing, University of Stuttgart",
];
const SECTIONS: [&str; 6] = ["Related Work", "Model", "Experimental Setup", "Results", "Discussion", "Error Analysis"];

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// The field: rare terms per topic and the author pool, from `Knobs::world_seed`.
#[derive(Clone, Debug)]
pub struct World {
    pub terms: Vec<Vec<String>>,
    pub surnames: Vec<String>,
}

impl World {
    pub fn new(knobs: &Knobs) -> Self {
        let mut rng = Rng::new(knobs.world_seed);
        let mut used = HashSet::new();
        let mut fresh = |rng: &mut Rng, make: &dyn Fn(&mut Rng) -> String| loop {
            let w = make(rng);
            if used.insert(w.to_lowercase()) {
                return w;
            }
        };
        let term = |rng: &mut Rng| {
            let n = 2 + rng.below(2);
            let stem: String = (0..n).map(|_| *pick(rng, &SYLLABLES)).collect();
            let stem = if chance(rng, 0.5) { capitalised(&stem) } else { stem };
            format!("{stem}{}", pick(rng, &TERM_ENDINGS))
        };
        let surname = |rng: &mut Rng| {
            let n = 1 + rng.below(2);
            let stem: String = (0..n).map(|_| *pick(rng, &SYLLABLES)).collect();
            capitalised(&format!("{stem}{}", pick(rng, &NAME_ENDINGS)))
        };
        let terms =
            (0..TOPICS.len()).map(|_| (0..knobs.terms_per_topic).map(|_| fresh(&mut rng, &term)).collect()).collect();
        let surnames = (0..knobs.authors).map(|_| fresh(&mut rng, &surname)).collect();
        Self { terms, surnames }
    }
}

/// A paper's identity: what a citation of it can mention.
#[derive(Clone, Debug, PartialEq)]
pub struct Paper {
    pub id: String,
    pub topic: usize,
    pub year: u32,
    /// Indices into `World::surnames`.
    pub authors: Vec<usize>,
    /// Its signature terms.
    pub terms: Vec<String>,
    pub title: String,
}

fn paper(world: &World, knobs: &Knobs, rng: &mut Rng, topic: usize, year: u32) -> Paper {
    let venue = rng.below(VENUES.len() as u64) as usize;
    let id = format!("{}{:02}-{}", VENUE_LETTERS[venue], year % 100, 1001 + rng.below(1100));
    let authors: Vec<usize> = (0..1 + rng.below(3)).map(|_| rng.below(world.surnames.len() as u64) as usize).collect();
    let pool = &world.terms[topic];
    let mut terms: Vec<String> = Vec::with_capacity(knobs.terms_per_paper);
    while terms.len() < knobs.terms_per_paper {
        let t = pick(rng, pool);
        if !terms.contains(t) {
            terms.push(t.clone());
        }
    }
    let words = &TOPICS[topic].1;
    let title = match rng.below(4) {
        0 => format!(
            "{}: {} {} for {}",
            terms[0],
            capitalised(pick::<&str>(rng, words)),
            pick(rng, &["Models", "Learning", "Features", "Search"]),
            capitalised(TOPICS[topic].0)
        ),
        1 => format!("Improving {} with {}", capitalised(TOPICS[topic].0), terms[0]),
        2 => {
            format!(
                "A {} Approach to {} {}",
                terms[0],
                capitalised(pick::<&str>(rng, words)),
                capitalised(pick::<&str>(rng, words))
            )
        }
        _ => format!("{} and {} in {}", capitalised(pick::<&str>(rng, words)), terms[0], capitalised(TOPICS[topic].0)),
    };
    Paper { id, topic, year, authors, terms, title }
}

/// A citation as it appears in the citing paper.
struct Citation<'a> {
    paper: &'a Paper,
    /// Only the author and year are named (no signature term).
    weak: bool,
}

fn first_author(world: &World, p: &Paper) -> String {
    let a = &world.surnames[p.authors[0]];
    match p.authors.len() {
        1 => a.clone(),
        2 => format!("{a} and {}", world.surnames[p.authors[1]]),
        _ => format!("{a} et al."),
    }
}

fn citation_sentence(world: &World, rng: &mut Rng, c: &Citation, topic_words: &[&str; 10]) -> String {
    let who = first_author(world, c.paper);
    let year = c.paper.year;
    if c.weak {
        return match rng.below(3) {
            0 => format!("See also {who} ({year})."),
            1 => format!("Similar observations were made by {who} ({year})."),
            _ => format!("This setting follows earlier work ({who}, {year})."),
        };
    }
    let term = pick(rng, &c.paper.terms);
    let word = pick(rng, topic_words);
    match rng.below(5) {
        0 => format!("{who} ({year}) proposed the {term} approach for {word} modelling."),
        1 => format!("Following {who} ({year}), we use {term} features for each {word}."),
        2 => format!("Unlike the \"{term}\" method of {who} ({year}), our model does not need a {word} lexicon."),
        3 => format!("The {term} algorithm ({who}, {year}) is a strong baseline for this {word} task."),
        _ => {
            let other = pick(rng, &c.paper.terms);
            format!("{who} ({year}) combine {term} with {other} and report large gains on {word} data.")
        }
    }
}

fn reference_entry(world: &World, rng: &mut Rng, p: &Paper) -> String {
    let names: Vec<String> = p
        .authors
        .iter()
        .map(|&a| format!("{}, {}.", world.surnames[a], (b'A' + rng.below(26) as u8) as char))
        .collect();
    let first = 1 + rng.below(400);
    format!(
        "{} {}. {}. In Proceedings of {}, pages {first}-{}.",
        names.join(" and "),
        p.year,
        p.title,
        pick(rng, &VENUES),
        first + 5 + rng.below(10)
    )
}

/// A sentence of the paper's own content.
fn own_sentence(rng: &mut Rng, p: &Paper) -> String {
    let words = &TOPICS[p.topic].1;
    let (w1, w2) = (*pick(rng, words), *pick(rng, words));
    let term = pick(rng, &p.terms);
    let n = 2 + rng.below(9);
    let score = format!("{}.{}", 50 + rng.below(45), rng.below(10));
    match rng.below(22) {
        0 => format!("In this paper, we present a new approach to {} based on {w1} information.", TOPICS[p.topic].0),
        1 => format!("We call our method \"{term}\"."),
        2 => format!("The {term} model assigns a score to every {w1} given its {w2}."),
        3 => format!("Table {n} shows the results of {term} on the held-out {w1} data."),
        4 => format!(
            "Our {term} system reaches {score}% accuracy, an improvement of {}.{} points.",
            rng.below(5),
            rng.below(10)
        ),
        5 => format!("Each {w1} is represented by its {w2} and a window of {n} words."),
        6 => "The remainder of this paper is organised as follows.".to_string(),
        7 => format!("We trained on {n}0,000 sentences and tuned on a development set of {n}00 sentences."),
        8 => format!("Errors are mostly caused by rare {w1} and {w2} pairs."),
        9 => format!("{} is an important problem in natural language processing.", capitalised(TOPICS[p.topic].0)),
        10 => format!("For example, in \"the old man the boats\" the first {w1} is ambiguous."),
        11 => format!("We use the standard split of the data and report {score} F-score."),
        12 => format!("This is consistent with previous findings on {w1} and {w2}."),
        13 => format!("Figure {n} plots the {w1} accuracy against the number of training examples."),
        14 => format!("The {term} component can be computed in linear time with dynamic programming."),
        15 => format!("A closer look at the {w1} output shows that {term} helps most on long sentences."),
        16 => format!("All parameters were estimated with {n} iterations of the EM algorithm."),
        17 => format!("We leave the combination of {w1} and {w2} models to future work."),
        18 => format!("The annotation agreement was {score}% (kappa 0.{}).", 6 + rng.below(4)),
        19 => format!("Note that the {w2} features alone give {score}%."),
        20 => format!("In contrast to previous work, {term} uses no hand-written {w1} rules."),
        _ => format!("The baseline uses only {w1} counts; {term} adds {w2} information."),
    }
}

/// The whole text of paper `p` citing `cites`, about `target` characters before the references.
fn document(world: &World, rng: &mut Rng, p: &Paper, cites: &[Citation], target: usize, keywords: bool) -> String {
    let mut out = String::with_capacity(target + 1200);
    let authors: Vec<String> = p
        .authors
        .iter()
        .map(|&a| format!("{} {}", pick(rng, &["J.", "M.", "A.", "K.", "R.", "S.", "L.", "D."]), world.surnames[a]))
        .collect();
    out.push_str(&format!("{} {} {} Abstract", p.title, authors.join(" and "), pick(rng, &AFFILIATIONS)));
    // Citation sentences go to random places among the body sentences.
    let mut body: Vec<String> = Vec::new();
    let mut length = out.len();
    while length < target {
        let s = own_sentence(rng, p);
        length += s.len() + 1;
        body.push(s);
    }
    let words = &TOPICS[p.topic].1;
    for c in cites {
        let at = rng.below(body.len() as u64 + 1) as usize;
        let s = citation_sentence(world, rng, c, words);
        body.insert(at, s);
    }
    let sections = 3 + rng.below(3) as usize;
    let per_section = body.len().div_ceil(sections + 1).max(1);
    for (i, s) in body.iter().enumerate() {
        if i > 0 && i % per_section == 0 {
            let k = i / per_section;
            let heading = if k == 1 { "Introduction" } else { SECTIONS[(k + p.topic) % SECTIONS.len()] };
            out.push_str(&format!(" {k} {heading}"));
        }
        out.push(' ');
        out.push_str(s);
    }
    out.push_str(" References");
    for c in cites {
        out.push(' ');
        out.push_str(&reference_entry(world, rng, c.paper));
    }
    if keywords {
        let word = pick::<&str>(rng, words);
        let term = pick(rng, &p.terms);
        out.push_str(&format!(" Keywords: {}, {word}, {term}.", TOPICS[p.topic].0));
    }
    out
}

/// One line of the TSV, before formatting.
#[derive(Clone, Debug, PartialEq)]
pub struct Pair {
    pub label: u8,
    pub id1: String,
    pub id2: String,
    pub text1: String,
    pub text2: String,
    /// Whether the label is printed as a float.
    pub float_label: bool,
    /// For label 1: whether paper 1's citation of paper 2 names only its author and year.
    pub weak: bool,
}

impl Pair {
    pub fn line(&self) -> String {
        let label = if self.float_label { format!("{}.0", self.label) } else { self.label.to_string() };
        format!("{label}\t{}\t{}\t{}\t{}\n", self.id1, self.id2, self.text1, self.text2)
    }
}

/// Label of pair `index`: pairs 2j and 2j + 1 have opposite labels (exactly balanced).
pub fn label(seed: u64, split: usize, index: usize) -> u8 {
    let mut rng = item_rng(seed, Stream::Retrieval, 128 + split as u64, (index / 2) as u64);
    rng.below(2) as u8 ^ (index % 2) as u8
}

fn length(rng: &mut Rng, knobs: &Knobs) -> usize {
    (knobs.median_chars * (knobs.length_sigma * rng.normal()).exp())
        .clamp(knobs.min_chars as f64, knobs.max_chars as f64) as usize
}

/// Pair `index` of `split` (0 train, 1 eval, 2 test).
pub fn pair(world: &World, knobs: &Knobs, seed: u64, split: usize, index: usize) -> Pair {
    let label = label(seed, split, index);
    let mut rng = item_rng(seed, Stream::Retrieval, split as u64, index as u64);
    let rng = &mut rng;
    let topics = knobs.topics as u64;
    let topic1 = rng.below(topics) as usize;
    // Otherwise another topic, so `same_topic` is the exact share of same-topic pairs.
    let topic2 = if chance(rng, knobs.same_topic[label as usize]) {
        topic1
    } else {
        (topic1 + 1 + rng.below(topics - 1) as usize) % knobs.topics
    };
    let year2 = 1990 + rng.below(20) as u32;
    let year1 = year2 + rng.below(6) as u32;
    let p1 = paper(world, knobs, rng, topic1, year1);
    let p2 = paper(world, knobs, rng, topic2, year2);
    // Papers the two documents cite besides each other: mostly their own topic, never newer.
    let others = |rng: &mut Rng, topic: usize, year: u32, n: usize| -> Vec<Paper> {
        (0..n)
            .map(|_| {
                let t = if chance(rng, 0.7) { topic } else { rng.below(topics) as usize };
                let y = year - rng.below(8).min((year - 1985) as u64) as u32;
                paper(world, knobs, rng, t, y)
            })
            .collect()
    };
    let n1 = knobs.citations[0] + rng.below((knobs.citations[1] - knobs.citations[0] + 1) as u64) as usize;
    let n2 = knobs.citations[0] + rng.below((knobs.citations[1] - knobs.citations[0] + 1) as u64) as usize;
    let cited1 = others(rng, topic1, year1, n1);
    let cited2 = others(rng, topic2, year2, n2);
    let weak = chance(rng, knobs.weak_citation);
    let mut cites1: Vec<Citation> =
        cited1.iter().map(|p| Citation { paper: p, weak: chance(rng, knobs.weak_citation) }).collect();
    if label == 1 {
        // One of paper 1's citations is paper 2 (the count stays the same as for label 0).
        let at = rng.below(cites1.len() as u64) as usize;
        cites1[at] = Citation { paper: &p2, weak };
    }
    let cites2: Vec<Citation> =
        cited2.iter().map(|p| Citation { paper: p, weak: chance(rng, knobs.weak_citation) }).collect();
    let (l1, l2) = (length(rng, knobs), length(rng, knobs));
    let text1 = document(world, rng, &p1, &cites1, l1, knobs.keywords);
    let text2 = document(world, rng, &p2, &cites2, l2, knobs.keywords);
    let float_label = chance(rng, knobs.float_labels);
    Pair { label, id1: p1.id, id2: p2.id, text1, text2, float_label, weak: label == 1 && weak }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Statistics {
    pub pairs: u64,
    pub positives: u64,
    pub float_labels: u64,
    /// Positive pairs whose citation names only the author and year.
    pub weak_positives: u64,
    pub mean_chars: f64,
    pub min_chars: usize,
    pub max_chars: usize,
    /// Documents longer than 4,000 bytes (what LRA keeps of each).
    pub longer_than_4000_bytes: u64,
}

/// Writes the three TSV files into `dir` (`tsv_data`).
pub fn write(dir: &Path, tier: Tier, seed: u64, knobs: &Knobs, sizes: [usize; 3]) -> Result<Statistics> {
    create_dir(dir)?;
    let world = World::new(knobs);
    let bar = progress(tier, "Retrieval", sizes.iter().sum::<usize>() as u64)?;
    let mut stats = Statistics { min_chars: usize::MAX, ..Statistics::default() };
    let mut chars = 0u64;
    for (split, (name, &count)) in SPLITS.iter().zip(&sizes).enumerate() {
        let path = dir.join(file_name(name));
        let mut out = create(&path)?;
        for begin in (0..count).step_by(CHUNK) {
            let end = (begin + CHUNK).min(count);
            let pairs: Vec<Pair> = (begin..end).into_par_iter().map(|i| pair(&world, knobs, seed, split, i)).collect();
            for p in pairs {
                out.write_all(p.line().as_bytes()).with_context(|| format!("writing {}", path.display()))?;
                stats.pairs += 1;
                stats.positives += p.label as u64;
                stats.float_labels += p.float_label as u64;
                stats.weak_positives += p.weak as u64;
                for t in [&p.text1, &p.text2] {
                    let n = t.chars().count();
                    chars += n as u64;
                    stats.min_chars = stats.min_chars.min(n);
                    stats.max_chars = stats.max_chars.max(n);
                    stats.longer_than_4000_bytes += (t.len() > 4000) as u64;
                }
                bar.inc(1);
            }
        }
        finish(out, &path)?;
    }
    bar.finish_and_clear();
    stats.mean_chars = chars as f64 / (2 * stats.pairs).max(1) as f64;
    if stats.pairs == 0 {
        stats.min_chars = 0;
    }
    Ok(stats)
}
