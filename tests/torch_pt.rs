//! The `.pt` state-dict reader: the three official ELM checkpoints against an independent
//! torch-free Python reading (tests/fixtures/make_expected_state_dicts.py), hand-made archives
//! with offsets, transposed and broadcast strides, big-endian storages, and every error path.

use crate::pickle_support::{f32_bytes, le_f32, state_dict_pickle, zip_archive, TensorSpec};
use crate::support::fixture;
use elmbench::io::DType;
use elmbench::weights::{read_state_dict, read_state_dict_from, StateDict};
use safetensors::{Dtype, SafeTensors};
use std::io::Cursor;

const OFFICIAL_MODELS: [&str; 3] = ["num_memory_1", "num_memory_20", "best_elm_neuron"];

fn safetensors_dtype(d: Dtype) -> DType {
    match d {
        Dtype::F64 => DType::F64,
        Dtype::F32 => DType::F32,
        Dtype::F16 => DType::F16,
        Dtype::BF16 => DType::BF16,
        Dtype::I64 => DType::I64,
        Dtype::I32 => DType::I32,
        Dtype::I16 => DType::I16,
        Dtype::I8 => DType::I8,
        Dtype::U8 => DType::U8,
        Dtype::BOOL => DType::Bool,
        other => panic!("unexpected dtype {other:?} in the reference"),
    }
}

#[test]
fn official_models_match_the_independent_reference() {
    for model in OFFICIAL_MODELS {
        let dir = fixture(&format!("reference/official_models/{model}"));
        let got =
            read_state_dict(&dir.join("neuronio_best_model_state.pt")).unwrap_or_else(|e| panic!("{model}: {e:#}"));

        let reference = std::fs::read(dir.join("expected_state_dict.safetensors")).unwrap();
        let (_, meta) = SafeTensors::read_metadata(&reference).unwrap();
        let order: Vec<String> =
            serde_json::from_str(&meta.metadata().as_ref().expect("metadata")["entry_order"]).unwrap();
        let expected = SafeTensors::deserialize(&reference).unwrap();

        let names: Vec<&str> = got.names().collect();
        assert_eq!(names, order, "{model}: entry names and order");
        assert_eq!(expected.len(), got.len());
        for (name, tensor) in &got.entries {
            let want = expected.tensor(name).unwrap();
            assert_eq!(tensor.dtype, safetensors_dtype(want.dtype()), "{model} {name} dtype");
            assert_eq!(tensor.shape, want.shape(), "{model} {name} shape");
            // Bytes are equal exactly: every value, bit for bit.
            assert!(tensor.bytes == want.data(), "{model} {name} values differ");
        }

        // The typed accessors agree with the raw bytes.
        let mask = got.get("valid_indices_mask").unwrap().to_bool().unwrap();
        assert_eq!(mask.len(), 4500);
        let indices = got.get("input_to_synapse_indices").unwrap().to_i64().unwrap();
        assert!(indices.iter().all(|&i| (0..1278).contains(&i)), "{model}");
        let w = got.get("w_y.weight").unwrap();
        assert_eq!(w.to_f32().unwrap(), le_f32(&w.bytes));
        assert!(w.to_i64().is_err() && w.to_bool().is_err());
    }
}

#[test]
fn official_model_shapes_follow_the_configs() {
    // d_m from model_config.json: 1, 20, 100; the MLP input is n_branch (45) + d_m.
    for (model, d_m) in [("num_memory_1", 1), ("num_memory_20", 20), ("best_elm_neuron", 100)] {
        let sd = read_state_dict(&fixture(&format!("reference/official_models/{model}/neuronio_best_model_state.pt")))
            .unwrap();
        assert_eq!(sd.get("_proto_tau_m").unwrap().shape, [d_m]);
        assert_eq!(sd.get("w_y.weight").unwrap().shape, [2, d_m]);
        assert_eq!(sd.get("mlp.network.0.weight").unwrap().shape, [2 * d_m, 45 + d_m]);
        assert!(sd.get("no.such.entry").is_none());
    }
}

/// Storage "0": twelve f32 values 0..12.
fn storage0() -> Vec<u8> {
    f32_bytes(&(0..12).map(|i| i as f32).collect::<Vec<_>>())
}

fn spec<'a>(
    name: &'a str,
    class: &'a str,
    key: &'a str,
    numel: i64,
    offset: i64,
    size: &'a [i64],
    stride: &'a [i64],
) -> TensorSpec<'a> {
    TensorSpec { name, storage_class: class, key, numel, offset, size, stride, parameter: false }
}

