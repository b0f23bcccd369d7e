//! What the object-building opcodes mean for the globals we know (REDUCE, NEWOBJ, BUILD,
//! persistent ids) and how containers grow (APPEND(S), SETITEM(S), ADDITEMS). Nothing is ever
//! executed: known constructors are reproduced here, unknown ones are recorded as opaque
//! objects, and an opaque object is an error only when used in a way we cannot represent
//! (appending to it, a second BUILD ...).

use super::globals::{resolve, Known};
use super::heap::{Heap, Item, Node, ObjectParts};
use super::integers::PyInt;
use super::numpy::{ByteOrder, DtypeKind, NdArray, NumpyDtype, NumpyScalar};
use super::torch::{StorageRef, TorchTensor, STORAGE_CLASSES};
use super::value::{GlobalName, Value};
use std::sync::Arc;

/// numpy scalars of flexible types carry at most this many bytes when zero-initialised.
const MAX_ZERO_SCALAR_BYTES: usize = 64;

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

    /// `torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
    /// backward_hooks[, metadata])`.
    fn rebuild_tensor(&mut self, args: Item) -> Result<Item, String> {
        let items = self.tuple_slice(&args).unwrap_or(&[]);
        if !(6..=7).contains(&items.len()) {
            return Err(format!("_rebuild_tensor_v2 takes 6 or 7 arguments, the pickle gives {}", items.len()));
        }
        let storage = match self.done(&items[0]) {
            Some(Value::TorchStorage(s)) => s.clone(),
            _ => {
                return Err(format!(
                    "_rebuild_tensor_v2 storage argument is a {}, not a torch storage",
                    self.kind(&items[0])
                ))
            }
        };
        let storage_offset = self
            .as_usize(&items[1])
            .ok_or_else(|| format!("_rebuild_tensor_v2 storage offset is a {}", self.kind(&items[1])))?;
        let shape = self.usize_tuple(&items[2], "_rebuild_tensor_v2 size")?;
        let stride = self.usize_tuple(&items[3], "_rebuild_tensor_v2 stride")?;
        if shape.len() != stride.len() {
            return Err(format!("_rebuild_tensor_v2 size {shape:?} and stride {stride:?} differ in length"));
        }
        let requires_grad = self
            .as_flag(&items[4])
            .ok_or_else(|| format!("_rebuild_tensor_v2 requires_grad is a {}", self.kind(&items[4])))?;
        self.leaf(Value::TorchTensor(Arc::new(TorchTensor {
            storage,
            storage_offset,
            shape,
            stride,
            requires_grad,
            is_parameter: false,
        })))
    }

    /// `_rebuild_parameter(data, requires_grad, backward_hooks)` and the `_with_state`
    /// variant (whose extra Python attributes on the parameter we do not need).
    fn rebuild_parameter(&mut self, args: Item, known: Known) -> Result<Item, String> {
        let items = self.tuple_slice(&args).unwrap_or(&[]);
        let expected = if known == Known::RebuildParameter { 3 } else { 4 };
        if items.len() != expected {
            return Err(format!(
                "{} takes {expected} arguments, the pickle gives {}",
                known.global_name(),
                items.len()
            ));
        }
        let Some(Value::TorchTensor(data)) = self.done(&items[0]) else {
            return Err(format!("{} data is a {}, not a tensor", known.global_name(), self.kind(&items[0])));
        };
        let requires_grad =
            self.as_flag(&items[1]).ok_or_else(|| format!("parameter requires_grad is a {}", self.kind(&items[1])))?;
        let tensor = TorchTensor { requires_grad, is_parameter: true, ..(**data).clone() };
        self.leaf(Value::TorchTensor(Arc::new(tensor)))
    }

    fn usize_tuple(&self, item: &Item, what: &str) -> Result<Vec<usize>, String> {
        let items = self.tuple_slice(item).ok_or_else(|| format!("{what} is a {}, not a tuple", self.kind(item)))?;
        items
            .iter()
            .map(|x| {
                self.as_usize(x).ok_or_else(|| format!("{what} holds a {} (non-negative int expected)", self.kind(x)))
            })
            .collect()
    }

    /// `numpy.dtype(spec, align, copy)`; BUILD later sets the byte order.
    fn make_dtype(&mut self, args: Item) -> Result<Item, String> {
        let items = self.tuple_slice(&args).unwrap_or(&[]);
        let spec =
            items.first().and_then(|s| self.as_text(s)).ok_or("numpy.dtype needs a type string as first argument")?;
        let dtype = NumpyDtype::parse_spec(&spec).ok_or_else(|| format!("unsupported numpy dtype {spec:?}"))?;
        self.alloc(Node::Dtype(dtype))
    }

    /// `numpy.core.multiarray.scalar(dtype, raw_bytes)`.
    fn make_scalar(&mut self, args: Item, n_args: usize) -> Result<Item, String> {
        let items = self.tuple_slice(&args).unwrap_or(&[]);
        let (dtype_item, payload) = match items {
            [d] => (*d, None),
            [d, p] => (*d, Some(*p)),
            _ => return Err(format!("numpy scalar() takes 1 or 2 arguments, got {n_args}")),
        };
        let dtype = self
            .as_dtype(&dtype_item)
            .ok_or_else(|| format!("numpy scalar() dtype is a {}", self.kind(&dtype_item)))?;
        if dtype.kind == DtypeKind::Object {
            // numpy returns the Python object itself.
            return payload.ok_or_else(|| "object scalar without a value".to_string());
        }
        let raw: Arc<[u8]> = match payload {
            Some(p) => self
                .as_shared_bytes(&p)
                .ok_or_else(|| format!("numpy scalar() data is a {}, not bytes", self.kind(&p)))?,
            None if dtype.itemsize <= MAX_ZERO_SCALAR_BYTES => Arc::from(vec![0u8; dtype.itemsize]),
            None => return Err("numpy scalar() without data for a large dtype".into()),
        };
        if let Some(scalar) = NumpyScalar::decode(&dtype, &raw) {
            return Ok(Item::Scalar(scalar));
        }
        // Other kinds (complex, strings, datetimes) stay as 0-d arrays.
        let array = NdArray::new(dtype, Vec::new(), false, raw)?;
        self.leaf(Value::NdArray(Arc::new(array)))
    }

    /// `numpy.core.numeric._frombuffer(buffer, dtype, shape, order)` (numpy, protocol 5).
    fn array_from_buffer(&mut self, args: Item) -> Result<Item, String> {
        let [buffer, dtype, shape, order] = self.args(&args, "numpy _frombuffer")?;
        let data = self
            .as_shared_bytes(&buffer)
            .ok_or_else(|| format!("numpy _frombuffer buffer is a {}", self.kind(&buffer)))?;
        let dtype =
            self.as_dtype(&dtype).ok_or_else(|| format!("numpy _frombuffer dtype is a {}", self.kind(&dtype)))?;
        let shape = self.usize_tuple(&shape, "numpy _frombuffer shape")?;
        let fortran_order = match self.as_text(&order).as_deref() {
            Some("C") => false,
            Some("F") => true,
            _ => return Err("numpy _frombuffer order must be 'C' or 'F'".into()),
        };
        let array = NdArray::new(dtype, shape, fortran_order, data)?;
        self.leaf(Value::NdArray(Arc::new(array)))
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

    /// The state of a numpy array: `(version, shape, dtype, is_fortran, raw_bytes)` (older
    /// numpy omitted the version).
    fn array_from_state(&self, state: &Item) -> Result<NdArray, String> {
        let items = self
            .tuple_slice(state)
            .ok_or_else(|| format!("numpy array state is a {}, not a tuple", self.kind(state)))?;
        let (shape, dtype, fortran, data) = match items {
            [_, s, d, f, r] | [s, d, f, r] => (s, d, f, r),
            _ => return Err(format!("numpy array state has {} fields", items.len())),
        };
        let shape = self.usize_tuple(shape, "numpy array shape")?;
        let dtype = self.as_dtype(dtype).ok_or_else(|| format!("numpy array dtype is a {}", self.kind(dtype)))?;
        let fortran_order =
            self.as_flag(fortran).ok_or_else(|| format!("numpy array order flag is a {}", self.kind(fortran)))?;
        let data = match self.as_shared_bytes(data) {
            Some(d) => d,
            None if dtype.kind == DtypeKind::Object => {
                return Err("numpy arrays of Python objects (dtype O) are not supported".into())
            }
            None => return Err(format!("numpy array data is a {}, not bytes", self.kind(data))),
        };
        NdArray::new(dtype, shape, fortran_order, data)
    }

    /// The state of a dtype: `(version, byteorder, subarray, names, fields, elsize,
    /// alignment, flags[, metadata])`.
    fn dtype_with_state(&self, mut dtype: NumpyDtype, state: &Item) -> Result<NumpyDtype, String> {
        let items = self
            .tuple_slice(state)
            .ok_or_else(|| format!("numpy dtype state is a {}, not a tuple", self.kind(state)))?;
        if items.len() < 2 {
            return Err(format!("numpy dtype state has {} fields", items.len()));
        }
        dtype.byte_order = match self.as_text(&items[1]).as_deref() {
            Some("<") => ByteOrder::Little,
            Some(">") => ByteOrder::Big,
            Some("|") => ByteOrder::NotApplicable,
            // '=' (native) is never written by numpy's pickler, which resolves it; every
            // machine that produced our files was little-endian.
            Some("=") => ByteOrder::Little,
            _ => return Err("numpy dtype byte order must be one of < > | =".into()),
        };
        for (i, what) in [(2, "subarray"), (3, "field names"), (4, "fields")] {
            if items.get(i).is_some_and(|x| !matches!(x, Item::None)) {
                return Err(format!("structured numpy dtypes ({what}) are not supported"));
            }
        }
        let flexible = matches!(dtype.kind, DtypeKind::Bytes | DtypeKind::Unicode | DtypeKind::Void);
        if let (true, Some(Item::Int(elsize))) = (flexible, items.get(5)) {
            if *elsize > 0 {
                dtype.itemsize =
                    usize::try_from(*elsize).map_err(|_| "numpy dtype element size out of range".to_string())?;
            }
        }
        Ok(dtype)
    }

    /// BINPERSID / PERSID: torch's storage ids become `TorchStorage`; others stay opaque.
    pub(crate) fn persistent_id(&mut self, pid: Item) -> Result<Item, String> {
        if let Some(storage) = self.torch_storage(&pid) {
            return self.leaf(Value::TorchStorage(Arc::new(storage?)));
        }
        self.alloc(Node::PersistentId(pid))
    }

    /// `('storage', storage_class, key, location, numel)`; `None` if `pid` is not shaped
    /// like a torch storage id at all.
    fn torch_storage(&self, pid: &Item) -> Option<Result<StorageRef, String>> {
        let items = self.tuple_slice(pid)?;
        if items.len() != 5 || self.as_text(&items[0]).as_deref() != Some("storage") {
            return None;
        }
        let (type_name, dtype) = match items[1] {
            Item::Known(Known::TorchStorage(i)) => {
                let (name, dtype) = STORAGE_CLASSES.get(i as usize)?;
                (name.to_string(), Some(*dtype))
            }
            other => match self.done(&other) {
                Some(Value::Global(g)) if g.module == "torch" => (g.name.clone(), None),
                _ => return None,
            },
        };
        let fields = || -> Result<StorageRef, String> {
            let key = self.as_text(&items[2]).ok_or_else(|| format!("storage key is a {}", self.kind(&items[2])))?;
            let location =
                self.as_text(&items[3]).ok_or_else(|| format!("storage location is a {}", self.kind(&items[3])))?;
            let numel = match items[4] {
                Item::Int(n) if n >= 0 => n as u64,
                other => return Err(format!("storage size is a {}", self.kind(&other))),
            };
            Ok(StorageRef {
                type_name: type_name.clone(),
                dtype,
                key: key.into_owned(),
                location: location.into_owned(),
                numel,
            })
        };
        Some(fields())
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
