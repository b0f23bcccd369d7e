//! The fuzz harness (issue 14, "parsers that never panic"): every parser of outside input runs
//! on its seed inputs and on seeded, structure-aware mutations of them, in process, under
//! `catch_unwind`, a bounding allocator and a watchdog. Stable Rust, no cargo-fuzz.
//!
//! Each case is a pure function of (parser, seed): `Rng::for_case(parser, seed)` picks a seed
//! input and 1 to 4 mutations. A case fails when the parser
//! - panics (caught; the run goes on and fails at the end),
//! - lets the heap grow by more than `bound(input) = max(64 MiB, 64 x input bytes)` above the
//!   level at the case's start (the allocator reports it and exits: allocators cannot unwind),
//! - runs longer than 10 s (`ELMBENCH_FUZZ_CASE_SECONDS`; the watchdog reports it and exits).
//!
//! Every failing case is written to `target/fuzz/failures/<parser>-<seed>.bin` with the steps to
//! make it a regression file in `tests/fixtures/fuzz-regressions/<parser>/`; every run replays
//! that folder first. Before each case its bytes are in `target/fuzz/current-case`.
//!
//! `cargo test --release` runs a self-check (a panicking, an over-allocating and a hanging
//! "parser" must each be caught and written out), the regression files, then
//! `DEFAULT_CASES` cases per parser (at most `DEFAULT_SECONDS_PER_PARSER` each).
//! `make fuzz FUZZ_SECONDS=N` (`ELMBENCH_FUZZ_SECONDS=N`) shares N seconds among the parsers.
//! Other settings: `ELMBENCH_FUZZ_START` (first seed), `ELMBENCH_FUZZ_CASE=<parser>:<seed>`
//! (one case), `ELMBENCH_FUZZ_REPLAY=<file>` (one file, through the parsers named as arguments).
//! Arguments name parsers to run (all when none match, e.g. a filter for another test binary).

mod alloc;
mod mutate;
mod report;
mod rng;
mod selfcheck;
mod targets;
mod watchdog;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use targets::Target;

#[global_allocator]
static ALLOCATOR: alloc::Bounded = alloc::Bounded;

/// Cases per parser inside `cargo test`, and the time cap per parser there.
const DEFAULT_CASES: u64 = 150;
const DEFAULT_SECONDS_PER_PARSER: f64 = 0.6;
/// The per-case time limit.
const CASE_SECONDS: u64 = 10;
/// Heap growth allowed to one case: 64 MiB, or 64 bytes per input byte for larger inputs.
pub const MIN_BOUND: usize = 64 << 20;
pub const BOUND_PER_INPUT_BYTE: usize = 64;

pub fn bound(input_len: usize) -> usize {
    MIN_BOUND.max(input_len.saturating_mul(BOUND_PER_INPUT_BYTE))
}

/// The last panic's message and place (the hook keeps it instead of printing it).
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);
/// Set while a case runs: a panic outside a case is the harness's own, and is printed.
static IN_CASE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub enum Outcome {
    Ok,
    Err,
    Panic(String),
}

/// Runs one case under the allocation bound and the watchdog.
pub fn run_case(target: &Target, seed: &str, bytes: &[u8], dir: &Path) -> Outcome {
    report::begin(target.name, seed, bytes);
    watchdog::case_started();
    alloc::arm(bound(bytes.len()));
    IN_CASE.store(true, std::sync::atomic::Ordering::SeqCst);
    let result = catch_unwind(AssertUnwindSafe(|| (target.run)(bytes, dir)));
    IN_CASE.store(false, std::sync::atomic::Ordering::SeqCst);
    alloc::disarm();
    watchdog::case_ended();
    report::end();
    match result {
        Ok(Ok(())) => Outcome::Ok,
        Ok(Err(_)) => Outcome::Err,
        Err(_) => Outcome::Panic(LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()).take().unwrap_or_default()),
    }
}

/// The bytes of case `seed` of `target`: seeds below the number of seed inputs are the inputs
/// themselves, later ones mutations.
pub fn case_bytes(target: &Target, seeds: &[Vec<u8>], seed: u64) -> Vec<u8> {
    if (seed as usize) < seeds.len() {
        return seeds[seed as usize].clone();
    }
    let mut rng = rng::Rng::for_case(target.name, seed);
    let input = &seeds[rng.below(seeds.len())];
    mutate::mutate(&mut rng, input, seeds, target.aware)
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| v.parse().unwrap_or_else(|_| panic!("{name}={v} is not a whole number")))
}

