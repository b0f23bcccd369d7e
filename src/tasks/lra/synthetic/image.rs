//! The Image task's source, CIFAR-10, in the binary layout (DATASETS.md 3.5):
//! `cifar-10-batches-bin/data_batch_{1..5}.bin` and `test_batch.bin`, records of 3073 bytes (the
//! label byte, then the 1024 R, 1024 G and 1024 B bytes of a 32x32 image, row-major), and
//! `batches.meta.txt` (the ten class names, one per line, as in the fixture).
//!
//! The images are CIFAR-like scenes: each class is a drawn object made of a few parts (an
//! airplane is a fuselage with swept wings and a fin, a car a body, cabin, windows and two
//! wheels, a cat a round face with pointed ears, a dog one with hanging ears, ...) placed at a
//! random position, scale, rotation and mirror image, in random colours from the class's
//! palette, over a scene (sky, road, grass, indoor, water) that goes with the class only
//! usually (`typical_scene`), with clutter shapes, a brightness change and pixel noise. The
//! object always differs from the scene behind it in grey level (`min_contrast`): LRA reads the
//! images in grey, so the class must survive the conversion, and it lives in the object's shape,
//! which a sequence model sees as a pattern spread over many of the 32 rows. Pairs of classes
//! share parts on purpose (car and truck: boxes on wheels; cat and dog: round faces; deer and
//! horse: four-legged bodies; airplane and bird: things in the sky), as real CIFAR's do.
//!
//! The smoke and quick tiers ([`Knobs::for_tier`]) draw no objects: each class is a coarse
//! brightness layout ([`LAYOUTS`], a 2 x 4 grid of dark, mid and light cells) in a random tint,
//! so a model trained for a minute can tell the classes apart.
//!
//! Labels are exactly balanced per split (a seeded shuffle of 0..9 repeated), as the real test
//! batch is.

use super::{chance, check_range, create, create_dir, finish, item_rng, pick, progress, uniform, Stream, CHUNK};
use crate::engine::Rng;
use crate::tasks::Tier;
use anyhow::{Context, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;
use std::io::Write;
use std::path::Path;

pub const FOLDER: &str = "cifar-10-batches-bin";
pub const CLASSES: [&str; 10] =
    ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];
pub const SIDE: usize = 32;
pub const PIXELS: usize = SIDE * SIDE;
pub const RECORD_BYTES: usize = 1 + 3 * PIXELS;
pub const TRAIN_BATCHES: usize = 5;
pub const META_FILE: &str = "batches.meta.txt";
pub const TEST_FILE: &str = "test_batch.bin";

pub fn train_file(batch: usize) -> String {
    format!("data_batch_{batch}.bin")
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Knobs {
    /// Object half-size range (pixels).
    pub scale: [f64; 2],
    /// Object centre: the image centre +- this many pixels in x and y.
    pub shift: f64,
    /// Object rotation: +- this (radians).
    pub rotation: f64,
    /// Probability of the class's usual scene; otherwise any scene.
    pub typical_scene: f64,
    /// Most clutter shapes per image.
    pub clutter: usize,
    /// Pixel noise standard deviation (intensities in [0, 1]).
    pub noise: f64,
    /// Least grey-level difference between the object and the scene behind its centre.
    pub min_contrast: f64,
    /// What the images show: drawn objects in scenes, or the classes' coarse brightness layouts.
    pub style: Style,
}

/// How a class shows in its images.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Style {
    /// A drawn object of the class in a scene (the paper tier).
    Scenes,
    /// The class's coarse brightness layout ([`LAYOUTS`]), with a random tint, blur of the cell
    /// edges, brightness change and noise (the smoke and quick tiers): a strong, simple signal.
    Layout,
}

impl Default for Knobs {
    fn default() -> Self {
        Self {
            scale: [9.0, 14.0],
            shift: 5.0,
            rotation: 0.3,
            typical_scene: 0.7,
            clutter: 3,
            noise: 0.04,
            min_contrast: 0.15,
            style: Style::Scenes,
        }
    }
}

impl Knobs {
    /// Scenes for the paper tier, layouts for the smoke and quick tiers.
    pub fn for_tier(tier: Tier) -> Self {
        match tier {
            Tier::Paper => Self::default(),
            Tier::Smoke | Tier::Quick => Self { style: Style::Layout, noise: 0.05, ..Self::default() },
        }
    }
}

