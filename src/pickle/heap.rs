//! The machine's working representation of objects while a pickle executes.
//!
//! Pickles mutate objects after creating and memoizing them (APPENDS into a list, BUILD on a
//! numpy array), and the memo may hand out the same object again later. So objects with an
//! identity live in an arena (`Heap::nodes`) and the stack and memo hold small `Copy` handles
//! (`Item`); when STOP is reached the result is converted once into the immutable `Value`
//! tree (see `freeze.rs`). When streaming, finished records are converted early and the arena,
//! which numbers objects in creation order, is cut back to where the record began (`stream.rs`). Numbers, short strings and numpy scalars are stored inline in the
//! `Item` itself: a NeuronIO pickle holds millions of int64 scalars, each built from an
//! 8-byte string and a 2-tuple, and none of those should cost a heap allocation.

use super::globals::Known;
use super::numpy::{NumpyDtype, NumpyScalar};
use super::value::{latin1, Value};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

pub(crate) type NodeId = u32;

/// Longest text stored inline in an `Item`.
pub(crate) const SHORT_CAP: usize = 13;

#[derive(Clone, Copy, Debug)]
pub(crate) enum Item {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    EmptyTuple,
    /// A `str` (`is_str`, valid UTF-8) or bytes of at most `SHORT_CAP` bytes.
    Short {
        is_str: bool,
        len: u8,
        data: [u8; SHORT_CAP],
    },
    Scalar(NumpyScalar),
    Known(Known),
    Node(NodeId),
    /// An object handed to the streaming consumer and released (see `stream.rs`), with its
    /// number in the order objects were handed over.
    Streamed(u64),
}

// The stack and memo hold one `Item` per object; keep it two words.
const _: () = assert!(std::mem::size_of::<Item>() == 16);

pub(crate) enum Node {
    /// Tuples are immutable, so their items live contiguously in `Heap::tuple_items`.
    Tuple {
        start: usize,
        len: usize,
    },
    List(Vec<Item>),
    Dict(Vec<(Item, Item)>),
    Set(Vec<Item>),
    Object(Box<ObjectParts>),
    /// Made by numpy's `_reconstruct`; becomes an array when BUILD supplies its state.
    PendingArray {
        created_at: u64,
    },
    /// Made by `numpy.dtype(...)`; BUILD may still set its byte order.
    Dtype(NumpyDtype),
    PersistentId(Item),
    /// Final value (immutable leaves from the start, containers once frozen).
    Done(Value),
    /// Being frozen; meeting it again means the structure contains itself.
    InProgress,
}

pub(crate) struct ObjectParts {
    pub(crate) callable: Item,
    pub(crate) args: Item,
    pub(crate) kwargs: Option<Item>,
    pub(crate) state: Option<Item>,
}

#[derive(Default)]
pub(crate) struct Heap {
    pub(crate) nodes: Vec<Node>,
    pub(crate) tuple_items: Vec<Item>,
    /// BUILD state of dict subclasses (rare; kept aside so `Node` stays small).
    pub(crate) dict_attributes: HashMap<NodeId, Item>,
}

impl Heap {
    pub(crate) fn alloc(&mut self, node: Node) -> Result<Item, String> {
        let id = NodeId::try_from(self.nodes.len()).map_err(|_| "more than 2^32 objects in one pickle".to_string())?;
        self.nodes.push(node);
        Ok(Item::Node(id))
    }

    pub(crate) fn node(&self, item: &Item) -> Option<&Node> {
        match item {
            Item::Node(id) => self.nodes.get(*id as usize),
            _ => None,
        }
    }

    pub(crate) fn node_mut(&mut self, item: &Item) -> Option<&mut Node> {
        match item {
            Item::Node(id) => self.nodes.get_mut(*id as usize),
            _ => None,
        }
    }

    pub(crate) fn done(&self, item: &Item) -> Option<&Value> {
        match self.node(item) {
            Some(Node::Done(v)) => Some(v),
            _ => None,
        }
    }

    pub(crate) fn leaf(&mut self, value: Value) -> Result<Item, String> {
        self.alloc(Node::Done(value))
    }

    pub(crate) fn string(&mut self, text: String) -> Result<Item, String> {
        match short(text.as_bytes(), true) {
            Some(item) => Ok(item),
            None => self.leaf(Value::Str(Arc::from(text))),
        }
    }

    pub(crate) fn bytes(&mut self, bytes: Vec<u8>) -> Result<Item, String> {
        match short(&bytes, false) {
            Some(item) => Ok(item),
            None => self.leaf(Value::Bytes(Arc::from(bytes))),
        }
    }

    /// A tuple of the given items (the empty tuple needs no node).
    pub(crate) fn tuple(&mut self, items: impl IntoIterator<Item = Item>) -> Result<Item, String> {
        let start = self.tuple_items.len();
        self.tuple_items.extend(items);
        let len = self.tuple_items.len() - start;
        if len == 0 {
            return Ok(Item::EmptyTuple);
        }
        self.alloc(Node::Tuple { start, len })
    }

    pub(crate) fn tuple_slice(&self, item: &Item) -> Option<&[Item]> {
        match item {
            Item::EmptyTuple => Some(&[]),
            _ => match self.node(item)? {
                Node::Tuple { start, len } => self.tuple_items.get(*start..*start + *len),
                _ => None,
            },
        }
    }

