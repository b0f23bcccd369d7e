//! `elmbench synth shd`: a synthetic surrogate of the Spiking Heidelberg Digits, written as the
//! real files are (`shd/shd_train.h5`, `shd/shd_test.h5`: HDF5 with `spikes/times` as
//! variable-length float16 seconds, `spikes/units` as variable-length uint16, `labels` and
//! `extra/speaker` uint16, `extra/keys` as 20 UTF-8 strings, `extra/meta_info/{gender, age,
//! body_height}`), with a `SYNTHETIC.json` marker so every run can say which data it used.
//!
//! It is built to be hard in the ways SHD is hard:
//! * **Words.** Each of the 20 classes is a "word" of 1-3 syllables over 700 tonotopic channels
//!   (low index = low frequency in this surrogate). A syllable is an optional onset consonant
//!   (plosive burst, fricative band or nasal murmur), a vowel nucleus of three formant bands whose
//!   channel positions glide along the syllable (diphthongs), and an optional coda consonant.
//!   Syllables come from one small inventory of vowels and consonants, so classes share their
//!   parts and differ in how they combine them; English "zero" and "seven" are the same
//!   syllables in opposite order, so only the temporal structure tells them apart.
//! * **Languages.** German digit d is English digit d with each syllable perturbed (formants
//!   moved, some vowels and consonants exchanged, tempo changed; `Knobs::language_similarity`):
//!   label mod 10 is easier than the 20 classes, as in SHD.
//! * **Speakers.** 12 speakers with a gender, age and body height; the vocal tract length (from
//!   the height) shifts every formant by some channels, a pitch band marks the voice, and each
//!   speaker has a speaking rate and a loudness. Speakers 4 and 5 appear only in the test split,
//!   as in SHD, so the test measures generalisation to new voices.
//! * **Utterances.** Each recording starts at a random time, lasts about 0.5-1 s (word length x
//!   speaking rate x jitter), is time-warped non-linearly, has its formants jittered by a few
//!   channels and its loudness varied; spike times are jittered; Poisson background spikes
//!   cover all channels for the whole recording. Recordings may run past 1 s (the official
//!   binning drops those spikes), and some spikes repeat at the same (time, unit), which the
//!   binning counts twice.
//!
//! Spike counts: SHD's samples carry several thousand spikes each (on the order of 1 % of 700
//! channels x 1000 1-ms bins); the real mean is to be measured on the first real download and
//! `Knobs::word_spikes` set to match. By default an utterance of average length (0.7 s) and
//! loudness 1 has 6,000 word spikes in expectation, plus background spikes at 1 Hz per channel
//! (about 800 per recording). Measured on the paper tier, seed 0: 6,200 spikes per training
//! sample on average (5th-95th percentile 3,000-11,600), 1.5 % of them at or after 1 s, and
//! 3.7 % repeating the (time, unit) of the spike before (2 % by design, the rest from rounding
//! the times to float16).
//!
//! Everything is a function of (tier, seed, knobs): each sample draws from its own random stream
//! (seed, split, index), so the output does not depend on the number of threads. The "language"
//! (words and speakers) comes from `Knobs::world_seed`, not from the seed, so that different seeds
//! are different recordings of the same task with the same hardness.

use crate::engine::Rng;
use crate::formats::hdf5_writer::{F16Bits, Hdf5Writer, Scalar};
use crate::io::float16::{f16_to_f32, f32_to_f16};
use crate::tasks::Tier;
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::f32::consts::PI;
use std::io::BufWriter;
use std::ops::Range;
use std::path::Path;

/// Cochlear channels (`spikes/units` values are below this).
pub const CHANNELS: usize = 700;
/// English digits 0-9, then German digits 0-9.
pub const CLASSES: usize = 20;
pub const SPEAKERS: usize = 12;
/// Speakers heard only in the test split (SHD README).
pub const TEST_ONLY_SPEAKERS: [u16; 2] = [4, 5];
/// No spike is written at or after this time (norse reads SHD with `max_length = 1.4`).
pub const MAX_TIME_S: f32 = 1.4;
/// `extra/keys`: label id -> word, English first (as tonic and spikingjelly assume).
pub const KEYS: [&str; CLASSES] = [
    "english-zero",
    "english-one",
    "english-two",
    "english-three",
    "english-four",
    "english-five",
    "english-six",
    "english-seven",
    "english-eight",
    "english-nine",
    "german-null",
    "german-eins",
    "german-zwei",
    "german-drei",
    "german-vier",
    "german-fuenf",
    "german-sechs",
    "german-sieben",
    "german-acht",
    "german-neun",
];
pub use crate::tasks::synthetic_root::MARKER;
use crate::tasks::synthetic_root::{check_replaceable, move_into_place};

