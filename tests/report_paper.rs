//! `elmbench report paper` (issue 14, part 3): on a results folder holding only fig2 at the smoke
//! tier, the page lists every experiment of benchmarks/ and every table and figure of the paper's
//! inventory, gives fig2's numbers (from its runs.csv) beside the paper's with the synthetic-data
//! warning, and marks the other experiments "not run" with the command that runs them.

use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_report_lists_every_experiment_and_paper_item_and_marks_fig2_synthetic() {
    let dir = tempfile::tempdir().unwrap();
    let (results, data) = (dir.path().join("results"), dir.path().join("data"));
    let bin = env!("CARGO_BIN_EXE_elmbench");
    let reproduce = Command::new(bin)
        .current_dir(root())
        .args(["reproduce", "fig2", "--tier", "smoke", "--results"])
        .arg(&results)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert!(reproduce.status.success(), "{}", String::from_utf8_lossy(&reproduce.stderr));
    let report = Command::new(bin)
        .current_dir(root())
        .args(["report", "paper", "--tier", "smoke", "--results"])
        .arg(&results)
        .output()
        .unwrap();
    assert!(report.status.success(), "{}", String::from_utf8_lossy(&report.stderr));
    let page = std::fs::read_to_string(results.join("report-smoke.md")).expect("the default page");

    // Every experiment: a section, and a line of the overview.
    let names: Vec<String> = std::fs::read_dir(root().join("benchmarks"))
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().to_str()?.strip_suffix(".toml").map(String::from))
        .collect();
    assert!(names.len() >= 14, "{names:?}");
    for name in &names {
        assert!(page.contains(&format!("\n## `{name}`: ")), "no section for {name}");
        if name != "fig2" {
            assert!(page.contains(&format!("| `{name}` | **not run** |")), "{name} not marked not run");
            assert!(
                page.contains(&format!("`elmbench reproduce {name} --tier smoke --results ")),
                "{name}: no command"
            );
        }
    }
    // Every item of the inventory (read here with the toml crate, not through elmbench).
    let inventory: toml::Table =
        toml::from_str(&std::fs::read_to_string(root().join("benchmarks/paper/inventory.toml")).unwrap()).unwrap();
    let items = inventory["item"].as_array().unwrap();
    assert!(items.len() >= 20);
    for item in items {
        let id = item["id"].as_str().unwrap();
        assert!(page.contains(&format!("\n| {id} | ")), "{id} not listed");
        if item["experiments"].as_array().unwrap().is_empty() {
            assert!(page.contains(&format!("\n- {id} (")), "{id} not in the list of uncovered items");
        }
    }
    for id in ["Figure 1", "Table S1", "Figure S3"] {
        assert!(page.contains(&format!("\n- {id} (")), "{id}");
    }

    // fig2: run, synthetic (loudly), checked, with its numbers beside the paper's.
    assert!(page.contains("**WARNING: SYNTHETIC DATA in fig2"), "no warning at the top");
    let fig2 = &page[page.find("\n## `fig2`").unwrap()..page.find("\n## `fig3`").unwrap()];
    assert!(fig2.contains("> **WARNING: SYNTHETIC DATA** (synthetic"), "{fig2}");
    assert!(fig2.contains("golden checks: 12 of 12 passed"), "{fig2}");
    assert!(fig2.contains("device: cpu"), "{fig2}");
    let rows = elmbench::io::csv_table::read_csv_maps(&results.join("fig2/smoke/runs.csv")).unwrap();
    let elm = rows.iter().find(|r| r["group"] == "elm").unwrap();
    let auc: f64 = elm["test_auc"].parse().unwrap();
    assert!(fig2.contains(&format!("| elm | d_m=10 | {} | 1 | {auc:.4} +- 0.0000 |", elm["params"])), "{fig2}");
    assert!(fig2.contains(&format!("| elm (elmbench, 1 seed(s)) | {} | {auc:.4} +- 0.0000 |", elm["params"])));
    // The paper's ELM d_m=10 of appendix F: 26.06K parameters, spike AUC 0.9878 +- 0.0004.
    assert!(fig2.contains("| elm (paper, tests/fixtures/paper/appF_neuronio_elm.csv) | 26060 | 0.9878 +- 0.0004 |"));
    // The figures reproduce drew, linked relative to the page (both in the results folder).
    assert!(fig2.contains("![fig2c_auc](fig2/smoke/fig2c_auc.png)"), "{fig2}");
    assert!(page
        .contains("| Figure 2, Appendix F (NeuronIO), Figure S1 | `fig2` | run | **SYNTHETIC** | 12/12 | 4 | cpu |"));
}
