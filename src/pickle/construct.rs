//! What the object-building opcodes mean (REDUCE, NEWOBJ, BUILD) for the globals we know,
//! with the builtin constructors here and numpy's and torch's in `construct_numpy.rs` and
//! `construct_torch.rs`, and how containers grow (APPEND(S), SETITEM(S), ADDITEMS). Nothing is ever
//! executed: known constructors are reproduced here, unknown ones are recorded as opaque
//! objects, and an opaque object is an error only when used in a way we cannot represent
//! (appending to it, a second BUILD ...).

use super::globals::{resolve, Known};
use super::heap::{Heap, Item, Node, ObjectParts};
use super::integers::PyInt;
use super::value::{GlobalName, Value};
use std::sync::Arc;

impl Heap {
    /// A GLOBAL or STACK_GLOBAL opcode.
    pub(crate) fn global(&mut self, module: &str, name: &str) -> Result<Item, String> {
        match resolve(module, name) {
            Some(known) => Ok(Item::Known(known)),
            None => {
                self.leaf(Value::Global(Arc::new(GlobalName { module: module.to_string(), name: name.to_string() })))
            }
        }
    }

    /// A Python int from LONG1/LONG4 bytes or decimal text.
    pub(crate) fn int(&mut self, value: PyInt) -> Result<Item, String> {
        match value {
            PyInt::Small(i) => Ok(Item::Int(i)),
            PyInt::Big(bytes) => self.leaf(Value::BigInt(Arc::from(bytes))),
        }
    }

    /// REDUCE: `callable(*args)`.
    pub(crate) fn reduce(&mut self, callable: Item, args: Item, at: u64) -> Result<Item, String> {
        if self.tuple_slice(&args).is_none() {
            return Err(format!("arguments are a {}, not a tuple", self.kind(&args)));
        }
        match callable {
            Item::Known(known) => self.call_known(known, args, at),
            _ => self.opaque(callable, args, None),
        }
    }

    /// NEWOBJ / NEWOBJ_EX: `cls.__new__(cls, *args, **kwargs)`.
    pub(crate) fn new_object(&mut self, cls: Item, args: Item, kwargs: Option<Item>) -> Result<Item, String> {
        if self.tuple_slice(&args).is_none() {
            return Err(format!("arguments are a {}, not a tuple", self.kind(&args)));
        }
        match cls {
            Item::Known(Known::OrderedDict) if kwargs.is_none() => self.alloc(Node::Dict(Vec::new())),
            Item::Known(Known::Set | Known::FrozenSet) if kwargs.is_none() => self.alloc(Node::Set(Vec::new())),
            _ => self.opaque(cls, args, kwargs),
        }
    }

    /// An instance we do not build: only a global, a known constructor or another opaque
    /// object can plausibly be called.
    fn opaque(&mut self, callable: Item, args: Item, kwargs: Option<Item>) -> Result<Item, String> {
        let callable_ok = match callable {
            Item::Known(_) => true,
            _ => {
                matches!(self.node(&callable), Some(Node::Object(_) | Node::Done(Value::Global(_) | Value::Object(_))))
            }
        };
        if !callable_ok {
            return Err(format!("cannot call a {}", self.kind(&callable)));
        }
        self.alloc(Node::Object(Box::new(ObjectParts { callable, args, kwargs, state: None })))
    }

    fn call_known(&mut self, known: Known, args: Item, at: u64) -> Result<Item, String> {
        let n_args = self.tuple_slice(&args).map_or(0, <[Item]>::len);
        match known {
            Known::OrderedDict => self.make_dict(args),
            Known::RebuildTensorV2 => self.rebuild_tensor(args),
            Known::RebuildParameter | Known::RebuildParameterWithState => self.rebuild_parameter(args, known),
            Known::NumpyReconstruct => {
                let [cls, _shape, _typecode] = self.args(&args, "numpy _reconstruct")?;
                match cls {
                    Item::Known(Known::NumpyNdarray) => self.alloc(Node::PendingArray { created_at: at }),
                    // A subclass (masked arrays, matrices) has a different state layout.
                    _ => self.opaque(Item::Known(known), args, None),
                }
            }
            Known::NumpyDtype => self.make_dtype(args),
            Known::NumpyScalar => self.make_scalar(args, n_args),
            Known::NumpyFromBuffer => self.array_from_buffer(args),
            Known::CodecsEncode => self.encode_text(args, n_args),
            Known::Bytes | Known::Bytearray => self.make_bytes(args, n_args),
            Known::Set | Known::FrozenSet => {
                let items = match n_args {
                    0 => Vec::new(),
                    1 => {
                        let [seq] = self.args(&args, "set")?;
                        self.sequence(&seq).ok_or_else(|| format!("set() of a {}", self.kind(&seq)))?.to_vec()
                    }
                    n => return Err(format!("set() takes at most 1 argument, got {n}")),
                };
                self.alloc(Node::Set(items))
            }
            Known::NumpyNdarray | Known::TorchStorage(_) => self.opaque(Item::Known(known), args, None),
        }
    }

    /// `OrderedDict()` or `OrderedDict([(key, value), ...])`.
    fn make_dict(&mut self, args: Item) -> Result<Item, String> {
        let items = self.tuple_slice(&args).unwrap_or(&[]);
        let pairs = match items {
            [] => Vec::new(),
            [seq] => {
                let seq = self.sequence(seq).ok_or_else(|| format!("OrderedDict() of a {}", self.kind(seq)))?;
                seq.iter()
                    .map(|pair| match self.sequence(pair) {
                        Some(&[k, v]) => Ok((k, v)),
                        _ => Err(format!("OrderedDict() item is a {}, not a key/value pair", self.kind(pair))),
                    })
                    .collect::<Result<Vec<_>, _>>()?
            }
            _ => return Err("OrderedDict() takes at most 1 positional argument".into()),
        };
        self.alloc(Node::Dict(pairs))
    }

