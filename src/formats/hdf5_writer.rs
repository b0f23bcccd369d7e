//! A small HDF5 writer for the subset of the format that h5py writes with its default ("earliest")
//! library version bounds, which is what the SHD files are: groups, and 1-D or N-D contiguous
//! datasets of little-endian integers and IEEE floats (float16 included), of variable-length
//! sequences of those, and of variable-length UTF-8 strings.
//!
//! Why our own: no pure-Rust crate on crates.io writes variable-length *sequences* (checked
//! 2026-11: `hdf5-pure` 0.47 writes variable-length strings only and needs Rust 1.89;
//! `rustyhdf5-format` 1.93 has neither variable-length sequences nor float16/uint16 types), and
//! the C library is not an option.
//!
//! What is written follows the HDF5 File Format Specification (version 0 superblock, version 1
//! object headers, symbol-table groups with a version 1 B-tree, a local heap and symbol-table
//! nodes, global heap collections for variable-length data), message for message as h5py's
//! library writes it (compared against `shared/fixtures/shd/shd_fixture.h5`):
//!
//! ```text
//! superblock (96 bytes at 0)          root symbol-table entry -> root group
//! global heap collections (GCOL)      every variable-length object, streamed as it is added
//! per dataset: raw data, object header (dataspace, datatype, fill value, layout)
//! per group:   local heap (names), symbol-table nodes (SNOD), B-tree node (TREE), object header
//! ```
//!
//! Variable-length data is streamed: each sequence goes into the current heap collection as soon
//! as it is added, so a file of any size needs memory only for one collection and 16 bytes per
//! element. Everything else (small datasets, the group tree) is kept until [`Hdf5Writer::finish`].
//!
//! Limits, each an error rather than a wrong file: at most 256 members per group (one B-tree
//! node of 32 symbol-table nodes of 8 entries), no scalar (rank 0) datasets, heap objects below
//! 32 MiB (the C library's largest metadata cache entry; a collection is read whole).

use anyhow::{bail, ensure, Context, Result};
use std::collections::BTreeMap;
use std::io::{Seek, SeekFrom, Write};

/// The file signature every HDF5 file starts with.
const SIGNATURE: [u8; 8] = [0x89, b'H', b'D', b'F', b'\r', b'\n', 0x1a, b'\n'];
/// "No address" in 8-byte offsets.
const UNDEFINED_ADDRESS: u64 = u64::MAX;
/// Version 0 superblock with 8-byte offsets and lengths, including the root symbol-table entry.
const SUPERBLOCK_SIZE: u64 = 96;
/// The library's defaults, recorded in the superblock: a symbol-table node holds up to 2 * 4
/// entries and a group B-tree node up to 2 * 16 children. Readers size their reads by them, so
/// nodes are allocated at full capacity even when partly used.
const GROUP_LEAF_K: usize = 4;
const GROUP_INTERNAL_K: usize = 16;
const SNOD_CAPACITY: usize = 2 * GROUP_LEAF_K;
const BTREE_CAPACITY: usize = 2 * GROUP_INTERNAL_K;
const SYMBOL_ENTRY_SIZE: usize = 40;
const SNOD_SIZE: usize = 8 + SNOD_CAPACITY * SYMBOL_ENTRY_SIZE;
const BTREE_NODE_SIZE: usize = 24 + (BTREE_CAPACITY + 1) * 8 + BTREE_CAPACITY * 8;
/// Members one group can hold with a single (leaf) B-tree node.
pub const MAX_GROUP_MEMBERS: usize = SNOD_CAPACITY * BTREE_CAPACITY;
/// The library's "end of free list" in a local heap (`H5HL_FREE_NULL`): offsets are 8-aligned,
/// so 1 is never a real one. The undefined address would be rejected as out of range.
const LOCAL_HEAP_FREE_NULL: u64 = 1;
/// A collection is at least one 4 KiB page: the C library reads that much before it has seen the
/// collection's size.
const GLOBAL_HEAP_MIN_SIZE: usize = 4096;
/// Collections are filled up to about this size before a new one starts: large enough to keep
/// their number small, small enough that a reader that parses a collection whole stays cheap.
const GLOBAL_HEAP_TARGET_SIZE: usize = 256 * 1024;
/// Collection header: "GCOL", version, 3 reserved, 8-byte size.
const GLOBAL_HEAP_HEADER: usize = 16;
/// Object header inside a collection: index, reference count, 4 reserved, 8-byte size.
const GLOBAL_HEAP_OBJECT_HEADER: usize = 16;
/// The C library's largest metadata cache entry (`H5C_MAX_ENTRY_SIZE`): a bigger collection
/// could not be read by it.
const GLOBAL_HEAP_MAX_SIZE: usize = 32 * 1024 * 1024;

