//! One data location for every command (issue 15, item 3): real data where `fetch` puts it
//! (`<data>/<dataset>`), otherwise the tier's surrogate in `<data>/synthetic/<tier>`, which
//! `synth` writes and `train`, `eval`, `export` and `reproduce` find, name alike and reuse.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn elmbench(args: &[&str], data: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_elmbench"))
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .current_dir(root())
        .output()
        .unwrap()
}

fn ok(out: &Output, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{what}: {stderr}\n{}", String::from_utf8_lossy(&out.stdout));
    stderr + &String::from_utf8_lossy(&out.stdout)
}

fn marker(data: &Path) -> PathBuf {
    data.join("synthetic/smoke/shd/SYNTHETIC.json")
}

#[test]
fn synth_train_eval_export_and_reproduce_share_one_surrogate() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    ok(&elmbench(&["synth", "shd", "--tier", "smoke"], d), "synth");
    assert!(marker(d).exists(), "synth writes the surrogate under synthetic/<tier>");
    assert!(!d.join("shd").exists(), "synth leaves the real data's place to the real data");
    let made = std::fs::metadata(marker(d)).unwrap().modified().unwrap();

    let run = d.join("run");
    let log = ok(
        &elmbench(
            &[
                "train",
                "--config",
                "configs/shd/elm.toml",
                "--set",
                "model.num_memory=4",
                "--set",
                "train.epochs=1",
                "--set",
                "train.batches_per_epoch=2",
                "--tier",
                "smoke",
                "--out",
                run.to_str().unwrap(),
            ],
            d,
        ),
        "train",
    );
    assert!(log.contains("synthetic/smoke") && log.contains("SYNTHETIC"), "train says which data: {log}");
    let result = std::fs::read_to_string(run.join("result.json")).unwrap();
    assert!(result.contains("smoke tier"), "{result}");

    let checkpoint = run.join("best.safetensors");
    let eval = ok(&elmbench(&["eval", "--checkpoint", checkpoint.to_str().unwrap(), "--tier", "smoke"], d), "eval");
    assert!(eval.contains("smoke tier"), "{eval}");

    let x = d.join("x.safetensors");
    ok(
        &elmbench(
            &["export", "shd", "--split", "test", "--limit", "2", "--tier", "smoke", "--output", x.to_str().unwrap()],
            d,
        ),
        "export",
    );

    let results = d.join("results");
    ok(
        &elmbench(&["reproduce", "fig5", "--tier", "smoke", "--seeds", "1", "--results", results.to_str().unwrap()], d),
        "reproduce",
    );
    // Nothing was made twice: the one surrogate is the one synth wrote, and nothing else appeared.
    assert_eq!(std::fs::metadata(marker(d)).unwrap().modified().unwrap(), made, "the surrogate was rewritten");
    let mut entries: Vec<String> = std::fs::read_dir(d.join("synthetic/smoke"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(entries, ["shd"]);
    assert!(!d.join("synthetic/quick").exists());
}

#[test]
fn a_surrogate_where_the_real_data_belongs_is_named_and_not_used() {
    // What an older `elmbench synth` left: a surrogate at <data>/shd.
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    ok(&elmbench(&["synth", "shd", "--tier", "smoke"], d), "synth");
    std::fs::rename(d.join("synthetic/smoke/shd"), d.join("shd")).unwrap();
    let x = d.join("x.safetensors");
    let log = ok(
        &elmbench(
            &["export", "shd", "--split", "test", "--limit", "1", "--tier", "smoke", "--output", x.to_str().unwrap()],
            d,
        ),
        "export",
    );
    assert!(log.contains("not used") && log.contains(&d.join("shd").display().to_string()), "{log}");
    assert!(marker(d).exists(), "the tier's surrogate was made in its one place");
}

/// Issue 15, item 5: piped logs name the run on every progress line, with rate and ETA, also
/// within an epoch (`$ELMBENCH_PROGRESS_EVERY` seconds apart; 0 here, so every batch).
#[test]
fn piped_progress_lines_name_their_run_with_rate_and_eta() {
    let data = tempfile::tempdir().unwrap();
    let results = data.path().join("results");
    let out = Command::new(env!("CARGO_BIN_EXE_elmbench"))
        .args(["reproduce", "tableS7", "--tier", "smoke", "--results"])
        .arg(&results)
        .arg("--data-dir")
        .arg(data.path())
        .env("ELMBENCH_PROGRESS_EVERY", "0")
        .current_dir(root())
        .output()
        .unwrap();
    let log = ok(&out, "reproduce");
    let progress: Vec<&str> = log.lines().filter(|l| l.contains("epoch 1/")).collect();
    assert!(!progress.is_empty(), "{log}");
    for line in &progress {
        let named = line.starts_with("[tableS7 elm dropout 0.0 seed 0] ")
            || line.starts_with("[tableS7 elm dropout 0.3 seed 0] ");
        assert!(named && line.contains("batches/s") && line.contains("ETA"), "{line}");
    }
    assert!(progress.iter().any(|l| l.contains("batch 1/2")), "a heartbeat within the epoch: {progress:?}");
    assert!(progress.iter().any(|l| l.contains("valid accuracy")), "the epoch's line: {progress:?}");
}
