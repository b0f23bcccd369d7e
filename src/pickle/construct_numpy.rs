//! numpy's pickled constructors: `numpy.dtype(spec, align, copy)` plus its BUILD state,
//! `_reconstruct(ndarray, (0,), b'b')` plus the array state, `multiarray.scalar(dtype, raw)`,
//! and `_frombuffer(buffer, dtype, shape, order)` (protocol 5).

use super::heap::{Heap, Item, Node};
use super::numpy::{ByteOrder, DtypeKind, NdArray, NumpyDtype, NumpyScalar};
use super::value::Value;
use std::sync::Arc;

/// numpy scalars of flexible types carry at most this many bytes when zero-initialised.
const MAX_ZERO_SCALAR_BYTES: usize = 64;

impl Heap {
    /// `numpy.dtype(spec, align, copy)`; BUILD later sets the byte order.
    pub(super) fn make_dtype(&mut self, args: Item) -> Result<Item, String> {
        let items = self.tuple_slice(&args).unwrap_or(&[]);
        let spec =
            items.first().and_then(|s| self.as_text(s)).ok_or("numpy.dtype needs a type string as first argument")?;
        let dtype = NumpyDtype::parse_spec(&spec).ok_or_else(|| format!("unsupported numpy dtype {spec:?}"))?;
        self.alloc(Node::Dtype(dtype))
    }

    /// `numpy.core.multiarray.scalar(dtype, raw_bytes)`.
    pub(super) fn make_scalar(&mut self, args: Item, n_args: usize) -> Result<Item, String> {
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
    pub(super) fn array_from_buffer(&mut self, args: Item) -> Result<Item, String> {
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

    /// The state of a numpy array: `(version, shape, dtype, is_fortran, raw_bytes)` (older
    /// numpy omitted the version).
    pub(super) fn array_from_state(&self, state: &Item) -> Result<NdArray, String> {
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
    pub(super) fn dtype_with_state(&self, mut dtype: NumpyDtype, state: &Item) -> Result<NumpyDtype, String> {
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
}