/// One element of a variable-length dataset as stored: 4-byte length, collection address,
/// 4-byte object index.
pub const VLEN_REFERENCE_SIZE: usize = 16;

/// A fixed-size number type, little-endian.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scalar {
    U8,
    U16,
    U32,
    U64,
    I8,
    I16,
    I32,
    I64,
    F16,
    F32,
    F64,
}

impl Scalar {
    /// Bytes per value.
    pub fn size(self) -> usize {
        match self {
            Scalar::U8 | Scalar::I8 => 1,
            Scalar::U16 | Scalar::I16 | Scalar::F16 => 2,
            Scalar::U32 | Scalar::I32 | Scalar::F32 => 4,
            Scalar::U64 | Scalar::I64 | Scalar::F64 => 8,
        }
    }

    /// The datatype message body (version 1) of this type.
    fn encode_datatype(self, out: &mut Vec<u8>) {
        let size = self.size() as u32;
        let bits = (size * 8) as u16;
        // IEEE layouts: (exponent location, exponent size, mantissa size, exponent bias).
        let float = |out: &mut Vec<u8>, exponent_location: u8, exponent_size: u8, mantissa_size: u8, bias: u32| {
            // Class 1, version 1; little-endian, zero padding, implied leading mantissa bit
            // (normalization 2 in bits 4-5), sign bit at the top.
            out.extend_from_slice(&[0x11, 0x20, (bits - 1) as u8, 0]);
            out.extend_from_slice(&size.to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes()); // bit offset
            out.extend_from_slice(&bits.to_le_bytes()); // bit precision
            out.extend_from_slice(&[exponent_location, exponent_size, 0, mantissa_size]);
            out.extend_from_slice(&bias.to_le_bytes());
        };
        match self {
            Scalar::F16 => float(out, 10, 5, 10, 15),
            Scalar::F32 => float(out, 23, 8, 23, 127),
            Scalar::F64 => float(out, 52, 11, 52, 1023),
            _ => {
                let signed = matches!(self, Scalar::I8 | Scalar::I16 | Scalar::I32 | Scalar::I64);
                // Class 0, version 1; little-endian, zero padding, bit 3 = signed.
                out.extend_from_slice(&[0x10, if signed { 0x08 } else { 0 }, 0, 0]);
                out.extend_from_slice(&size.to_le_bytes());
                out.extend_from_slice(&0u16.to_le_bytes());
                out.extend_from_slice(&bits.to_le_bytes());
            }
        }
    }
}

/// A Rust value stored as a [`Scalar`].
pub trait ScalarValue: Copy {
    const SCALAR: Scalar;
    fn put_le(self, out: &mut Vec<u8>);
}

/// A float16 given by its IEEE 754 binary16 bit pattern (Rust has no stable `f16` yet); see
/// `io::float16` for conversions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct F16Bits(pub u16);

macro_rules! scalar_value {
    ($($t:ty => $s:ident),*) => {$(
        impl ScalarValue for $t {
            const SCALAR: Scalar = Scalar::$s;
            fn put_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}
scalar_value!(u8 => U8, u16 => U16, u32 => U32, u64 => U64, i8 => I8, i16 => I16, i32 => I32, i64 => I64,
    f32 => F32, f64 => F64);

impl ScalarValue for F16Bits {
    const SCALAR: Scalar = Scalar::F16;
    fn put_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0.to_le_bytes());
    }
}

/// The element type of a dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElementType {
    Scalar(Scalar),
    /// Variable-length sequences of a scalar (h5py: `h5py.vlen_dtype(...)`).
    VlenSequence(Scalar),
    /// Variable-length UTF-8 strings (h5py: `h5py.string_dtype()`, numpy object arrays of str).
    VlenString,
}

impl ElementType {
    /// Bytes per element in the dataset's raw data.
    pub fn size(self) -> usize {
        match self {
            ElementType::Scalar(s) => s.size(),
            ElementType::VlenSequence(_) | ElementType::VlenString => VLEN_REFERENCE_SIZE,
        }
    }

    fn encode_datatype(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32);
        match self {
            ElementType::Scalar(s) => s.encode_datatype(&mut out),
            ElementType::VlenSequence(base) => {
                // Class 9, version 1; type 0 = sequence; element size 16; then the base type.
                out.extend_from_slice(&[0x19, 0x00, 0x00, 0x00]);
                out.extend_from_slice(&(VLEN_REFERENCE_SIZE as u32).to_le_bytes());
                base.encode_datatype(&mut out);
            }
            ElementType::VlenString => {
                // Type 1 = string, null-terminated padding, character set 1 = UTF-8; the base
                // type is one unsigned byte, as the library writes it.
                out.extend_from_slice(&[0x19, 0x01, 0x01, 0x00]);
                out.extend_from_slice(&(VLEN_REFERENCE_SIZE as u32).to_le_bytes());
                Scalar::U8.encode_datatype(&mut out);
            }
        }
        out
    }
}

