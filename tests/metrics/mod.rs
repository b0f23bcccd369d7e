//! Tests of `elmbench::metrics`. Every expected value comes from outside our code: the shared
//! reference manifest, scikit-learn and the official helpers (via
//! `tests/fixtures/make_metrics_cases.py`), or arithmetic written out by hand in comments.

mod errors;
mod fixtures;
mod hand;
mod reference;
mod sklearn_cases;