pub const TRAIN_FILE: &str = "shd_train.h5";
pub const TEST_FILE: &str = "shd_test.h5";
const GENERATOR: &str = "elmbench synthetic spoken digits v1";

/// Everything that sets how hard the surrogate is, in one place, so it can be tuned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Knobs {
    /// Seed of the "language": the words' syllables and the speakers. Not the data seed.
    pub world_seed: u64,
    /// Expected word spikes of an utterance of average length (0.7 s) at loudness 1.
    pub word_spikes: f64,
    /// Background Poisson spikes per channel and second, over the whole recording.
    pub noise_rate_hz: f64,
    /// Standard deviation of each spike's time jitter (s).
    pub time_jitter_s: f64,
    /// Per-utterance shift of all formants, uniform in +-this many channels (on top of the
    /// speaker's shift).
    pub channel_jitter: f64,
    /// Non-linear time warp: tau -> tau + a sin(pi tau) / pi with a uniform in +-this (< 1).
    pub warp: f64,
    /// Per-utterance duration factor, uniform in 1 +- this.
    pub duration_jitter: f64,
    /// Recording start, uniform in this range (s).
    pub start_min_s: f64,
    pub start_max_s: f64,
    /// Scale of the speakers' vocal-tract formant shifts (channels): a body height 12 cm from
    /// the mean shifts by this much, plus an individual part of 0.3 x this (standard deviation).
    pub speaker_shift: f64,
    /// Speakers' speaking-rate factors, uniform in 1 +- this.
    pub speaker_rate_spread: f64,
    /// Standard deviation of the speakers' log loudness.
    pub speaker_loudness_spread: f64,
    /// Standard deviation of each utterance's log loudness.
    pub loudness_jitter: f64,
    /// 1: German digits equal English ones; 0: unrelated.
    pub language_similarity: f64,
    /// Probability that a word spike is emitted twice at the same (time, unit).
    pub duplicate_fraction: f64,
    /// Share of test samples from the test-only speakers.
    pub held_out_test_share: f64,
    /// Extra vocal-tract shift (channels) of the test-only speakers, up for speaker 4 and down
    /// for speaker 5: new voices lie partly outside the training voices, as SHD's do (models
    /// score lower on SHD's test split than on held-out recordings of known speakers).
    pub held_out_speaker_offset: f64,
}

impl Default for Knobs {
    fn default() -> Self {
        Self {
            // Arbitrary but fixed: the hardness measured in the tests is for this language.
            world_seed: 0x5_4844,
            word_spikes: 6000.0,
            noise_rate_hz: 1.0,
            time_jitter_s: 0.003,
            channel_jitter: 20.0,
            warp: 0.7,
            duration_jitter: 0.15,
            start_min_s: 0.0,
            start_max_s: 0.3,
            speaker_shift: 40.0,
            speaker_rate_spread: 0.15,
            speaker_loudness_spread: 0.25,
            loudness_jitter: 0.3,
            language_similarity: 0.7,
            duplicate_fraction: 0.02,
            held_out_test_share: 0.4,
            held_out_speaker_offset: 20.0,
        }
    }
}

impl Knobs {
    /// Refuses values that would make the generator misbehave (e.g. a warp that is not
    /// monotone), naming the knob.
    pub fn validate(&self) -> Result<()> {
        let checks: [(&str, f64, f64, f64); 15] = [
            ("word_spikes", self.word_spikes, 0.0, 1e6),
            ("noise_rate_hz", self.noise_rate_hz, 0.0, 1000.0),
            ("time_jitter_s", self.time_jitter_s, 0.0, 0.5),
            ("channel_jitter", self.channel_jitter, 0.0, 350.0),
            ("warp", self.warp, 0.0, 0.95),
            ("duration_jitter", self.duration_jitter, 0.0, 0.9),
            ("start_min_s", self.start_min_s, 0.0, 1.0),
            ("start_max_s", self.start_max_s, self.start_min_s, 1.0),
            ("speaker_shift", self.speaker_shift, 0.0, 350.0),
            ("speaker_rate_spread", self.speaker_rate_spread, 0.0, 0.9),
            ("speaker_loudness_spread", self.speaker_loudness_spread, 0.0, 3.0),
            ("loudness_jitter", self.loudness_jitter, 0.0, 3.0),
            ("language_similarity", self.language_similarity, 0.0, 1.0),
            ("duplicate_fraction", self.duplicate_fraction, 0.0, 1.0),
            ("held_out_speaker_offset", self.held_out_speaker_offset, -350.0, 350.0),
        ];
        for (name, value, low, high) in checks {
            if !(low..=high).contains(&value) {
                bail!("SHD synthesis knob {name} = {value} is outside [{low}, {high}]");
            }
        }
        if !(0.0..=1.0).contains(&self.held_out_test_share) {
            bail!("SHD synthesis knob held_out_test_share = {} is outside [0, 1]", self.held_out_test_share);
        }
        Ok(())
    }
}

