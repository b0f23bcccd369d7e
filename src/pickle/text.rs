//! Arguments of the protocol-0 text opcodes: quoted byte strings (STRING, written by Python
//! 2's `repr`) and raw-unicode-escape text (UNICODE).

/// Decodes a STRING argument: a quoted literal with Python's backslash escapes.
pub(crate) fn string_literal(line: &[u8]) -> Result<Vec<u8>, String> {
    let quoted = line.len() >= 2 && line[0] == line[line.len() - 1] && (line[0] == b'\'' || line[0] == b'"');
    if !quoted {
        return Err("the STRING argument is not a quoted literal".into());
    }
    let body = &line[1..line.len() - 1];
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        i += 1;
        if b != b'\\' {
            out.push(b);
            continue;
        }
        let Some(&e) = body.get(i) else {
            return Err("the STRING argument ends with a lone backslash".into());
        };
        i += 1;
        match e {
            b'\n' => {}
            b'\\' | b'\'' | b'"' => out.push(e),
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'0'..=b'7' => {
                // Up to three octal digits; values above 0o377 wrap to a byte as CPython does.
                let mut v = u32::from(e - b'0');
                for _ in 0..2 {
                    match body.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push(v as u8);
            }
            b'x' => {
                let hex = body
                    .get(i..i + 2)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or("invalid \\x escape in the STRING argument")?;
                out.push(hex);
                i += 2;
            }
            // Unknown escapes stay as written.
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    Ok(out)
}

/// Decodes raw-unicode-escape: bytes are latin1 characters, except `\uXXXX` and
/// `\UXXXXXXXX` after an odd number of backslashes.
pub(crate) fn raw_unicode_escape(line: &[u8]) -> Result<String, String> {
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    let mut backslashes = 0usize;
    while i < line.len() {
        let b = line[i];
        if b == b'\\' && backslashes.is_multiple_of(2) {
            let digits = match line.get(i + 1) {
                Some(b'u') => 4,
                Some(b'U') => 8,
                _ => 0,
            };
            if digits > 0 {
                let code = line
                    .get(i + 2..i + 2 + digits)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .ok_or("truncated \\u escape in the UNICODE argument")?;
                let c = char::from_u32(code)
                    .ok_or_else(|| format!("\\u escape U+{code:X} in the UNICODE argument is not a character"))?;
                out.push(c);
                i += 2 + digits;
                backslashes = 0;
                continue;
            }
        }
        backslashes = if b == b'\\' { backslashes + 1 } else { 0 };
        out.push(char::from(b));
        i += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_literals() {
        assert_eq!(string_literal(b"'abc'").unwrap(), b"abc");
        assert_eq!(string_literal(br#"'a\n\x00\xff\'\\\101z'"#).unwrap(), b"a\n\x00\xff'\\Az");
        assert_eq!(string_literal(br#""\q""#).unwrap(), b"\\q");
        assert!(string_literal(b"abc").is_err());
        assert!(string_literal(b"'").is_err());
        assert!(string_literal(br"'\x4'").is_err());
    }

    #[test]
    fn raw_unicode() {
        assert_eq!(raw_unicode_escape(b"caf\xe9").unwrap(), "café");
        assert_eq!(raw_unicode_escape(br"\u2603\U0001f600").unwrap(), "☃😀");
        assert_eq!(raw_unicode_escape(br"\\u2603").unwrap(), "\\\\u2603");
        assert!(raw_unicode_escape(br"\u26").is_err());
        assert!(raw_unicode_escape(br"\ud800").is_err());
    }
}
