//! Pathfinder-32 and Path-X (Pathfinder-128), generated in the spirit of drewlinsley/pathfinder
//! `snakes2.py` (the LRA generator; DATASETS.md 3.6) and written as
//! `pathfinder{32,128}/curv_contour_length_14/{metadata/<batch>.npy, imgs/<batch>/sample_<k>.png}`.
//!
//! An image holds:
//! * two target contours ("snakes") of `contour_length` (14) paddles each: short line segments
//!   of `paddle_length` and `paddle_thickness`, consecutive ones separated by a gap of the
//!   image's `paddle_margin`, each turning from the last by an angle drawn with density
//!   cos²(min(|turn| x `continuity`, pi/2)) (the original's continuity weighting), so the
//!   contour is a dashed, smoothly curving line. The first snake starts at least `seed_border`
//!   from the image border, the second exactly `seed_distance` from the first; they grow
//!   paddle by paddle in turn;
//! * `distractor_snakes` contours of `distractor_length` paddles, then single-paddle
//!   distractors wherever they fit (up to `single_paddles`), as the original fills the image;
//! * two filled circular markers of `marker_radius`: one on the start of one target snake
//!   ("origin"), the other on the far end of the same snake (label 1) or of the other target
//!   snake (label 0). Both target snakes are always there, so counting contours tells nothing.
//!
//! Rendering: each shape is drawn at `supersample` x the resolution and box-filtered down (the
//! original renders at 2x and downsamples with Lanczos; a box filter cannot ring, so the
//! background stays exactly 0), paddles at `paddle_gain` x their pixel coverage (clipped to 1,
//! so thin paddles stay visible), markers at their coverage; shapes combine by maximum (as the
//! original's `np.maximum`); 0 -> 0 and 1 -> 255.
//!
//! Connectivity (a deliberate, documented tightening of the original): every pixel a shape
//! touches (value > 0) belongs to one contour, and pixels of different contours (distractors
//! included) are never within `bridge` pixels (Chebyshev distance) of each other, while the
//! gaps between consecutive paddles of a contour are bridged at that distance. So the label is
//! exactly "the two marker centres are connected when non-zero pixels within `bridge` of each
//! other count as neighbours" (the tests flood-fill the PNGs to check it). The original keeps
//! contours apart by the paddle margin only, so there a flood fill at the gap scale can merge
//! contours; here the separation is one pixel more than the bridging distance. Each finished
//! image is checked this way before it is written; one that fails (a gap too wide after
//! rendering) is drawn again from the same stream.
//!
//! Labels are exactly balanced: images 2j and 2j+1 get opposite labels, in an order drawn from
//! the pair's own stream. PNGs: 8-bit greyscale, written with the `png` crate (pure Rust and
//! already in the build through plotters' bitmap encoder, so no C libpng or zlib and nothing new
//! to compile). Metadata lines (plain text despite `.npy`, LF line ends, as the LRA files):
//! `imgs/<batch> sample_<k>.png <k> <label> <continuity> <contour_length> <distractor_length>
//! <paddle_length> <paddle_thickness> <paddle_margin> 1` (the last field: the number of paddle
//! contrasts, one here).

use super::{check_range, create, create_dir, finish, item_rng, progress, python_float, uniform, Stream, CHUNK};
use crate::engine::Rng;
use crate::tasks::Tier;
use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;
use std::io::Write;
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Knobs {
    /// Image width and height (32 for Pathfinder-32, 128 for Path-X).
    pub size: usize,
    /// Paddles per target contour: 14 in `curv_contour_length_14`, the difficulty LRA uses.
    pub contour_length: usize,
    pub distractor_snakes: usize,
    /// Paddles per distractor contour (the original: contour_length / 3).
    pub distractor_length: usize,
    /// Most single-paddle distractors per image (fewer when the image is full).
    pub single_paddles: usize,
    /// Paddle length (pixels).
    pub paddle_length: u32,
    /// Paddle thickness (pixels).
    pub paddle_thickness: f64,
    /// Gaps between consecutive paddles (pixels); each image draws one.
    pub paddle_margins: Vec<u32>,
    /// Turning stiffness: turns of pi / (2 x continuity) or more are never taken.
    pub continuity: f64,
    pub marker_radius: f64,
    /// Distance between the two target contours' starts.
    pub seed_distance: f64,
    /// The first target contour starts at least this far from the border.
    pub seed_border: f64,
    /// Nothing is drawn closer than this to the border.
    pub padding: f64,
    /// Rendering resolution factor (anti-aliasing).
    pub supersample: usize,
    /// Paddle brightness per unit of pixel coverage (clipped at 1).
    pub paddle_gain: f64,
    /// Pixels of different contours are more than this far apart (Chebyshev); gaps within a
    /// contour are at most this wide.
    pub bridge: usize,
    /// Images per `imgs/<batch>` folder and `metadata/<batch>.npy` file.
    pub images_per_batch: usize,
    /// Layout attempts per image before giving up with an error.
    pub max_attempts: u64,
}

