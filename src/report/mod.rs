//! Parameter and FLOP reports: one row per model configuration, ours beside the paper's.
//!
//! FLOP convention (`crate::models::FlopCount`): the forward pass of one sample, as the model is
//! defined (every synapse and every input at every step, dense, whatever shortcuts the engine
//! takes); a multiply or an add is one FLOP (so a multiply-add is 2), and so is any other
//! elementwise or transcendental operation (tanh, sigmoid, exp, a ReLU's max, a division); gathers and
//! selects (routing, masks) are free. The sequence length is part of every row: NeuronIO samples
//! are the 500 ms training windows, SHD 1 s at the bin size, LRA the task's sequence length.

pub mod inventory;
pub mod paper_configurations;
pub mod paper_report;
pub mod table;

pub use paper_configurations::{paper_configurations, PaperConfiguration};
pub use table::{Convention, ReportRow, ReportTable};

use crate::models::ModelConfig;
use anyhow::{Context, Result};

/// Builds the row of one configuration.
pub fn row(
    label: &str,
    config: &ModelConfig,
    time: usize,
    paper_params: Option<&str>,
    paper_flops: Option<&str>,
    convention: Convention,
    source: &str,
) -> Result<ReportRow> {
    let model = config.build(0).with_context(|| format!("building {} ({label})", config.kind()))?;
    let flops = model.flops(time);
    Ok(ReportRow {
        model: config.kind().to_string(),
        config: label.to_string(),
        params: model.param_count(),
        params_paper_convention: model.param_count_paper_convention(),
        paper_reported: paper_params.unwrap_or_default().to_string(),
        reported_convention: convention,
        flops_per_sample: flops.total(),
        paper_flops: paper_flops.unwrap_or_default().to_string(),
        seq_len: time,
        flop_components: flops.components,
        source: source.to_string(),
    })
}

/// Every configuration the paper reports that elmbench can build, and the names of those it
/// cannot build yet.
pub fn paper_table() -> Result<(ReportTable, Vec<String>)> {
    let mut rows = Vec::new();
    let mut missing = Vec::new();
    for c in paper_configurations() {
        match c.model_config() {
            Ok(config) => {
                rows.push(row(&c.label, &config, c.time, c.paper_params, c.paper_flops, c.convention, c.source)?)
            }
            Err(e) => missing.push(format!("{} {} ({}): {e:#}", c.kind, c.label, c.group)),
        }
    }
    Ok((ReportTable { rows }, missing))
}
