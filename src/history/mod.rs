//! Nightly history: every nightly run's metrics appended to `results/history/<experiment>.<tier>.csv`
//! (one row per run, metric and night), the trend of each configuration's metrics over the nights,
//! the regression rules (a metric outside its golden band, or beyond k standard deviations of the
//! last nights), its figure, and the nightly summary in Markdown.

pub mod clock;
pub mod figure;
pub mod render;
pub mod store;
pub mod summary;
pub mod trend;

pub use store::{history_path, read_history, record, Entry, COLUMNS};
pub use trend::{flags, nights, series, Flag, RuleOptions, Series};