/// Where one variable-length element lives; becomes its 16 stored bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VlenRef {
    /// Number of base elements (bytes for strings).
    count: u32,
    collection: u64,
    index: u32,
    /// The element type the reference was made for, checked when a dataset is added.
    element: ElementType,
}

impl VlenRef {
    /// The reference of an empty sequence: no heap object, all-zero bytes (as the library writes).
    fn empty(element: ElementType) -> Self {
        Self { count: 0, collection: 0, index: 0, element }
    }

    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.count.to_le_bytes());
        out.extend_from_slice(&self.collection.to_le_bytes());
        out.extend_from_slice(&self.index.to_le_bytes());
    }

    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

struct DatasetNode {
    element: ElementType,
    shape: Vec<u64>,
    raw: Vec<u8>,
}

enum Node {
    Group(BTreeMap<String, Node>),
    Dataset(DatasetNode),
}

/// The collection being filled: its address is fixed when it opens, its size when it closes.
struct OpenCollection {
    address: u64,
    bytes: Vec<u8>,
    next_index: u32,
}

/// Output with its position, every block starting 8-aligned.
struct Sink<W> {
    out: W,
    position: u64,
}

impl<W: Write> Sink<W> {
    fn align(&mut self) -> Result<()> {
        let pad = (8 - self.position % 8) % 8;
        if pad > 0 {
            self.out.write_all(&[0u8; 8][..pad as usize])?;
            self.position += pad;
        }
        Ok(())
    }

    /// Writes an 8-aligned block and returns its address.
    fn block(&mut self, bytes: &[u8]) -> Result<u64> {
        self.align()?;
        let address = self.position;
        self.out.write_all(bytes)?;
        self.position += bytes.len() as u64;
        Ok(address)
    }
}

/// Writes one HDF5 file; see the module documentation.
///
/// ```no_run
/// # use elmbench::formats::hdf5_writer::{Hdf5Writer, Scalar};
/// # fn main() -> anyhow::Result<()> {
/// let mut file = Hdf5Writer::new(std::io::BufWriter::new(std::fs::File::create("x.h5")?))?;
/// let a = file.put_sequence(&[1u16, 2, 3])?;
/// let b = file.put_sequence::<u16>(&[])?;
/// file.add_vlen_sequences("spikes/units", Scalar::U16, &[a, b])?;
/// file.add_scalars("labels", &[4u16, 7])?;
/// file.finish()?;
/// # Ok(()) }
/// ```
pub struct Hdf5Writer<W: Write + Seek> {
    sink: Sink<W>,
    heap: Option<OpenCollection>,
    root: BTreeMap<String, Node>,
}

fn padded8(len: usize) -> usize {
    len.div_ceil(8) * 8
}

impl<W: Write + Seek> Hdf5Writer<W> {
    /// Starts a file on `out`, which must be at position 0 (a new or truncated file).
    pub fn new(mut out: W) -> Result<Self> {
        let start = out.stream_position().context("HDF5 writer: reading the output position")?;
        ensure!(start == 0, "HDF5 writer: the output must start at byte 0, not {start}");
        // The superblock is written last, when the root group's address and the file size are
        // known; reserve its bytes now.
        out.write_all(&[0u8; SUPERBLOCK_SIZE as usize])?;
        Ok(Self { sink: Sink { out, position: SUPERBLOCK_SIZE }, heap: None, root: BTreeMap::new() })
    }

    /// Stores one variable-length sequence in the global heap and returns its reference, for
    /// [`Hdf5Writer::add_vlen_sequences`].
    pub fn put_sequence<T: ScalarValue>(&mut self, values: &[T]) -> Result<VlenRef> {
        let mut bytes = Vec::with_capacity(values.len() * T::SCALAR.size());
        for v in values {
            v.put_le(&mut bytes);
        }
        self.put_object(&bytes, values.len(), ElementType::VlenSequence(T::SCALAR))
    }

