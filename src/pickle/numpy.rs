//! numpy values as they appear in pickles: dtypes, scalars and arrays. Built from the
//! recipes numpy pickles (`numpy.dtype(...)` + BUILD, `_reconstruct` + BUILD,
//! `multiarray.scalar(dtype, bytes)`, `_frombuffer`) without running numpy.

use crate::io::float16::f16_to_f32;
use crate::io::strided::gather_strided;
use crate::io::tensor_data::{DType, TensorData};
use anyhow::{bail, Result};
use std::sync::Arc;

/// numpy's one-letter dtype kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DtypeKind {
    Bool,
    Int,
    UInt,
    Float,
    Complex,
    /// `S`: fixed-width byte strings.
    Bytes,
    /// `U`: fixed-width UCS-4 strings.
    Unicode,
    /// `V`: raw bytes.
    Void,
    /// `O`: Python objects (arrays of them cannot be represented as bytes).
    Object,
    DateTime,
    TimeDelta,
}

impl DtypeKind {
    fn from_code(c: u8) -> Option<Self> {
        Some(match c {
            b'b' => DtypeKind::Bool,
            b'i' => DtypeKind::Int,
            b'u' => DtypeKind::UInt,
            b'f' => DtypeKind::Float,
            b'c' => DtypeKind::Complex,
            b'S' | b'a' => DtypeKind::Bytes,
            b'U' => DtypeKind::Unicode,
            b'V' => DtypeKind::Void,
            b'O' => DtypeKind::Object,
            b'M' => DtypeKind::DateTime,
            b'm' => DtypeKind::TimeDelta,
            _ => return None,
        })
    }

    /// The letter numpy uses in `dtype.str`.
    pub fn code(self) -> char {
        match self {
            DtypeKind::Bool => 'b',
            DtypeKind::Int => 'i',
            DtypeKind::UInt => 'u',
            DtypeKind::Float => 'f',
            DtypeKind::Complex => 'c',
            DtypeKind::Bytes => 'S',
            DtypeKind::Unicode => 'U',
            DtypeKind::Void => 'V',
            DtypeKind::Object => 'O',
            DtypeKind::DateTime => 'M',
            DtypeKind::TimeDelta => 'm',
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    Little,
    Big,
    /// numpy's `|`: single bytes and raw data have no byte order.
    NotApplicable,
}

/// A (non-structured) numpy dtype.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NumpyDtype {
    pub kind: DtypeKind,
    /// Bytes per element (for `U`, four per character).
    pub itemsize: usize,
    pub byte_order: ByteOrder,
}

impl NumpyDtype {
    /// Parses the first argument of a pickled `numpy.dtype(...)` call: kind letter and size
    /// ("f2", "i8", "b1", "S10", "U0", "O8", "M8"), optionally preceded by a byte order.
    pub(crate) fn parse_spec(spec: &str) -> Option<Self> {
        let bytes = spec.as_bytes();
        let (order, rest) = match bytes.first()? {
            b'<' => (Some(ByteOrder::Little), &bytes[1..]),
            b'>' => (Some(ByteOrder::Big), &bytes[1..]),
            b'|' | b'=' => (None, &bytes[1..]),
            _ => (None, bytes),
        };
        let kind = DtypeKind::from_code(*rest.first()?)?;
        let digits = &rest[1..];
        let size: usize = if digits.is_empty() { 0 } else { std::str::from_utf8(digits).ok()?.parse().ok()? };
        let itemsize = match kind {
            DtypeKind::Unicode => size.checked_mul(4)?,
            // '?' style specs never occur in pickles; a bare "b" would be int8, not bool, so
            // only sized specs are accepted for numbers.
            DtypeKind::Bool | DtypeKind::Int | DtypeKind::UInt | DtypeKind::Float if size == 0 => return None,
            _ => size,
        };
        let byte_order = match order {
            Some(o) if itemsize > 1 => o,
            _ if itemsize > 1 && !matches!(kind, DtypeKind::Bytes | DtypeKind::Void) => ByteOrder::Little,
            _ => ByteOrder::NotApplicable,
        };
        Some(NumpyDtype { kind, itemsize, byte_order })
    }