    /// `_codecs.encode(text, encoding)`: Python 3 bytes pickled at protocols 0 to 2.
    fn encode_text(&mut self, args: Item, n_args: usize) -> Result<Item, String> {
        let items = self.tuple_slice(&args).unwrap_or(&[]);
        let (text, encoding) = match items {
            [t] => (*t, None),
            [t, e] => (*t, Some(*e)),
            _ => return Err(format!("_codecs.encode takes 1 or 2 arguments, got {n_args}")),
        };
        let text = self.as_str(&text).ok_or_else(|| format!("_codecs.encode of a {}", self.kind(&text)))?;
        let encoding = match encoding {
            None => "utf-8".to_string(),
            Some(e) => {
                self.as_str(&e).ok_or("_codecs.encode encoding is not a str")?.to_ascii_lowercase().replace('_', "-")
            }
        };
        let bytes = match encoding.as_str() {
            "latin1" | "latin-1" | "iso-8859-1" | "iso8859-1" | "l1" => text
                .chars()
                .map(|c| u8::try_from(u32::from(c)))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| "latin1 text holds a character above U+00FF".to_string())?,
            "utf-8" | "utf8" => text.as_bytes().to_vec(),
            "ascii" if text.is_ascii() => text.as_bytes().to_vec(),
            other => return Err(format!("unsupported text encoding {other:?}")),
        };
        self.bytes(bytes)
    }

    /// `bytes()`, `bytes(b)`, `bytes(list_of_ints)`, `bytearray(text, encoding)` ...
    fn make_bytes(&mut self, args: Item, n_args: usize) -> Result<Item, String> {
        let items = self.tuple_slice(&args).unwrap_or(&[]);
        match items {
            [] => self.bytes(Vec::new()),
            [only] => {
                if let Some(b) = self.as_bytes(only) {
                    let b = b.to_vec();
                    return self.bytes(b);
                }
                let ints = self.sequence(only).ok_or_else(|| format!("bytes() of a {}", self.kind(only)))?;
                let bytes = ints
                    .iter()
                    .map(|x| match x {
                        Item::Int(i) => u8::try_from(*i).ok(),
                        _ => None,
                    })
                    .collect::<Option<Vec<u8>>>()
                    .ok_or("bytes() of a sequence that is not all ints in 0..=255")?;
                self.bytes(bytes)
            }
            [_, _] => self.encode_text(args, n_args),
            _ => Err(format!("bytes() takes at most 2 arguments, got {n_args}")),
        }
    }

    /// BUILD: apply `state` to the object `target` (Python's `__setstate__`).
    pub(crate) fn build(&mut self, target: Item, state: Item) -> Result<(), String> {
        let state_none = matches!(state, Item::None);
        match self.node(&target) {
            Some(Node::PendingArray { .. }) => {
                let array = self.array_from_state(&state)?;
                if let Some(node) = self.node_mut(&target) {
                    *node = Node::Done(Value::NdArray(Arc::new(array)));
                }
                Ok(())
            }
            Some(Node::Dtype(dtype)) => {
                let dtype = self.dtype_with_state(*dtype, &state)?;
                if let Some(node) = self.node_mut(&target) {
                    *node = Node::Dtype(dtype);
                }
                Ok(())
            }
            _ if state_none => Ok(()),
            Some(Node::Dict(_)) => {
                let Item::Node(id) = target else {
                    return Err("internal: dict without a node".into());
                };
                if self.dict_attributes.insert(id, state).is_some() {
                    return Err("a second BUILD on the same dict".into());
                }
                Ok(())
            }
            Some(Node::Object(_)) => {
                if let Some(Node::Object(parts)) = self.node_mut(&target) {
                    if parts.state.replace(state).is_some() {
                        return Err("a second BUILD on the same object".into());
                    }
                }
                Ok(())
            }
            _ => Err(format!("cannot set the state of a {}", self.kind(&target))),
        }
    }

    /// APPEND / APPENDS onto a list.
    pub(crate) fn extend(&mut self, target: Item, items: impl IntoIterator<Item = Item>) -> Result<(), String> {
        match self.node_mut(&target) {
            Some(Node::List(list)) => {
                list.extend(items);
                Ok(())
            }
            _ => Err(format!("cannot append to a {}", self.kind(&target))),
        }
    }

    /// ADDITEMS onto a set.
    pub(crate) fn add_items(&mut self, target: Item, items: impl IntoIterator<Item = Item>) -> Result<(), String> {
        match self.node_mut(&target) {
            Some(Node::Set(set)) => {
                set.extend(items);
                Ok(())
            }
            _ => Err(format!("cannot add set items to a {}", self.kind(&target))),
        }
    }

    /// SETITEM / SETITEMS onto a dict.
    pub(crate) fn set_items(
        &mut self,
        target: Item,
        pairs: impl IntoIterator<Item = (Item, Item)>,
    ) -> Result<(), String> {
        match self.node_mut(&target) {
            Some(Node::Dict(dict)) => {
                dict.extend(pairs);
                Ok(())
            }
            _ => Err(format!("cannot set items of a {}", self.kind(&target))),
        }
    }
}
