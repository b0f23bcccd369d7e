//! `key=value` overrides for any serde-described configuration.
//!
//! One mechanism serves `--set` on every command: the config is turned into a JSON object, the
//! key is replaced, and the object is parsed back with the config's own rules (so an unknown key or
//! a value of the wrong type is the same error it would be in a file, and it names the key).

use anyhow::{anyhow, bail, Context, Result};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;

/// Splits `key=value`.
pub fn parse_assignment(text: &str) -> Result<(String, String)> {
    let Some((key, value)) = text.split_once('=') else {
        bail!("`{text}` is not of the form key=value");
    };
    let key = key.trim();
    if key.is_empty() {
        bail!("`{text}` has an empty key");
    }
    Ok((key.to_string(), value.trim().to_string()))
}

/// Reads a command-line value as JSON where it is a literal (number, bool, null, array) and as a string
/// otherwise; `none` means null (Python's spelling of an unset option).
fn literal(value: &str) -> Value {
    if value.eq_ignore_ascii_case("none") {
        return Value::Null;
    }
    match serde_json::from_str::<Value>(value) {
        Ok(v @ (Value::Number(_) | Value::Bool(_) | Value::Null | Value::Array(_))) => v,
        _ => Value::String(value.to_string()),
    }
}

/// Applies `key=value` assignments to `config` and re-validates it through deserialization.
pub fn apply<T: Serialize + DeserializeOwned>(config: &T, assignments: &[String]) -> Result<T> {
    let mut object = serde_json::to_value(config).context("config is not an object")?;
    for text in assignments {
        let (key, value) = parse_assignment(text)?;
        // `section.key` walks into nested tables (`model.num_memory=20`).
        let mut target = &mut object;
        let mut parts = key.split('.').peekable();
        while let Some(part) = parts.next() {
            let map = target
                .as_object_mut()
                .ok_or_else(|| anyhow!("--set {key}: `{part}` is inside a value, not a table"))?;
            if parts.peek().is_none() {
                map.insert(part.to_string(), literal(&value));
                break;
            }
            target = map.get_mut(part).ok_or_else(|| anyhow!("--set {key}: there is no table `{part}`"))?;
        }
    }
    // serde_json's message names the value, not its key: name the assignments.
    serde_json::from_value(object).map_err(|e| anyhow!("invalid --set {}: {e}", assignments.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Demo {
        width: usize,
        name: Option<String>,
    }

    #[test]
    fn sets_known_keys_and_rejects_unknown_or_ill_typed_ones() {
        let base = Demo { width: 1, name: None };
        let out = apply(&base, &["width=7".into(), "name=relu".into()]).unwrap();
        assert_eq!(out, Demo { width: 7, name: Some("relu".into()) });
        let err = apply(&base, &["depth=3".into()]).unwrap_err().to_string();
        assert!(err.contains("depth"), "{err}");
        let err = apply(&base, &["width=wide".into()]).unwrap_err().to_string();
        assert!(err.contains("wide"), "{err}");
        assert!(apply(&base, &["width".into()]).is_err());
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Nested {
        inner: Demo,
    }

    #[test]
    fn dotted_keys_reach_nested_tables() {
        let base = Nested { inner: Demo { width: 1, name: None } };
        let out = apply(&base, &["inner.width=5".into()]).unwrap();
        assert_eq!(out.inner.width, 5);
        let err = apply(&base, &["outer.width=5".into()]).unwrap_err().to_string();
        assert!(err.contains("outer"), "{err}");
        let err = apply(&base, &["inner.depth=5".into()]).unwrap_err().to_string();
        assert!(err.contains("depth"), "{err}");
    }
}