/// Brightness layouts of the classes: a 2 x 4 grid of cells (16 x 8 pixels), levels 0 dark,
/// 1 mid, 2 light; the top row, then the bottom row. The bottom rows alone differ between every
/// two classes, so the last 512 pixels of the sequence tell the class.
pub const LAYOUTS: [[[u8; 4]; 2]; 10] = [
    [[2, 2, 1, 1], [0, 0, 2, 2]],
    [[0, 0, 1, 2], [2, 2, 0, 0]],
    [[1, 2, 1, 2], [0, 2, 0, 2]],
    [[2, 1, 2, 1], [2, 0, 2, 0]],
    [[1, 1, 1, 1], [0, 2, 2, 0]],
    [[0, 2, 2, 0], [2, 0, 0, 2]],
    [[2, 2, 2, 2], [1, 1, 1, 1]],
    [[2, 0, 0, 2], [0, 0, 0, 0]],
    [[0, 0, 0, 0], [2, 2, 2, 2]],
    [[1, 0, 1, 0], [1, 2, 0, 1]],
];
/// Grey levels of the layout levels (intensities in [0, 1]).
const LAYOUT_LEVELS: [f64; 3] = [0.15, 0.5, 0.85];

/// A layout image of `class`: the cells' levels with jittered cell edges (+-2 pixels), per-cell
/// level jitter, a random colour tint of about the same grey level, then the usual exposure and
/// noise (in `render`).
fn layout(class: usize, rng: &mut Rng) -> Vec<Rgb> {
    let split_y = 16.0 + uniform(rng, -2.0, 2.0);
    let split_x: Vec<f64> = (1..4).map(|k| 8.0 * k as f64 + uniform(rng, -2.0, 2.0)).collect();
    let mut level = [[0f64; 4]; 2];
    for (r, row) in LAYOUTS[class].iter().enumerate() {
        for (c, &l) in row.iter().enumerate() {
            level[r][c] = (LAYOUT_LEVELS[l as usize] + uniform(rng, -0.07, 0.07)).clamp(0.0, 1.0);
        }
    }
    // A tint: channel weights that leave the grey level about unchanged.
    let tint = [uniform(rng, -0.15, 0.15), uniform(rng, -0.08, 0.08)];
    let tint = [tint[0], tint[1], -(0.299 * tint[0] + 0.587 * tint[1]) / 0.114];
    let mut img = vec![[0.0; 3]; PIXELS];
    for y in 0..SIDE {
        let r = ((y as f64 + 0.5) >= split_y) as usize;
        for x in 0..SIDE {
            let c = split_x.iter().filter(|&&b| (x as f64 + 0.5) >= b).count();
            let v = level[r][c];
            img[y * SIDE + x] = [0, 1, 2].map(|k| (v + tint[k] * v.min(1.0 - v)).clamp(0.0, 1.0));
        }
    }
    img
}

impl Knobs {
    pub fn validate(&self) -> Result<()> {
        check_range("scale[0]", self.scale[0], 2.0, 32.0)?;
        check_range("scale[1]", self.scale[1], self.scale[0], 32.0)?;
        check_range("shift", self.shift, 0.0, 16.0)?;
        check_range("rotation", self.rotation, 0.0, PI)?;
        check_range("typical_scene", self.typical_scene, 0.0, 1.0)?;
        check_range("clutter", self.clutter as f64, 0.0, 100.0)?;
        check_range("noise", self.noise, 0.0, 1.0)?;
        check_range("min_contrast", self.min_contrast, 0.0, 0.5)?;
        Ok(())
    }
}

type Rgb = [f64; 3];

/// Grey level as PIL's "L" conversion weighs the channels.
fn luma(c: Rgb) -> f64 {
    0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]
}

#[derive(Clone, Debug)]
enum Shape {
    Ellipse { c: (f64, f64), r: (f64, f64), angle: f64 },
    Polygon(Vec<(f64, f64)>),
    Capsule { a: (f64, f64), b: (f64, f64), r: f64 },
}