/// Which file a sample belongs to; part of each sample's random stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    Test,
}

/// Samples per split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TierSizes {
    pub train: usize,
    pub test: usize,
}

pub fn sizes(tier: Tier) -> TierSizes {
    match tier {
        Tier::Smoke => TierSizes { train: 200, test: 80 },
        // The real files' train:test ratio (3.6:1), at a quarter of their size.
        Tier::Quick => TierSizes { train: 2048, test: 568 },
        Tier::Paper => TierSizes { train: 8156, test: 2264 },
    }
}

/// One recording as the files store it.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub label: u16,
    pub speaker: u16,
    /// Spike times as float16 bit patterns (seconds), sorted by (time, unit).
    pub times: Vec<u16>,
    pub units: Vec<u16>,
}

#[derive(Clone, Copy, Debug)]
enum Consonant {
    /// A short broadband burst over the channels low..high.
    Plosive { low: f32, high: f32 },
    /// Sustained noise over low..high (high frequencies).
    Fricative { low: f32, high: f32 },
    /// A low-frequency murmur around a channel.
    Nasal { centre: f32 },
}

#[derive(Clone, Debug)]
struct Syllable {
    onset: Option<Consonant>,
    coda: Option<Consonant>,
    /// Formant channels at the start and at the end of the nucleus (F1, F2, F3).
    from: [f32; 3],
    to: [f32; 3],
    gain: [f32; 3],
    /// Relative duration.
    weight: f32,
}

#[derive(Clone, Debug)]
struct Word {
    syllables: Vec<Syllable>,
    /// Duration at speaking rate 1 (s).
    duration: f32,
}

#[derive(Clone, Debug)]
pub struct Speaker {
    pub female: bool,
    pub age: u16,
    pub body_height_cm: f32,
    /// Channels every formant moves by (shorter vocal tract: higher formants).
    pub shift: f32,
    /// Centre of the voice-pitch band (channels).
    pub pitch: f32,
    /// Duration factor (> 1: slower).
    pub rate: f32,
    pub loudness: f32,
}

/// The language of a surrogate: 20 words and 12 speakers.
#[derive(Clone, Debug)]
pub struct World {
    words: Vec<Word>,
    pub speakers: Vec<Speaker>,
}

/// Formant band widths (standard deviation, channels): higher formants are broader.
const FORMANT_WIDTH: [f32; 3] = [9.0, 13.0, 17.0];
/// The average word duration `Knobs::word_spikes` refers to.
const REFERENCE_DURATION_S: f32 = 0.7;
/// Silence between syllables, as a share of the word.
const SYLLABLE_GAP: f32 = 0.07;

fn uniform(rng: &mut Rng, low: f32, high: f32) -> f32 {
    rng.uniform(low, high)
}

fn random_vowel(rng: &mut Rng) -> [f32; 3] {
    let f1 = uniform(rng, 40.0, 200.0);
    let f2 = uniform(rng, f1 + 120.0, 480.0);
    let f3 = uniform(rng, (f2 + 80.0).max(420.0), 640.0);
    [f1, f2, f3]
}

fn random_consonant(rng: &mut Rng) -> Consonant {
    match rng.below(8) {
        0..=2 => {
            let low = uniform(rng, 150.0, 450.0);
            Consonant::Plosive { low, high: (low + uniform(rng, 150.0, 250.0)).min(699.0) }
        }
        3..=5 => {
            let low = uniform(rng, 380.0, 520.0);
            Consonant::Fricative { low, high: (low + uniform(rng, 120.0, 200.0)).min(699.0) }
        }
        _ => Consonant::Nasal { centre: uniform(rng, 40.0, 110.0) },
    }
}

