//! Writing protocol-2 pickles as Python 2's `cPickle` with numpy writes them: text as byte
//! strings (SHORT_BINSTRING/BINSTRING, which Python 3 reads back with `encoding="latin1"`), numpy
//! arrays through `numpy.core.multiarray._reconstruct` and numpy scalars through
//! `numpy.core.multiarray.scalar`, both with their dtype objects. Repeated globals, dtypes and
//! strings are memoised, as cPickle does, so files stay compact. [`PickleWriter::memoize_everything`]
//! also memoises every other object as cPickle does (each container, string, tuple and numpy
//! object gets a PUT), which is what the real NeuronIO files look like to a reader's memo.

use std::collections::HashMap;
use std::io::{self, Write};

/// numpy dtypes the writer emits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NumpyDtype {
    Float16,
    Float32,
    Float64,
    Int64,
}

impl NumpyDtype {
    /// numpy's type string and item size.
    fn code(self) -> (&'static str, usize) {
        match self {
            NumpyDtype::Float16 => ("f2", 2),
            NumpyDtype::Float32 => ("f4", 4),
            NumpyDtype::Float64 => ("f8", 8),
            NumpyDtype::Int64 => ("i8", 8),
        }
    }
}

pub struct PickleWriter<W: Write> {
    out: W,
    memo: HashMap<String, u32>,
    next_memo: u32,
    everything: bool,
}

impl<W: Write> PickleWriter<W> {
    /// Starts a protocol-2 stream.
    pub fn new(mut out: W) -> io::Result<Self> {
        out.write_all(&[0x80, 2])?;
        Ok(Self { out, memo: HashMap::new(), next_memo: 0, everything: false })
    }

    /// Memoises every object cPickle would (not only the shared ones): larger files whose memo
    /// grows with the data, as in the real NeuronIO files.
    pub fn memoize_everything(mut self) -> Self {
        self.everything = true;
        self
    }

    /// In `memoize_everything` mode, a PUT for the object just written (never fetched again).
    fn put_object(&mut self) -> io::Result<()> {
        if !self.everything {
            return Ok(());
        }
        let index = self.next_memo;
        self.next_memo += 1;
        self.write_put(index)
    }

