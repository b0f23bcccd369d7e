//! CSV tables (runs.csv, reports) through the `csv` crate: RFC 4180 quoting on write, and rows
//! read back as column -> cell maps.

use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// A header and rows as CSV text.
pub fn to_csv<S: AsRef<str>>(header: &[S], rows: impl IntoIterator<Item = Vec<String>>) -> Result<String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(header.iter().map(|h| h.as_ref()))?;
    for row in rows {
        writer.write_record(&row)?;
    }
    Ok(String::from_utf8(writer.into_inner().context("finishing a CSV table")?)?)
}

/// Every row of a CSV file with a header, as column -> cell maps.
pub fn read_csv_maps(path: &Path) -> Result<Vec<BTreeMap<String, String>>> {
    let mut reader = csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    let header: Vec<String> =
        reader.headers().with_context(|| format!("{}: no header", path.display()))?.iter().map(String::from).collect();
    reader
        .records()
        .enumerate()
        .map(|(i, record)| {
            let record = record.with_context(|| format!("{}: record {}", path.display(), i + 1))?;
            Ok(header.iter().cloned().zip(record.iter().map(String::from)).collect())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_round_trip() {
        let cells = ["plain", "a, b", "say \"hi\"", "two\nlines", ""].map(String::from).to_vec();
        let text = to_csv(&["a", "b", "c", "d", "e"], [cells.clone()]).unwrap();
        assert!(text.contains("\"a, b\",\"say \"\"hi\"\"\",\"two\nlines\""), "{text}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, text).unwrap();
        let rows = read_csv_maps(&path).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["b"], "a, b");
        assert_eq!(rows[0]["c"], "say \"hi\"");
        assert_eq!(rows[0]["d"], "two\nlines");
        assert_eq!(rows[0]["e"], "");
    }
}
