//! Arguments scripts can trust (issue 15, item 4): counts on the command line (`--seeds`, `--jobs`,
//! `--batch`, `--time`, `--iterations`) are refused at zero when parsed, with the flag named; a
//! zero batch or length reaching the benchmark from the library is an error, not a panic; `check`
//! of an unknown experiment lists the known ones.

use clap::Parser;
use elmbench::commands::bench::TrainStepArgs;
use elmbench::commands::reproduce::ReproduceArgs;

#[derive(Parser)]
struct Reproduce {
    #[command(flatten)]
    args: ReproduceArgs,
}

#[derive(Parser)]
struct Bench {
    #[command(flatten)]
    args: TrainStepArgs,
}

#[test]
fn zero_counts_are_refused_by_name() {
    for (flag, argv) in [("--seeds", vec!["x", "fig2", "--seeds", "0"]), ("--jobs", vec!["x", "fig2", "--jobs", "0"])] {
        let err = Reproduce::try_parse_from(argv).err().expect("zero accepted").to_string();
        assert!(err.contains(flag) && err.contains("at least 1"), "{err}");
    }
    for flag in ["--batch", "--time", "--iterations"] {
        let err = Bench::try_parse_from(["x", "--model", "elm", flag, "0"]).err().expect("zero accepted").to_string();
        assert!(err.contains(flag) && err.contains("at least 1"), "{err}");
    }
    let ok = Reproduce::try_parse_from(["x", "fig2", "--seeds", "2", "--jobs", "3"]).unwrap();
    assert_eq!((ok.args.seeds, ok.args.jobs), (Some(2), 3));
}

#[test]
fn a_zero_sized_training_step_is_an_error() {
    let config = elmbench::tasks::TaskConfig::default().model_preset("elm").unwrap();
    for (batch, time) in [(0, 10), (2, 0)] {
        let err = elmbench::bench::TrainStep::new(&config, batch, time, 0.1, false, 0).err();
        assert!(err.is_some_and(|e| e.to_string().contains("at least one")), "batch {batch} time {time}");
    }
}

#[test]
fn check_of_an_unknown_experiment_lists_the_known_ones() {
    let args = elmbench::commands::check::CheckArgs {
        experiment: "nosuchexp".into(),
        tier: "smoke".into(),
        golden: None,
        results: "results".into(),
    };
    let err = format!("{:#}", elmbench::commands::check::run(args).unwrap_err());
    assert!(err.contains("no experiment `nosuchexp`") && err.contains("table1") && err.contains("fig2"), "{err}");
}

#[test]
fn inspect_knows_hdf5_by_its_signature_and_names_what_it_reads() {
    use elmbench::commands::inspect::{run, InspectArgs};
    let dir = tempfile::tempdir().unwrap();
    // An SHD file under a name that does not say so is still read as HDF5.
    let renamed = dir.path().join("recording.bin");
    std::fs::copy(crate::support::fixture("shd/shd_fixture.h5"), &renamed).unwrap();
    run(InspectArgs { file: renamed, export: None }).unwrap();
    // A file that is neither names the formats inspect reads.
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "Hello").unwrap();
    let err = format!("{:#}", run(InspectArgs { file: text, export: None }).unwrap_err());
    assert!(err.contains("NeuronIO pickles") && err.contains("SHD HDF5"), "{err}");
}

#[test]
fn a_failing_command_prints_one_message_and_exits_1_even_with_rust_backtrace_set() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_elmbench"))
        .args(["check", "nosuchexp"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("Error: no experiment `nosuchexp`"), "{stderr}");
    assert!(!stderr.contains("backtrace") && stderr.lines().count() <= 3, "{stderr}");
}

/// Output into a closed pipe (`elmbench list | head -0`) ends the process quietly, as a Unix tool
/// does: no panic message, no exit status 101.
#[test]
fn a_closed_pipe_ends_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_elmbench"))
        .arg("list")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.status.success() || out.status.signal() == Some(13), "{:?}", out.status);
}

/// Issue 14, finding A: sizes from outside (`--set`, a `model_config.json` beside a `.pt`) are
/// bounded before anything is allocated: exit status 1 with the key named, never a
/// capacity-overflow panic (101) or an allocation abort (134).
#[test]
fn huge_model_sizes_are_refused_by_name_before_allocation() {
    let bin = env!("CARGO_BIN_EXE_elmbench");
    for (kind, set, key) in [
        ("elm", "num_memory=1000000000", "num_memory"),
        ("elm", "mlp_num_layers=100000000", "mlp_num_layers"),
        ("elm", "mlp_hidden_size=1000000000", "mlp_hidden_size"),
        ("elm", "num_synapse_per_branch=1000000", "num_synapse_per_branch"),
        ("lstm", "hidden_size=1000000000", "hidden_size"),
        ("lif", "num_input=1000000000", "num_input"),
        ("s5", "d_model=1000000000", "d_model"),
    ] {
        let out =
            std::process::Command::new(bin).args(["report", "params", "--model", kind, "--set", set]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{kind} {set}: {err}");
        assert!(err.contains(key), "{kind} {set}: {err}");
    }
    // The official weights with a doctored model_config.json beside them.
    let dir = tempfile::tempdir().unwrap();
    let official = crate::support::fixture("reference/official_models/num_memory_20");
    std::fs::copy(official.join("neuronio_best_model_state.pt"), dir.path().join("neuronio_best_model_state.pt"))
        .unwrap();
    let config = std::fs::read_to_string(official.join("model_config.json")).unwrap();
    let mut config: serde_json::Value = serde_json::from_str(&config).unwrap();
    config["num_memory"] = serde_json::json!(1_000_000_000u64);
    std::fs::write(dir.path().join("model_config.json"), config.to_string()).unwrap();
    let out = std::process::Command::new(bin)
        .args(["forward", "--weights"])
        .arg(dir.path().join("neuronio_best_model_state.pt"))
        .arg("--input")
        .arg(crate::support::fixture("reference/pretrained_num_memory_20.safetensors"))
        .arg("--output")
        .arg(dir.path().join("y.safetensors"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("num_memory"), "{err}");
}
