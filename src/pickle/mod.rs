//! A purpose-built reader for Python pickles (and, in `writer`, a protocol-2 writer in the
//! cPickle/numpy layout). The reader handles protocols 0 to 5 as written by Python 2's
//! `cPickle` (the NeuronIO dataset), Python 3's `pickle` and `torch.save` (protocol 2).
//!
//! Nothing in a pickle is executed. The reader gives meaning to a closed set of globals
//! (`collections.OrderedDict`, torch's tensor and storage rebuilders, numpy's array, dtype and
//! scalar constructors, and the builtins Python 3 uses for bytes and sets); any other global
//! becomes an opaque [`Value::Global`]/[`Value::Object`], an error only when the pickle uses it
//! in a way that cannot be represented. Every malformed input is a [`PickleError`] naming the
//! byte offset; length fields never cause allocations beyond what the input delivers.
//!
//! [`from_reader`] builds the whole object tree. [`stream_from_reader`] hands the records of a
//! big list (a NeuronIO file's simulations) to a [`StreamConsumer`] as soon as each is finished
//! and forgets them, so memory holds one record's objects at a time (module `stream`).

mod construct;
mod construct_numpy;
mod construct_torch;
mod dict_keys;
mod error;
mod freeze;
mod globals;
mod heap;
mod input;
mod integers;
mod machine;
mod memo;
pub mod numpy;
mod opcodes;
mod stream;
mod text;
pub mod torch;
mod value;
pub mod writer;

pub use error::PickleError;
pub use freeze::MAX_NESTING;
pub use numpy::{ByteOrder, DtypeKind, NdArray, NumpyDtype, NumpyScalar};
pub use stream::{StreamConsumer, StreamContext, StreamError};
pub use torch::{StorageRef, TorchTensor};
pub use value::{latin1, Dict, GlobalName, Object, Value};

use anyhow::Context;
use input::Input;
use machine::Machine;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

/// Reads one pickle from a byte slice (trailing bytes after STOP are ignored, as Python does).
pub fn from_slice(bytes: &[u8]) -> Result<Value, PickleError> {
    Machine::new(Input::new(bytes, Some(bytes.len() as u64))).run()
}

/// Reads one pickle from a buffered stream. `input_len`, when known, lets absurd length
/// fields be rejected before any reading; without it they fail when the input runs out.
pub fn from_reader<R: BufRead>(reader: R, input_len: Option<u64>) -> Result<Value, PickleError> {
    Machine::new(Input::new(reader, input_len)).run()
}

/// Reads the pickle in a file, streaming it (NeuronIO files are hundreds of MB).
pub fn from_file(path: &Path) -> anyhow::Result<Value> {
    let file = File::open(path).with_context(|| format!("opening pickle {}", path.display()))?;
    let len = file.metadata().ok().map(|m| m.len());
    from_reader(BufReader::with_capacity(1 << 20, file), len)
        .with_context(|| format!("reading pickle {}", path.display()))
}

/// Reads one pickle from a buffered stream, handing finished items of the lists the consumer
/// asks for to it as soon as they are complete and then forgetting them (module `stream`), so
/// that memory holds one such item at a time rather than the whole object tree. Their places
/// in the result hold `Value::Streamed(n)`.
pub fn stream_from_reader<R: BufRead>(
    reader: R,
    input_len: Option<u64>,
    consumer: &mut dyn StreamConsumer,
) -> Result<Value, StreamError> {
    Machine::streaming(Input::new(reader, input_len), consumer).run_streaming()
}

/// `stream_from_reader` on a file. The outer error names the file; its source is a
/// [`StreamError`] when reading the pickle failed.
pub fn stream_file(path: &Path, consumer: &mut dyn StreamConsumer) -> anyhow::Result<Value> {
    let file = File::open(path).with_context(|| format!("opening pickle {}", path.display()))?;
    let len = file.metadata().ok().map(|m| m.len());
    stream_from_reader(BufReader::with_capacity(1 << 20, file), len, consumer)
        .with_context(|| format!("reading pickle {}", path.display()))
}