impl World {
    pub fn new(knobs: &Knobs) -> Self {
        let mut rng = Rng::new(knobs.world_seed);
        let vowels: Vec<[f32; 3]> = (0..10).map(|_| random_vowel(&mut rng)).collect();
        let consonants: Vec<Consonant> = (0..8).map(|_| random_consonant(&mut rng)).collect();
        let pick_vowel = |rng: &mut Rng| vowels[rng.below(vowels.len() as u64) as usize];
        let pick_consonant = |rng: &mut Rng| consonants[rng.below(consonants.len() as u64) as usize];
        let syllable = |rng: &mut Rng| {
            let from = pick_vowel(rng);
            let to = if rng.uniform_f64() < 0.4 { pick_vowel(rng) } else { from };
            Syllable {
                onset: (rng.uniform_f64() < 0.75).then(|| pick_consonant(rng)),
                coda: (rng.uniform_f64() < 0.4).then(|| pick_consonant(rng)),
                from,
                to,
                gain: [1.0, 0.8, 0.5].map(|g| g * uniform(rng, 0.8, 1.2)),
                weight: uniform(rng, 0.7, 1.3),
            }
        };
        let mut words: Vec<Word> = (0..10)
            .map(|digit| {
                // "zero" gets two syllables: "seven" is built from them below.
                let count = if digit == 0 {
                    2
                } else {
                    match rng.uniform_f64() {
                        u if u < 0.4 => 1,
                        u if u < 0.85 => 2,
                        _ => 3,
                    }
                };
                let syllables: Vec<Syllable> = (0..count).map(|_| syllable(&mut rng)).collect();
                Word { duration: 0.38 + 0.16 * count as f32 + uniform(&mut rng, -0.03, 0.03), syllables }
            })
            .collect();
        // Same parts, opposite order: a model that only counts spikes cannot tell these apart.
        let mut reversed = words[0].syllables.clone();
        reversed.reverse();
        words[7] = Word { syllables: reversed, duration: words[0].duration * uniform(&mut rng, 0.95, 1.05) };

        let change = (1.0 - knobs.language_similarity) as f32;
        let german: Vec<Word> = words
            .iter()
            .map(|english| {
                let syllables = english
                    .syllables
                    .iter()
                    .map(|s| {
                        let mut s = s.clone();
                        if rng.uniform_f64() < 0.5 * change as f64 {
                            s.from = pick_vowel(&mut rng);
                            s.to = if rng.uniform_f64() < 0.4 { pick_vowel(&mut rng) } else { s.from };
                        }
                        for k in 0..3 {
                            let moved = 60.0 * change * rng.normal() as f32;
                            s.from[k] += moved;
                            s.to[k] += moved + 20.0 * change * rng.normal() as f32;
                        }
                        if rng.uniform_f64() < change as f64 {
                            s.onset = Some(pick_consonant(&mut rng));
                        }
                        if rng.uniform_f64() < 0.5 * change as f64 {
                            s.coda = if s.coda.is_some() { None } else { Some(pick_consonant(&mut rng)) };
                        }
                        s.weight *= uniform(&mut rng, 1.0 - 0.3 * change, 1.0 + 0.3 * change);
                        s
                    })
                    .collect();
                Word {
                    syllables,
                    duration: english.duration * uniform(&mut rng, 1.0 - 0.2 * change, 1.0 + 0.25 * change),
                }
            })
            .collect();
        words.extend(german);

        let speakers = (0..SPEAKERS)
            .map(|i| {
                let female = i % 2 == 0;
                let body_height_cm = if female { 166.0 } else { 180.0 } + 6.0 * rng.normal() as f32;
                let vocal_tract = ((173.0 - body_height_cm) / 12.0).clamp(-1.5, 1.5);
                let scale = knobs.speaker_shift as f32;
                let held_out = match i as u16 {
                    4 => knobs.held_out_speaker_offset as f32,
                    5 => -knobs.held_out_speaker_offset as f32,
                    _ => 0.0,
                };
                Speaker {
                    female,
                    age: 20 + rng.below(41) as u16,
                    body_height_cm,
                    shift: scale * vocal_tract + 0.3 * scale * rng.normal() as f32 + held_out,
                    pitch: if female { uniform(&mut rng, 28.0, 40.0) } else { uniform(&mut rng, 12.0, 22.0) },
                    rate: 1.0 + knobs.speaker_rate_spread as f32 * uniform(&mut rng, -1.0, 1.0),
                    loudness: (knobs.speaker_loudness_spread * rng.normal()).exp() as f32,
                }
            })
            .collect();
        Self { words, speakers }
    }
}