    /// Stores `bytes` (`count` elements of `element`'s base type) as one heap object.
    fn put_object(&mut self, bytes: &[u8], count: usize, element: ElementType) -> Result<VlenRef> {
        let count = u32::try_from(count)
            .with_context(|| format!("HDF5 writer: a variable-length element of {count} values exceeds 2^32 - 1"))?;
        if count == 0 {
            return Ok(VlenRef::empty(element));
        }
        let need = GLOBAL_HEAP_OBJECT_HEADER + padded8(bytes.len());
        // Room for the object and for a free-space object after it, as a collection may need.
        let largest = GLOBAL_HEAP_MAX_SIZE - GLOBAL_HEAP_HEADER - GLOBAL_HEAP_OBJECT_HEADER;
        ensure!(
            need <= largest,
            "HDF5 writer: a variable-length element of {} bytes exceeds the {} bytes a global heap collection can hold",
            bytes.len(),
            largest - GLOBAL_HEAP_OBJECT_HEADER
        );
        let full = |c: &OpenCollection| {
            c.next_index > u16::MAX as u32 || c.bytes.len() + need + GLOBAL_HEAP_OBJECT_HEADER > GLOBAL_HEAP_TARGET_SIZE
        };
        if self.heap.as_ref().is_some_and(|c| full(c) && c.next_index > 1) {
            self.close_collection()?;
        }
        if self.heap.is_none() {
            self.sink.align()?;
            let mut header = Vec::with_capacity(GLOBAL_HEAP_TARGET_SIZE.max(need + 2 * GLOBAL_HEAP_HEADER));
            header.extend_from_slice(b"GCOL");
            header.extend_from_slice(&[1, 0, 0, 0]);
            header.extend_from_slice(&0u64.to_le_bytes()); // size, set when the collection closes
            self.heap = Some(OpenCollection { address: self.sink.position, bytes: header, next_index: 1 });
        }
        let collection = self.heap.as_mut().expect("a collection was opened above");
        let index = collection.next_index;
        collection.bytes.extend_from_slice(&(index as u16).to_le_bytes());
        // Reference count 0: h5py's library writes 0 for variable-length data.
        collection.bytes.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        collection.bytes.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        collection.bytes.extend_from_slice(bytes);
        collection.bytes.resize(padded8(collection.bytes.len()), 0);
        collection.next_index += 1;
        Ok(VlenRef { count, collection: collection.address, index, element })
    }

    /// Writes out the open collection, padded to at least one page with a free-space object
    /// (index 0, whose size counts its own header) after the last object.
    fn close_collection(&mut self) -> Result<()> {
        let Some(mut collection) = self.heap.take() else { return Ok(()) };
        let used = collection.bytes.len();
        let mut size = used.max(GLOBAL_HEAP_MIN_SIZE);
        // Free space, when any, must hold a free-space object header.
        if size > used && size - used < GLOBAL_HEAP_OBJECT_HEADER {
            size = used + GLOBAL_HEAP_OBJECT_HEADER;
        }
        if size > used {
            let free = (size - used) as u64;
            collection.bytes.extend_from_slice(&[0u8; 8]); // index 0, reference count, reserved
            collection.bytes.extend_from_slice(&free.to_le_bytes());
            collection.bytes.resize(size, 0);
        }
        collection.bytes[8..16].copy_from_slice(&(size as u64).to_le_bytes());
        debug_assert_eq!(self.sink.position, collection.address);
        self.sink.block(&collection.bytes)?;
        Ok(())
    }

    /// Adds a dataset of numbers with shape `[values.len()]`.
    pub fn add_scalars<T: ScalarValue>(&mut self, path: &str, values: &[T]) -> Result<()> {
        self.add_scalars_shaped(path, &[values.len() as u64], values)
    }

    /// Adds a dataset of numbers with the given shape (row-major values).
    pub fn add_scalars_shaped<T: ScalarValue>(&mut self, path: &str, shape: &[u64], values: &[T]) -> Result<()> {
        let mut raw = Vec::with_capacity(values.len() * T::SCALAR.size());
        for v in values {
            v.put_le(&mut raw);
        }
        self.add_dataset(path, ElementType::Scalar(T::SCALAR), shape, raw)
    }

    /// Adds a 1-D dataset of variable-length sequences of `base`, made by
    /// [`Hdf5Writer::put_sequence`].
    pub fn add_vlen_sequences(&mut self, path: &str, base: Scalar, elements: &[VlenRef]) -> Result<()> {
        self.add_vlen(path, ElementType::VlenSequence(base), elements)
    }

    /// Adds a 1-D dataset of variable-length UTF-8 strings.
    pub fn add_vlen_strings(&mut self, path: &str, strings: &[&str]) -> Result<()> {
        let mut refs = Vec::with_capacity(strings.len());
        for s in strings {
            refs.push(self.put_object(s.as_bytes(), s.len(), ElementType::VlenString)?);
        }
        self.add_vlen(path, ElementType::VlenString, &refs)
    }

