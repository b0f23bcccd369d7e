//! Where cases and failures go, and how a failure is reported: every failing case is written to
//! `<target>/fuzz/failures/<parser>-<seed>.bin` with the steps that turn it into a regression file.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The case now running: its parser, seed and bytes (the bytes are also on disk, in
/// `current_case_path`, before the parser starts, so a process killed mid-case leaves them).
struct Current {
    parser: String,
    seed: String,
    bytes: Vec<u8>,
}

static CURRENT: Mutex<Option<Current>> = Mutex::new(None);
static DIR: Mutex<Option<PathBuf>> = Mutex::new(None);
/// Set while the self-check's deliberate panics run (their reports would only be noise).
pub static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The harness's folder: `ELMBENCH_FUZZ_DIR`, else `<cargo target dir>/fuzz`.
pub fn dir() -> PathBuf {
    let mut dir = DIR.lock().unwrap_or_else(|e| e.into_inner());
    dir.get_or_insert_with(|| match std::env::var_os("ELMBENCH_FUZZ_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("target dir").join("fuzz"),
    })
    .clone()
}

pub fn current_case_path() -> PathBuf {
    dir().join("current-case")
}

/// Records the case about to run (in memory and on disk).
pub fn begin(parser: &str, seed: &str, bytes: &[u8]) {
    let _ = std::fs::write(current_case_path(), bytes);
    let case = Current { parser: parser.to_string(), seed: seed.to_string(), bytes: bytes.to_vec() };
    *CURRENT.lock().unwrap_or_else(|e| e.into_inner()) = Some(case);
}

pub fn end() {
    let old = CURRENT.lock().unwrap_or_else(|e| e.into_inner()).take();
    drop(old);
}

/// Writes the failing case out and tells the user what to do with it; returns the file.
pub fn write_failure(parser: &str, seed: &str, bytes: &[u8], what: &str, detail: &str) -> PathBuf {
    let folder = dir().join("failures");
    let _ = std::fs::create_dir_all(&folder);
    let safe_seed: String = seed.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    let path = folder.join(format!("{parser}-{safe_seed}.bin"));
    let written = std::fs::write(&path, bytes);
    if QUIET.load(std::sync::atomic::Ordering::SeqCst) {
        return path;
    }
    eprintln!("fuzz: FAILURE in parser `{parser}`, case {seed}: {what}: {detail}");
    match written {
        Ok(()) => eprintln!(
            "fuzz:   the input ({} bytes) is in {}\n\
             fuzz:   replay it: ELMBENCH_FUZZ_REPLAY={} cargo test --release --test fuzz -- {parser}\n\
             fuzz:   after fixing the parser, add it to tests/fixtures/fuzz-regressions/{parser}/ (every run replays that folder)",
            bytes.len(),
            path.display(),
            path.display()
        ),
        Err(e) => eprintln!("fuzz:   could not write {} ({e}); the input is in {}", path.display(), current_case_path().display()),
    }
    path
}

/// A failure the process cannot continue from (allocation bound, time limit): writes the current
/// case out and exits with status 3.
pub fn fatal(what: &str, detail: &str) -> ! {
    let current = match CURRENT.try_lock() {
        Ok(mut guard) => guard.take(),
        Err(_) => None,
    };
    match current {
        Some(case) => {
            write_failure(&case.parser, &case.seed, &case.bytes, what, detail);
        }
        None => eprintln!("fuzz: FAILURE outside a case: {what}: {detail}"),
    }
    std::process::exit(3)
}
