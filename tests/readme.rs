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