impl Knobs {
    /// LRA's Pathfinder-32 settings (DATASETS.md 3.6): window 32, paddle length 2, thickness
    /// 0.5, margin 1, marker radius 1.5, seed distance 7, continuity 1.0; one distractor
    /// contour of 4 paddles (20 / 14 in the original's rule).
    pub fn pathfinder32() -> Self {
        Self {
            size: 32,
            contour_length: 14,
            distractor_snakes: 1,
            distractor_length: 4,
            single_paddles: 30,
            paddle_length: 2,
            paddle_thickness: 0.5,
            paddle_margins: vec![1],
            continuity: 1.0,
            marker_radius: 1.5,
            seed_distance: 7.0,
            // The original's first seed keeps 2 x seed_distance from the border.
            seed_border: 14.0,
            padding: 1.0,
            // 0.5-pixel paddles need a finer grid than the original's 2x to keep their shape.
            supersample: 4,
            paddle_gain: 1.5,
            bridge: 2,
            images_per_batch: 1000,
            max_attempts: 2000,
        }
    }

    /// LRA's Path-X settings: window 128, thickness 1.5, margins 2 or 3, marker radius 3, seed
    /// distance 20, continuity 1.8; two distractor contours (35 / 14). The paddle length is not
    /// in the LRA docstrings: 5 pixels makes a 14-paddle contour about 100 pixels long, most of
    /// the window, as in the released images.
    pub fn pathx() -> Self {
        Self {
            size: 128,
            contour_length: 14,
            distractor_snakes: 2,
            distractor_length: 4,
            single_paddles: 200,
            paddle_length: 5,
            paddle_thickness: 1.5,
            paddle_margins: vec![2, 3],
            continuity: 1.8,
            marker_radius: 3.0,
            seed_distance: 20.0,
            seed_border: 40.0,
            padding: 1.0,
            supersample: 2,
            paddle_gain: 1.2,
            bridge: 4,
            images_per_batch: 1000,
            max_attempts: 2000,
        }
    }

    /// Pathfinder-32 for the smoke and quick tiers: the same generator with clearer contours,
    /// 1-pixel paddles at full brightness, 6 paddles a contour (LRA's `curv_baseline`
    /// difficulty; the hard one has 14), a 3-paddle distractor contour and at most 6 single
    /// paddles, so a model trained for a minute has a chance to follow them.
    pub fn pathfinder32_quick() -> Self {
        Self {
            contour_length: 6,
            distractor_length: 3,
            single_paddles: 6,
            paddle_thickness: 1.0,
            paddle_gain: 1.0,
            ..Self::pathfinder32()
        }
    }

    /// Path-X for the smoke and quick tiers: 2-pixel paddles, 10 paddles a contour, fewer
    /// single paddles (Path-X stays hard: 16,384 steps).
    pub fn pathx_quick() -> Self {
        Self { contour_length: 10, single_paddles: 60, paddle_thickness: 2.0, ..Self::pathx() }
    }

    /// The settings of a tier: LRA's for the paper tier, the clearer ones otherwise.
    pub fn for_tier(tier: Tier, size: usize) -> Self {
        match (tier, size) {
            (Tier::Paper, 32) => Self::pathfinder32(),
            (Tier::Paper, _) => Self::pathx(),
            (_, 32) => Self::pathfinder32_quick(),
            _ => Self::pathx_quick(),
        }
    }

