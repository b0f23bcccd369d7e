//! Dense tensors as read from checkpoint files: an element type, a shape and contiguous
//! little-endian bytes. Shared by every weight and data reader (PyTorch `.pt`, safetensors,
//! numpy arrays inside pickles) so that conversions live in one place.

use crate::io::float16::f16_to_f32;
use anyhow::{bail, ensure, Result};
use std::fmt;

/// Element types that PyTorch state dicts and numpy arrays in our datasets use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    F64,
    F32,
    F16,
    BF16,
    I64,
    I32,
    I16,
    I8,
    U8,
    Bool,
}

impl DType {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::F64 | DType::I64 => 8,
            DType::F32 | DType::I32 => 4,
            DType::F16 | DType::BF16 | DType::I16 => 2,
            DType::I8 | DType::U8 | DType::Bool => 1,
        }
    }

    /// Short lowercase name, as used in error messages ("f32", "bool", ...).
    pub fn name(self) -> &'static str {
        match self {
            DType::F64 => "f64",
            DType::F32 => "f32",
            DType::F16 => "f16",
            DType::BF16 => "bf16",
            DType::I64 => "i64",
            DType::I32 => "i32",
            DType::I16 => "i16",
            DType::I8 => "i8",
            DType::U8 => "u8",
            DType::Bool => "bool",
        }
    }
}

impl DType {
    /// The element type of a safetensors tensor, when it is one we read.
    pub fn from_safetensors(dtype: safetensors::Dtype) -> Result<Self> {
        use safetensors::Dtype as S;
        Ok(match dtype {
            S::F64 => DType::F64,
            S::F32 => DType::F32,
            S::F16 => DType::F16,
            S::BF16 => DType::BF16,
            S::I64 => DType::I64,
            S::I32 => DType::I32,
            S::I16 => DType::I16,
            S::I8 => DType::I8,
            S::U8 => DType::U8,
            S::BOOL => DType::Bool,
            other => bail!("unsupported safetensors dtype {other:?}"),
        })
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A dense, row-major (C order) tensor with little-endian element bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorData {
    pub dtype: DType,
    pub shape: Vec<usize>,
    /// Contiguous, row-major, little-endian; `numel() * dtype.size()` bytes.
    pub bytes: Vec<u8>,
}

impl TensorData {
    /// Builds a tensor, checking that `bytes` holds exactly `product(shape)` elements.
    pub fn new(dtype: DType, shape: Vec<usize>, bytes: Vec<u8>) -> Result<Self> {
        let tensor = TensorData { dtype, shape, bytes };
        tensor.check_len()?;
        Ok(tensor)
    }

    /// Number of elements (the product of the shape; 1 for a scalar). Saturates instead of
    /// overflowing for absurd shapes, which `check_len` then rejects.
    pub fn numel(&self) -> usize {
        self.shape.iter().fold(1usize, |acc, &d| acc.saturating_mul(d))
    }

    /// Fields are public, so every conversion re-checks that shape and byte length agree.
    fn check_len(&self) -> Result<()> {
        let expected = self.shape.iter().try_fold(self.dtype.size(), |acc, &d| acc.checked_mul(d));
        ensure!(
            expected == Some(self.bytes.len()),
            "tensor of shape {:?} and dtype {} needs {} bytes but holds {}",
            self.shape,
            self.dtype,
            expected.map_or_else(|| "more than usize::MAX".to_string(), |n| n.to_string()),
            self.bytes.len()
        );
        Ok(())
    }

    /// Values as f32. Floats of every width and integers convert (f16 and bf16 exactly, f64
    /// and large integers to nearest); bool is refused: it is a mask, not a number.
    pub fn to_f32(&self) -> Result<Vec<f32>> {
        self.check_len()?;
        let mut out = Vec::with_capacity(self.numel());
        append_f32(self.dtype, &self.bytes, &mut out)?;
        Ok(out)
    }

    /// Values as i64; only integer dtypes convert (a float would silently truncate).
    pub fn to_i64(&self) -> Result<Vec<i64>> {
        self.check_len()?;
        let b = &self.bytes;
        Ok(match self.dtype {
            DType::I64 => le_chunks::<8>(b).map(i64::from_le_bytes).collect(),
            DType::I32 => le_chunks::<4>(b).map(|c| i32::from_le_bytes(c) as i64).collect(),
            DType::I16 => le_chunks::<2>(b).map(|c| i16::from_le_bytes(c) as i64).collect(),
            DType::I8 => b.iter().map(|&x| x as i8 as i64).collect(),
            DType::U8 => b.iter().map(|&x| x as i64).collect(),
            other => bail!("cannot convert a {other} tensor to i64 (integer dtype expected)"),
        })
    }

    /// Values as bool; only bool tensors convert, and every byte must be 0 or 1.
    pub fn to_bool(&self) -> Result<Vec<bool>> {
        self.check_len()?;
        ensure!(self.dtype == DType::Bool, "cannot convert a {} tensor to bool (bool dtype expected)", self.dtype);
        self.bytes
            .iter()
            .enumerate()
            .map(|(i, &x)| match x {
                0 => Ok(false),
                1 => Ok(true),
                other => bail!("bool tensor element {i} has byte value {other} (0 or 1 expected)"),
            })
            .collect()
    }
}

/// Appends little-endian elements of `dtype` to `out` as f32 (the conversions of `to_f32`), so a
/// reader can convert a file piece by piece instead of holding its bytes and their copy.
/// `bytes` must hold whole elements.
pub fn append_f32(dtype: DType, b: &[u8], out: &mut Vec<f32>) -> Result<()> {
    ensure!(b.len().is_multiple_of(dtype.size()), "{} bytes are not whole {dtype} elements", b.len());
    match dtype {
        DType::F32 => out.extend(le_chunks::<4>(b).map(f32::from_le_bytes)),
        DType::F64 => out.extend(le_chunks::<8>(b).map(|c| f64::from_le_bytes(c) as f32)),
        DType::F16 => out.extend(le_chunks::<2>(b).map(|c| f16_to_f32(u16::from_le_bytes(c)))),
        DType::BF16 => out.extend(le_chunks::<2>(b).map(|c| f32::from_bits(u32::from(u16::from_le_bytes(c)) << 16))),
        DType::I64 => out.extend(le_chunks::<8>(b).map(|c| i64::from_le_bytes(c) as f32)),
        DType::I32 => out.extend(le_chunks::<4>(b).map(|c| i32::from_le_bytes(c) as f32)),
        DType::I16 => out.extend(le_chunks::<2>(b).map(|c| i16::from_le_bytes(c) as f32)),
        DType::I8 => out.extend(b.iter().map(|&x| x as i8 as f32)),
        DType::U8 => out.extend(b.iter().map(|&x| x as f32)),
        DType::Bool => bail!("cannot convert a bool tensor to f32 (use to_bool)"),
    }
    Ok(())
}

/// Fixed-size little-endian element chunks; callers have checked that the length divides.
fn le_chunks<const N: usize>(bytes: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
    bytes.chunks_exact(N).map(|c| {
        let mut a = [0u8; N];
        a.copy_from_slice(c);
        a
    })
}
