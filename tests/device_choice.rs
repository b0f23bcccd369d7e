//! `--device cpu|cuda|auto` from the outside. Where no GPU can run the model (no CUDA build, no
//! driver, or a model the CUDA backend does not run yet), `cuda` exits 1 with one line that says
//! which, and no panic; `auto` says it takes the CPU and records `cpu` with the results.

use crate::support::smoke_shd;
use std::path::Path;
use std::process::Command;

fn elmbench() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_elmbench"));
    command.current_dir(env!("CARGO_MANIFEST_DIR")).env("RAYON_NUM_THREADS", "1");
    command
}

fn train(out: &Path, device: &str) -> std::process::Output {
    elmbench()
        .args(["train", "--config", "configs/shd/elm.toml", "--device", device, "--out"])
        .arg(out)
        .arg("--data-dir")
        .arg(smoke_shd())
        .args(["--set", "model.num_memory=4", "--set", "task.bin_ms=100", "--set", "model.delta_t=100"])
        .args(["--set", "train.epochs=1", "--set", "train.batches_per_epoch=2"])
        .output()
        .unwrap()
}

fn cuda_runs_here() -> bool {
    elmbench::backend::for_model(elmbench::backend::DeviceChoice::Cuda, "elm").is_ok()
}

#[test]
fn device_cuda_without_a_usable_gpu_is_one_clear_line_and_exit_1() {
    if cuda_runs_here() {
        eprintln!("SKIPPED: this machine runs the ELM on CUDA, so --device cuda succeeds here");
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let result = train(&out.path().join("run"), "cuda");
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected: {stderr}");
    assert!(lines[0].starts_with("Error: "), "{stderr}");
    assert!(lines[0].contains("cuda") || lines[0].contains("CUDA"), "{stderr}");
    // Nothing was trained or written.
    assert!(!out.path().join("run/result.json").exists());
}

#[test]
fn device_auto_takes_the_cpu_says_so_and_records_it() {
    if cuda_runs_here() {
        eprintln!("SKIPPED: this machine runs the ELM on CUDA, so auto picks the GPU here");
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let result = train(&out.path().join("run"), "auto");
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "{stderr}");
    assert!(stderr.contains("--device auto: using the CPU"), "{stderr}");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("run/result.json")).unwrap()).unwrap();
    assert_eq!(saved["device"], "cpu", "{saved}");
}

#[test]
fn every_command_that_computes_takes_the_device_flag() {
    for command in ["train", "eval", "forward", "reproduce"] {
        let help = elmbench().args([command, "--help"]).output().unwrap();
        let text = String::from_utf8_lossy(&help.stdout);
        assert!(text.contains("--device <DEVICE>") && text.contains("auto"), "{command}: {text}");
    }
    let help = elmbench().args(["bench", "train-step", "--help"]).output().unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("--device <DEVICE>"));
}
