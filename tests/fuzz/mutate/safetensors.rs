//! Safetensors mutations: the 8-byte header length, and in the JSON header a tensor's shape,
//! offsets or dtype, or a metadata value (checkpoints keep their model config there; it is
//! mutated as text, so model sizes get huge, zero, negative and wrong-typed values).

use crate::rng::Rng;
use serde_json::{json, Value};

fn split(data: &[u8]) -> Option<(serde_json::Map<String, Value>, &[u8])> {
    let n = u64::from_le_bytes(data.get(..8)?.try_into().ok()?) as usize;
    let header = data.get(8..8usize.checked_add(n)?)?;
    let map = serde_json::from_slice::<Value>(header).ok()?.as_object()?.clone();
    Some((map, &data[8 + n..]))
}

fn join(map: &serde_json::Map<String, Value>, body: &[u8]) -> Vec<u8> {
    let header = serde_json::to_vec(map).expect("a JSON map serializes");
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&header);
    out.extend_from_slice(body);
    out
}

fn odd_number(rng: &mut Rng, near: usize) -> Value {
    match rng.below(6) {
        0 => json!(-1),
        1 => json!(1.5),
        2 => json!("7"),
        _ => json!(super::interesting(rng, near)),
    }
}

pub fn mutate(rng: &mut Rng, data: &[u8]) -> Option<Vec<u8>> {
    if rng.below(5) == 0 {
        let mut d = data.to_vec();
        if d.len() < 8 {
            return None;
        }
        let n = u64::from_le_bytes(d[..8].try_into().ok()?) as usize;
        d[..8].copy_from_slice(&super::interesting(rng, n).to_le_bytes());
        return Some(d);
    }
    let (mut map, body) = split(data)?;
    let names: Vec<String> = map.keys().cloned().collect();
    if names.is_empty() {
        return None;
    }
    let name = rng.pick(&names).clone();
    if name == "__metadata__" {
        let meta = map.get_mut(&name)?.as_object_mut()?;
        let keys: Vec<String> = meta.keys().cloned().collect();
        if keys.is_empty() {
            return None;
        }
        let key = rng.pick(&keys).clone();
        let text = meta.get(&key)?.as_str()?.as_bytes().to_vec();
        let changed = super::text::mutate(rng, &text).unwrap_or_default();
        meta.insert(key, Value::String(String::from_utf8_lossy(&changed).into_owned()));
        return Some(join(&map, body));
    }
    let tensor = map.get_mut(&name)?.as_object_mut()?;
    match rng.below(6) {
        0 | 1 => {
            let shape = tensor.get_mut("shape")?.as_array_mut()?;
            match rng.below(4) {
                0 => shape.push(odd_number(rng, 2)),
                1 if !shape.is_empty() => {
                    shape.pop();
                }
                _ if !shape.is_empty() => {
                    let i = rng.below(shape.len());
                    shape[i] = odd_number(rng, 8);
                }
                _ => shape.push(json!(0)),
            }
        }
        2 | 3 => {
            let offsets = tensor.get_mut("data_offsets")?.as_array_mut()?;
            if rng.one_in(4) {
                offsets.reverse();
            } else if !offsets.is_empty() {
                let i = rng.below(offsets.len());
                offsets[i] = odd_number(rng, body.len());
            }
        }
        4 => {
            let dtype =
                *rng.pick(&["BOOL", "U8", "I8", "F16", "BF16", "I64", "U64", "F64", "F8_E4M3", "C64", "XX", ""]);
            tensor.insert("dtype".into(), json!(dtype));
        }
        _ => {
            // The tensor again under another name, or gone.
            let copy = Value::Object(tensor.clone());
            if rng.one_in(2) {
                map.insert(format!("{name}_again"), copy);
            } else {
                map.remove(&name);
            }
        }
    }
    Some(join(&map, body))
}