    /// `pathfinder<size>`.
    pub fn folder(&self) -> String {
        format!("pathfinder{}", self.size)
    }

    pub fn validate(&self) -> Result<()> {
        check_range("size", self.size as f64, 16.0, 1024.0)?;
        check_range("contour_length", self.contour_length as f64, 1.0, 200.0)?;
        check_range("distractor_length", self.distractor_length as f64, 1.0, 200.0)?;
        check_range("paddle_length", self.paddle_length as f64, 1.0, self.size as f64 / 4.0)?;
        check_range("paddle_thickness", self.paddle_thickness, 0.1, 8.0)?;
        check_range("continuity", self.continuity, 0.5, 20.0)?;
        check_range("marker_radius", self.marker_radius, 0.5, self.size as f64 / 8.0)?;
        check_range("seed_distance", self.seed_distance, 1.0, self.size as f64 / 2.0)?;
        check_range("seed_border", self.seed_border, self.padding, self.size as f64 / 2.0)?;
        check_range("padding", self.padding, 0.0, self.size as f64 / 4.0)?;
        check_range("supersample", self.supersample as f64, 1.0, 16.0)?;
        check_range("paddle_gain", self.paddle_gain, 0.1, 16.0)?;
        check_range("bridge", self.bridge as f64, 1.0, 16.0)?;
        check_range("images_per_batch", self.images_per_batch as f64, 1.0, 1e6)?;
        check_range("max_attempts", self.max_attempts as f64, 1.0, 1e9)?;
        if self.paddle_margins.is_empty() {
            bail!("knob paddle_margins is empty");
        }
        for &m in &self.paddle_margins {
            if m as usize > self.bridge || m == 0 {
                bail!(
                    "knob paddle_margins holds {m}: gaps must lie in 1..={} (below bridge = {} + 1) to be bridged",
                    self.bridge,
                    self.bridge
                );
            }
        }
        Ok(())
    }
}

/// One finished image.
#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    /// Row-major greyscale, `size` x `size`.
    pub pixels: Vec<u8>,
    pub label: u8,
    /// The gap drawn for this image.
    pub margin: u32,
    /// Marker centres (x, y) in pixels: the origin marker, then the other one.
    pub markers: [(usize, usize); 2],
    /// Layout attempts it took.
    pub attempts: u64,
    /// Single-paddle distractors placed.
    pub single_paddles: usize,
}

/// A shape's pixels at the final resolution: values in (0, 1] of a `w` x `h` box at (x0, y0).
#[derive(Clone, Debug)]
struct Patch {
    x0: usize,
    y0: usize,
    w: usize,
    values: Vec<f32>,
}

impl Patch {
    fn pixels(&self) -> impl Iterator<Item = (usize, usize, f32)> + '_ {
        self.values
            .iter()
            .enumerate()
            .filter(|(_, &v)| v > 0.0)
            .map(|(i, &v)| (self.x0 + i % self.w, self.y0 + i / self.w, v))
    }
}

/// Draws the shape `inside(x, y)` (final-resolution coordinates) within the box around
/// [x_min, x_max] x [y_min, y_max], at `s` x `s` samples per pixel, scaled by `gain`.
fn rasterise(size: usize, s: usize, bounds: [f64; 4], gain: f64, inside: impl Fn(f64, f64) -> bool) -> Patch {
    let clamp = |v: f64| (v.floor().max(0.0) as usize).min(size);
    let (x0, x1) = (clamp(bounds[0]), clamp(bounds[1] + 1.0));
    let (y0, y1) = (clamp(bounds[2]), clamp(bounds[3] + 1.0));
    let (w, h) = (x1 - x0, y1 - y0);
    let mut values = vec![0f32; w * h];
    let step = 1.0 / s as f64;
    for py in 0..h {
        for px in 0..w {
            let mut hits = 0;
            for j in 0..s {
                let y = (y0 + py) as f64 + (j as f64 + 0.5) * step;
                for i in 0..s {
                    if inside((x0 + px) as f64 + (i as f64 + 0.5) * step, y) {
                        hits += 1;
                    }
                }
            }
            values[py * w + px] = ((hits as f64 / (s * s) as f64) * gain).min(1.0) as f32;
        }
    }
    Patch { x0, y0, w, values }
}