/// Poisson(lambda): multiplication method for small lambda, a rounded normal for large (where
/// the approximation error is far below the other randomness here).
fn poisson(rng: &mut Rng, lambda: f64) -> usize {
    if lambda <= 0.0 {
        return 0;
    }
    if lambda > 30.0 {
        return (lambda + lambda.sqrt() * rng.normal()).round().max(0.0) as usize;
    }
    let limit = (-lambda).exp();
    let mut product = rng.uniform_f64();
    let mut count = 0;
    while product > limit {
        product *= rng.uniform_f64();
        count += 1;
    }
    count
}

/// A position in [0, 1) drawn from a trapezoid: rising over the first `attack`, falling over the
/// last `release` (the onset and offset of a sound), by rejection.
fn trapezoid(rng: &mut Rng, attack: f32, release: f32) -> f32 {
    loop {
        let u = rng.uniform_f64() as f32;
        let envelope = (u / attack).min((1.0 - u) / release).min(1.0);
        if (rng.uniform_f64() as f32) < envelope {
            return u;
        }
    }
}

/// One sound of an utterance, in word time tau (0..1 over the word).
enum Sound {
    Formant { start: f32, end: f32, from: f32, to: f32, width: f32 },
    Voicing { start: f32, end: f32 },
    Burst { at: f32, low: f32, high: f32 },
    Noise { start: f32, end: f32, low: f32, high: f32 },
    Murmur { start: f32, end: f32, centre: f32 },
}

/// The sounds of a word and their relative spike budgets.
fn sounds(word: &Word) -> Vec<(Sound, f32)> {
    let total: f32 = word.syllables.iter().map(|s| s.weight).sum::<f32>();
    let gaps = SYLLABLE_GAP * (word.syllables.len() - 1) as f32;
    let mut out = Vec::new();
    let mut cursor = 0.0;
    for s in &word.syllables {
        let span = s.weight / total * (1.0 - gaps);
        let (a, b) = (cursor, cursor + span);
        cursor = b + SYLLABLE_GAP;
        let consonant = |c: Consonant, start: f32, end: f32, out: &mut Vec<(Sound, f32)>| match c {
            Consonant::Plosive { low, high } => out.push((Sound::Burst { at: start, low, high }, 0.06)),
            Consonant::Fricative { low, high } => {
                out.push((Sound::Noise { start, end, low, high }, 0.9 * (end - start) * (high - low) / 150.0))
            }
            Consonant::Nasal { centre } => out.push((Sound::Murmur { start, end, centre }, 0.6 * (end - start))),
        };
        let mut nucleus = (a, b);
        if let Some(c) = s.onset {
            let length = match c {
                Consonant::Plosive { .. } => 0.08,
                Consonant::Fricative { .. } => 0.3,
                Consonant::Nasal { .. } => 0.2,
            } * span;
            consonant(c, a, a + length, &mut out);
            nucleus.0 = a + length;
        }
        if let Some(c) = s.coda {
            let length = 0.25 * span;
            match c {
                // A closure, then the release burst at the end of the syllable.
                Consonant::Plosive { .. } => consonant(c, b - 0.03 * span, b, &mut out),
                _ => consonant(c, b - length, b, &mut out),
            }
            nucleus.1 = b - length;
        }
        let (start, end) = nucleus;
        for k in 0..3 {
            let sound = Sound::Formant { start, end, from: s.from[k], to: s.to[k], width: FORMANT_WIDTH[k] };
            out.push((sound, s.gain[k] * (end - start)));
        }
        out.push((Sound::Voicing { start, end }, 0.25 * (end - start)));
    }
    let budget: f32 = out.iter().map(|(_, b)| b).sum();
    for (_, b) in &mut out {
        *b /= budget;
    }
    out
}