    /// Ends the stream and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.write_all(b".")?;
        Ok(self.out)
    }

    fn put(&mut self, key: String) -> io::Result<()> {
        let index = self.next_memo;
        self.next_memo += 1;
        self.memo.insert(key, index);
        self.write_put(index)
    }

    fn write_put(&mut self, index: u32) -> io::Result<()> {
        if index < 256 {
            self.out.write_all(&[b'q', index as u8])
        } else {
            self.out.write_all(b"r")?;
            self.out.write_all(&index.to_le_bytes())
        }
    }

    /// Writes the memoised object for `key` if there is one; returns whether it did.
    fn get(&mut self, key: &str) -> io::Result<bool> {
        let Some(&index) = self.memo.get(key) else { return Ok(false) };
        if index < 256 {
            self.out.write_all(&[b'h', index as u8])?;
        } else {
            self.out.write_all(b"j")?;
            self.out.write_all(&index.to_le_bytes())?;
        }
        Ok(true)
    }

    pub fn mark(&mut self) -> io::Result<()> {
        self.out.write_all(b"(")
    }

    pub fn empty_dict(&mut self) -> io::Result<()> {
        self.out.write_all(b"}")?;
        self.put_object()
    }

    pub fn empty_list(&mut self) -> io::Result<()> {
        self.out.write_all(b"]")?;
        self.put_object()
    }

    /// SETITEMS: adds the key/value pairs since the last mark to the dict below it.
    pub fn set_items(&mut self) -> io::Result<()> {
        self.out.write_all(b"u")
    }

    /// APPENDS: adds the items since the last mark to the list below it.
    pub fn appends(&mut self) -> io::Result<()> {
        self.out.write_all(b"e")
    }

    /// A Python 2 `str` (bytes); memoised, since names and segment types repeat.
    pub fn str(&mut self, text: &str) -> io::Result<()> {
        let key = format!("s:{text}");
        if self.get(&key)? {
            return Ok(());
        }
        self.write_bytes(text.as_bytes())?;
        self.put(key)
    }

    /// Bytes as a Python 2 `str` (not shared through the memo).
    fn raw_bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.write_bytes(bytes)?;
        self.put_object()
    }

    fn write_bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        if bytes.len() < 256 {
            self.out.write_all(&[b'U', bytes.len() as u8])?;
        } else {
            self.out.write_all(b"T")?;
            self.out.write_all(&(bytes.len() as u32).to_le_bytes())?;
        }
        self.out.write_all(bytes)
    }

    pub fn int(&mut self, value: i64) -> io::Result<()> {
        if (0..256).contains(&value) {
            self.out.write_all(&[b'K', value as u8])
        } else if (0..65536).contains(&value) {
            self.out.write_all(b"M")?;
            self.out.write_all(&(value as u16).to_le_bytes())
        } else if let Ok(v) = i32::try_from(value) {
            self.out.write_all(b"J")?;
            self.out.write_all(&v.to_le_bytes())
        } else {
            // LONG1 with 8 little-endian two's-complement bytes.
            self.out.write_all(&[0x8a, 8])?;
            self.out.write_all(&value.to_le_bytes())
        }
    }

    pub fn float(&mut self, value: f64) -> io::Result<()> {
        self.out.write_all(b"G")?;
        self.out.write_all(&value.to_be_bytes())
    }

    pub fn none(&mut self) -> io::Result<()> {
        self.out.write_all(b"N")
    }

    pub fn bool(&mut self, value: bool) -> io::Result<()> {
        self.out.write_all(&[if value { 0x88 } else { 0x89 }])
    }

    fn global(&mut self, module: &str, name: &str) -> io::Result<()> {
        let key = format!("g:{module}.{name}");
        if self.get(&key)? {
            return Ok(());
        }
        write!(self.out, "c{module}\n{name}\n")?;
        self.put(key)
    }

    /// A numpy dtype object, as numpy pickles it: dtype(code, 0, 1) with its state tuple.
    fn dtype(&mut self, dtype: NumpyDtype) -> io::Result<()> {
        let (code, _) = dtype.code();
        let key = format!("d:{code}");
        if self.get(&key)? {
            return Ok(());
        }
        self.global("numpy", "dtype")?;
        self.raw_bytes(code.as_bytes())?;
        self.int(0)?;
        self.int(1)?;
        self.out.write_all(&[0x87, b'R'])?; // TUPLE3, REDUCE
                                            // State: (3, '<', None, None, None, -1, -1, 0).
        self.mark()?;
        self.int(3)?;
        self.str("<")?;
        self.none()?;
        self.none()?;
        self.none()?;
        self.out.write_all(b"J\xff\xff\xff\xffJ\xff\xff\xff\xff")?;
        self.int(0)?;
        self.out.write_all(b"tb")?; // TUPLE, BUILD
        self.put(key)
    }

    /// A numpy scalar of `dtype` from its little-endian bytes.
    pub fn numpy_scalar(&mut self, dtype: NumpyDtype, bytes: &[u8]) -> io::Result<()> {
        self.global("numpy.core.multiarray", "scalar")?;
        self.dtype(dtype)?;
        self.raw_bytes(bytes)?;
        self.out.write_all(&[0x86])?; // TUPLE2
        self.put_object()?;
        self.out.write_all(b"R")?; // REDUCE
        self.put_object()
    }

    pub fn numpy_int64(&mut self, value: i64) -> io::Result<()> {
        self.numpy_scalar(NumpyDtype::Int64, &value.to_le_bytes())
    }

    /// A one-dimensional numpy array of `dtype` from its little-endian bytes.
    pub fn numpy_array(&mut self, dtype: NumpyDtype, len: usize, bytes: &[u8]) -> io::Result<()> {
        assert_eq!(bytes.len(), len * dtype.code().1);
        self.global("numpy.core.multiarray", "_reconstruct")?;
        self.global("numpy", "ndarray")?;
        self.int(0)?;
        self.out.write_all(&[0x85])?; // TUPLE1: (0,)
        self.put_object()?;
        if self.everything {
            // cPickle shares the interned 'b' between arrays.
            self.str("b")?;
        } else {
            self.raw_bytes(b"b")?;
        }
        self.out.write_all(&[0x87])?; // TUPLE3
        self.put_object()?;
        self.out.write_all(b"R")?; // REDUCE
        self.put_object()?;
        // State: (1, (len,), dtype, False, data).
        self.mark()?;
        self.int(1)?;
        self.int(len as i64)?;
        self.out.write_all(&[0x85])?;
        self.put_object()?;
        self.dtype(dtype)?;
        self.bool(false)?;
        self.raw_bytes(bytes)?;
        self.out.write_all(b"t")?; // TUPLE
        self.put_object()?;
        self.out.write_all(b"b") // BUILD
    }
}