/// Distance from (x, y) to the segment a-b.
fn segment_distance(x: f64, y: f64, a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 { (((x - a.0) * dx + (y - a.1) * dy) / len2).clamp(0.0, 1.0) } else { 0.0 };
    let (cx, cy) = (a.0 + t * dx, a.1 + t * dy);
    ((x - cx).powi(2) + (y - cy).powi(2)).sqrt()
}

/// Marks a pixel's owner: contour id (from 1) in the high bits, the shape's part in the low 16.
const MARKER_PART: u32 = 0xFFFF;

/// The image being laid out: which contour owns each pixel, and the shapes drawn so far.
struct Layout<'a> {
    knobs: &'a Knobs,
    owner: Vec<u32>,
    shapes: Vec<(u32, Patch)>,
}

#[derive(Clone, Copy, Debug)]
struct Tip {
    x: f64,
    y: f64,
    angle: f64,
}

impl<'a> Layout<'a> {
    fn new(knobs: &'a Knobs) -> Self {
        Self { knobs, owner: vec![0; knobs.size * knobs.size], shapes: Vec::new() }
    }

    fn paddle(&self, a: (f64, f64), b: (f64, f64)) -> Patch {
        let k = self.knobs;
        let r = k.paddle_thickness / 2.0;
        let bounds = [a.0.min(b.0) - r, a.0.max(b.0) + r, a.1.min(b.1) - r, a.1.max(b.1) + r];
        rasterise(k.size, k.supersample, bounds, k.paddle_gain, |x, y| segment_distance(x, y, a, b) <= r)
    }

    fn disc(&self, c: (f64, f64)) -> Patch {
        let k = self.knobs;
        let r = k.marker_radius;
        let bounds = [c.0 - r, c.0 + r, c.1 - r, c.1 + r];
        rasterise(k.size, k.supersample, bounds, 1.0, |x, y| (x - c.0).powi(2) + (y - c.1).powi(2) <= r * r)
    }

    /// Whether `patch` can join contour `snake` as its part `part`: no pixel of another contour
    /// within `bridge`, and no overlap with its own paddles older than the previous one.
    fn fits(&self, patch: &Patch, snake: u32, part: u32) -> bool {
        let size = self.knobs.size as isize;
        let r = self.knobs.bridge as isize;
        for (x, y, _) in patch.pixels() {
            for ny in (y as isize - r).max(0)..=(y as isize + r).min(size - 1) {
                for nx in (x as isize - r).max(0)..=(x as isize + r).min(size - 1) {
                    let o = self.owner[(ny * size + nx) as usize];
                    if o == 0 {
                        continue;
                    }
                    if o >> 16 != snake {
                        return false;
                    }
                    let own = o & 0xFFFF;
                    let same_pixel = nx == x as isize && ny == y as isize;
                    if same_pixel && part != MARKER_PART && own != MARKER_PART && own + 1 < part {
                        return false;
                    }
                }
            }
        }
        patch.pixels().next().is_some()
    }

    fn commit(&mut self, patch: Patch, snake: u32, part: u32) {
        let size = self.knobs.size;
        for (x, y, _) in patch.pixels() {
            self.owner[y * size + x] = (snake << 16) | part;
        }
        self.shapes.push((snake, patch));
    }

    /// Removes contour `snake` (a distractor that could not be finished).
    fn remove(&mut self, snake: u32) {
        for o in self.owner.iter_mut() {
            if *o >> 16 == snake {
                *o = 0;
            }
        }
        self.shapes.retain(|(s, _)| *s != snake);
    }

    fn inside(&self, p: (f64, f64)) -> bool {
        let k = self.knobs;
        let low = k.padding + k.paddle_thickness / 2.0;
        let high = k.size as f64 - low;
        (low..=high).contains(&p.0) && (low..=high).contains(&p.1)
    }

    /// Places a contour's first paddle from `start` along `angle`.
    fn first_paddle(&mut self, snake: u32, start: (f64, f64), angle: f64) -> Option<Tip> {
        let l = self.knobs.paddle_length as f64;
        let end = (start.0 + l * angle.cos(), start.1 + l * angle.sin());
        if !self.inside(start) || !self.inside(end) {
            return None;
        }
        let patch = self.paddle(start, end);
        if !self.fits(&patch, snake, 0) {
            return None;
        }
        self.commit(patch, snake, 0);
        Some(Tip { x: end.0, y: end.1, angle })
    }

