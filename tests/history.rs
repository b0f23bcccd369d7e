//! The nightly history (issue 14, part 2), through the binary and the Makefile: two nightlies of
//! fig2 at the smoke tier leave two entries per metric; `elmbench history` draws the trend; a
//! doctored value outside its golden band, or beyond k sigma of the previous nights, is flagged
//! with a non-zero exit naming the experiment, configuration, metric, value and band.

use std::path::Path;
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn elmbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_elmbench")).current_dir(root()).args(args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// Runs the Makefile's `nightly` recipe as make would (its commands from `make -n`, with the build
/// step replaced by `true` and the binary under test), at the smoke tier for fig2 only.
fn nightly(results: &Path, history: &Path, data: &Path) -> Output {
    let path = |p: &Path| p.to_str().unwrap().to_string();
    let script = Command::new("make")
        .current_dir(root())
        .args(["-s", "-n", "nightly", "CARGO=true", "NIGHTLY_TIER=smoke", "NIGHTLY_EXPERIMENTS=fig2"])
        .arg(format!("ELMBENCH={}", env!("CARGO_BIN_EXE_elmbench")))
        .arg(format!("NIGHTLY_RESULTS={}", path(results)))
        .arg(format!("HISTORY_DIR={}", path(history)))
        .arg(format!("DATA_DIR={}", path(data)))
        .output()
        .expect("make is needed to run the Makefile's nightly recipe");
    assert!(script.status.success(), "{}", text(&script));
    let script = String::from_utf8(script.stdout).unwrap();
    assert!(script.contains("history record") && script.contains("history summary"), "{script}");
    Command::new("sh").current_dir(root()).arg("-c").arg(&script).output().unwrap()
}

fn read_history(path: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    reader.records().map(|r| header.iter().cloned().zip(r.unwrap().iter().map(String::from)).collect()).collect()
}

#[test]
fn two_nightlies_leave_two_entries_per_metric_and_a_drawn_trend() {
    let dir = tempfile::tempdir().unwrap();
    let (results, history, data) = (dir.path().join("results"), dir.path().join("history"), dir.path().join("data"));
    let first = nightly(&results, &history, &data);
    assert!(first.status.success(), "{}", text(&first));
    // Run ids are the UTC time to the second and the commit: the next night starts a second later.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = nightly(&results, &history, &data);
    assert!(second.status.success(), "{}", text(&second));

    let entries = read_history(&history.join("fig2.smoke.csv"));
    let runs: std::collections::BTreeSet<&str> = entries.iter().map(|e| e["run_id"].as_str()).collect();
    assert_eq!(runs.len(), 2, "{runs:?}");
    for id in &runs {
        // 20261201T021305Z-<commit>
        assert!(id.len() > 17 && id.as_bytes()[8] == b'T' && &id[15..17] == "Z-", "{id}");
    }
    // fig2 at smoke: 4 configurations x 1 seed; every (configuration, seed, metric) twice.
    let mut count: std::collections::BTreeMap<(String, String, String), usize> = Default::default();
    for e in &entries {
        *count.entry((e["config"].clone(), e["seed"].clone(), e["metric"].clone())).or_default() += 1;
        assert_eq!(e["device"], "cpu");
        assert!(e["data_source"].starts_with("synthetic"), "{e:?}");
        assert_eq!((e["experiment"].as_str(), e["tier"].as_str(), e["status"].as_str()), ("fig2", "smoke", "ok"));
    }
    assert!(count.len() >= 4 * 4, "{count:?}");
    assert!(count.values().all(|n| *n == 2), "{count:?}");
    let configs: std::collections::BTreeSet<&str> = count.keys().map(|k| k.0.as_str()).collect();
    assert_eq!(configs.len(), 4, "{configs:?}");
    assert!(count.contains_key(&("d_m=10".into(), "0".into(), "test_auc".into())));

    // The nightly summary: the experiment, its checks and the comparison with the previous night.
    let latest = std::fs::read_to_string(history.join("latest.md")).unwrap();
    assert!(latest.contains("| fig2 | **synthetic** | 12/12 | 0 |"), "{latest}");
    let night = runs.iter().max().unwrap();
    assert!(history.join(format!("nightly-{night}.md")).exists());

    // The trend, drawn: one figure per watched metric, a line per configuration.
    let figures = dir.path().join("figures");
    let trend = elmbench(&[
        "history",
        "fig2",
        "--tier",
        "smoke",
        "--history",
        history.to_str().unwrap(),
        "--out",
        figures.to_str().unwrap(),
    ]);
    assert!(trend.status.success(), "{}", text(&trend));
    let out = text(&trend);
    assert!(out.contains("| elm | d_m=10 | test_auc |") && out.contains("[0.105783, 0.406491]"), "{out}");
    let svg = std::fs::read_to_string(figures.join("fig2.smoke.test_auc.svg")).unwrap();
    for label in ["elm d_m=10", "branch-elm d_m=10, 45x100", "lstm hidden=15", "tcn beniaguev-2x8x79", "Spike AUC"] {
        assert!(svg.contains(label), "{label} not in the figure");
    }
    assert!(std::fs::metadata(figures.join("fig2.smoke.test_auc.png")).unwrap().len() > 10_000);
}