fn scratch(target: &Target) -> PathBuf {
    let dir = report::dir().join("scratch").join(format!("{}-{}", std::process::id(), target.name));
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

struct Tally {
    cases: u64,
    errors: u64,
    panics: u64,
    seconds: f64,
}

/// Replays `tests/fixtures/fuzz-regressions/<parser>/*`; returns (files, panics).
fn replay_regressions(target: &Target, dir: &Path) -> (usize, usize) {
    let folder = targets::fixture("fuzz-regressions").join(target.name);
    let Ok(entries) = std::fs::read_dir(&folder) else { return (0, 0) };
    let mut paths: Vec<PathBuf> = entries.map(|e| e.expect("readable entry").path()).filter(|p| p.is_file()).collect();
    paths.sort();
    let mut panics = 0;
    for path in &paths {
        let bytes = std::fs::read(path).expect("readable regression file");
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if let Outcome::Panic(message) = run_case(target, &format!("regression {name}"), &bytes, dir) {
            report::write_failure(target.name, &format!("regression-{name}"), &bytes, "panic", &message);
            panics += 1;
        }
    }
    (paths.len(), panics)
}

fn fuzz(target: &Target, start: u64, max_cases: u64, seconds: f64, dir: &Path) -> Tally {
    let seeds = (target.seeds)();
    assert!(!seeds.is_empty(), "parser {} has no seed inputs", target.name);
    let began = Instant::now();
    let mut tally = Tally { cases: 0, errors: 0, panics: 0, seconds: 0.0 };
    let mut seed = start;
    while tally.cases < max_cases && began.elapsed().as_secs_f64() < seconds {
        let bytes = case_bytes(target, &seeds, seed);
        match run_case(target, &seed.to_string(), &bytes, dir) {
            Outcome::Ok => {}
            Outcome::Err => tally.errors += 1,
            Outcome::Panic(message) => {
                report::write_failure(target.name, &seed.to_string(), &bytes, "panic", &message);
                tally.panics += 1;
                if tally.panics >= 5 {
                    eprintln!("fuzz: {}: 5 panics, moving on to the next parser", target.name);
                    break;
                }
            }
        }
        tally.cases += 1;
        seed += 1;
    }
    tally.seconds = began.elapsed().as_secs_f64();
    tally
}

fn main() {
    std::panic::set_hook(Box::new(|info| {
        let message = match info.payload().downcast_ref::<&str>() {
            Some(s) => s.to_string(),
            None => info.payload().downcast_ref::<String>().cloned().unwrap_or_default(),
        };
        let place = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        if !IN_CASE.load(std::sync::atomic::Ordering::SeqCst) {
            eprintln!("fuzz: the harness panicked: {message}{place}");
        }
        *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) = Some(format!("{message}{place}"));
    }));
    std::fs::create_dir_all(report::dir()).expect("fuzz folder");
    let case_seconds = env_u64("ELMBENCH_FUZZ_CASE_SECONDS").unwrap_or(CASE_SECONDS);
    watchdog::start(Duration::from_secs(case_seconds));
    if let Ok(kind) = std::env::var("ELMBENCH_FUZZ_SELF_CHECK") {
        selfcheck::child(&kind);
    }

    let all = targets::all();
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let named: Vec<&Target> = all.iter().filter(|t| args.iter().any(|a| t.name.contains(a.as_str()))).collect();
    if !args.is_empty() && named.is_empty() && !args.iter().any(|a| "fuzz".contains(a.as_str())) {
        // A filter meant for tests of other binaries (`cargo test --release some_test`).
        return;
    }
    let chosen: Vec<&Target> = if named.is_empty() { all.iter().collect() } else { named };

    if let Ok(file) = std::env::var("ELMBENCH_FUZZ_REPLAY") {
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
        let mut failed = false;
        for target in &chosen {
            let outcome = run_case(target, "replay", &bytes, &scratch(target));
            let said = match &outcome {
                Outcome::Ok => "Ok".to_string(),
                Outcome::Err => format!("Err: {:#}", (target.run)(&bytes, &scratch(target)).unwrap_err()),
                Outcome::Panic(m) => {
                    failed = true;
                    format!("PANIC: {m}")
                }
            };
            println!("{}: {said}", target.name);
        }
        std::process::exit(i32::from(failed));
    }
    if let Ok(case) = std::env::var("ELMBENCH_FUZZ_CASE") {
        let (name, seed) = case.split_once(':').expect("ELMBENCH_FUZZ_CASE=<parser>:<seed>");
        let target = all.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("no parser {name}"));
        let seed: u64 = seed.parse().expect("a whole-number seed");
        let bytes = case_bytes(target, &(target.seeds)(), seed);
        let path = report::dir().join(format!("{name}-{seed}.case"));
        std::fs::write(&path, &bytes).expect("case written");
        let said = match run_case(target, &seed.to_string(), &bytes, &scratch(target)) {
            Outcome::Ok => "Ok".to_string(),
            Outcome::Err => format!("Err: {:#}", (target.run)(&bytes, &scratch(target)).unwrap_err()),
            Outcome::Panic(m) => format!("PANIC: {m}"),
        };
        println!("{name}:{seed} ({} bytes, in {}): {said}", bytes.len(), path.display());
        return;
    }

    let total_seconds = env_u64("ELMBENCH_FUZZ_SECONDS");
    let start = env_u64("ELMBENCH_FUZZ_START").unwrap_or(0);
    let began = Instant::now();
    if total_seconds.is_none() {
        selfcheck::run();
    }
    let (max_cases, per_parser) = match total_seconds {
        Some(s) => (u64::MAX, s as f64 / chosen.len() as f64),
        None => (DEFAULT_CASES, DEFAULT_SECONDS_PER_PARSER),
    };
    let mut failed = false;
    println!(
        "fuzz: {} parsers, bound per case max({} MiB, {} x input), {case_seconds} s per case",
        chosen.len(),
        MIN_BOUND >> 20,
        BOUND_PER_INPUT_BYTE
    );
    for target in &chosen {
        let dir = scratch(target);
        let (files, regression_panics) = replay_regressions(target, &dir);
        let tally = fuzz(target, start, max_cases, per_parser, &dir);
        let _ = std::fs::remove_dir_all(&dir);
        failed |= regression_panics > 0 || tally.panics > 0;
        println!(
            "fuzz: {:<22} {:>8} cases ({:>8} Err, {} panics) in {:>6.1} s, {:>7.0} cases/s; {files} regression files ({regression_panics} panics)",
            target.name,
            tally.cases,
            tally.errors,
            tally.panics,
            tally.seconds,
            tally.cases as f64 / tally.seconds.max(1e-9),
        );
    }
    println!("fuzz: done in {:.1} s", began.elapsed().as_secs_f64());
    if failed {
        eprintln!("fuzz: FAILED (panics above; their inputs are in {})", report::dir().join("failures").display());
        std::process::exit(1);
    }
}