fn strided_specs() -> Vec<TensorSpec<'static>> {
    vec![
        // v[i][j] = 2 + i + 3j: a transposed view with an offset.
        spec("transposed", "FloatStorage", "0", 12, 2, &[3, 2], &[1, 3]),
        // v[i][j] = 5 + i + 2j, same storage.
        spec("permuted", "FloatStorage", "0", 12, 5, &[2, 3], &[1, 2]),
        // Every other element from 1: [-20, -40]; wrapped in nn.Parameter.
        TensorSpec { parameter: true, ..spec("every_other", "LongStorage", "1", 4, 1, &[2], &[2]) },
        // A 0-d tensor at offset 1 of a half storage [1.0, -2.5].
        spec("scalar", "HalfStorage", "2", 2, 1, &[], &[]),
        spec("mask", "BoolStorage", "3", 3, 0, &[3], &[1]),
        // Broadcast (expand): stride 0 repeats the row [1, 2].
        spec("broadcast", "FloatStorage", "0", 12, 1, &[2, 2], &[0, 1]),
        spec("empty", "FloatStorage", "0", 12, 0, &[0, 4], &[4, 1]),
    ]
}

fn check_strided(sd: &StateDict) {
    let names: Vec<&str> = sd.names().collect();
    assert_eq!(names, ["transposed", "permuted", "every_other", "scalar", "mask", "broadcast", "empty"]);
    let t = sd.get("transposed").unwrap();
    assert_eq!((t.dtype, t.shape.as_slice()), (DType::F32, &[3, 2][..]));
    assert_eq!(t.to_f32().unwrap(), [2.0, 5.0, 3.0, 6.0, 4.0, 7.0]);
    let p = sd.get("permuted").unwrap();
    assert_eq!(p.shape, [2, 3]);
    assert_eq!(p.to_f32().unwrap(), [5.0, 7.0, 9.0, 6.0, 8.0, 10.0]);
    let e = sd.get("every_other").unwrap();
    assert_eq!((e.dtype, e.to_i64().unwrap()), (DType::I64, vec![-20, -40]));
    assert_eq!(e.to_f32().unwrap(), [-20.0, -40.0]);
    let s = sd.get("scalar").unwrap();
    assert_eq!((s.dtype, s.shape.len(), s.numel()), (DType::F16, 0, 1));
    assert_eq!(s.to_f32().unwrap(), [-2.5]);
    let m = sd.get("mask").unwrap();
    assert_eq!(m.to_bool().unwrap(), [true, false, true]);
    assert!(m.to_f32().is_err());
    assert_eq!(sd.get("broadcast").unwrap().to_f32().unwrap(), [1.0, 2.0, 1.0, 2.0]);
    let empty = sd.get("empty").unwrap();
    assert_eq!((empty.shape.as_slice(), empty.numel()), (&[0, 4][..], 0));
}

fn strided_archive(prefix: &str, big_endian: bool) -> Vec<u8> {
    let pkl = state_dict_pickle(&strided_specs());
    let order = |mut b: Vec<u8>, size: usize| {
        if big_endian {
            b.chunks_exact_mut(size).for_each(<[u8]>::reverse);
        }
        b
    };
    let s0 = order(storage0(), 4);
    let s1 = order([10i64, -20, 30, -40].iter().flat_map(|v| v.to_le_bytes()).collect(), 8);
    // f16 bits: 1.0 = 0x3c00, -2.5 = 0xc100.
    let s2 = order([0x3c00u16, 0xc100].iter().flat_map(|v| v.to_le_bytes()).collect(), 2);
    let s3 = vec![1u8, 0, 1];
    let byteorder: &[u8] = if big_endian { b"big" } else { b"little" };
    let names: Vec<String> = ["data.pkl", "byteorder", "data/0", "data/1", "data/2", "data/3", "version"]
        .iter()
        .map(|m| format!("{prefix}/{m}"))
        .collect();
    zip_archive(&[
        (&names[0], &pkl),
        (&names[1], byteorder),
        (&names[2], &s0),
        (&names[3], &s1),
        (&names[4], &s2),
        (&names[5], &s3),
        (&names[6], b"3\n"),
    ])
}

#[test]
fn offsets_and_strides_give_contiguous_values() {
    let sd = read_state_dict_from(Cursor::new(strided_archive("archive", false)), "strided.pt")
        .unwrap_or_else(|e| panic!("{e:#}"));
    check_strided(&sd);
}

#[test]
fn big_endian_storages_and_other_prefixes_are_read() {
    let sd = read_state_dict_from(Cursor::new(strided_archive("my_model", true)), "big.pt")
        .unwrap_or_else(|e| panic!("{e:#}"));
    check_strided(&sd);
}