    fn add_vlen(&mut self, path: &str, element: ElementType, elements: &[VlenRef]) -> Result<()> {
        let mut raw = Vec::with_capacity(elements.len() * VLEN_REFERENCE_SIZE);
        for (i, r) in elements.iter().enumerate() {
            ensure!(
                r.element == element,
                "HDF5 writer: element {i} of {path} was stored as {:?}, not {element:?}",
                r.element
            );
            r.put(&mut raw);
        }
        self.add_dataset(path, element, &[elements.len() as u64], raw)
    }

    /// Adds a dataset from its raw (stored) bytes; the parent groups are created as needed.
    fn add_dataset(&mut self, path: &str, element: ElementType, shape: &[u64], raw: Vec<u8>) -> Result<()> {
        ensure!(!shape.is_empty(), "HDF5 writer: {path}: scalar (rank 0) datasets are not supported");
        ensure!(shape.len() <= 32, "HDF5 writer: {path}: rank {} exceeds HDF5's 32", shape.len());
        let elements = shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d));
        let expected = elements.and_then(|n| n.checked_mul(element.size() as u64));
        ensure!(
            expected == Some(raw.len() as u64),
            "HDF5 writer: {path}: shape {shape:?} of {element:?} needs {expected:?} bytes, got {}",
            raw.len()
        );
        let (parent, name) = self.parent_of(path)?;
        ensure!(!parent.contains_key(&name), "HDF5 writer: {path} already exists");
        parent.insert(name, Node::Dataset(DatasetNode { element, shape: shape.to_vec(), raw }));
        Ok(())
    }

    /// Creates a group (and its parents); an existing group is left as it is.
    pub fn create_group(&mut self, path: &str) -> Result<()> {
        let (parent, name) = self.parent_of(path)?;
        match parent.entry(name).or_insert_with(|| Node::Group(BTreeMap::new())) {
            Node::Group(_) => Ok(()),
            Node::Dataset(_) => bail!("HDF5 writer: {path} is a dataset, not a group"),
        }
    }

    /// The member map that will hold the last component of `path`, creating parent groups.
    fn parent_of(&mut self, path: &str) -> Result<(&mut BTreeMap<String, Node>, String)> {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        for part in &parts {
            ensure!(
                !part.is_empty() && *part != "." && !part.contains('\0'),
                "HDF5 writer: invalid object path {path:?} (empty, '.' or NUL component)"
            );
        }
        let (last, groups) = parts.split_last().context("HDF5 writer: empty object path")?;
        let mut members = &mut self.root;
        for (depth, part) in groups.iter().enumerate() {
            let node = members.entry(part.to_string()).or_insert_with(|| Node::Group(BTreeMap::new()));
            members = match node {
                Node::Group(m) => m,
                Node::Dataset(_) => bail!("HDF5 writer: {} is a dataset, not a group", groups[..=depth].join("/")),
            };
        }
        Ok((members, last.to_string()))
    }

    /// Writes the datasets, the groups and the superblock, and returns the output (flushed).
    pub fn finish(mut self) -> Result<W> {
        self.close_collection()?;
        let root = std::mem::take(&mut self.root);
        let (root_header, root_table) = write_group(&mut self.sink, &root, "/")?;
        let end_of_file = self.sink.position;

        let mut superblock = Vec::with_capacity(SUPERBLOCK_SIZE as usize);
        superblock.extend_from_slice(&SIGNATURE);
        // Superblock, free-space, root symbol-table entry and shared-header versions 0; 8-byte
        // offsets and lengths.
        superblock.extend_from_slice(&[0, 0, 0, 0, 0, 8, 8, 0]);
        superblock.extend_from_slice(&(GROUP_LEAF_K as u16).to_le_bytes());
        superblock.extend_from_slice(&(GROUP_INTERNAL_K as u16).to_le_bytes());
        superblock.extend_from_slice(&0u32.to_le_bytes()); // file consistency flags
        superblock.extend_from_slice(&0u64.to_le_bytes()); // base address
        superblock.extend_from_slice(&UNDEFINED_ADDRESS.to_le_bytes()); // free-space info
        superblock.extend_from_slice(&end_of_file.to_le_bytes());
        superblock.extend_from_slice(&UNDEFINED_ADDRESS.to_le_bytes()); // driver info
        symbol_entry(&mut superblock, 0, root_header, Some(root_table));
        debug_assert_eq!(superblock.len() as u64, SUPERBLOCK_SIZE);

        let Sink { mut out, .. } = self.sink;
        out.seek(SeekFrom::Start(0))?;
        out.write_all(&superblock)?;
        out.seek(SeekFrom::Start(end_of_file))?;
        out.flush()?;
        Ok(out)
    }
}

