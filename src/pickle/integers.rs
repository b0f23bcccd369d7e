//! Python ints of any size: pickle writes them as little-endian two's complement (LONG1,
//! LONG4) or as decimal text (protocol 0). Those within i64 become `Int`, the rest keep their
//! minimal two's-complement bytes.

/// A decoded Python int.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PyInt {
    Small(i64),
    /// Minimal little-endian two's complement, longer than 8 bytes.
    Big(Vec<u8>),
}

/// CPython refuses to convert decimal strings longer than this (`sys.int_info`), and the
/// quadratic conversion below must stay bounded too.
pub(crate) const MAX_DECIMAL_DIGITS: usize = 4300;

/// Decodes little-endian two's complement bytes (an empty slice is 0).
pub(crate) fn from_le_twos_complement(bytes: &[u8]) -> PyInt {
    let mut v = bytes.to_vec();
    trim(&mut v);
    if v.len() <= 8 {
        let negative = v.last().is_some_and(|&b| b & 0x80 != 0);
        let mut le = if negative { [0xffu8; 8] } else { [0u8; 8] };
        le[..v.len()].copy_from_slice(&v);
        PyInt::Small(i64::from_le_bytes(le))
    } else {
        PyInt::Big(v)
    }
}

/// Drops redundant sign-extension bytes, as pickle's own encoder does.
fn trim(v: &mut Vec<u8>) {
    while v.len() >= 2 {
        let last = v[v.len() - 1];
        let sign_of_prev = v[v.len() - 2] & 0x80;
        if (last == 0x00 && sign_of_prev == 0) || (last == 0xff && sign_of_prev != 0) {
            v.pop();
        } else {
            break;
        }
    }
    if v.len() == 1 && v[0] == 0 {
        v.clear();
    }
}

/// Parses an optional sign followed by decimal digits (surrounding spaces allowed, as
/// Python's `int()` allows).
pub(crate) fn from_decimal(text: &[u8]) -> Result<PyInt, String> {
    let text = text.trim_ascii();
    let (negative, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(format!("{:?} is not a decimal integer", String::from_utf8_lossy(text)));
    }
    if digits.len() > MAX_DECIMAL_DIGITS {
        return Err(format!("integer literal has {} digits (limit {MAX_DECIMAL_DIGITS})", digits.len()));
    }
    // Magnitude in base 256, little-endian.
    let mut mag: Vec<u8> = Vec::new();
    for &d in digits {
        let mut carry = u32::from(d - b'0');
        for byte in mag.iter_mut() {
            let x = u32::from(*byte) * 10 + carry;
            *byte = x as u8;
            carry = x >> 8;
        }
        while carry > 0 {
            mag.push(carry as u8);
            carry >>= 8;
        }
    }
    // Room for the sign bit, then negate in two's complement if needed.
    mag.push(0);
    if negative {
        let mut carry = 1u16;
        for byte in mag.iter_mut() {
            let x = u16::from(!*byte) + carry;
            *byte = x as u8;
            carry = x >> 8;
        }
    }
    Ok(from_le_twos_complement(&mag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twos_complement_round_trips() {
        assert_eq!(from_le_twos_complement(&[]), PyInt::Small(0));
        assert_eq!(from_le_twos_complement(&[0xff]), PyInt::Small(-1));
        assert_eq!(from_le_twos_complement(&[0x00, 0x80]), PyInt::Small(-32768));
        assert_eq!(from_le_twos_complement(&[0xff, 0x00]), PyInt::Small(255));
        let max = i64::MAX.to_le_bytes();
        assert_eq!(from_le_twos_complement(&max), PyInt::Small(i64::MAX));
        // 2**63 needs a ninth byte for the sign.
        let two63 = [0, 0, 0, 0, 0, 0, 0, 0x80, 0];
        assert_eq!(from_le_twos_complement(&two63), PyInt::Big(two63.to_vec()));
    }

    #[test]
    fn decimal_parsing() {
        assert_eq!(from_decimal(b"0"), Ok(PyInt::Small(0)));
        assert_eq!(from_decimal(b"-1"), Ok(PyInt::Small(-1)));
        assert_eq!(from_decimal(b"-9223372036854775808"), Ok(PyInt::Small(i64::MIN)));
        assert_eq!(from_decimal(b"9223372036854775808"), Ok(PyInt::Big(vec![0, 0, 0, 0, 0, 0, 0, 0x80, 0])));
        assert_eq!(
            from_decimal(b"-9223372036854775809"),
            Ok(PyInt::Big(vec![0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff]))
        );
        assert!(from_decimal(b"12a").is_err());
        assert!(from_decimal(b"").is_err());
        assert!(from_decimal(&[b'9'; MAX_DECIMAL_DIGITS + 1]).is_err());
    }
}
