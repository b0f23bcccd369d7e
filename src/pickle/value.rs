//! The result of reading a pickle: an immutable tree of Python-like values. Containers are
//! behind `Arc`, so objects the pickle shares (memo references) stay shared and cloning a
//! `Value` is cheap; `Value` is `Send + Sync`, so a parsed file may move between threads.

use super::numpy::{NdArray, NumpyDtype, NumpyScalar};
use super::torch::{StorageRef, TorchTensor};
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    /// An integer outside the i64 range: minimal little-endian two's-complement bytes (the
    /// encoding of pickle's LONG1 opcode).
    BigInt(Arc<[u8]>),
    Float(f64),
    /// Python 3 `bytes`/`bytearray` and Python 2 `str` (raw bytes; Python-2 pickles are read
    /// with `encoding="latin1"` by convention, see [`Value::as_text`]).
    Bytes(Arc<[u8]>),
    Str(Arc<str>),
    Tuple(Arc<[Value]>),
    List(Arc<[Value]>),
    /// `set` and `frozenset`, items in the order the pickle lists them.
    Set(Arc<[Value]>),
    /// `dict` and `collections.OrderedDict`.
    Dict(Arc<Dict>),
    NumpyScalar(NumpyScalar),
    NumpyDtype(NumpyDtype),
    NdArray(Arc<NdArray>),
    /// A reference to a raw storage inside a `torch.save` archive (a persistent id).
    TorchStorage(Arc<StorageRef>),
    TorchTensor(Arc<TorchTensor>),
    /// A class or function the reader does not construct, kept by name.
    Global(Arc<GlobalName>),
    /// An instance of a class the reader does not construct: how it would be built.
    Object(Arc<Object>),
    /// A persistent id of a kind the reader does not interpret.
    PersistentId(Arc<Value>),
    /// Only from the streaming readers ([`crate::pickle::stream_from_reader`]): an object that was
    /// handed to the consumer while reading, with its number in the order of hand-over.
    Streamed(u64),
}

/// `module.name` of a pickled global.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GlobalName {
    pub module: String,
    pub name: String,
}

impl fmt::Display for GlobalName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.module, self.name)
    }
}

/// An object that was never constructed: Python would call `callable(*args, **kwargs)` and
/// then apply `state` (BUILD). Nothing is executed; this only records the recipe.
#[derive(Clone, Debug, PartialEq)]
pub struct Object {
    pub callable: Value,
    pub args: Value,
    pub kwargs: Option<Value>,
    pub state: Option<Value>,
}

/// Key/value pairs in insertion order, keys unique as Python compares them (a pickle that
/// sets a key twice gives one pair, as `pickle.load` does). Lookups scan: dicts in our files
/// are small or are iterated, not searched.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dict {
    pub(crate) pairs: Vec<(Value, Value)>,
    /// Instance attributes set by BUILD (e.g. the `_metadata` of a torch state dict).
    pub(crate) attributes: Option<Value>,
}

impl Dict {
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    pub fn pairs(&self) -> &[(Value, Value)] {
        &self.pairs
    }

    pub fn iter(&self) -> std::slice::Iter<'_, (Value, Value)> {
        self.pairs.iter()
    }

    pub fn keys(&self) -> impl Iterator<Item = &Value> {
        self.pairs.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl Iterator<Item = &Value> {
        self.pairs.iter().map(|(_, v)| v)
    }

    /// Instance attributes (the BUILD state of a dict subclass), if any.
    pub fn attributes(&self) -> Option<&Value> {
        self.attributes.as_ref()
    }

    /// Value of a text key, matching both `str` keys and Python-2 `str` (bytes, as latin1).
    pub fn get_str(&self, key: &str) -> Option<&Value> {
        self.find(|k| k.text_eq(key))
    }

    /// Value of an integer key, with Python's numeric equality: ints, numpy integer scalars,
    /// bools and integral floats all match (`{True: x}[1]` is `x` in Python too).
    pub fn get_int(&self, key: i64) -> Option<&Value> {
        self.find(|k| match k {
            Value::Bool(b) => i64::from(*b) == key,
            Value::Float(f) => f.fract() == 0.0 && (i64::MIN as f64..i64::MAX as f64).contains(f) && *f as i64 == key,
            other => other.as_i64() == Some(key) || other.as_bool().map(i64::from) == Some(key),
        })
    }

    /// Value of a key equal (structurally) to `key`.
    pub fn get(&self, key: &Value) -> Option<&Value> {
        self.find(|k| k == key)
    }

    fn find(&self, mut matches: impl FnMut(&Value) -> bool) -> Option<&Value> {
        self.pairs.iter().rev().find(|(k, _)| matches(k)).map(|(_, v)| v)
    }
}