/// A group's B-tree and local heap addresses (its symbol-table message, and the scratch pad of
/// the entries that point at it).
#[derive(Clone, Copy)]
struct SymbolTable {
    btree: u64,
    heap: u64,
}

/// A symbol-table entry: name offset in the parent's local heap, object header address, and
/// for groups the cached B-tree and heap addresses (cache type 1), as the library writes them.
fn symbol_entry(out: &mut Vec<u8>, name_offset: u64, header: u64, table: Option<SymbolTable>) {
    out.extend_from_slice(&name_offset.to_le_bytes());
    out.extend_from_slice(&header.to_le_bytes());
    match table {
        Some(t) => {
            out.extend_from_slice(&1u32.to_le_bytes());
            out.extend_from_slice(&0u32.to_le_bytes());
            out.extend_from_slice(&t.btree.to_le_bytes());
            out.extend_from_slice(&t.heap.to_le_bytes());
        }
        None => out.extend_from_slice(&[0u8; 24]),
    }
}

/// A version 1 object header: prefix (version, reserved, message count, reference count 1,
/// message bytes, 4 bytes of alignment padding), then each message 8-aligned.
fn object_header(messages: &[(u16, u8, Vec<u8>)]) -> Result<Vec<u8>> {
    let body: usize = messages.iter().map(|(_, _, m)| 8 + padded8(m.len())).sum();
    let mut out = Vec::with_capacity(16 + body);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(messages.len() as u16).to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&(body as u32).to_le_bytes());
    out.extend_from_slice(&[0u8; 4]);
    for (kind, flags, message) in messages {
        let size = padded8(message.len());
        let size = u16::try_from(size).with_context(|| format!("HDF5 writer: a header message of {size} bytes"))?;
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&[*flags, 0, 0, 0]);
        out.extend_from_slice(message);
        out.resize(padded8(out.len()), 0);
    }
    Ok(out)
}

// Header message types, and the "constant" flag the library sets on datatype and fill value.
const MSG_DATASPACE: u16 = 0x0001;
const MSG_DATATYPE: u16 = 0x0003;
const MSG_FILL_VALUE: u16 = 0x0005;
const MSG_LAYOUT: u16 = 0x0008;
const MSG_SYMBOL_TABLE: u16 = 0x0011;
const FLAG_CONSTANT: u8 = 0x01;

/// Raw data, then the object header; returns the header's address.
fn write_dataset<W: Write>(sink: &mut Sink<W>, dataset: &DatasetNode) -> Result<u64> {
    let data_address = if dataset.raw.is_empty() { UNDEFINED_ADDRESS } else { sink.block(&dataset.raw)? };

    // Dataspace version 1: rank, flags (bit 0: maximum dimensions present), 5 reserved bytes,
    // then the dimensions and the (equal, fixed) maximum dimensions.
    let mut dataspace = vec![1, dataset.shape.len() as u8, 1, 0, 0, 0, 0, 0];
    for _ in 0..2 {
        for d in &dataset.shape {
            dataspace.extend_from_slice(&d.to_le_bytes());
        }
    }
    // Fill value version 2: allocation time late (2); fill time "if set" (2), "on allocation"
    // (0) for variable-length types, as h5py's library writes them; fill value defined with size
    // 0, i.e. the library default (zeros).
    let fill_time = match dataset.element {
        ElementType::Scalar(_) => 2,
        _ => 0,
    };
    let fill = vec![2, 2, fill_time, 1, 0, 0, 0, 0];
    // Layout version 3, class 1 (contiguous): address and size of the raw data.
    let mut layout = vec![3, 1];
    layout.extend_from_slice(&data_address.to_le_bytes());
    layout.extend_from_slice(&(dataset.raw.len() as u64).to_le_bytes());

    let header = object_header(&[
        (MSG_DATASPACE, 0, dataspace),
        (MSG_DATATYPE, FLAG_CONSTANT, dataset.element.encode_datatype()),
        (MSG_FILL_VALUE, FLAG_CONSTANT, fill),
        (MSG_LAYOUT, 0, layout),
    ])?;
    sink.block(&header)
}