    /// Extends a contour by paddle `part` after `tip`, trying a few turns.
    fn next_paddle(&mut self, rng: &mut Rng, snake: u32, part: u32, tip: Tip, margin: f64) -> Option<Tip> {
        const TURN_TRIALS: usize = 12;
        let l = self.knobs.paddle_length as f64;
        for _ in 0..TURN_TRIALS {
            let angle = tip.angle + turn(rng, self.knobs.continuity);
            let (ux, uy) = (angle.cos(), angle.sin());
            let start = (tip.x + margin * ux, tip.y + margin * uy);
            let end = (start.0 + l * ux, start.1 + l * uy);
            if !self.inside(start) || !self.inside(end) {
                continue;
            }
            let patch = self.paddle(start, end);
            if self.fits(&patch, snake, part) {
                self.commit(patch, snake, part);
                return Some(Tip { x: end.0, y: end.1, angle });
            }
        }
        None
    }

    /// A whole contour of `paddles` paddles from a random start; removed again if it cannot be
    /// finished.
    fn contour(&mut self, rng: &mut Rng, snake: u32, paddles: usize, margin: f64) -> bool {
        let size = self.knobs.size as f64;
        let start = (uniform(rng, 0.0, size), uniform(rng, 0.0, size));
        let Some(mut tip) = self.first_paddle(snake, start, uniform(rng, -PI, PI)) else {
            return false;
        };
        for part in 1..paddles {
            match self.next_paddle(rng, snake, part as u32, tip, margin) {
                Some(t) => tip = t,
                None => {
                    self.remove(snake);
                    return false;
                }
            }
        }
        true
    }

    fn render(&self) -> Vec<u8> {
        let size = self.knobs.size;
        let mut values = vec![0f32; size * size];
        for (_, patch) in &self.shapes {
            for (x, y, v) in patch.pixels() {
                let p = &mut values[y * size + x];
                *p = p.max(v);
            }
        }
        // Every drawn pixel stays non-zero (at least 1), however faint: the connectivity
        // guarantee is about the pixels the shapes touch.
        values.iter().map(|&v| if v > 0.0 { (v * 255.0).round().clamp(1.0, 255.0) as u8 } else { 0 }).collect()
    }
}

/// A turn angle with density proportional to cos²(min(|turn| x continuity, pi/2)).
fn turn(rng: &mut Rng, continuity: f64) -> f64 {
    let limit = PI / (2.0 * continuity);
    loop {
        let t = uniform(rng, -limit, limit);
        if rng.uniform_f64() < (t * continuity).cos().powi(2) {
            return t;
        }
    }
}

/// Connected components of the non-zero pixels, with pixels within `bridge` (Chebyshev)
/// counting as neighbours; 0 for background, components numbered from 1.
pub fn components(pixels: &[u8], size: usize, bridge: usize) -> Vec<u32> {
    let mut component = vec![0u32; pixels.len()];
    let mut next = 0;
    let r = bridge as isize;
    let mut stack = Vec::new();
    for start in 0..pixels.len() {
        if pixels[start] == 0 || component[start] != 0 {
            continue;
        }
        next += 1;
        component[start] = next;
        stack.push(start);
        while let Some(p) = stack.pop() {
            let (x, y) = ((p % size) as isize, (p / size) as isize);
            for ny in (y - r).max(0)..=(y + r).min(size as isize - 1) {
                for nx in (x - r).max(0)..=(x + r).min(size as isize - 1) {
                    let q = ny as usize * size + nx as usize;
                    if pixels[q] != 0 && component[q] == 0 {
                        component[q] = next;
                        stack.push(q);
                    }
                }
            }
        }
    }
    component
}

/// Label of image `index`: images 2j and 2j + 1 have opposite labels, so every pair (and every
/// even-sized prefix) is balanced.
pub fn label(seed: u64, stream: Stream, index: usize) -> u8 {
    let first = item_rng(seed, Stream::PathfinderLabels, stream as u64, (index / 2) as u64).below(2) as u8;
    first ^ (index % 2) as u8
}