fn error_of(archive: Vec<u8>) -> String {
    match read_state_dict_from(Cursor::new(archive), "test.pt") {
        Ok(sd) => panic!("expected an error, got {:?}", sd.names().collect::<Vec<_>>()),
        Err(e) => format!("{e:#}"),
    }
}

fn assert_contains(message: &str, fragments: &[&str]) {
    for f in fragments {
        assert!(message.contains(f), "{message:?} lacks {f:?}");
    }
}

fn one_tensor_archive(spec: TensorSpec, storages: &[(&str, &[u8])]) -> Vec<u8> {
    let pkl = state_dict_pickle(&[spec]);
    let mut members: Vec<(&str, &[u8])> = vec![("archive/data.pkl", &pkl)];
    members.extend_from_slice(storages);
    zip_archive(&members)
}

#[test]
fn missing_and_short_storages_are_named() {
    let s0 = storage0();
    let w = spec("w", "FloatStorage", "0", 12, 0, &[12], &[1]);
    let e = error_of(one_tensor_archive(w, &[]));
    assert_contains(&e, &["test.pt", "entry 'w'", "missing storage archive/data/0"]);

    let w = spec("w", "FloatStorage", "0", 12, 0, &[12], &[1]);
    let e = error_of(one_tensor_archive(w, &[("archive/data/0", &s0[..8])]));
    assert_contains(&e, &["entry 'w'", "archive/data/0 holds 8 bytes", "12 elements of f32"]);

    let w = spec("w", "FloatStorage", "0", 12, 3, &[10], &[1]);
    let e = error_of(one_tensor_archive(w, &[("archive/data/0", &s0)]));
    assert_contains(&e, &["entry 'w'", "archive/data/0", "reaches past the end", "12 elements"]);

    let w = spec("w", "ComplexFloatStorage", "0", 6, 0, &[6], &[1]);
    let e = error_of(one_tensor_archive(w, &[("archive/data/0", &s0)]));
    assert_contains(&e, &["entry 'w'", "unsupported storage type torch.ComplexFloatStorage"]);
}

#[test]
fn archives_that_are_not_state_dicts_are_refused() {
    let e = error_of(zip_archive(&[("archive/version", b"3\n")]));
    assert_contains(&e, &["test.pt", "no <prefix>/data.pkl"]);

    // data.pkl holding a list, and a dict whose entry is not a tensor.
    let e = error_of(zip_archive(&[("archive/data.pkl", b"\x80\x02]K\x01a.")]));
    assert_contains(&e, &["archive/data.pkl holds a list, not a state dict"]);
    let e = error_of(zip_archive(&[("a/data.pkl", b"\x80\x02}X\x01\x00\x00\x00xK\x05s.")]));
    assert_contains(&e, &["entry 'x' is a int, not a tensor"]);

    // A corrupt pickle reports the member and the byte offset.
    let e = error_of(zip_archive(&[("archive/data.pkl", b"\x80\x02}\xfe")]));
    assert_contains(&e, &["unpickling archive/data.pkl", "pickle byte 3", "unknown opcode 0xfe"]);

    let e = error_of(zip_archive(&[("archive/data.pkl", b"\x80\x02}."), ("archive/byteorder", b"middle")]));
    assert_contains(&e, &["archive/byteorder says \"middle\""]);
}

#[test]
fn files_that_are_not_zips_are_named() {
    let dir = std::env::temp_dir().join(format!("elmbench-torchpt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let missing = dir.join("missing.pt");
    let e = format!("{:#}", read_state_dict(&missing).unwrap_err());
    assert_contains(&e, &[&missing.display().to_string(), "opening PyTorch state dict"]);

    let text = dir.join("notes.pt");
    std::fs::write(&text, "just some text, not an archive").unwrap();
    let e = format!("{:#}", read_state_dict(&text).unwrap_err());
    assert_contains(&e, &[&text.display().to_string(), "not a zip archive"]);

    let legacy = dir.join("legacy.pt");
    std::fs::write(&legacy, b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.").unwrap();
    let e = format!("{:#}", read_state_dict(&legacy).unwrap_err());
    assert_contains(&e, &[&legacy.display().to_string(), "legacy torch.save format"]);

    let empty = dir.join("empty.pt");
    std::fs::write(&empty, b"").unwrap();
    let e = format!("{:#}", read_state_dict(&empty).unwrap_err());
    assert_contains(&e, &[&empty.display().to_string(), "not a zip archive"]);

    std::fs::remove_dir_all(&dir).unwrap();
}