/// A history of fig2 at smoke written by hand: `auc` per night for elm d_m=10.
fn history_with(dir: &Path, aucs: &[f64]) -> std::path::PathBuf {
    let mut csv = String::from(
        "run_id,date,commit,tier,experiment,group,model,config,seed,metric,value,device,data_source,wall_s,status\n",
    );
    for (i, v) in aucs.iter().enumerate() {
        csv.push_str(&format!(
            "night-{i},2026-12-0{}T02:00:00Z,abc,smoke,fig2,elm,elm,d_m=10,0,test_auc,{v},cpu,synthetic (s),1.0,ok\n",
            i + 1
        ));
    }
    let history = dir.join("history");
    std::fs::create_dir_all(&history).unwrap();
    std::fs::write(history.join("fig2.smoke.csv"), csv).unwrap();
    history
}

fn trend(history: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["history", "fig2", "--tier", "smoke", "--history", history.to_str().unwrap()];
    args.extend_from_slice(extra);
    elmbench(&args)
}

#[test]
fn a_value_outside_its_golden_band_is_flagged() {
    // golden/fig2.smoke.toml: elm d_m=10 test_auc expected 0.256137 +- 0.150354, the band
    // [0.105783, 0.406491].
    let dir = tempfile::tempdir().unwrap();
    let inside = trend(&history_with(dir.path(), &[0.25, 0.40]), &[]);
    assert!(inside.status.success(), "{}", text(&inside));
    let outside = trend(&history_with(dir.path(), &[0.25, 0.41]), &[]);
    assert!(!outside.status.success());
    let out = text(&outside);
    assert!(
        out.contains(
            "REGRESSION fig2 group=elm config=d_m=10 test_auc = 0.41: outside the golden band [0.105783, 0.406491]"
        ),
        "{out}"
    );
    assert!(out.contains("**GOLDEN**"), "{out}");
}

#[test]
fn k_sigma_flags_an_outlier_night_and_not_noise() {
    // Nights 0.30, 0.31, 0.29, 0.30: mean 0.30, sample std 0.0081650 (squared deviations 0, 1e-4,
    // 1e-4, 0 over 3); 3 sigma = 0.0244949, all inside the golden band.
    let dir = tempfile::tempdir().unwrap();
    let calm = trend(&history_with(dir.path(), &[0.30, 0.31, 0.29, 0.30, 0.32]), &[]);
    assert!(calm.status.success(), "0.02 from the mean is noise: {}", text(&calm));
    let outlier = trend(&history_with(dir.path(), &[0.30, 0.31, 0.29, 0.30, 0.33]), &[]);
    assert!(!outlier.status.success(), "0.03 from the mean is beyond 3 sigma");
    let out = text(&outlier);
    assert!(out.contains("test_auc = 0.33: beyond 3 sigma of the last 4 nights (mean 0.3, std 0.00816"), "{out}");
    // --sigma 4 (band 0.0327) lets it pass; --window 2 leaves too few nights for the rule.
    assert!(trend(&history_with(dir.path(), &[0.30, 0.31, 0.29, 0.30, 0.33]), &["--sigma", "4"]).status.success());
    assert!(trend(&history_with(dir.path(), &[0.30, 0.31, 0.29, 0.30, 0.33]), &["--window", "2"]).status.success());
}