/// Draws one recording; `label` and `speaker` index the world's words and speakers.
fn render(world: &World, knobs: &Knobs, label: u16, speaker: u16, rng: &mut Rng) -> Sample {
    let word = &world.words[label as usize];
    let voice = &world.speakers[speaker as usize];
    let duration = word.duration * voice.rate * (1.0 + knobs.duration_jitter as f32 * uniform(rng, -1.0, 1.0)).max(0.1);
    let start = uniform(rng, knobs.start_min_s as f32, knobs.start_max_s as f32);
    let warp = knobs.warp as f32 * uniform(rng, -1.0, 1.0);
    let shift = voice.shift + knobs.channel_jitter as f32 * uniform(rng, -1.0, 1.0);
    let loudness = voice.loudness * (knobs.loudness_jitter * rng.normal()).exp() as f32;
    let time_of = |tau: f32| start + duration * (tau + warp * (PI * tau).sin() / PI);

    let mut spikes: Vec<(f32, f32, bool)> = Vec::new(); // (time, channel, is word spike)
    let expected = knobs.word_spikes * loudness as f64 * (duration / REFERENCE_DURATION_S) as f64;
    for (sound, share) in sounds(word) {
        let count = poisson(rng, expected * share as f64);
        for _ in 0..count {
            let (tau, channel, extra_delay) = match sound {
                Sound::Formant { start, end, from, to, width } => {
                    let u = trapezoid(rng, 0.12, 0.2);
                    let glide = u * u * (3.0 - 2.0 * u); // smoothstep
                    let centre = from + (to - from) * glide + shift;
                    (start + u * (end - start), centre + width * rng.normal() as f32, 0.0)
                }
                Sound::Voicing { start, end } => {
                    let u = trapezoid(rng, 0.12, 0.2);
                    (start + u * (end - start), voice.pitch + 3.0 * rng.normal() as f32, 0.0)
                }
                Sound::Burst { at, low, high } => {
                    // Onset transient: exponential decay with an 8 ms time constant.
                    let delay = -0.008 * (1.0 - rng.uniform_f64() as f32).ln();
                    (at, uniform(rng, low, high) + 0.5 * shift, delay)
                }
                Sound::Noise { start, end, low, high } => {
                    let u = trapezoid(rng, 0.2, 0.2);
                    (start + u * (end - start), uniform(rng, low, high) + 0.5 * shift, 0.0)
                }
                Sound::Murmur { start, end, centre } => {
                    let u = trapezoid(rng, 0.2, 0.2);
                    (start + u * (end - start), centre + 10.0 * rng.normal() as f32 + 0.5 * shift, 0.0)
                }
            };
            let time = time_of(tau) + extra_delay + knobs.time_jitter_s as f32 * rng.normal() as f32;
            spikes.push((time, channel, true));
        }
    }
    // Background activity for the whole recording, which ends a little after the word.
    let recording = (time_of(1.0) + 0.1).min(MAX_TIME_S);
    for _ in 0..poisson(rng, knobs.noise_rate_hz * CHANNELS as f64 * recording as f64) {
        let time = uniform(rng, 0.0, recording);
        spikes.push((time, rng.below(CHANNELS as u64) as f32, false));
    }

    let mut pairs: Vec<(u16, u16)> = Vec::with_capacity(spikes.len() + spikes.len() / 20);
    for (time, channel, word_spike) in spikes {
        let channel = channel.round();
        if !(0.0..CHANNELS as f32).contains(&channel) || !(0.0..MAX_TIME_S).contains(&time) {
            continue; // beyond the cochlea's range or outside the recording
        }
        let bits = f32_to_f16(time);
        if f16_to_f32(bits) >= MAX_TIME_S {
            continue;
        }
        pairs.push((bits, channel as u16));
        if word_spike && rng.uniform_f64() < knobs.duplicate_fraction {
            pairs.push((bits, channel as u16));
        }
    }
    // Non-negative float16 bit patterns order as their values.
    pairs.sort_unstable();
    let (times, units) = pairs.into_iter().unzip();
    Sample { label, speaker, times, units }
}

/// The speakers that appear in the training split.
fn train_speakers() -> Vec<u16> {
    (0..SPEAKERS as u16).filter(|s| !TEST_ONLY_SPEAKERS.contains(s)).collect()
}

/// Sample `index` of `split`: its label, speaker and spikes, from its own random stream.
pub fn sample(world: &World, knobs: &Knobs, split: Split, seed: u64, index: usize) -> Sample {
    let stream = ((split as u64) << 40) | index as u64;
    let mut rng = Rng::derive(seed, stream);
    let label = rng.below(CLASSES as u64) as u16;
    let common = train_speakers();
    let speaker = if split == Split::Test && rng.uniform_f64() < knobs.held_out_test_share {
        TEST_ONLY_SPEAKERS[rng.below(TEST_ONLY_SPEAKERS.len() as u64) as usize]
    } else {
        common[rng.below(common.len() as u64) as usize]
    };
    render(world, knobs, label, speaker, &mut rng)
}

