//! The README's quick start runs as written (issue 15, item 1): every shell block of its "Quick
//! start" section, line continuations joined, each command through `sh` with the freshly built
//! binary first on PATH (what `make install` gives), in a scratch folder that sees the clone's
//! tests, configs, benchmarks and goldens (so nothing is written into the clone).

use std::path::Path;
use std::process::Command;

/// The commands of the shell blocks of one README section.
fn section_commands(readme: &str, heading: &str) -> Vec<String> {
    let start = readme.find(heading).unwrap_or_else(|| panic!("the README has no `{heading}`"));
    let rest = &readme[start + heading.len()..];
    let section = &rest[..rest.find("\n## ").unwrap_or(rest.len())];
    let mut commands = Vec::new();
    let mut in_block = false;
    let mut current = String::new();
    for line in section.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block && line.trim() == "```sh";
            continue;
        }
        if !in_block || line.trim().is_empty() {
            continue;
        }
        match line.trim_end().strip_suffix('\\') {
            Some(head) => current.push_str(head),
            None => {
                current.push_str(line);
                commands.push(std::mem::take(&mut current));
            }
        }
    }
    commands
}

#[test]
fn the_quick_start_runs_as_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let commands = section_commands(&readme, "## Quick start");
    assert!(commands.len() >= 4, "{commands:?}");
    let scratch = tempfile::tempdir().unwrap();
    for folder in ["tests", "configs", "benchmarks", "golden"] {
        std::os::unix::fs::symlink(root.join(folder), scratch.path().join(folder)).unwrap();
    }
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_elmbench")).parent().unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    for command in &commands {
        let out = Command::new("sh")
            .args(["-c", command])
            .current_dir(scratch.path())
            .env("PATH", &path)
            .env_remove("ELMBENCH_DATA")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "README quick start: `{command}` failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_extractor_joins_continuations_and_skips_other_blocks() {
    let text =
        "## Quick start\n\n```sh\na --x \\\n  --y\nb # note\n```\n\n```toml\nnot = 1\n```\n\n## Next\n```sh\nc\n```\n";
    assert_eq!(section_commands(text, "## Quick start"), ["a --x   --y", "b # note"]);
}

/// Issue 15, item 7: the README's Figure 2 table is what `scripts/readme_tables.py fig2 quick`
/// computes from the committed reference runs (matched by parameter count; AUC to 3 decimals,
/// RMSE to 2), so it cannot drift from the results it quotes.
#[test]
fn the_figure_2_table_is_the_scripts_output() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let Ok(out) = Command::new("python3")
        .arg(root.join("scripts/readme_tables.py"))
        .args(["fig2", "quick", "--digits", "6"])
        .output()
    else {
        eprintln!("SKIPPED: no python3 to run scripts/readme_tables.py");
        return;
    };
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let computed = String::from_utf8_lossy(&out.stdout).to_string();
    let pair = |cell: &str, digits: usize| -> String {
        let (m, s) = cell.split_once(" +- ").unwrap();
        let (m, s): (f64, f64) = (m.trim().parse().unwrap(), s.trim().parse().unwrap());
        format!("{m:.digits$} +- {s:.digits$}")
    };
    let mut by_params = std::collections::HashMap::new();
    for line in computed.lines().filter(|l| l.starts_with("| ") && !l.starts_with("| group")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        by_params.insert(cells[3].to_string(), (pair(cells[5], 3), pair(cells[6], 2)));
    }
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let start = readme.find("| model | params | test AUC | test soma RMSE |").expect("the Figure 2 table");
    let rows: Vec<&str> = readme[start..].lines().skip(2).take_while(|l| l.starts_with('|')).collect();
    assert!(rows.len() >= 8, "{rows:?}");
    for row in rows {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let (auc, rmse) =
            by_params.get(cells[2]).unwrap_or_else(|| panic!("no run with {} parameters: {row}", cells[2]));
        assert_eq!((cells[3], cells[4]), (auc.as_str(), rmse.as_str()), "README row `{row}`");
    }
}