impl Shape {
    fn contains(&self, x: f64, y: f64) -> bool {
        match self {
            Shape::Ellipse { c, r, angle } => {
                let (s, co) = angle.sin_cos();
                let (dx, dy) = (x - c.0, y - c.1);
                let (u, v) = (co * dx + s * dy, -s * dx + co * dy);
                (u / r.0).powi(2) + (v / r.1).powi(2) <= 1.0
            }
            Shape::Polygon(points) => {
                // Even-odd rule: crossings of a ray to +x.
                let mut inside = false;
                let mut j = points.len() - 1;
                for i in 0..points.len() {
                    let (a, b) = (points[i], points[j]);
                    if (a.1 > y) != (b.1 > y) && x < (b.0 - a.0) * (y - a.1) / (b.1 - a.1) + a.0 {
                        inside = !inside;
                    }
                    j = i;
                }
                inside
            }
            Shape::Capsule { a, b, r } => {
                let (dx, dy) = (b.0 - a.0, b.1 - a.1);
                let len2 = dx * dx + dy * dy;
                let t = if len2 > 0.0 { (((x - a.0) * dx + (y - a.1) * dy) / len2).clamp(0.0, 1.0) } else { 0.0 };
                (x - a.0 - t * dx).powi(2) + (y - a.1 - t * dy).powi(2) <= r * r
            }
        }
    }
}

fn ellipse(cx: f64, cy: f64, rx: f64, ry: f64) -> Shape {
    Shape::Ellipse { c: (cx, cy), r: (rx, ry), angle: 0.0 }
}

fn tilted(cx: f64, cy: f64, rx: f64, ry: f64, angle: f64) -> Shape {
    Shape::Ellipse { c: (cx, cy), r: (rx, ry), angle }
}

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Shape {
    Shape::Polygon(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
}

fn poly(points: &[(f64, f64)]) -> Shape {
    Shape::Polygon(points.to_vec())
}

fn capsule(a: (f64, f64), b: (f64, f64), r: f64) -> Shape {
    Shape::Capsule { a, b, r }
}

/// Which colour a part takes.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Role {
    Body,
    Accent,
    Dark,
    Light,
}

