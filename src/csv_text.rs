//! The little CSV our result files need (RFC 4180: fields with commas, quotes or line breaks are
//! quoted, quotes doubled), written and read by the same code.

/// One field, quoted when it must be.
pub fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// One record, with its line break.
pub fn line<'a>(cells: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = cells.into_iter().map(field).collect::<Vec<_>>().join(",");
    out.push('\n');
    out
}

/// A small RFC 4180 reader (quoted fields with doubled quotes), enough for our own files.
pub fn parse(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(ch) = chars.next() {
        match (ch, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (c, _) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_round_trip() {
        let cells = ["plain", "a, b", "say \"hi\"", "two\nlines", ""];
        let text = line(cells) + &line(["x", "y", "z", "w", "v"]);
        assert_eq!(
            parse(&text),
            vec![cells.map(String::from).to_vec(), ["x", "y", "z", "w", "v"].map(String::from).to_vec()]
        );
    }
}
