//! The metrics of one split as a task reports them: named values in the task's order. Results
//! files (`result.json`, `row.json`) store them as a JSON object in that order.

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics(Vec<(String, f64)>);

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a value, replacing an earlier one of the same name.
    pub fn set(&mut self, name: &str, value: f64) {
        match self.0.iter_mut().find(|(n, _)| n == name) {
            Some(entry) => entry.1 = value,
            None => self.0.push((name.to_string(), value)),
        }
    }

    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        self.0.iter().map(|(n, v)| (n.as_str(), *v))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<const N: usize> From<[(&str, f64); N]> for Metrics {
    fn from(values: [(&str, f64); N]) -> Self {
        let mut m = Metrics::new();
        for (name, value) in values {
            m.set(name, value);
        }
        m
    }
}

/// `metrics["auc"]`, for code that knows the task's metric names; panics on an unknown name
/// (the message lists the names there are).
impl std::ops::Index<&str> for Metrics {
    type Output = f64;
    fn index(&self, name: &str) -> &f64 {
        match self.0.iter().find(|(n, _)| n == name) {
            Some((_, v)) => v,
            None => panic!(
                "no metric `{name}` (metrics: {})",
                self.0.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

impl Serialize for Metrics {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Metrics {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct InOrder;
        impl<'de> Visitor<'de> for InOrder {
            type Value = Metrics;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of metric names and numbers")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Metrics, A::Error> {
                let mut m = Metrics::new();
                while let Some((name, value)) = access.next_entry::<String, f64>()? {
                    m.set(&name, value);
                }
                Ok(m)
            }
        }
        deserializer.deserialize_map(InOrder)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_order_through_json() {
        let m = Metrics::from([("soma_rmse", 4.5), ("auc", 0.9)]);
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(text, r#"{"soma_rmse":4.5,"auc":0.9}"#);
        let back: Metrics = serde_json::from_str(&text).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.iter().map(|(n, _)| n).collect::<Vec<_>>(), ["soma_rmse", "auc"]);
        assert_eq!(back["auc"], 0.9);
        assert_eq!(back.get("accuracy"), None);
    }
}