/// The parts of an object of `class` in its own frame (about [-1, 1]², x to the front, y down),
/// drawn in order; small random variations of proportions and poses.
fn parts(class: usize, rng: &mut Rng) -> Vec<(Shape, Role)> {
    use Role::*;
    let mut v = |a: f64, b: f64| uniform(rng, a, b);
    match class {
        0 => {
            // airplane: fuselage, swept wings, tail fin and tailplane
            let sweep = v(0.1, 0.45);
            let span = v(0.75, 1.0);
            vec![
                (poly(&[(0.2, 0.0), (0.0 - sweep, -span), (-0.22 - sweep, -span), (-0.2, 0.0)]), Body),
                (poly(&[(0.2, 0.0), (0.0 - sweep, span), (-0.22 - sweep, span), (-0.2, 0.0)]), Body),
                (capsule((-1.0, 0.0), (1.0, 0.0), v(0.09, 0.14)), Body),
                (poly(&[(-0.72, 0.0), (-0.98, 0.0), (-1.05, -0.42), (-0.9, -0.42)]), Accent),
                (capsule((-0.9, -0.25), (-0.9, 0.25), 0.06), Accent),
                (ellipse(0.85, -0.02, 0.1, 0.05), Dark),
            ]
        }
        1 => {
            // automobile: low body, cabin with two windows, two wheels, a headlight
            let roof = v(-0.5, -0.35);
            vec![
                (rect(-1.0, -0.05, 1.0, 0.38), Body),
                (poly(&[(-0.55, -0.05), (-0.35, roof), (0.3, roof), (0.6, -0.05)]), Body),
                (poly(&[(-0.45, -0.08), (-0.3, roof + 0.07), (-0.03, roof + 0.07), (-0.03, -0.08)]), Light),
                (poly(&[(0.04, -0.08), (0.04, roof + 0.07), (0.27, roof + 0.07), (0.48, -0.08)]), Light),
                (ellipse(-0.58, 0.4, 0.21, 0.21), Dark),
                (ellipse(0.6, 0.4, 0.21, 0.21), Dark),
                (ellipse(0.93, 0.08, 0.07, 0.06), Light),
            ]
        }
        2 => {
            // bird: body, head with beak and eye, raised or folded wing, tail, legs
            let raised = v(0.0, 1.0) < 0.5;
            let wing = if raised {
                poly(&[(-0.25, -0.1), (0.2, -0.12), (-0.4, -v(0.7, 0.95))])
            } else {
                tilted(-0.12, 0.0, 0.42, 0.17, -0.15)
            };
            vec![
                (poly(&[(-0.45, 0.05), (-1.0, -0.12), (-0.95, 0.28)]), Body),
                (tilted(0.0, 0.05, 0.55, 0.28, -0.2), Body),
                (ellipse(0.55, -0.28, 0.21, 0.2), Body),
                (poly(&[(0.72, -0.33), (0.98, -0.26), (0.72, -0.2)]), Accent),
                (ellipse(0.6, -0.33, 0.05, 0.05), Dark),
                (wing, Accent),
                (capsule((-0.05, 0.3), (-0.08, 0.62), 0.04), Dark),
                (capsule((0.12, 0.3), (0.14, 0.62), 0.04), Dark),
            ]
        }
        3 => {
            // cat: round face, pointed ears with light insides, slit eyes, small nose
            let ear = v(0.75, 0.95);
            vec![
                (ellipse(0.0, 0.95, 0.72, 0.42), Body),
                (poly(&[(-0.6, -0.1), (-0.12, -0.36), (-0.52, -ear)]), Body),
                (poly(&[(0.6, -0.1), (0.12, -0.36), (0.52, -ear)]), Body),
                (poly(&[(-0.5, -0.18), (-0.22, -0.34), (-0.47, -ear + 0.18)]), Light),
                (poly(&[(0.5, -0.18), (0.22, -0.34), (0.47, -ear + 0.18)]), Light),
                (ellipse(0.0, 0.1, 0.62, 0.52), Body),
                (ellipse(-0.23, 0.0, 0.11, 0.08), Light),
                (ellipse(0.23, 0.0, 0.11, 0.08), Light),
                (ellipse(-0.23, 0.0, 0.03, 0.08), Dark),
                (ellipse(0.23, 0.0, 0.03, 0.08), Dark),
                (poly(&[(-0.08, 0.2), (0.08, 0.2), (0.0, 0.3)]), Accent),
            ]
        }
        4 => {
            // deer: slim body on four thin legs, neck, head, antlers, light tail
            let legs = [(-0.5, v(-0.1, 0.1)), (-0.35, v(-0.1, 0.1)), (0.2, v(-0.1, 0.1)), (0.32, v(-0.1, 0.1))];
            let mut p: Vec<(Shape, Role)> =
                legs.iter().map(|&(x, dx)| (capsule((x, 0.1), (x + dx, 0.88), 0.045), Body)).collect();
            p.extend([
                (tilted(-0.1, 0.0, 0.58, 0.22, 0.0), Body),
                (capsule((0.35, -0.05), (0.55, -0.5), 0.1), Body),
                (tilted(0.68, -0.55, 0.19, 0.1, 0.35), Body),
                (capsule((0.58, -0.64), (0.46, -1.0), 0.035), Dark),
                (capsule((0.52, -0.85), (0.32, -0.95), 0.03), Dark),
                (capsule((0.66, -0.66), (0.8, -1.0), 0.035), Dark),
                (ellipse(-0.68, -0.1, 0.07, 0.06), Light),
            ]);
            p
        }
        5 => {
            // dog: round face with hanging ears, light muzzle, dark nose and eyes
            let droop = v(-0.3, 0.3);
            vec![
                (ellipse(0.0, 0.95, 0.62, 0.38), Body),
                (ellipse(0.0, 0.05, 0.5, 0.5), Body),
                (tilted(-0.52, 0.18 + droop * 0.2, 0.16, 0.4, 0.2 + droop * 0.3), Accent),
                (tilted(0.52, 0.18 + droop * 0.2, 0.16, 0.4, -0.2 - droop * 0.3), Accent),
                (ellipse(0.0, 0.35, 0.26, 0.19), Light),
                (ellipse(0.0, 0.25, 0.1, 0.07), Dark),
                (ellipse(-0.2, -0.05, 0.07, 0.07), Dark),
                (ellipse(0.2, -0.05, 0.07, 0.07), Dark),
            ]
        }
        6 => {
            // frog: wide flat body, two eye bumps with pupils, bent legs, spots
            let mut p = vec![
                (ellipse(-0.75, 0.45, 0.32, 0.12), Accent),
                (ellipse(0.75, 0.45, 0.32, 0.12), Accent),
                (ellipse(0.0, 0.2, 0.8, 0.38), Body),
                (ellipse(-0.35, -0.15, 0.18, 0.17), Body),
                (ellipse(0.35, -0.15, 0.18, 0.17), Body),
                (ellipse(-0.35, -0.17, 0.06, 0.08), Dark),
                (ellipse(0.35, -0.17, 0.06, 0.08), Dark),
                (capsule((-0.4, 0.32), (0.4, 0.32), 0.03), Dark),
            ];
            for _ in 0..3 {
                let (x, y) = (v(-0.55, 0.55), v(0.05, 0.4));
                p.push((ellipse(x, y, 0.08, 0.06), Accent));
            }
            p
        }
        7 => {
            // horse: heavy body on long legs, thick neck with mane, long head, tail
            let legs =
                [(-0.55, v(-0.12, 0.12)), (-0.38, v(-0.12, 0.12)), (0.22, v(-0.12, 0.12)), (0.36, v(-0.12, 0.12))];
            let mut p: Vec<(Shape, Role)> =
                legs.iter().map(|&(x, dx)| (capsule((x, 0.1), (x + dx, 0.98), 0.065), Body)).collect();
            p.extend([
                (capsule((-0.7, -0.1), (-0.95, v(0.3, 0.6)), 0.07), Dark),
                (tilted(-0.1, 0.0, 0.62, 0.27, 0.0), Body),
                (poly(&[(0.28, -0.15), (0.52, 0.05), (0.82, -0.52), (0.6, -0.7)]), Body),
                (tilted(0.82, -0.56, 0.26, 0.11, 0.65), Body),
                (capsule((0.42, -0.22), (0.62, -0.72), 0.05), Dark),
            ]);
            p
        }
        8 => {
            // ship: hull, deck line, superstructure with windows, funnel, mast
            let cabin = v(-0.35, -0.2);
            vec![
                (poly(&[(-1.0, 0.1), (1.0, 0.1), (0.72, 0.45), (-0.75, 0.45)]), Body),
                (capsule((-0.95, 0.14), (0.95, 0.14), 0.03), Dark),
                (rect(-0.45, cabin, 0.3, 0.1), Accent),
                (rect(-0.35, cabin + 0.1, -0.2, cabin + 0.2), Dark),
                (rect(-0.05, cabin + 0.1, 0.1, cabin + 0.2), Dark),
                (rect(-0.15, cabin - 0.3, 0.05, cabin), Dark),
                (capsule((0.58, 0.1), (0.58, -0.85), 0.03), Dark),
            ]
        }
        _ => {
            // truck: tall cargo box, cab with window, three wheels
            let top = v(-0.75, -0.5);
            vec![
                (rect(-1.0, top, 0.3, 0.3), Body),
                (poly(&[(0.34, -0.3), (0.78, -0.3), (1.0, 0.0), (1.0, 0.3), (0.34, 0.3)]), Accent),
                (poly(&[(0.44, -0.22), (0.74, -0.22), (0.88, -0.02), (0.44, -0.02)]), Light),
                (ellipse(-0.7, 0.36, 0.17, 0.17), Dark),
                (ellipse(-0.33, 0.36, 0.17, 0.17), Dark),
                (ellipse(0.66, 0.36, 0.17, 0.17), Dark),
            ]
        }
    }
}

