//! Numbers as HDF5 stores them: integers of any width and either byte order, IEEE floats of 2, 4
//! or 8 bytes. The SHD files' element types are not all known (DATASETS.md 2.2: labels, units and
//! speaker widths are unverified), so the reader takes whatever a dataset declares and converts
//! it exactly, instead of assuming h5py's uint16.

use hdf5_reader::{ByteOrder, Datatype};

/// An integer element type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct IntType {
    pub size: usize,
    pub signed: bool,
    pub big_endian: bool,
}

/// A floating-point element type (size 2 is IEEE half: the only 2-byte float h5py writes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct FloatType {
    pub size: usize,
    pub big_endian: bool,
}

impl IntType {
    pub fn of(datatype: &Datatype) -> Option<Self> {
        match *datatype {
            Datatype::FixedPoint { size, signed, byte_order } if matches!(size, 1 | 2 | 4 | 8) => {
                Some(Self { size: size as usize, signed, big_endian: byte_order == ByteOrder::BigEndian })
            }
            _ => None,
        }
    }

    /// Calls `each(j, value)` for the j-th integer of `bytes` (whose length is a multiple of the
    /// size), stopping at the first error. One loop per type keeps the 60 million units of a
    /// real training file a plain widening copy.
    pub fn for_each<E>(self, bytes: &[u8], mut each: impl FnMut(usize, i128) -> Result<(), E>) -> Result<(), E> {
        macro_rules! each_as {
            ($t:ty, $n:literal) => {
                for (j, chunk) in bytes.chunks_exact($n).enumerate() {
                    let mut raw = [0u8; $n];
                    raw.copy_from_slice(chunk);
                    let value = if self.big_endian { <$t>::from_be_bytes(raw) } else { <$t>::from_le_bytes(raw) };
                    each(j, value as i128)?;
                }
            };
        }
        match (self.size, self.signed) {
            (1, false) => each_as!(u8, 1),
            (1, true) => each_as!(i8, 1),
            (2, false) => each_as!(u16, 2),
            (2, true) => each_as!(i16, 2),
            (4, false) => each_as!(u32, 4),
            (4, true) => each_as!(i32, 4),
            (8, false) => each_as!(u64, 8),
            _ => each_as!(i64, 8),
        }
        Ok(())
    }

    pub fn describe(self) -> String {
        format!("{}{}", if self.signed { "int" } else { "uint" }, self.size * 8)
    }
}

impl FloatType {
    pub fn of(datatype: &Datatype) -> Option<Self> {
        match *datatype {
            Datatype::FloatingPoint { size, byte_order } if matches!(size, 2 | 4 | 8) => {
                Some(Self { size: size as usize, big_endian: byte_order == ByteOrder::BigEndian })
            }
            _ => None,
        }
    }

    pub fn describe(self) -> String {
        format!("float{}", self.size * 8)
    }
}

/// How a datatype reads in an error message.
pub(super) fn describe(datatype: &Datatype) -> String {
    if let Some(int) = IntType::of(datatype) {
        return int.describe();
    }
    if let Some(float) = FloatType::of(datatype) {
        return float.describe();
    }
    match datatype {
        Datatype::VarLen { base, .. } => format!("variable-length sequence of {}", describe(base)),
        Datatype::String { .. } => "string".to_string(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(int: IntType, bytes: &[u8]) -> Vec<i128> {
        let mut out = Vec::new();
        int.for_each(bytes, |_, v| {
            out.push(v);
            Ok::<(), ()>(())
        })
        .unwrap();
        out
    }

    #[test]
    fn integers_of_every_width_and_order_convert_exactly() {
        let le = |size, signed| IntType { size, signed, big_endian: false };
        assert_eq!(collect(le(1, false), &[0xff, 1]), vec![255, 1]);
        assert_eq!(collect(le(1, true), &[0xff, 1]), vec![-1, 1]);
        assert_eq!(collect(le(2, false), &[0xbc, 0x02]), vec![700]);
        assert_eq!(collect(IntType { size: 2, signed: false, big_endian: true }, &[0x02, 0xbc]), vec![700]);
        assert_eq!(collect(le(4, true), &(-5i32).to_le_bytes()), vec![-5]);
        assert_eq!(collect(le(8, false), &u64::MAX.to_le_bytes()), vec![u64::MAX as i128]);
        assert_eq!(collect(le(8, true), &i64::MIN.to_le_bytes()), vec![i64::MIN as i128]);
    }

    #[test]
    fn datatypes_map_to_number_types() {
        let u16le = Datatype::FixedPoint { size: 2, signed: false, byte_order: ByteOrder::LittleEndian };
        assert_eq!(IntType::of(&u16le).map(IntType::describe).as_deref(), Some("uint16"));
        let f16 = Datatype::FloatingPoint { size: 2, byte_order: ByteOrder::LittleEndian };
        assert_eq!(FloatType::of(&f16).map(FloatType::describe).as_deref(), Some("float16"));
        assert_eq!(IntType::of(&f16), None);
        let odd = Datatype::FixedPoint { size: 3, signed: false, byte_order: ByteOrder::LittleEndian };
        assert_eq!(IntType::of(&odd), None);
    }
}
