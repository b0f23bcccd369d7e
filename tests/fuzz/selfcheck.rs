//! The harness must be able to fail: deliberately broken "parsers" (one that panics, one that
//! allocates past the bound, one that hangs) are run, and each must be caught and its case
//! written out. The allocating and hanging ones end their process, so they run in a child
//! process (this binary again, with `ELMBENCH_FUZZ_SELF_CHECK`).

use crate::targets::Target;
use std::path::Path;
use std::process::Command;

fn seeds() -> Vec<Vec<u8>> {
    vec![b"a parser's input".to_vec()]
}

/// Panics on inputs whose first byte is even (about half of the mutations).
fn panicking(bytes: &[u8], _: &Path) -> anyhow::Result<()> {
    match bytes.first() {
        Some(b) if b % 2 == 0 => panic!("deliberate panic on first byte {b}"),
        _ => Ok(()),
    }
}

fn allocating(bytes: &[u8], _: &Path) -> anyhow::Result<()> {
    let v = vec![1u8; crate::bound(bytes.len()) + 1];
    std::hint::black_box(&v);
    Ok(())
}

fn hanging(_: &[u8], _: &Path) -> anyhow::Result<()> {
    std::thread::sleep(std::time::Duration::from_secs(60));
    Ok(())
}

fn target(kind: &str) -> Target {
    let (name, run): (&'static str, crate::targets::Parse) = match kind {
        "panic" => ("self-check-panic", panicking),
        "alloc" => ("self-check-alloc", allocating),
        "hang" => ("self-check-hang", hanging),
        other => panic!("no self-check {other}"),
    };
    Target { name, seeds, aware: None, run }
}

/// In the child: runs the one case, which must end the process; returning is a failure.
pub fn child(kind: &str) -> ! {
    let t = target(kind);
    crate::run_case(&t, "0", &(t.seeds)()[0], Path::new("."));
    eprintln!("self-check {kind}: the case was not stopped");
    std::process::exit(0)
}

pub fn run() {
    // Panics are caught, counted and written out, and the run goes on.
    let t = target("panic");
    let dir = tempfile::tempdir().expect("temp dir");
    crate::report::QUIET.store(true, std::sync::atomic::Ordering::SeqCst);
    let tally = crate::fuzz(&t, 0, 40, 10.0, dir.path());
    crate::report::QUIET.store(false, std::sync::atomic::Ordering::SeqCst);
    assert!(tally.panics > 0 && tally.cases > tally.panics, "self-check: the deliberate panics were not caught");
    let failures = crate::report::dir().join("failures");
    let mut written = 0;
    for entry in std::fs::read_dir(&failures).expect("failures folder") {
        let path = entry.expect("readable entry").path();
        if path.file_name().unwrap().to_string_lossy().starts_with("self-check-panic-") {
            let bytes = std::fs::read(&path).expect("readable");
            assert!(
                bytes.first().is_some_and(|b| b % 2 == 0),
                "self-check: {} is not a panicking case",
                path.display()
            );
            std::fs::remove_file(&path).expect("removable");
            written += 1;
        }
    }
    assert_eq!(written as u64, tally.panics, "self-check: every panicking case must be written out");

    // The allocation bound and the time limit end the process with status 3 and write the case.
    for (kind, needle) in [("alloc", "allocation bound exceeded"), ("hang", "time limit")] {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = Command::new(std::env::current_exe().expect("this binary"))
            .env("ELMBENCH_FUZZ_SELF_CHECK", kind)
            .env("ELMBENCH_FUZZ_DIR", dir.path())
            .env("ELMBENCH_FUZZ_CASE_SECONDS", "1")
            .output()
            .expect("self-check child runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "self-check {kind}: exit status {:?}: {err}", out.status);
        assert!(err.contains(needle), "self-check {kind}: no `{needle}` in: {err}");
        let file = dir.path().join(format!("failures/self-check-{kind}-0.bin"));
        assert_eq!(
            std::fs::read(&file).ok(),
            Some(seeds()[0].clone()),
            "self-check {kind}: {} not written",
            file.display()
        );
    }
    println!(
        "fuzz: self-check passed (a panic, an allocation past the bound and a hang were each caught and written out)"
    );
}