/// One layout attempt: the two target contours with their markers; `None` if it failed.
fn targets(layout: &mut Layout, rng: &mut Rng, label: u8, margin: f64) -> Option<[(f64, f64); 2]> {
    let k = layout.knobs;
    let size = k.size as f64;
    let origin = rng.below(2) as usize;
    let a = (uniform(rng, k.seed_border, size - k.seed_border), uniform(rng, k.seed_border, size - k.seed_border));
    let mut tips = [layout.first_paddle(1, a, uniform(rng, -PI, PI))?, Tip { x: 0.0, y: 0.0, angle: 0.0 }];
    let direction = uniform(rng, -PI, PI);
    let b = (a.0 + k.seed_distance * direction.cos(), a.1 + k.seed_distance * direction.sin());
    tips[1] = layout.first_paddle(2, b, uniform(rng, -PI, PI))?;
    let starts = [a, b];
    let origin_marker = layout.disc(starts[origin]);
    if !layout.fits(&origin_marker, origin as u32 + 1, MARKER_PART) {
        return None;
    }
    layout.commit(origin_marker, origin as u32 + 1, MARKER_PART);
    for part in 1..k.contour_length as u32 {
        for s in 0..2 {
            tips[s] = layout.next_paddle(rng, s as u32 + 1, part, tips[s], margin)?;
        }
    }
    let other = if label == 1 { origin } else { 1 - origin };
    let end = (tips[other].x, tips[other].y);
    let end_marker = layout.disc(end);
    if !layout.fits(&end_marker, other as u32 + 1, MARKER_PART) {
        return None;
    }
    layout.commit(end_marker, other as u32 + 1, MARKER_PART);
    Some([starts[origin], end])
}

/// Image `index` of a Pathfinder dataset (`stream` tells Pathfinder-32 from Path-X).
pub fn image(knobs: &Knobs, seed: u64, stream: Stream, index: usize) -> Result<Image> {
    let label = label(seed, stream, index);
    let mut rng = item_rng(seed, stream, 0, index as u64);
    let size = knobs.size;
    for attempt in 1..=knobs.max_attempts {
        let margin = knobs.paddle_margins[rng.below(knobs.paddle_margins.len() as u64) as usize];
        let mut layout = Layout::new(knobs);
        let Some(markers) = targets(&mut layout, &mut rng, label, margin as f64) else {
            continue;
        };
        let mut snake = 3;
        for _ in 0..knobs.distractor_snakes {
            const CONTOUR_TRIALS: usize = 20;
            for _ in 0..CONTOUR_TRIALS {
                if layout.contour(&mut rng, snake, knobs.distractor_length, margin as f64) {
                    break;
                }
            }
            snake += 1;
        }
        // Single paddles until the cap or until the image is full (many misses in a row).
        const MISSES: usize = 40;
        let (mut placed, mut misses) = (0, 0);
        while placed < knobs.single_paddles && misses < MISSES {
            let start = (uniform(&mut rng, 0.0, size as f64), uniform(&mut rng, 0.0, size as f64));
            if layout.first_paddle(snake, start, uniform(&mut rng, -PI, PI)).is_some() {
                placed += 1;
                snake += 1;
                misses = 0;
            } else {
                misses += 1;
            }
        }
        let pixels = layout.render();
        let centre = |p: (f64, f64)| ((p.0.floor() as usize).min(size - 1), (p.1.floor() as usize).min(size - 1));
        let markers = [centre(markers[0]), centre(markers[1])];
        let comp = components(&pixels, size, knobs.bridge);
        let at = |m: (usize, usize)| comp[m.1 * size + m.0];
        let connected = at(markers[0]) != 0 && at(markers[0]) == at(markers[1]);
        if connected == (label == 1) && at(markers[1]) != 0 {
            return Ok(Image { pixels, label, margin, markers, attempts: attempt, single_paddles: placed });
        }
    }
    bail!(
        "{} image {index}: no layout in {} attempts (knobs too crowded for a {size}x{size} window?)",
        knobs.folder(),
        knobs.max_attempts
    )
}