/// Writes a group's members (depth first), then its local heap, symbol-table nodes, B-tree node
/// and object header; returns the header's address and the group's symbol table.
fn write_group<W: Write>(
    sink: &mut Sink<W>,
    members: &BTreeMap<String, Node>,
    path: &str,
) -> Result<(u64, SymbolTable)> {
    ensure!(
        members.len() <= MAX_GROUP_MEMBERS,
        "HDF5 writer: group {path} has {} members; this writer supports at most {MAX_GROUP_MEMBERS}",
        members.len()
    );
    // Members first: their addresses go into this group's entries. BTreeMap iterates in byte
    // order, which is the strcmp order the B-tree requires.
    let mut entries = Vec::with_capacity(members.len());
    for (name, node) in members {
        let child_path = format!("{}/{name}", path.trim_end_matches('/'));
        match node {
            Node::Dataset(d) => entries.push((name, write_dataset(sink, d)?, None)),
            Node::Group(m) => {
                let (header, table) = write_group(sink, m, &child_path)?;
                entries.push((name, header, Some(table)));
            }
        }
    }

    // Local heap: the empty name at offset 0 (the B-tree's first key), then each name
    // NUL-terminated and padded to 8 bytes. No free space: the free list is empty.
    let mut names = vec![0u8; 8];
    let mut name_offsets = Vec::with_capacity(entries.len());
    for (name, _, _) in &entries {
        name_offsets.push(names.len() as u64);
        names.extend_from_slice(name.as_bytes());
        names.push(0);
        names.resize(padded8(names.len()), 0);
    }
    sink.align()?;
    let heap_address = sink.position;
    let mut heap = Vec::with_capacity(32 + names.len());
    heap.extend_from_slice(b"HEAP");
    heap.extend_from_slice(&[0, 0, 0, 0]);
    heap.extend_from_slice(&(names.len() as u64).to_le_bytes());
    heap.extend_from_slice(&LOCAL_HEAP_FREE_NULL.to_le_bytes());
    heap.extend_from_slice(&(heap_address + 32).to_le_bytes()); // data segment right after
    heap.extend_from_slice(&names);
    sink.block(&heap)?;

    // Symbol-table nodes of up to 8 entries; the B-tree key after each child is the name
    // offset of that child's last entry.
    let mut children = Vec::new();
    for (chunk_index, chunk) in entries.chunks(SNOD_CAPACITY).enumerate() {
        let mut node = Vec::with_capacity(SNOD_SIZE);
        node.extend_from_slice(b"SNOD");
        node.extend_from_slice(&[1, 0]);
        node.extend_from_slice(&(chunk.len() as u16).to_le_bytes());
        for (i, (_, header, table)) in chunk.iter().enumerate() {
            symbol_entry(&mut node, name_offsets[chunk_index * SNOD_CAPACITY + i], *header, *table);
        }
        node.resize(SNOD_SIZE, 0);
        let address = sink.block(&node)?;
        children.push((address, name_offsets[chunk_index * SNOD_CAPACITY + chunk.len() - 1]));
    }

    let mut btree = Vec::with_capacity(BTREE_NODE_SIZE);
    btree.extend_from_slice(b"TREE");
    btree.extend_from_slice(&[0, 0]); // node type 0 (group), level 0 (leaf)
    btree.extend_from_slice(&(children.len() as u16).to_le_bytes());
    btree.extend_from_slice(&UNDEFINED_ADDRESS.to_le_bytes()); // left sibling
    btree.extend_from_slice(&UNDEFINED_ADDRESS.to_le_bytes()); // right sibling
    btree.extend_from_slice(&0u64.to_le_bytes()); // key 0: the empty name
    for (address, last_name) in &children {
        btree.extend_from_slice(&address.to_le_bytes());
        btree.extend_from_slice(&last_name.to_le_bytes());
    }
    btree.resize(BTREE_NODE_SIZE, 0);
    let btree_address = sink.block(&btree)?;

    let table = SymbolTable { btree: btree_address, heap: heap_address };
    let mut message = Vec::with_capacity(16);
    message.extend_from_slice(&table.btree.to_le_bytes());
    message.extend_from_slice(&table.heap.to_le_bytes());
    let header = sink.block(&object_header(&[(MSG_SYMBOL_TABLE, 0, message)])?)?;
    Ok((header, table))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn u64_at(bytes: &[u8], at: usize) -> u64 {
        u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
    }

    #[test]
    fn datatype_messages_match_what_h5py_writes() {
        // Bytes copied from shared/fixtures/shd/shd_fixture.h5 (written by h5py 3.16, HDF5 2.0).
        let u16_type = [0x10, 0, 0, 0, 2, 0, 0, 0, 0, 0, 16, 0];
        assert_eq!(ElementType::Scalar(Scalar::U16).encode_datatype(), u16_type);
        let f32_type = [0x11, 0x20, 0x1f, 0, 4, 0, 0, 0, 0, 0, 0x20, 0, 0x17, 8, 0, 0x17, 0x7f, 0, 0, 0];
        assert_eq!(ElementType::Scalar(Scalar::F32).encode_datatype(), f32_type);
        let vlen_f16 =
            [0x19, 0, 0, 0, 16, 0, 0, 0, 0x11, 0x20, 0x0f, 0, 2, 0, 0, 0, 0, 0, 16, 0, 10, 5, 0, 10, 15, 0, 0, 0];
        assert_eq!(ElementType::VlenSequence(Scalar::F16).encode_datatype(), vlen_f16);
        let vlen_str = [0x19, 1, 1, 0, 16, 0, 0, 0, 0x10, 0, 0, 0, 1, 0, 0, 0, 0, 0, 8, 0];
        assert_eq!(ElementType::VlenString.encode_datatype(), vlen_str);
    }

    #[test]
    fn collections_are_at_least_a_page_and_end_in_free_space() {
        let mut w = Hdf5Writer::new(Cursor::new(Vec::new())).unwrap();
        let a = w.put_sequence(&[1u16, 2, 3]).unwrap();
        let empty = w.put_sequence::<u16>(&[]).unwrap();
        w.add_vlen_sequences("a", Scalar::U16, &[a, empty]).unwrap();
        let bytes = w.finish().unwrap().into_inner();
        let at = a.collection as usize;
        assert_eq!(at, SUPERBLOCK_SIZE as usize);
        assert_eq!(&bytes[at..at + 4], b"GCOL");
        assert_eq!(u64_at(&bytes, at + 8), GLOBAL_HEAP_MIN_SIZE as u64);
        // Object 1: 16-byte header + 6 bytes padded to 8; then the free-space object.
        let free = at + 16 + 16 + 8;
        assert_eq!(&bytes[free..free + 2], &[0, 0]);
        assert_eq!(u64_at(&bytes, free + 8), (GLOBAL_HEAP_MIN_SIZE - 40) as u64);
        assert_eq!((empty.count, empty.collection, empty.index), (0, 0, 0));
        // The superblock's end-of-file address is the file's length.
        assert_eq!(u64_at(&bytes, 40), bytes.len() as u64);
    }

    #[test]
    fn a_large_object_gets_a_collection_of_its_own_size() {
        let mut w = Hdf5Writer::new(Cursor::new(Vec::new())).unwrap();
        let small = w.put_sequence(&[1u8]).unwrap();
        let big_values = vec![7u32; GLOBAL_HEAP_TARGET_SIZE / 2];
        let big = w.put_sequence(&big_values).unwrap();
        let after = w.put_sequence(&[2u8]).unwrap();
        assert_ne!(small.collection, big.collection);
        assert_ne!(big.collection, after.collection);
        assert_eq!((big.index, after.index), (1, 1));
        w.add_vlen_sequences("big", Scalar::U32, &[big]).unwrap();
        w.add_vlen_sequences("small", Scalar::U8, &[small, after]).unwrap();
        let bytes = w.finish().unwrap().into_inner();
        let size = u64_at(&bytes, big.collection as usize + 8) as usize;
        // Exactly full: no free-space object.
        assert_eq!(size, 16 + 16 + big_values.len() * 4);
    }

    #[test]
    fn errors_name_the_path() {
        let mut w = Hdf5Writer::new(Cursor::new(Vec::new())).unwrap();
        w.add_scalars("g/x", &[1u8]).unwrap();
        let e = w.add_scalars("g/x", &[1u8]).unwrap_err().to_string();
        assert!(e.contains("g/x already exists"), "{e}");
        let e = w.add_scalars("g/x/y", &[1u8]).unwrap_err().to_string();
        assert!(e.contains("g/x is a dataset"), "{e}");
        let e = w.add_scalars("g//y", &[1u8]).unwrap_err().to_string();
        assert!(e.contains("invalid object path"), "{e}");
        let e = w.add_scalars_shaped("m", &[2, 3], &[1u8; 5]).unwrap_err().to_string();
        assert!(e.contains("m: shape [2, 3]"), "{e}");
        let r = w.put_sequence(&[1u16]).unwrap();
        let e = w.add_vlen_sequences("v", Scalar::F16, &[r]).unwrap_err().to_string();
        assert!(e.contains("element 0 of v"), "{e}");
        for i in 0..MAX_GROUP_MEMBERS {
            w.add_scalars(&format!("many/d{i}"), &[0u8]).unwrap();
        }
        w.add_scalars("many/one_too_many", &[0u8]).unwrap();
        let e = w.finish().unwrap_err().to_string();
        assert!(e.contains("group /many has 257 members"), "{e}");
    }
}