/// Samples `indices` of `split`, in parallel, in order.
pub fn generate(world: &World, knobs: &Knobs, split: Split, seed: u64, indices: Range<usize>) -> Vec<Sample> {
    indices.into_par_iter().map(|i| sample(world, knobs, split, seed, i)).collect()
}

/// Spike statistics of one written file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SplitStatistics {
    pub samples: usize,
    pub spikes: u64,
    pub min_spikes: usize,
    pub max_spikes: usize,
    /// Spikes at or after 1 s (dropped by the official binning).
    pub spikes_after_one_second: u64,
    /// Spikes that repeat the (time, unit) of the spike before them.
    pub repeated_spikes: u64,
}

impl SplitStatistics {
    fn add(&mut self, s: &Sample) {
        let n = s.times.len();
        self.min_spikes = if self.samples == 0 { n } else { self.min_spikes.min(n) };
        self.max_spikes = self.max_spikes.max(n);
        self.samples += 1;
        self.spikes += n as u64;
        let one_second = f32_to_f16(1.0);
        self.spikes_after_one_second += s.times.iter().filter(|&&t| t >= one_second).count() as u64;
        self.repeated_spikes +=
            (1..n).filter(|&i| s.times[i] == s.times[i - 1] && s.units[i] == s.units[i - 1]).count() as u64;
    }

    pub fn mean_spikes(&self) -> f64 {
        self.spikes as f64 / self.samples.max(1) as f64
    }
}

/// What `SYNTHETIC.json` records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShdMarker {
    pub generator: String,
    pub tier: Tier,
    pub seed: u64,
    pub files: Vec<String>,
    pub train_samples: usize,
    pub test_samples: usize,
    pub knobs: Knobs,
    pub train: SplitStatistics,
    pub test: SplitStatistics,
}

/// Samples generated at once: bounds memory (a few MB) while keeping both cores busy.
const CHUNK: usize = 256;

/// Writes one split's file in the SHD layout.
fn write_split(
    path: &Path,
    world: &World,
    knobs: &Knobs,
    split: Split,
    seed: u64,
    count: usize,
    bar: &ProgressBar,
) -> Result<SplitStatistics> {
    let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = Hdf5Writer::new(BufWriter::with_capacity(1 << 20, file))?;
    let (mut times, mut units) = (Vec::with_capacity(count), Vec::with_capacity(count));
    let (mut labels, mut speakers) = (Vec::with_capacity(count), Vec::with_capacity(count));
    let mut statistics = SplitStatistics::default();
    for begin in (0..count).step_by(CHUNK) {
        for s in generate(world, knobs, split, seed, begin..(begin + CHUNK).min(count)) {
            let bits: Vec<F16Bits> = s.times.iter().map(|&b| F16Bits(b)).collect();
            times.push(out.put_sequence(&bits)?);
            units.push(out.put_sequence(&s.units)?);
            labels.push(s.label);
            speakers.push(s.speaker);
            statistics.add(&s);
            bar.inc(1);
        }
    }
    out.add_vlen_sequences("spikes/times", Scalar::F16, &times)?;
    out.add_vlen_sequences("spikes/units", Scalar::U16, &units)?;
    out.add_scalars("labels", &labels)?;
    out.add_scalars("extra/speaker", &speakers)?;
    out.add_vlen_strings("extra/keys", &KEYS)?;
    let genders: Vec<&str> = world.speakers.iter().map(|s| if s.female { "female" } else { "male" }).collect();
    out.add_vlen_strings("extra/meta_info/gender", &genders)?;
    out.add_scalars("extra/meta_info/age", &world.speakers.iter().map(|s| s.age).collect::<Vec<u16>>())?;
    let heights: Vec<f32> = world.speakers.iter().map(|s| s.body_height_cm).collect();
    out.add_scalars("extra/meta_info/body_height", &heights)?;
    let file = out.finish()?.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(statistics)
}

/// Writes a synthetic SHD under `<data_dir>/shd` with the default knobs; see
/// [`synthesize_with`].
pub fn synthesize(data_dir: &Path, tier: Tier, seed: u64) -> Result<ShdMarker> {
    synthesize_with(data_dir, tier, seed, &Knobs::default())
}