/// Body colours per class (before jitter).
fn palette(class: usize) -> &'static [Rgb] {
    const WHITE: Rgb = [0.92, 0.92, 0.92];
    const GREY: Rgb = [0.6, 0.62, 0.65];
    const BLACK: Rgb = [0.12, 0.12, 0.13];
    const RED: Rgb = [0.75, 0.12, 0.1];
    const BLUE: Rgb = [0.15, 0.25, 0.7];
    const YELLOW: Rgb = [0.9, 0.8, 0.2];
    const BROWN: Rgb = [0.45, 0.3, 0.18];
    const TAN: Rgb = [0.72, 0.55, 0.35];
    const ORANGE: Rgb = [0.85, 0.5, 0.2];
    const GREEN: Rgb = [0.3, 0.55, 0.2];
    const OLIVE: Rgb = [0.45, 0.5, 0.2];
    match class {
        0 => &[WHITE, GREY, [0.8, 0.82, 0.85]],
        1 => &[RED, BLUE, BLACK, WHITE, YELLOW, GREY],
        2 => &[BROWN, BLACK, BLUE, RED, YELLOW, GREY],
        3 => &[ORANGE, GREY, BLACK, WHITE, TAN],
        4 => &[BROWN, TAN, [0.55, 0.4, 0.25]],
        5 => &[BROWN, BLACK, WHITE, TAN, [0.8, 0.65, 0.35]],
        6 => &[GREEN, OLIVE, BROWN, [0.5, 0.65, 0.3]],
        7 => &[BROWN, BLACK, WHITE, [0.55, 0.28, 0.12]],
        8 => &[WHITE, GREY, RED, BLACK],
        _ => &[RED, WHITE, BLUE, YELLOW, GREEN],
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Scene {
    Sky,
    Road,
    Grass,
    Indoor,
    Water,
}

const SCENES: [Scene; 5] = [Scene::Sky, Scene::Road, Scene::Grass, Scene::Indoor, Scene::Water];

fn usual_scene(class: usize) -> Scene {
    match class {
        0 | 2 => Scene::Sky,
        1 | 9 => Scene::Road,
        3 | 5 => Scene::Indoor,
        8 => Scene::Water,
        _ => Scene::Grass,
    }
}

fn jitter(rng: &mut Rng, c: Rgb, amount: f64) -> Rgb {
    c.map(|v| (v + uniform(rng, -amount, amount)).clamp(0.0, 1.0))
}

fn mix(a: Rgb, b: Rgb, t: f64) -> Rgb {
    [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t]
}

/// The scene as a full image.
fn background(scene: Scene, rng: &mut Rng) -> Vec<Rgb> {
    let mut img = vec![[0.0; 3]; PIXELS];
    let sky_choice = *pick(rng, &[[0.45, 0.62, 0.9], [0.7, 0.75, 0.8], [0.85, 0.6, 0.45], [0.3, 0.35, 0.5]]);
    let sky_top = jitter(rng, sky_choice, 0.1);
    let sky_low = mix(sky_top, [0.95, 0.95, 0.95], uniform(rng, 0.2, 0.7));
    let horizon = uniform(rng, 0.2, 0.6) * SIDE as f64;
    let ground = match scene {
        Scene::Road => jitter(rng, [0.4, 0.4, 0.42], 0.12),
        Scene::Grass => {
            let c = *pick(rng, &[[0.3, 0.5, 0.2], [0.55, 0.5, 0.3], [0.4, 0.35, 0.25]]);
            jitter(rng, c, 0.1)
        }
        Scene::Water => jitter(rng, [0.2, 0.35, 0.55], 0.12),
        _ => jitter(rng, [0.6, 0.5, 0.4], 0.3),
    };
    let ripple = (uniform(rng, 0.8, 2.0), uniform(rng, 0.0, 2.0 * PI));
    for y in 0..SIDE {
        for x in 0..SIDE {
            let fy = y as f64 + 0.5;
            img[y * SIDE + x] = match scene {
                Scene::Sky => mix(sky_top, sky_low, fy / SIDE as f64),
                Scene::Indoor => mix(ground, [0.9, 0.85, 0.75], 0.3 * fy / SIDE as f64),
                _ if fy < horizon => mix(sky_top, sky_low, fy / horizon),
                Scene::Water => mix(ground, sky_low, 0.25 * (1.0 + (fy * ripple.0 + ripple.1).sin()) / 2.0),
                _ => mix(ground, [0.0; 3], 0.3 * (fy - horizon) / SIDE as f64),
            };
        }
    }
    // Scene detail: clouds, buildings, tufts, furniture.
    let details = rng.below(4) as usize + 1;
    for _ in 0..details {
        let colour = match scene {
            Scene::Sky | Scene::Water => jitter(rng, [0.95, 0.95, 0.97], 0.05),
            Scene::Road => jitter(rng, [0.5, 0.45, 0.4], 0.3),
            Scene::Grass => mix(ground, jitter(rng, [0.2, 0.4, 0.1], 0.1), 0.5),
            Scene::Indoor => jitter(rng, [0.5, 0.45, 0.4], 0.4),
        };
        let shape = match scene {
            Scene::Road => {
                let x0 = uniform(rng, -4.0, 28.0);
                rect(x0, uniform(rng, 0.0, horizon), x0 + uniform(rng, 4.0, 12.0), horizon)
            }
            Scene::Indoor => {
                let (x0, y0) = (uniform(rng, -8.0, 28.0), uniform(rng, -8.0, 28.0));
                rect(x0, y0, x0 + uniform(rng, 6.0, 20.0), y0 + uniform(rng, 6.0, 20.0))
            }
            Scene::Grass => ellipse(uniform(rng, 0.0, 32.0), uniform(rng, horizon, 32.0), uniform(rng, 2.0, 6.0), 1.5),
            _ => ellipse(uniform(rng, 0.0, 32.0), uniform(rng, 0.0, horizon.max(8.0)), uniform(rng, 3.0, 8.0), 2.0),
        };
        let alpha = uniform(rng, 0.3, 0.8);
        for y in 0..SIDE {
            for x in 0..SIDE {
                if shape.contains(x as f64 + 0.5, y as f64 + 0.5) {
                    let p = &mut img[y * SIDE + x];
                    *p = mix(*p, colour, alpha);
                }
            }
        }
    }
    img
}

/// Draws `shapes` (image coordinates through `to_object`) over `img` with 3x3 samples per pixel.
fn paint(img: &mut [Rgb], shapes: &[(Shape, Rgb)], to_object: impl Fn(f64, f64) -> (f64, f64)) {
    const S: usize = 3;
    for y in 0..SIDE {
        for x in 0..SIDE {
            let mut sum = [0.0; 3];
            let mut hit = false;
            let base = img[y * SIDE + x];
            for j in 0..S {
                for i in 0..S {
                    let (ox, oy) =
                        to_object(x as f64 + (i as f64 + 0.5) / S as f64, y as f64 + (j as f64 + 0.5) / S as f64);
                    let colour = shapes.iter().rev().find(|(s, _)| s.contains(ox, oy)).map(|(_, c)| *c);
                    hit |= colour.is_some();
                    let c = colour.unwrap_or(base);
                    for k in 0..3 {
                        sum[k] += c[k];
                    }
                }
            }
            if hit {
                img[y * SIDE + x] = sum.map(|v| v / (S * S) as f64);
            }
        }
    }
}

/// Record `index` of a split: the image's R, G, B planes (1024 bytes each) for `class`.
pub fn render(knobs: &Knobs, class: usize, rng: &mut Rng) -> Vec<u8> {
    if knobs.style == Style::Layout {
        let img = layout(class, rng);
        return expose(knobs, &img, rng);
    }
    let scene = if chance(rng, knobs.typical_scene) { usual_scene(class) } else { *pick(rng, &SCENES) };
    let mut img = background(scene, rng);

    // Clutter behind the object.
    let clutter = rng.below(knobs.clutter as u64 + 1) as usize;
    for _ in 0..clutter {
        let shape = if chance(rng, 0.5) {
            tilted(
                uniform(rng, 0.0, 32.0),
                uniform(rng, 0.0, 32.0),
                uniform(rng, 1.0, 5.0),
                uniform(rng, 1.0, 3.0),
                uniform(rng, 0.0, PI),
            )
        } else {
            let a = (uniform(rng, 0.0, 32.0), uniform(rng, 0.0, 32.0));
            capsule(a, (a.0 + uniform(rng, -10.0, 10.0), a.1 + uniform(rng, -10.0, 10.0)), uniform(rng, 0.4, 1.2))
        };
        let colour = [uniform(rng, 0.0, 1.0), uniform(rng, 0.0, 1.0), uniform(rng, 0.0, 1.0)];
        paint(&mut img, &[(shape, colour)], |x, y| (x, y));
    }

    // The object: pose, colours, and enough grey-level contrast with the scene behind it.
    let scale = uniform(rng, knobs.scale[0], knobs.scale[1]);
    let centre = (16.0 + uniform(rng, -knobs.shift, knobs.shift), 16.0 + uniform(rng, -knobs.shift, knobs.shift));
    let angle = uniform(rng, -knobs.rotation, knobs.rotation);
    let mirror = if chance(rng, 0.5) { -1.0 } else { 1.0 };
    let body_choice = *pick(rng, palette(class));
    let mut body = jitter(rng, body_choice, 0.08);
    let behind = {
        let (cx, cy) = ((centre.0 as usize).min(SIDE - 1), (centre.1 as usize).min(SIDE - 1));
        luma(img[cy * SIDE + cx])
    };
    let gap = luma(body) - behind;
    if gap.abs() < knobs.min_contrast {
        // Move the body's grey level away from the scene's, towards the side with more room.
        let target = if behind > 0.5 { behind - knobs.min_contrast - 0.05 } else { behind + knobs.min_contrast + 0.05 };
        let shift = target - luma(body);
        body = body.map(|v| (v + shift).clamp(0.0, 1.0));
    }
    let accent = mix(body, if luma(body) > 0.5 { [0.0; 3] } else { [1.0; 3] }, uniform(rng, 0.15, 0.4));
    let dark = jitter(rng, [0.1, 0.1, 0.1], 0.06);
    let light = jitter(rng, [0.88, 0.88, 0.85], 0.08);
    let shapes: Vec<(Shape, Rgb)> = parts(class, rng)
        .into_iter()
        .map(|(s, role)| {
            let c = match role {
                Role::Body => body,
                Role::Accent => accent,
                Role::Dark => dark,
                Role::Light => light,
            };
            (s, c)
        })
        .collect();
    let (sin, cos) = angle.sin_cos();
    paint(&mut img, &shapes, |x, y| {
        let (dx, dy) = ((x - centre.0) / scale, (y - centre.1) / scale);
        (mirror * (cos * dx + sin * dy), -sin * dx + cos * dy)
    });

    expose(knobs, &img, rng)
}

/// Exposure and sensor noise; the R, G, B planes.
fn expose(knobs: &Knobs, img: &[Rgb], rng: &mut Rng) -> Vec<u8> {
    let gain = uniform(rng, 0.8, 1.2);
    let offset = uniform(rng, -0.08, 0.08);
    let mut planes = vec![0u8; 3 * PIXELS];
    for (p, c) in img.iter().enumerate() {
        for k in 0..3 {
            let v = c[k] * gain + offset + knobs.noise * rng.normal();
            planes[k * PIXELS + p] = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
        }
    }
    planes
}

/// Labels of a split of `n` records: 0..9 repeated, shuffled with the split's own stream.
pub fn labels(seed: u64, split: u64, n: usize) -> Vec<u8> {
    let mut labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    let mut rng = item_rng(seed, Stream::ImageLabels, split, 0);
    for i in (1..n).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        labels.swap(i, j);
    }
    labels
}