/// 8-bit greyscale PNG bytes.
pub fn encode_png(pixels: &[u8], size: usize) -> Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(pixels.len() / 2 + 128);
    let mut encoder = png::Encoder::new(&mut bytes, size as u32, size as u32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().context("writing a PNG header")?;
    writer.write_image_data(pixels).context("encoding PNG pixels")?;
    writer.finish().context("finishing a PNG")?;
    Ok(bytes)
}

/// The metadata line of image `k` of batch `batch`.
pub fn metadata_line(knobs: &Knobs, batch: usize, k: usize, label: u8, margin: u32) -> String {
    format!(
        "imgs/{batch} sample_{k}.png {k} {label} {} {} {} {} {} {margin} 1\n",
        python_float(knobs.continuity),
        knobs.contour_length,
        knobs.distractor_length,
        knobs.paddle_length,
        python_float(knobs.paddle_thickness),
    )
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Statistics {
    pub images: u64,
    pub batches: u64,
    pub positives: u64,
    /// Layout attempts per image.
    pub attempts_per_image: f64,
    pub max_attempts: u64,
    pub single_paddles_per_image: f64,
    /// Share of non-zero pixels.
    pub ink_fraction: f64,
    /// Mean distance between the marker centres, for label 0 and label 1 (similar values mean
    /// the distance alone says little about the label).
    pub marker_distance: [f64; 2],
}

/// Writes `count` images into `dir` (a `curv_contour_length_14` folder).
pub fn write(dir: &Path, tier: Tier, seed: u64, knobs: &Knobs, count: usize, stream: Stream) -> Result<Statistics> {
    create_dir(&dir.join("metadata"))?;
    create_dir(&dir.join("imgs"))?;
    let bar = progress(tier, if knobs.size == 128 { "Path-X" } else { "Pathfinder" }, count as u64)?;
    let mut stats = Statistics::default();
    let (mut attempts, mut singles, mut ink) = (0u64, 0u64, 0f64);
    let mut distance = [(0f64, 0u64); 2];
    let per_batch = knobs.images_per_batch;
    for batch in 0..count.div_ceil(per_batch) {
        let images_dir = dir.join("imgs").join(batch.to_string());
        create_dir(&images_dir)?;
        let first = batch * per_batch;
        let in_batch = per_batch.min(count - first);
        let mut lines = String::with_capacity(in_batch * 48);
        for begin in (0..in_batch).step_by(CHUNK) {
            let end = (begin + CHUNK).min(in_batch);
            let made: Vec<Image> = (begin..end)
                .into_par_iter()
                .map(|k| {
                    let img = image(knobs, seed, stream, first + k)?;
                    let path = images_dir.join(format!("sample_{k}.png"));
                    let bytes = encode_png(&img.pixels, knobs.size)?;
                    std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
                    Ok(img)
                })
                .collect::<Result<_>>()?;
            for (k, img) in (begin..end).zip(made) {
                lines.push_str(&metadata_line(knobs, batch, k, img.label, img.margin));
                stats.images += 1;
                stats.positives += img.label as u64;
                attempts += img.attempts;
                stats.max_attempts = stats.max_attempts.max(img.attempts);
                singles += img.single_paddles as u64;
                ink += img.pixels.iter().filter(|&&p| p > 0).count() as f64 / img.pixels.len() as f64;
                let (a, b) = (img.markers[0], img.markers[1]);
                let d = ((a.0 as f64 - b.0 as f64).powi(2) + (a.1 as f64 - b.1 as f64).powi(2)).sqrt();
                distance[img.label as usize].0 += d;
                distance[img.label as usize].1 += 1;
                bar.inc(1);
            }
        }
        let path = dir.join("metadata").join(format!("{batch}.npy"));
        let mut out = create(&path)?;
        out.write_all(lines.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
        finish(out, &path)?;
        stats.batches += 1;
    }
    bar.finish_and_clear();
    let n = stats.images.max(1) as f64;
    stats.attempts_per_image = attempts as f64 / n;
    stats.single_paddles_per_image = singles as f64 / n;
    stats.ink_fraction = ink / n;
    stats.marker_distance = distance.map(|(sum, n)| sum / n.max(1) as f64);
    Ok(stats)
}
