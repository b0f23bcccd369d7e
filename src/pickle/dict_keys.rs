//! Python's dict key identity, so that a pickle setting the same key twice yields one entry
//! (later value, first position), as `pickle.load` gives. Equal numbers are equal keys across
//! types (`1 == 1.0 == True == numpy.int64(1)`); str and bytes never equal each other; keys
//! Python would compare by object identity (instances, NaN) are never merged.

use super::integers::{from_le_twos_complement, PyInt};
use super::numpy::NumpyScalar;
use super::value::Value;
use std::collections::hash_map::{Entry, HashMap};

#[derive(Hash, PartialEq, Eq)]
enum KeyId<'a> {
    None,
    Int(i64),
    Big(Vec<u8>),
    Float(u64),
    Str(&'a str),
    Bytes(&'a [u8]),
    Tuple(Vec<KeyId<'a>>),
    /// Never equal to another key.
    Unique(usize),
}

fn float_id<'a>(f: f64, unique: usize) -> KeyId<'a> {
    if f.is_nan() {
        KeyId::Unique(unique)
    } else if f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64 {
        // Integral floats equal the int of the same value (and -0.0 equals 0).
        KeyId::Int(f as i64)
    } else {
        KeyId::Float(f.to_bits())
    }
}

fn key_id(key: &Value, unique: usize) -> KeyId<'_> {
    match key {
        Value::None => KeyId::None,
        Value::Bool(b) => KeyId::Int(i64::from(*b)),
        Value::Int(i) => KeyId::Int(*i),
        Value::BigInt(bytes) => KeyId::Big(bytes.to_vec()),
        Value::Float(f) => float_id(*f, unique),
        Value::Str(s) => KeyId::Str(s),
        Value::Bytes(b) => KeyId::Bytes(b),
        Value::Tuple(items) => KeyId::Tuple(items.iter().map(|k| key_id(k, unique)).collect()),
        Value::NumpyScalar(s) => match *s {
            NumpyScalar::Bool(b) => KeyId::Int(i64::from(b)),
            NumpyScalar::Int { value, .. } => KeyId::Int(value),
            NumpyScalar::UInt { value, .. } => match i64::try_from(value) {
                Ok(v) => KeyId::Int(v),
                Err(_) => {
                    let mut le = value.to_le_bytes().to_vec();
                    le.push(0);
                    match from_le_twos_complement(&le) {
                        PyInt::Big(b) => KeyId::Big(b),
                        PyInt::Small(v) => KeyId::Int(v),
                    }
                }
            },
            NumpyScalar::Float { value, .. } => float_id(value, unique),
        },
        _ => KeyId::Unique(unique),
    }
}

/// Merges pairs whose keys Python would consider equal: the first key and position stay,
/// the last value wins.
pub(crate) fn merge_duplicate_keys(pairs: Vec<(Value, Value)>) -> Vec<(Value, Value)> {
    let mut first_index: HashMap<KeyId<'_>, usize> = HashMap::with_capacity(pairs.len());
    let mut replacements: Vec<(usize, usize)> = Vec::new();
    for (i, (key, _)) in pairs.iter().enumerate() {
        match first_index.entry(key_id(key, i)) {
            Entry::Occupied(first) => replacements.push((*first.get(), i)),
            Entry::Vacant(slot) => {
                slot.insert(i);
            }
        }
    }
    drop(first_index);
    if replacements.is_empty() {
        return pairs;
    }
    let mut slots: Vec<Option<(Value, Value)>> = pairs.into_iter().map(Some).collect();
    for (first, later) in replacements {
        if let Some((_, value)) = slots[later].take() {
            if let Some(slot) = slots[first].as_mut() {
                slot.1 = value;
            }
        }
    }
    slots.into_iter().flatten().collect()
}
