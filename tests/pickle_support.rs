//! Helpers for the pickle and `.pt` tests: the NeuronIO fixture path, a deterministic PRNG,
//! a small pickle assembler for torch-style state dicts, and an in-memory zip writer.

use crate::support::fixture;
use std::io::{Cursor, Write};
use std::path::PathBuf;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// The NeuronIO pickle fixture (the only file in its folder).
pub fn neuronio_fixture() -> PathBuf {
    let dir = fixture("neuronio/full_ergodic_train_batch_1");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture folder exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "p"))
        .collect();
    assert_eq!(files.len(), 1, "expected one .p file in {}", dir.display());
    files.remove(0)
}

/// SplitMix64: tiny, deterministic, good enough to place corruptions.
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Appends pickle opcodes by hand (protocol 2, no memo).
#[derive(Default)]
pub struct PickleAsm {
    pub bytes: Vec<u8>,
}

impl PickleAsm {
    pub fn new() -> Self {
        PickleAsm { bytes: vec![0x80, 2] }
    }
    pub fn op(&mut self, opcode: u8) -> &mut Self {
        self.bytes.push(opcode);
        self
    }
    pub fn global(&mut self, module: &str, name: &str) -> &mut Self {
        self.bytes.push(b'c');
        self.bytes.extend_from_slice(format!("{module}\n{name}\n").as_bytes());
        self
    }
    pub fn unicode(&mut self, s: &str) -> &mut Self {
        self.bytes.push(b'X');
        self.bytes.extend_from_slice(&(s.len() as u32).to_le_bytes());
        self.bytes.extend_from_slice(s.as_bytes());
        self
    }
    pub fn int(&mut self, v: i32) -> &mut Self {
        self.bytes.push(b'J');
        self.bytes.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn int_tuple(&mut self, values: &[i64]) -> &mut Self {
        self.op(b'(');
        for &v in values {
            self.int(v as i32);
        }
        self.op(b't')
    }
    /// `collections.OrderedDict()`.
    pub fn ordered_dict(&mut self) -> &mut Self {
        self.global("collections", "OrderedDict").op(b')').op(b'R')
    }
}

/// One tensor entry of a hand-made state dict.
pub struct TensorSpec<'a> {
    pub name: &'a str,
    pub storage_class: &'a str,
    pub key: &'a str,
    pub numel: i64,
    pub offset: i64,
    pub size: &'a [i64],
    pub stride: &'a [i64],
    pub parameter: bool,
}

/// The data.pkl that `torch.save(state_dict)` writes, for the given entries (without memo
/// opcodes, which the official files exercise).
pub fn state_dict_pickle(specs: &[TensorSpec]) -> Vec<u8> {
    let mut p = PickleAsm::new();
    p.ordered_dict().op(b'(');
    for s in specs {
        p.unicode(s.name);
        if s.parameter {
            p.global("torch._utils", "_rebuild_parameter").op(b'(');
        }
        p.global("torch._utils", "_rebuild_tensor_v2").op(b'(');
        p.op(b'(')
            .unicode("storage")
            .global("torch", s.storage_class)
            .unicode(s.key)
            .unicode("cpu")
            .int(s.numel as i32)
            .op(b't')
            .op(b'Q');
        p.int(s.offset as i32).int_tuple(s.size).int_tuple(s.stride).op(0x89).ordered_dict().op(b't').op(b'R');
        if s.parameter {
            p.op(0x88).ordered_dict().op(b't').op(b'R');
        }
    }
    // state_dict()'s `_metadata` attribute: a BUILD on the OrderedDict after its items.
    p.op(b'u').op(b'}').unicode("_metadata").ordered_dict().op(b's').op(b'b').op(b'.');
    p.bytes
}

/// A zip archive (stored, uncompressed, as torch writes) with the given members.
pub fn zip_archive(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    for (name, data) in members {
        writer.start_file(*name, options).expect("start zip member");
        writer.write_all(data).expect("write zip member");
    }
    writer.finish().expect("finish zip").into_inner()
}

pub fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

pub fn le_f32(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}