#[test]
fn a_broken_history_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let history = history_with(dir.path(), &[0.3]);
    let path = history.join("fig2.smoke.csv");
    let doctored = std::fs::read_to_string(&path).unwrap().replace(",0.3,", ",zero,");
    std::fs::write(&path, doctored).unwrap();
    let out = trend(&history, &[]);
    assert!(!out.status.success());
    assert!(text(&out).contains("fig2.smoke.csv: line 2: `value` = \"zero\" is not a number"), "{}", text(&out));
}

#[test]
fn the_nightly_summary_flags_a_doctored_night_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let history = history_with(dir.path(), &[0.25, 0.41]);
    let results = dir.path().join("no-results");
    let out = elmbench(&[
        "history",
        "summary",
        "fig2",
        "--tier",
        "smoke",
        "--run-id",
        "night-1",
        "--history",
        history.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
    ]);
    assert!(!out.status.success(), "{}", text(&out));
    let page = std::fs::read_to_string(history.join("nightly-night-1.md")).unwrap();
    assert_eq!(page, std::fs::read_to_string(history.join("latest.md")).unwrap());
    assert!(page.contains("| fig2 | - | - | **1** | 1 of 1 |"), "{page}");
    assert!(page.contains("not run: no "), "{page}");
    assert!(
        page.contains("REGRESSION fig2 group=elm config=d_m=10 test_auc = 0.41: outside the golden band"),
        "{page}"
    );
    assert!(page.contains("| elm d_m=10 | test_auc | 0.25 | 0.41 | +0.16 |"), "{page}");
    // Night 0 alone (the history up to it): nothing to compare with, nothing flagged.
    let first = elmbench(&[
        "history",
        "summary",
        "fig2",
        "--tier",
        "smoke",
        "--run-id",
        "night-0",
        "--history",
        history.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
    ]);
    assert!(first.status.success(), "{}", text(&first));
}

/// Sixteen recorders of one history at once (as parallel nightly steps would be): none loses
/// another's night, because each rewrites the file under the lock.
#[test]
fn concurrent_recordings_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("results/fig2/smoke");
    std::fs::create_dir_all(&runs).unwrap();
    std::fs::write(
        runs.join("runs.csv"),
        "experiment,tier,group,model,config,seed,data_source,test_auc,valid_auc,wall_s,status,git_commit\n\
         fig2,smoke,elm,elm,d_m=10,0,synthetic (s),0.5,0.4,1.0,ok,abc\n\
         fig2,smoke,elm,elm,d_m=10,1,synthetic (s),0.6,0.5,1.0,ok,abc\n",
    )
    .unwrap();
    let history = dir.path().join("history");
    std::thread::scope(|s| {
        for i in 0..16 {
            let (results, history) = (dir.path().join("results"), history.clone());
            s.spawn(move || {
                elmbench::history::record(&results, &history, "fig2", "smoke", Some(&format!("night-{i}"))).unwrap();
            });
        }
    });
    let entries = read_history(&history.join("fig2.smoke.csv"));
    // 16 nights x 2 seeds x 2 metrics.
    assert_eq!(entries.len(), 64);
    let nights: std::collections::BTreeSet<&str> = entries.iter().map(|e| e["run_id"].as_str()).collect();
    assert_eq!(nights.len(), 16);
}