/// Writes `shd_train.h5`, `shd_test.h5` and the marker into a staging folder beside
/// `<data_dir>/shd`, then moves it into place, replacing an earlier synthetic SHD. Real data
/// (a non-empty folder without the marker) is never touched. Shows progress for the paper tier.
pub fn synthesize_with(data_dir: &Path, tier: Tier, seed: u64, knobs: &Knobs) -> Result<ShdMarker> {
    knobs.validate()?;
    let root = data_dir.join("shd");
    check_replaceable(&root)?;
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let staging = crate::io::temporary_sibling(&root)?;
    std::fs::create_dir(&staging).with_context(|| format!("creating {}", staging.display()))?;

    let written = (|| -> Result<ShdMarker> {
        let world = World::new(knobs);
        let sizes = sizes(tier);
        let bar = if tier == Tier::Paper {
            let bar = ProgressBar::new((sizes.train + sizes.test) as u64);
            bar.set_style(ProgressStyle::with_template(
                "synthesizing SHD [{bar:30}] {pos}/{len} samples {elapsed} (eta {eta})",
            )?);
            bar
        } else {
            ProgressBar::hidden()
        };
        let train = write_split(&staging.join(TRAIN_FILE), &world, knobs, Split::Train, seed, sizes.train, &bar)?;
        let test = write_split(&staging.join(TEST_FILE), &world, knobs, Split::Test, seed, sizes.test, &bar)?;
        bar.finish_and_clear();
        let marker = ShdMarker {
            generator: GENERATOR.to_string(),
            tier,
            seed,
            files: vec![TRAIN_FILE.to_string(), TEST_FILE.to_string()],
            train_samples: sizes.train,
            test_samples: sizes.test,
            knobs: knobs.clone(),
            train,
            test,
        };
        let json = serde_json::to_string_pretty(&marker)?;
        crate::io::write_atomically(&staging.join(MARKER), json.as_bytes())?;
        Ok(marker)
    })();
    let marker = match written {
        Ok(marker) => marker,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e.context(format!("synthesizing SHD into {}", staging.display())));
        }
    };
    if let Err(e) = move_into_place(&staging, &root) {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    Ok(marker)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_has_the_right_mean() {
        let mut rng = Rng::new(3);
        for lambda in [0.5, 7.0, 400.0] {
            let n = 20_000;
            let mean = (0..n).map(|_| poisson(&mut rng, lambda) as f64).sum::<f64>() / n as f64;
            // Standard error sqrt(lambda / n): at most 0.15 for lambda 400; allow 5 of them.
            assert!((mean - lambda).abs() < 5.0 * (lambda / n as f64).sqrt(), "lambda {lambda}: mean {mean}");
        }
    }

    #[test]
    fn words_are_built_as_documented() {
        let world = World::new(&Knobs::default());
        assert_eq!(world.words.len(), CLASSES);
        assert_eq!(world.speakers.len(), SPEAKERS);
        let zero = &world.words[0].syllables;
        let seven = &world.words[7].syllables;
        assert_eq!(zero.len(), 2);
        assert_eq!((zero[0].from, zero[1].from), (seven[1].from, seven[0].from));
        for w in &world.words {
            assert!((1..=3).contains(&w.syllables.len()));
            let shares: f32 = sounds(w).iter().map(|(_, b)| b).sum();
            assert!((shares - 1.0).abs() < 1e-4);
        }
        // Shifts within the documented spread (vocal tract at most 1.5 x the scale, individual
        // part within 4 standard deviations, the held-out offset); rates within 1 +- 0.15.
        let k = Knobs::default();
        let bound = (1.5 + 4.0 * 0.3) * k.speaker_shift + k.held_out_speaker_offset;
        for s in &world.speakers {
            assert!((s.shift.abs() as f64) < bound, "{s:?}");
            assert!(s.rate > 0.84 && s.rate < 1.16 && s.loudness > 0.0, "{s:?}");
        }
        // Shorter speakers have higher formants: the vocal-tract part dominates on average.
        let mean = |female: bool| {
            let v: Vec<f32> = world.speakers.iter().filter(|s| s.female == female).map(|s| s.shift).collect();
            v.iter().sum::<f32>() / v.len() as f32
        };
        assert!(mean(true) > mean(false));
    }

    #[test]
    fn bad_knobs_are_named() {
        let knobs = Knobs { warp: 1.5, ..Knobs::default() };
        let e = knobs.validate().unwrap_err().to_string();
        assert!(e.contains("warp = 1.5"), "{e}");
        let knobs = Knobs { start_min_s: 0.3, start_max_s: 0.2, ..Knobs::default() };
        assert!(knobs.validate().unwrap_err().to_string().contains("start_max_s"));
    }
}
