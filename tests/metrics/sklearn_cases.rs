//! Cases whose expected values scikit-learn and the official helpers computed
//! (`tests/fixtures/make_metrics_cases.py` → `tests/fixtures/metrics_cases.json`).

use super::fixtures::{assert_all_close, assert_close, load_json, num, nums};
use elmbench::metrics::{
    auc, explained_variance_score, match_soma_moments, mean_absolute_error, mean_squared_error, neuronio_metrics,
    roc_auc, roc_curve, root_mean_squared_error, EvalWindow,
};

const TOL: f64 = 1e-12;

#[test]
fn roc_curves_match_sklearn_with_and_without_drop_intermediate() {
    let cases = load_json("metrics_cases.json");
    for case in cases["roc"].as_array().expect("roc cases") {
        let name = case["name"].as_str().expect("name");
        let (y, s) = (nums(&case["y_true"]), nums(&case["y_score"]));
        for (key, drop) in [("drop", true), ("keep", false)] {
            let want = &case[key];
            let roc = roc_curve(&y, &s, drop).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_all_close(&format!("{name}/{key}/fpr"), &roc.fpr, &nums(&want["fpr"]), TOL);
            assert_all_close(&format!("{name}/{key}/tpr"), &roc.tpr, &nums(&want["tpr"]), TOL);
            assert_all_close(&format!("{name}/{key}/thresholds"), &roc.thresholds, &nums(&want["thresholds"]), TOL);
            let area = roc.auc().expect("auc");
            assert_close(&format!("{name}/{key}/auc"), area, num(&want["auc"]), TOL);
        }
        let area = roc_auc(&y, &s).expect("roc_auc");
        assert_close(&format!("{name}/roc_auc"), area, num(&case["drop"]["auc"]), TOL);
    }
}

#[test]
fn tp_and_auc_at_fp_match_official_helpers() {
    let cases = load_json("metrics_cases.json");
    for case in cases["roc"].as_array().expect("roc cases") {
        let name = case["name"].as_str().expect("name");
        let roc = roc_curve(&nums(&case["y_true"]), &nums(&case["y_score"]), true).expect("valid case");
        for at in case["at_fp"].as_array().expect("at_fp") {
            let fp = num(&at["desired_fp"]);
            assert_close(&format!("{name}/tp@{fp}"), roc.tp_at_fp(fp).expect("tp"), num(&at["tp"]), TOL);
            assert_close(&format!("{name}/auc@{fp}"), roc.auc_at_fp(fp).expect("auc"), num(&at["auc"]), TOL);
        }
    }
}

#[test]
fn auc_matches_sklearn_in_both_directions() {
    let cases = load_json("metrics_cases.json");
    for case in cases["auc"].as_array().expect("auc cases") {
        let name = case["name"].as_str().expect("name");
        let area = auc(&nums(&case["x"]), &nums(&case["y"])).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_close(name, area, num(&case["auc"]), TOL);
    }
}

#[test]
fn regression_metrics_match_sklearn() {
    let cases = load_json("metrics_cases.json");
    for case in cases["regression"].as_array().expect("regression cases") {
        let name = case["name"].as_str().expect("name");
        let (t, p) = (nums(&case["y_true"]), nums(&case["y_pred"]));
        assert_close(&format!("{name}/mse"), mean_squared_error(&t, &p).expect("mse"), num(&case["mse"]), TOL);
        assert_close(&format!("{name}/rmse"), root_mean_squared_error(&t, &p).expect("rmse"), num(&case["rmse"]), TOL);
        assert_close(&format!("{name}/mae"), mean_absolute_error(&t, &p).expect("mae"), num(&case["mae"]), TOL);
        let ev = explained_variance_score(&t, &p).expect("ev");
        assert_close(&format!("{name}/explained_variance"), ev, num(&case["explained_variance"]), TOL);
    }
}

/// Official pipeline end to end on (simulations, time) arrays: soma rescaling, the [0, 24]
/// spike-count filter, dropping the first 500 ms, then the core results.
#[test]
fn official_selection_and_soma_rescaling() {
    let cases = load_json("metrics_cases.json");
    let case = &cases["neuronio"];
    let steps = case["time_steps"].as_u64().expect("time_steps") as usize;
    let soma_true = nums(&case["soma_true"]);
    let soma_pred = match_soma_moments(&soma_true, &nums(&case["soma_pred_raw"])).expect("rescale");
    assert_all_close("rescaled soma", &soma_pred, &nums(&case["soma_pred"]), TOL);

    let window = EvalWindow::default();
    let kept = window
        .select(steps, &nums(&case["spike_true"]), &nums(&case["spike_prob"]), &soma_true, &soma_pred)
        .expect("select");
    assert_eq!(kept.simulations_kept as u64, case["simulations_kept"].as_u64().expect("kept"));
    assert_eq!(kept.spike_true.len(), kept.simulations_kept * (steps - 500));

    let got = neuronio_metrics(&kept.spike_true, &kept.spike_prob, &kept.soma_true, &kept.soma_pred).expect("metrics");
    let got = serde_json::to_value(got).expect("serialise");
    let want = case["results"].as_object().expect("results");
    assert_eq!(want.len(), 8);
    for (key, value) in want {
        assert_close(key, num(&got[key.as_str()]), num(value), TOL);
    }
}