    /// numpy's `dtype.str`, e.g. `<f2`, `|b1`, `<U3`.
    pub fn descr(&self) -> String {
        let order = match self.byte_order {
            ByteOrder::Little => '<',
            ByteOrder::Big => '>',
            ByteOrder::NotApplicable => '|',
        };
        let size = match self.kind {
            DtypeKind::Unicode => self.itemsize / 4,
            _ => self.itemsize,
        };
        format!("{order}{}{size}", self.kind.code())
    }

    /// The tensor element type with the same bits, if there is one.
    pub fn tensor_dtype(&self) -> Option<DType> {
        Some(match (self.kind, self.itemsize) {
            (DtypeKind::Float, 8) => DType::F64,
            (DtypeKind::Float, 4) => DType::F32,
            (DtypeKind::Float, 2) => DType::F16,
            (DtypeKind::Int, 8) => DType::I64,
            (DtypeKind::Int, 4) => DType::I32,
            (DtypeKind::Int, 2) => DType::I16,
            (DtypeKind::Int, 1) => DType::I8,
            (DtypeKind::UInt, 1) => DType::U8,
            (DtypeKind::Bool, 1) => DType::Bool,
            _ => return None,
        })
    }

    /// Size of the units whose bytes a byte-order change reverses.
    pub(crate) fn swap_unit(&self) -> usize {
        match self.kind {
            DtypeKind::Complex => self.itemsize / 2,
            DtypeKind::Unicode => 4,
            DtypeKind::Bytes | DtypeKind::Void | DtypeKind::Object => 1,
            _ => self.itemsize,
        }
    }
}

/// A numpy scalar of a numeric dtype, decoded (the NeuronIO spike times are int64 scalars).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NumpyScalar {
    Bool(bool),
    Int {
        value: i64,
        itemsize: u8,
    },
    UInt {
        value: u64,
        itemsize: u8,
    },
    /// f2 and f4 values widen exactly to f64.
    Float {
        value: f64,
        itemsize: u8,
    },
}

impl NumpyScalar {
    /// Decodes `raw` (the element bytes a pickle carries) as a scalar of `dtype`; `None` for
    /// dtypes that are not plain numbers up to 8 bytes or when the length is wrong.
    pub(crate) fn decode(dtype: &NumpyDtype, raw: &[u8]) -> Option<Self> {
        if raw.len() != dtype.itemsize || raw.len() > 8 {
            return None;
        }
        let mut le = [0u8; 8];
        le[..raw.len()].copy_from_slice(raw);
        if dtype.byte_order == ByteOrder::Big {
            le[..raw.len()].reverse();
        }
        let n = raw.len();
        let itemsize = n as u8;
        let bits = u64::from_le_bytes(le);
        Some(match (dtype.kind, n) {
            (DtypeKind::Bool, 1) => NumpyScalar::Bool(bits != 0),
            (DtypeKind::Int, 1 | 2 | 4 | 8) => {
                // Sign-extend from n bytes.
                let shift = 64 - 8 * n as u32;
                NumpyScalar::Int { value: ((bits << shift) as i64) >> shift, itemsize }
            }
            (DtypeKind::UInt, 1 | 2 | 4 | 8) => NumpyScalar::UInt { value: bits, itemsize },
            (DtypeKind::Float, 2) => NumpyScalar::Float { value: f64::from(f16_to_f32(bits as u16)), itemsize },
            (DtypeKind::Float, 4) => NumpyScalar::Float { value: f32::from_bits(bits as u32) as f64, itemsize },
            (DtypeKind::Float, 8) => NumpyScalar::Float { value: f64::from_bits(bits), itemsize },
            _ => return None,
        })
    }

    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            NumpyScalar::Int { value, .. } => Some(value),
            NumpyScalar::UInt { value, .. } => i64::try_from(value).ok(),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            NumpyScalar::Int { value, .. } => Some(value as f64),
            NumpyScalar::UInt { value, .. } => Some(value as f64),
            NumpyScalar::Float { value, .. } => Some(value),
            NumpyScalar::Bool(_) => None,
        }
    }

    /// The scalar's dtype (little-endian, as decoded).
    pub fn dtype(&self) -> NumpyDtype {
        let (kind, itemsize) = match *self {
            NumpyScalar::Bool(_) => (DtypeKind::Bool, 1),
            NumpyScalar::Int { itemsize, .. } => (DtypeKind::Int, itemsize),
            NumpyScalar::UInt { itemsize, .. } => (DtypeKind::UInt, itemsize),
            NumpyScalar::Float { itemsize, .. } => (DtypeKind::Float, itemsize),
        };
        let byte_order = if itemsize > 1 { ByteOrder::Little } else { ByteOrder::NotApplicable };
        NumpyDtype { kind, itemsize: itemsize as usize, byte_order }
    }
}