/// Record `index` of split `split` (0 train, 1 test): the 3073 bytes.
pub fn record(knobs: &Knobs, seed: u64, split: u64, index: usize, label: u8) -> Vec<u8> {
    let mut rng = item_rng(seed, Stream::Image, split, index as u64);
    let mut bytes = Vec::with_capacity(RECORD_BYTES);
    bytes.push(label);
    bytes.extend(render(knobs, label as usize, &mut rng));
    bytes
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Statistics {
    pub train_labels: [u64; 10],
    pub test_labels: [u64; 10],
    /// Mean grey level (PIL weights, 0-255) over all records.
    pub mean_grey: f64,
}

/// Writes the five training batches, the test batch and `batches.meta.txt` into `dir`.
pub fn write(dir: &Path, tier: Tier, seed: u64, knobs: &Knobs, per_batch: usize, test: usize) -> Result<Statistics> {
    create_dir(dir)?;
    let bar = progress(tier, "Image", (TRAIN_BATCHES * per_batch + test) as u64)?;
    let mut stats = Statistics::default();
    let (mut grey, mut records) = (0f64, 0u64);
    let train_labels = labels(seed, 0, TRAIN_BATCHES * per_batch);
    let test_labels = labels(seed, 1, test);
    let mut files: Vec<(String, u64, std::ops::Range<usize>)> =
        (1..=TRAIN_BATCHES).map(|b| (train_file(b), 0, (b - 1) * per_batch..b * per_batch)).collect();
    files.push((TEST_FILE.to_string(), 1, 0..test));
    for (name, split, range) in files {
        let path = dir.join(&name);
        let mut out = create(&path)?;
        let labels = if split == 0 { &train_labels } else { &test_labels };
        for begin in range.clone().step_by(CHUNK) {
            let end = (begin + CHUNK).min(range.end);
            let chunk: Vec<Vec<u8>> =
                (begin..end).into_par_iter().map(|i| record(knobs, seed, split, i, labels[i])).collect();
            for r in chunk {
                out.write_all(&r).with_context(|| format!("writing {}", path.display()))?;
                let counts = if split == 0 { &mut stats.train_labels } else { &mut stats.test_labels };
                counts[r[0] as usize] += 1;
                grey += (0..PIXELS)
                    .map(|p| {
                        (r[1 + p] as u32 * 299 + r[1 + PIXELS + p] as u32 * 587 + r[1 + 2 * PIXELS + p] as u32 * 114)
                            as f64
                            / 1000.0
                    })
                    .sum::<f64>()
                    / PIXELS as f64;
                records += 1;
                bar.inc(1);
            }
        }
        finish(out, &path)?;
    }
    let path = dir.join(META_FILE);
    let mut out = create(&path)?;
    for name in CLASSES {
        writeln!(out, "{name}").with_context(|| format!("writing {}", path.display()))?;
    }
    finish(out, &path)?;
    bar.finish_and_clear();
    stats.mean_grey = grey / records.max(1) as f64;
    Ok(stats)
}
