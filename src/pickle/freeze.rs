//! Turning the machine's arena of objects into the immutable `Value` tree once STOP is
//! reached. Each object is converted once and shared thereafter, so memo references stay
//! shared and nothing is converted twice.

use super::dict_keys::merge_duplicate_keys;
use super::heap::{Heap, Item, Node, NodeId};
use super::value::{Dict, Object, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// Deepest nesting accepted. Converting (and later dropping) a tree recurses once per level,
/// so this bound keeps crafted input from overflowing the stack; real data nests a handful
/// of levels (CPython's own recursion limit is 1000).
pub const MAX_NESTING: usize = 1000;

impl Heap {
    pub(crate) fn freeze(&mut self, item: Item, depth: usize) -> Result<Value, String> {
        match item {
            Item::Node(id) => self.freeze_node(id, depth),
            inline => inline_value(inline),
        }
    }

    fn freeze_node(&mut self, id: NodeId, depth: usize) -> Result<Value, String> {
        if depth >= MAX_NESTING {
            return Err(format!("objects are nested more than {MAX_NESTING} levels deep"));
        }
        let slot = self.nodes.get_mut(id as usize).ok_or("internal: dangling object handle")?;
        let value = match std::mem::replace(slot, Node::InProgress) {
            Node::Done(v) => {
                *slot = Node::Done(v.clone());
                return Ok(v);
            }
            Node::InProgress => return Err("an object contains itself; recursive structures are not supported".into()),
            Node::Tuple { start, len } => {
                let mut out = Vec::with_capacity(len);
                for i in start..start + len {
                    let item = self.tuple_items[i];
                    out.push(self.freeze(item, depth + 1)?);
                }
                Value::Tuple(Arc::from(out))
            }
            Node::List(items) => Value::List(self.freeze_all(items, depth)?),
            Node::Set(items) => Value::Set(self.freeze_all(items, depth)?),
            Node::Dict(pairs) => {
                let mut out = Vec::with_capacity(pairs.len());
                for (k, v) in pairs {
                    out.push((self.freeze(k, depth + 1)?, self.freeze(v, depth + 1)?));
                }
                let attributes = match self.dict_attributes.remove(&id) {
                    Some(a) => Some(self.freeze(a, depth + 1)?),
                    None => None,
                };
                Value::Dict(Arc::new(Dict { pairs: merge_duplicate_keys(out), attributes }))
            }
            Node::Object(parts) => {
                let callable = self.freeze(parts.callable, depth + 1)?;
                let args = self.freeze(parts.args, depth + 1)?;
                let kwargs = match parts.kwargs {
                    Some(k) => Some(self.freeze(k, depth + 1)?),
                    None => None,
                };
                let state = match parts.state {
                    Some(s) => Some(self.freeze(s, depth + 1)?),
                    None => None,
                };
                Value::Object(Arc::new(Object { callable, args, kwargs, state }))
            }
            Node::PendingArray { created_at } => {
                return Err(format!("the numpy array created at byte {created_at} never received its data (BUILD)"))
            }
            Node::Dtype(d) => Value::NumpyDtype(d),
            Node::PersistentId(pid) => Value::PersistentId(Arc::new(self.freeze(pid, depth + 1)?)),
        };
        self.nodes[id as usize] = Node::Done(value.clone());
        Ok(value)
    }

    fn freeze_all(&mut self, items: Vec<Item>, depth: usize) -> Result<Arc<[Value]>, String> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(self.freeze(item, depth + 1)?);
        }
        Ok(Arc::from(out))
    }
}

