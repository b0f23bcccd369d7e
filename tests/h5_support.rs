//! Reading HDF5 files back in tests: variable-length datasets through the pure-Rust
//! `hdf5-reader`, and h5py through a Python interpreter where one with h5py is available
//! (`ELMBENCH_PYTHON`, default `python3`). Where none is, the h5py checks say SKIPPED on stderr and
//! pass, unless `ELMBENCH_REQUIRE_H5PY=1` asks for them (CI), which makes a missing h5py a failure.

use hdf5_reader::Hdf5File;
use std::io::Write;
use std::path::Path;
use std::process::Command;

/// Each element of a variable-length dataset as its raw little-endian bytes.
pub fn vlen_bytes(file: &Hdf5File, path: &str, base_size: usize) -> Vec<Vec<u8>> {
    let dataset = file.dataset(path).unwrap_or_else(|e| panic!("opening {path}: {e}"));
    let references = dataset.read_raw_bytes().unwrap_or_else(|e| panic!("reading {path}: {e}"));
    assert_eq!(references.len() % 16, 0, "{path}: raw bytes are not 16-byte references");
    references
        .chunks(16)
        .map(|r| dataset.resolve_vlen_reference_bytes(r, base_size).unwrap_or_else(|e| panic!("{path}: {e}")))
        .collect()
}

/// Each element of a variable-length dataset of 2-byte values (uint16, or float16 bits).
pub fn vlen_u16(file: &Hdf5File, path: &str) -> Vec<Vec<u16>> {
    vlen_bytes(file, path, 2)
        .into_iter()
        .map(|bytes| bytes.chunks(2).map(|b| u16::from_le_bytes([b[0], b[1]])).collect())
        .collect()
}

/// A 1-D numeric dataset as a vector.
pub fn array<T: hdf5_reader::H5Type + Clone>(file: &Hdf5File, path: &str) -> Vec<T> {
    let dataset = file.dataset(path).unwrap_or_else(|e| panic!("opening {path}: {e}"));
    dataset.read_array::<T>().unwrap_or_else(|e| panic!("reading {path}: {e}")).iter().cloned().collect()
}

/// The interpreter to run h5py checks with, or None (after saying SKIPPED) when it lacks h5py.
pub fn python_with_h5py(check: &str) -> Option<String> {
    let python = std::env::var("ELMBENCH_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let probe = Command::new(&python).args(["-c", "import h5py, numpy"]).output();
    if probe.as_ref().is_ok_and(|o| o.status.success()) {
        return Some(python);
    }
    let required = std::env::var("ELMBENCH_REQUIRE_H5PY").is_ok_and(|v| !v.is_empty() && v != "0");
    assert!(!required, "ELMBENCH_REQUIRE_H5PY is set but `{python} -c 'import h5py, numpy'` failed: {probe:?}");
    // Straight to the stream, not through eprintln!, which the test harness captures and hides
    // for passing tests: a skipped check must be seen.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: the h5py check of {check}: `{python} -c 'import h5py, numpy'` failed \
         (set ELMBENCH_PYTHON to an interpreter with h5py and numpy)"
    );
    None
}

/// Runs `script` with `args`; panics with its output unless it succeeds; returns its stdout.
pub fn run_python(python: &str, script: &str, args: &[&Path]) -> String {
    let output = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {python}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "the h5py check failed:\n--- stdout\n{stdout}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}