impl<'a> IntoIterator for &'a Dict {
    type Item = &'a (Value, Value);
    type IntoIter = std::slice::Iter<'a, (Value, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.pairs.iter()
    }
}

impl Value {
    /// Short type name for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::BigInt(_) => "int",
            Value::Float(_) => "float",
            Value::Bytes(_) => "bytes",
            Value::Str(_) => "str",
            Value::Tuple(_) => "tuple",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::Dict(_) => "dict",
            Value::NumpyScalar(_) => "numpy scalar",
            Value::NumpyDtype(_) => "numpy.dtype",
            Value::NdArray(_) => "numpy.ndarray",
            Value::TorchStorage(_) => "torch storage",
            Value::TorchTensor(_) => "torch tensor",
            Value::Global(_) => "global",
            Value::Object(_) => "object",
            Value::PersistentId(_) => "persistent id",
            Value::Streamed(_) => "streamed object",
        }
    }

    /// A longer description for error messages: the kind, plus the class of opaque objects.
    pub fn describe(&self) -> String {
        match self {
            Value::Global(g) => format!("global {g}"),
            Value::Object(o) => match &o.callable {
                Value::Global(g) => format!("object built by {g}"),
                other => format!("object built by a {}", other.kind()),
            },
            other => other.kind().to_string(),
        }
    }

    /// Python ints and numpy integer scalars that fit in i64.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::NumpyScalar(s) => s.as_i64(),
            _ => None,
        }
    }

    /// Python floats and ints, and numpy numeric scalars (large integers round).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            Value::NumpyScalar(s) => s.as_f64(),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::NumpyScalar(NumpyScalar::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    /// A Python 3 `str` only.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// Text as Python's `pickle.load(f, encoding="latin1")` would give it: `str` as is,
    /// Python-2 `str` (bytes) decoded as latin1.
    pub fn as_text(&self) -> Option<Cow<'_, str>> {
        match self {
            Value::Str(s) => Some(Cow::Borrowed(s)),
            Value::Bytes(b) => Some(latin1(b)),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_tuple(&self) -> Option<&[Value]> {
        match self {
            Value::Tuple(items) => Some(items),
            _ => None,
        }
    }

    /// Items of a list or a tuple.
    pub fn as_sequence(&self) -> Option<&[Value]> {
        match self {
            Value::List(items) | Value::Tuple(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_dict(&self) -> Option<&Dict> {
        match self {
            Value::Dict(d) => Some(d),
            _ => None,
        }
    }

    pub fn as_ndarray(&self) -> Option<&NdArray> {
        match self {
            Value::NdArray(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_tensor(&self) -> Option<&TorchTensor> {
        match self {
            Value::TorchTensor(t) => Some(t),
            _ => None,
        }
    }

    /// True for a `str` equal to `text` or bytes whose latin1 decoding equals `text`.
    pub fn text_eq(&self, text: &str) -> bool {
        match self {
            Value::Str(s) => &**s == text,
            Value::Bytes(b) => {
                let mut chars = text.chars();
                b.iter().all(|&x| chars.next() == Some(char::from(x))) && chars.next().is_none()
            }
            _ => false,
        }
    }
}

/// Latin-1 maps every byte to the code point of the same value.
pub fn latin1(bytes: &[u8]) -> Cow<'_, str> {
    if bytes.is_ascii() {
        // ASCII is valid UTF-8 with the same meaning.
        Cow::Borrowed(std::str::from_utf8(bytes).unwrap_or_default())
    } else {
        Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect())
    }
}