/// A numpy array: dtype, shape and element bytes. Multi-byte elements are always
/// little-endian (big-endian arrays are swapped when read); `fortran_order` arrays keep
/// numpy's column-major element order in `data`.
#[derive(Clone, Debug, PartialEq)]
pub struct NdArray {
    pub dtype: NumpyDtype,
    pub shape: Vec<usize>,
    pub fortran_order: bool,
    pub data: Arc<[u8]>,
}

impl NdArray {
    /// Checks that `data` holds exactly the elements of `shape`, and brings big-endian data to
    /// little-endian (sharing `data` unchanged when no swap is needed).
    pub(crate) fn new(
        dtype: NumpyDtype,
        shape: Vec<usize>,
        fortran_order: bool,
        data: Arc<[u8]>,
    ) -> Result<Self, String> {
        if dtype.kind == DtypeKind::Object {
            return Err("numpy arrays of Python objects (dtype O) are not supported".into());
        }
        let expected = shape.iter().try_fold(dtype.itemsize, |acc, &d| acc.checked_mul(d));
        if expected != Some(data.len()) {
            return Err(format!(
                "numpy array of shape {shape:?} and dtype {} needs {} bytes of data, got {}",
                dtype.descr(),
                expected.map_or_else(|| "more than usize::MAX".into(), |n| n.to_string()),
                data.len()
            ));
        }
        let unit = dtype.swap_unit();
        let (dtype, data) = if dtype.byte_order == ByteOrder::Big && unit > 1 {
            let mut swapped = data.to_vec();
            for chunk in swapped.chunks_exact_mut(unit) {
                chunk.reverse();
            }
            let little = NumpyDtype { byte_order: ByteOrder::Little, ..dtype };
            (little, Arc::from(swapped))
        } else {
            (dtype, data)
        };
        Ok(NdArray { dtype, shape, fortran_order, data })
    }

    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// The array as a row-major tensor (Fortran-order arrays are reordered).
    pub fn to_tensor_data(&self) -> Result<TensorData> {
        let Some(dtype) = self.dtype.tensor_dtype() else {
            bail!("numpy dtype {} has no tensor equivalent", self.dtype.descr());
        };
        let bytes = if self.fortran_order && self.shape.len() > 1 {
            // Column-major strides: dimension i steps over the product of earlier sizes.
            let mut stride = Vec::with_capacity(self.shape.len());
            let mut step = 1usize;
            for &n in &self.shape {
                stride.push(step);
                step = step.saturating_mul(n);
            }
            gather_strided(&self.data, dtype.size(), 0, &self.shape, &stride)?
        } else {
            self.data.to_vec()
        };
        TensorData::new(dtype, self.shape.clone(), bytes)
    }
}
