//! Mutations of text formats (TOML and JSON configs, TSV, metadata lists): numbers replaced by
//! 0, -1, huge or non-finite values and values of the wrong type, lines duplicated, dropped or
//! made very long, fields added, bytes that are not UTF-8.

use crate::rng::Rng;

/// Replacements for a number (or any value): edges of every integer width, huge floats,
/// non-finite values, wrong types.
const VALUES: &[&str] = &[
    "0",
    "-1",
    "1",
    "3",
    "1000",
    "4096",
    "8192",
    "10000",
    "16384",
    "32769",
    "65536",
    "100000",
    "1048576",
    "16777216",
    "1e9",
    "1000000000",
    "2147483648",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551616",
    "-9223372036854775808",
    "1e308",
    "-1e308",
    "1e-320",
    "0.5",
    "-0.0",
    "nan",
    "inf",
    "-inf",
    "NaN",
    "Infinity",
    "\"x\"",
    "\"\"",
    "true",
    "null",
    "[]",
    "{}",
    "[1, 2]",
    "{ a = 1 }",
];

/// Byte ranges of the numbers in `text` (an optional sign, digits, a fraction, an exponent).
fn numbers(text: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let starts_number =
            text[i].is_ascii_digit() && (i == 0 || !(text[i - 1].is_ascii_alphanumeric() || text[i - 1] == b'_'));
        if starts_number {
            let start = if i > 0 && text[i - 1] == b'-' { i - 1 } else { i };
            let mut j = i;
            while j < text.len()
                && (text[j].is_ascii_digit() || matches!(text[j], b'.' | b'e' | b'E' | b'_' | b'+' | b'-'))
            {
                j += 1;
            }
            out.push((start, j));
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// Byte ranges of double-quoted strings (quotes included).
fn strings(text: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'"' {
            let mut j = i + 1;
            while j < text.len() && text[j] != b'"' && text[j] != b'\n' {
                j += if text[j] == b'\\' { 2 } else { 1 };
            }
            if j < text.len() && text[j] == b'"' {
                out.push((i, j + 1));
            }
            i = j + 1;
        } else {
            i += 1;
        }
    }
    out
}

fn lines(text: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, &b) in text.iter().enumerate() {
        if b == b'\n' {
            out.push((start, i + 1));
            start = i + 1;
        }
    }
    if start < text.len() {
        out.push((start, text.len()));
    }
    out
}

fn replace(data: &[u8], (a, b): (usize, usize), with: &[u8]) -> Vec<u8> {
    let mut d = data[..a].to_vec();
    d.extend_from_slice(with);
    d.extend_from_slice(&data[b..]);
    d
}

/// One text-aware mutation; None when the chosen kind does not apply.
pub fn mutate(rng: &mut Rng, data: &[u8]) -> Option<Vec<u8>> {
    match rng.below(10) {
        0..=3 => {
            let spans = numbers(data);
            if spans.is_empty() {
                return None;
            }
            let span = *rng.pick(&spans);
            Some(replace(data, span, rng.pick(VALUES).as_bytes()))
        }
        4 => {
            let spans = strings(data);
            if spans.is_empty() {
                return None;
            }
            let span = *rng.pick(&spans);
            let with = match rng.below(3) {
                0 => rng.pick(VALUES).to_string(),
                1 => format!("\"{}\"", "a".repeat(1 + rng.below(100_000))),
                _ => "\"../../etc/\\u0000\"".to_string(),
            };
            Some(replace(data, span, with.as_bytes()))
        }
        5 | 6 => {
            let all = lines(data);
            if all.is_empty() {
                return None;
            }
            let (a, b) = *rng.pick(&all);
            let line = data[a..b].to_vec();
            Some(match rng.below(3) {
                0 => replace(data, (a, a), &line.repeat(1 + rng.below(3))),
                1 => replace(data, (a, b), b""),
                _ => {
                    // A very long line: the line's own text repeated.
                    let body = line.strip_suffix(b"\n").unwrap_or(&line);
                    let times = 1 + rng.below((1 << 20) / (body.len() + 1));
                    let mut long = body.repeat(times);
                    long.push(b'\n');
                    replace(data, (a, b), &long)
                }
            })
        }
        7 => {
            // Odd fields: tabs, separators, brackets where a value was.
            let at = rng.below(data.len() + 1);
            const PIECES: &[&[u8]] = &[b"\t", b"\t\t", b"\t1\t", b",", b"=", b"[", b"]", b"[[", b"\r", b"\0", b"\\"];
            let piece = *rng.pick(PIECES);
            Some(replace(data, (at, at), piece))
        }
        8 => {
            let at = rng.below(data.len() + 1);
            Some(replace(data, (at, at), &[0xff, 0xc3]))
        }
        _ => {
            // A new key with an odd value in a random place (unknown keys, duplicates).
            let all = lines(data);
            let at = all.get(rng.below(all.len() + 1)).map_or(data.len(), |l| l.0);
            let key = rng.pick(&["seeds", "prefetch", "num_memory", "num_output", "size", "epochs", "batch_size", "x"]);
            let line = format!("{key} = {}\n", rng.pick(VALUES));
            Some(replace(data, (at, at), line.as_bytes()))
        }
    }
}