/// The value of an item stored inline (everything but `Item::Node`).
fn inline_value(item: Item) -> Result<Value, String> {
    Ok(match item {
        Item::None => Value::None,
        Item::Bool(b) => Value::Bool(b),
        Item::Int(i) => Value::Int(i),
        Item::Float(f) => Value::Float(f),
        Item::EmptyTuple => Value::Tuple(Arc::from(Vec::new())),
        Item::Short { is_str, len, data } => {
            let bytes = &data[..len as usize];
            if is_str {
                let text = std::str::from_utf8(bytes).map_err(|_| "internal: inline str is not UTF-8".to_string())?;
                Value::Str(Arc::from(text))
            } else {
                Value::Bytes(Arc::from(bytes))
            }
        }
        Item::Scalar(s) => Value::NumpyScalar(s),
        Item::Known(k) => Value::Global(Arc::new(k.global_name())),
        Item::Streamed(index) => Value::Streamed(index),
        Item::Node(_) => return Err("internal: an object handle is not an inline value".into()),
    })
}

impl Heap {
    /// The value `freeze` would give for `item`, without changing the heap: objects still being
    /// built stay as they are (streaming consumers look at enclosing objects this way). Shared
    /// objects are converted once.
    pub(crate) fn snapshot(&self, item: Item) -> Result<Value, String> {
        self.snapshot_in(item, 0, &mut HashMap::new())
    }

    /// `seen` holds each node converted so far, `None` while it is being converted.
    fn snapshot_in(
        &self,
        item: Item,
        depth: usize,
        seen: &mut HashMap<NodeId, Option<Value>>,
    ) -> Result<Value, String> {
        let Item::Node(id) = item else { return inline_value(item) };
        if depth >= MAX_NESTING {
            return Err(format!("objects are nested more than {MAX_NESTING} levels deep"));
        }
        match seen.get(&id) {
            Some(Some(v)) => return Ok(v.clone()),
            Some(None) => return Err("an object contains itself; recursive structures are not supported".into()),
            None => {}
        }
        seen.insert(id, None);
        let all = |items: &[Item], seen: &mut HashMap<NodeId, Option<Value>>| -> Result<Arc<[Value]>, String> {
            let out: Result<Vec<Value>, String> = items.iter().map(|&i| self.snapshot_in(i, depth + 1, seen)).collect();
            Ok(Arc::from(out?))
        };
        let value = match self.nodes.get(id as usize).ok_or("internal: dangling object handle")? {
            Node::Done(v) => v.clone(),
            Node::InProgress => return Err("internal: snapshot of an object being frozen".into()),
            Node::Tuple { start, len } => {
                let items = self.tuple_items.get(*start..*start + *len).ok_or("internal: tuple out of range")?;
                Value::Tuple(all(items, seen)?)
            }
            Node::List(items) => Value::List(all(items, seen)?),
            Node::Set(items) => Value::Set(all(items, seen)?),
            Node::Dict(pairs) => {
                let mut out = Vec::with_capacity(pairs.len());
                for &(k, v) in pairs {
                    out.push((self.snapshot_in(k, depth + 1, seen)?, self.snapshot_in(v, depth + 1, seen)?));
                }
                let attributes = match self.dict_attributes.get(&id) {
                    Some(&a) => Some(self.snapshot_in(a, depth + 1, seen)?),
                    None => None,
                };
                Value::Dict(Arc::new(Dict { pairs: merge_duplicate_keys(out), attributes }))
            }
            Node::Object(parts) => {
                let opt =
                    |i: Option<Item>, seen: &mut HashMap<NodeId, Option<Value>>| -> Result<Option<Value>, String> {
                        i.map(|i| self.snapshot_in(i, depth + 1, seen)).transpose()
                    };
                let callable = self.snapshot_in(parts.callable, depth + 1, seen)?;
                let args = self.snapshot_in(parts.args, depth + 1, seen)?;
                let kwargs = opt(parts.kwargs, seen)?;
                let state = opt(parts.state, seen)?;
                Value::Object(Arc::new(Object { callable, args, kwargs, state }))
            }
            Node::PendingArray { created_at } => {
                return Err(format!(
                    "the numpy array created at byte {created_at} has not received its data (BUILD) yet"
                ))
            }
            Node::Dtype(d) => Value::NumpyDtype(*d),
            Node::PersistentId(pid) => Value::PersistentId(Arc::new(self.snapshot_in(*pid, depth + 1, seen)?)),
        };
        seen.insert(id, Some(value.clone()));
        Ok(value)
    }
}