    /// Items of a tuple, list or set (arguments that Python would iterate).
    pub(crate) fn sequence(&self, item: &Item) -> Option<&[Item]> {
        if let Some(items) = self.tuple_slice(item) {
            return Some(items);
        }
        match self.node(item)? {
            Node::List(items) | Node::Set(items) => Some(items),
            _ => None,
        }
    }

    /// Exactly `N` tuple arguments, copied out so the caller may then mutate the heap.
    pub(crate) fn args<const N: usize>(&self, args: &Item, what: &str) -> Result<[Item; N], String> {
        let items =
            self.tuple_slice(args).ok_or_else(|| format!("{what} arguments are a {}, not a tuple", self.kind(args)))?;
        <[Item; N]>::try_from(items)
            .map_err(|_| format!("{what} takes {N} arguments, the pickle gives {}", items.len()))
    }

    /// A Python `str` (not bytes).
    pub(crate) fn as_str<'a>(&'a self, item: &'a Item) -> Option<&'a str> {
        match item {
            Item::Short { is_str: true, len, data } => std::str::from_utf8(&data[..*len as usize]).ok(),
            _ => match self.done(item)? {
                Value::Str(s) => Some(s),
                _ => None,
            },
        }
    }

    /// A bytes object (Python 3 bytes or Python 2 str).
    pub(crate) fn as_bytes<'a>(&'a self, item: &'a Item) -> Option<&'a [u8]> {
        match item {
            Item::Short { is_str: false, len, data } => Some(&data[..*len as usize]),
            _ => match self.done(item)? {
                Value::Bytes(b) => Some(b),
                _ => None,
            },
        }
    }

    /// Text from a `str` or from bytes decoded as latin1 (Python 2 `str` names and codes).
    pub(crate) fn as_text<'a>(&'a self, item: &'a Item) -> Option<Cow<'a, str>> {
        if let Some(s) = self.as_str(item) {
            return Some(Cow::Borrowed(s));
        }
        self.as_bytes(item).map(latin1)
    }

    /// A bytes payload as a shareable buffer (large payloads are shared, not copied).
    pub(crate) fn as_shared_bytes(&self, item: &Item) -> Option<Arc<[u8]>> {
        match self.done(item) {
            Some(Value::Bytes(b)) => Some(b.clone()),
            _ => self.as_bytes(item).map(Arc::from),
        }
    }

    /// A non-negative Python int (sizes, strides, offsets).
    pub(crate) fn as_usize(&self, item: &Item) -> Option<usize> {
        match item {
            Item::Int(i) => usize::try_from(*i).ok(),
            _ => None,
        }
    }

    pub(crate) fn usize_tuple(&self, item: &Item, what: &str) -> Result<Vec<usize>, String> {
        let items = self.tuple_slice(item).ok_or_else(|| format!("{what} is a {}, not a tuple", self.kind(item)))?;
        items
            .iter()
            .map(|x| {
                self.as_usize(x).ok_or_else(|| format!("{what} holds a {} (non-negative int expected)", self.kind(x)))
            })
            .collect()
    }

    /// A truth value given as bool or int, as Python's `bool(x)` would accept.
    pub(crate) fn as_flag(&self, item: &Item) -> Option<bool> {
        match item {
            Item::Bool(b) => Some(*b),
            Item::Int(i) => Some(*i != 0),
            _ => None,
        }
    }

    pub(crate) fn as_dtype(&self, item: &Item) -> Option<NumpyDtype> {
        match self.node(item)? {
            Node::Dtype(d) => Some(*d),
            _ => None,
        }
    }

    /// Type name for error messages.
    pub(crate) fn kind(&self, item: &Item) -> String {
        match item {
            Item::None => "None".into(),
            Item::Bool(_) => "bool".into(),
            Item::Int(_) => "int".into(),
            Item::Float(_) => "float".into(),
            Item::EmptyTuple => "tuple".into(),
            Item::Short { is_str: true, .. } => "str".into(),
            Item::Short { is_str: false, .. } => "bytes".into(),
            Item::Scalar(_) => "numpy scalar".into(),
            Item::Known(k) => format!("global {}", k.global_name()),
            Item::Streamed(_) => "object already handed to the streaming consumer".into(),
            Item::Node(id) => match self.nodes.get(*id as usize) {
                Some(Node::Tuple { .. }) => "tuple".into(),
                Some(Node::List(_)) => "list".into(),
                Some(Node::Dict(_)) => "dict".into(),
                Some(Node::Set(_)) => "set".into(),
                Some(Node::Object(parts)) => match (&parts.callable, self.done(&parts.callable)) {
                    (Item::Known(k), _) => format!("object built by {}", k.global_name()),
                    (_, Some(Value::Global(g))) => format!("object built by {g}"),
                    (callable, _) => format!("object built by a {}", self.kind(callable)),
                },
                Some(Node::PendingArray { .. }) => "numpy.ndarray (without data yet)".into(),
                Some(Node::Dtype(_)) => "numpy.dtype".into(),
                Some(Node::PersistentId(_)) => "persistent id".into(),
                Some(Node::Done(v)) => v.describe(),
                Some(Node::InProgress) | None => "object".into(),
            },
        }
    }
}

/// Inline `Item` for text of at most `SHORT_CAP` bytes.
fn short(bytes: &[u8], is_str: bool) -> Option<Item> {
    if bytes.len() > SHORT_CAP {
        return None;
    }
    let mut data = [0u8; SHORT_CAP];
    data[..bytes.len()].copy_from_slice(bytes);
    Some(Item::Short { is_str, len: bytes.len() as u8, data })
}
