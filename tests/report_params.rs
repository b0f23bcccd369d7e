//! `elmbench report params`: every golden count (official model files, the paper's tables) holds,
//! a wrong golden fails, and the command line gives the issue's example.

use elmbench::golden::{check, render, GoldenFile};
use elmbench::report::paper_table;
use std::path::Path;

fn golden_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("golden/params.toml")
}

#[test]
fn every_golden_parameter_count_holds() {
    let golden = GoldenFile::load(&golden_path()).unwrap();
    assert!(golden.entry.len() >= 31, "the golden file lost entries");
    let (table, _) = paper_table().unwrap();
    let outcomes = check(&golden, &table.as_maps());
    assert!(outcomes.iter().all(|o| o.pass && o.rows == 1), "\n{}", render(&outcomes));
}

#[test]
fn an_impossible_golden_fails_with_a_readable_table() {
    let mut golden = GoldenFile::load(&golden_path()).unwrap();
    golden.entry.truncate(2);
    golden.entry[0].expected = Some(8003.0);
    golden.entry[1].selector.insert("config".into(), "no such configuration".into());
    let (table, _) = paper_table().unwrap();
    let outcomes = check(&golden, &table.as_maps());
    assert!(!outcomes[0].pass && !outcomes[1].pass);
    let text = render(&outcomes);
    assert!(text.contains("FAIL") && text.contains("(missing)") && text.contains("0 of 2 checks passed"), "{text}");
}

#[test]
fn the_command_line_reports_the_branch_elm_of_the_issue() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_elmbench"))
        .args(["report", "params", "--model", "branch-elm", "--set", "num_memory=20", "--set", "num_branch=45"])
        .args(["--set", "num_synapse_per_branch=100", "--format", "csv"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        &header[..5],
        ["model", "config", "params", "params_paper_convention", "paper_reported"],
        "the issue's leading columns"
    );
    let row = lines.next().unwrap();
    let params_col = header.iter().position(|h| *h == "params").unwrap();
    // The config label has no comma here, so a plain split finds the column.
    assert_eq!(row.split(',').nth(params_col), Some("8002"), "{row}");
}

#[test]
fn an_unknown_key_is_an_error_naming_it() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_elmbench"))
        .args(["report", "params", "--model", "elm", "--set", "num_memroy=20"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("num_memroy"));
}

#[test]
fn the_command_line_reports_the_one_layer_s5_of_the_rebuttal() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_elmbench"))
        .args(["report", "params", "--model", "s5", "--set", "d_model=128", "--set", "ssm_size_base=384"])
        .args(["--set", "blocks=8", "--set", "n_layers=1", "--set", "d_input=1", "--set", "d_output=2"])
        .args(["--set", "bidirectional=true", "--format", "csv"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let params_col = header.iter().position(|h| *h == "params").unwrap();
    let row = lines.next().unwrap();
    // The official count (reference manifest; the formula gives the same).
    assert_eq!(row.split(',').nth(params_col), Some("165442"), "{row}");
}
