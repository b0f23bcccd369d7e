//! The pickle virtual machine: every opcode CPython emits at protocols 0 to 5 (checked
//! against CPython's own results, recorded by tests/fixtures/pickle_cases/make_pickle_cases.py),
//! and hand-made streams for errors, opaque objects and edge cases.

use crate::support::fixture;
use elmbench::io::strided::gather_strided;
use elmbench::pickle::{self, NumpyScalar, PickleError, Value, MAX_NESTING};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digit")).collect()
}

/// The canonical rendering of make_pickle_cases.py.
fn canon(v: &Value) -> String {
    let join = |items: &[Value]| items.iter().map(canon).collect::<Vec<_>>().join(",");
    match v {
        Value::None => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Int(i) => format!("i:{i}"),
        Value::BigInt(b) => format!("L:{}", hex(b)),
        Value::Float(f) => format!("f:{}", hex(&f.to_le_bytes())),
        Value::Str(s) => format!("s:{}", hex(s.as_bytes())),
        Value::Bytes(b) => format!("b:{}", hex(b)),
        Value::List(items) => format!("[{}]", join(items)),
        Value::Tuple(items) => format!("({})", join(items)),
        Value::Set(items) => {
            let mut parts: Vec<String> = items.iter().map(canon).collect();
            parts.sort();
            format!("set({})", parts.join(","))
        }
        Value::Dict(d) => {
            let parts: Vec<String> = d.iter().map(|(k, v)| format!("{}:{}", canon(k), canon(v))).collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::NumpyScalar(s) => match *s {
            NumpyScalar::Bool(b) => format!("np:b1:{}", if b { "True" } else { "False" }),
            NumpyScalar::Int { value, itemsize } => format!("np:i{itemsize}:{value}"),
            NumpyScalar::UInt { value, itemsize } => format!("np:u{itemsize}:{value}"),
            NumpyScalar::Float { value, itemsize } => {
                format!("np:f{itemsize}:{}", hex(&value.to_le_bytes()))
            }
        },
        Value::NdArray(a) => {
            let shape: Vec<String> = a.shape.iter().map(|d| d.to_string()).collect();
            let data = if a.fortran_order && a.shape.len() > 1 {
                let mut stride = Vec::new();
                let mut step = 1;
                for &n in &a.shape {
                    stride.push(step);
                    step *= n;
                }
                gather_strided(&a.data, a.dtype.itemsize, 0, &a.shape, &stride).expect("fortran reorder")
            } else {
                a.data.to_vec()
            };
            format!("nd:{}:{}:{}", a.dtype.descr(), shape.join(","), hex(&data))
        }
        other => format!("<{}>", other.describe()),
    }
}

#[test]
fn every_cpython_case_matches() {
    let path = fixture("pickle_cases/pickle_cases.json");
    let text = std::fs::read_to_string(&path).expect("pickle_cases.json");
    let json: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let cases = json["cases"].as_array().expect("cases array");
    assert!(cases.len() > 100, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let bytes = unhex(case["pickle_hex"].as_str().expect("pickle_hex"));
        let expected = case["canon"].as_str().expect("canon");
        match pickle::from_slice(&bytes) {
            Ok(v) => {
                let got = canon(&v);
                if got != expected {
                    failures.push(format!("{name}: got {got:.300}\n   expected {expected:.300}"));
                }
            }
            Err(e) => failures.push(format!("{name}: error {e}")),
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

fn parse_err(bytes: &[u8]) -> PickleError {
    match pickle::from_slice(bytes) {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e,
    }
}

fn assert_err(bytes: &[u8], offset: u64, fragment: &str) {
    let e = parse_err(bytes);
    assert_eq!(e.offset, offset, "offset of {e}");
    assert!(e.message.contains(fragment), "{e:?} lacks {fragment:?}");
    assert!(e.to_string().contains(&format!("pickle byte {offset}")), "{e}");
}

#[test]
fn malformed_streams_name_the_offset_and_problem() {
    assert_err(b"", 0, "input ends before the STOP");
    assert_err(b"\x80\x02N", 3, "input ends before the STOP");
    assert_err(b"\x80\x02\xff.", 2, "unknown opcode 0xff");
    assert_err(b"\x80\x02.", 2, "STOP: stack underflow");
    assert_err(b"\x80\x02K\x01a.", 4, "APPEND: stack underflow");
    assert_err(b"\x80\x02]K\x01(a.", 6, "APPEND: stack underflow");
    assert_err(b"\x80\x02h\x05.", 2, "memo key 5 was never stored");
    assert_err(b"\x80\x02J\x01\x00", 2, "input ends after 2 of the 4 bytes");
    assert_err(b"\x80\x02T\xff\xff\xff\xff.", 2, "negative length");
    assert_err(b"\x80\x02N)t.", 4, "no MARK");
    assert_err(b"\x80\x06N.", 0, "unsupported protocol 6");
    assert_err(b"\x80\x02X\x02\x00\x00\x00\xff\xfe.", 2, "not valid UTF-8");
    assert_err(b"\x80\x02(K\x01\x82\x01.", 5, "extension registry");
    assert_err(b"\x80\x02}(K\x01u.", 6, "odd number of items");
    assert_err(b"\x80\x02K\x01K\x02R.", 6, "REDUCE: arguments are a int");
}

#[test]
fn absurd_lengths_fail_without_allocating() {
    // 4 GiB claimed, 3 bytes present: rejected up front when the length is known ...
    let bytes = b"\x80\x02B\xff\xff\xff\xffabc.";
    assert_err(bytes, 2, "length 4294967295 exceeds the 4 bytes left");
    // ... and when streaming without a known length, after reading what is there.
    let e = pickle::from_reader(&bytes[..], None).unwrap_err();
    assert_eq!(e.offset, 2);
    assert!(e.message.contains("input ends after 4 of the 4294967295 bytes"), "{e}");
    // A 2^64-1 byte BINBYTES8.
    let e = parse_err(b"\x80\x04\x8e\xff\xff\xff\xff\xff\xff\xff\xff.");
    assert!(e.message.contains("exceeds"), "{e}");
}

#[test]
fn recursive_structures_are_errors() {
    // l = []; l.append(l)
    let e = parse_err(b"\x80\x02]q\x00h\x00a.");
    assert!(e.message.contains("contains itself"), "{e}");
}

#[test]
fn nesting_is_bounded() {
    let nested = |depth: usize| {
        let mut b = vec![0x80, 2];
        b.extend(std::iter::repeat_n(b']', depth));
        b.extend(std::iter::repeat_n(b'a', depth - 1));
        b.push(b'.');
        b
    };
    let ok = pickle::from_slice(&nested(MAX_NESTING - 1)).expect("depth below the limit");
    let mut depth = 0;
    let mut v = &ok;
    while let Some([inner]) = v.as_list() {
        depth += 1;
        v = inner;
    }
    assert_eq!(depth, MAX_NESTING - 2);
    let e = parse_err(&nested(200_000));
    assert!(e.message.contains("nested more than"), "{e}");
}

#[test]
fn sparse_memo_keys_work() {
    let v = pickle::from_slice(b"\x80\x02K\x07r\xff\xff\xff\xff0j\xff\xff\xff\xff.").unwrap();
    assert_eq!(v, Value::Int(7));
}

#[test]
fn mutation_through_the_memo_is_shared() {
    // a = []; t = (a,); a.append(1) via the memo after the tuple was built -> ([1],)
    let v = pickle::from_slice(b"\x80\x02]q\x00h\x00\x85q\x01h\x00K\x01a0h\x01.").unwrap();
    let t = v.as_tuple().expect("tuple");
    assert_eq!(t[0].as_list().expect("list"), &[Value::Int(1)]);
}

#[test]
fn unknown_globals_stay_opaque_until_misused() {
    // mymod.Thing() with BUILD state {'x': 1}, inside a list.
    let mut p = crate::pickle_support::PickleAsm::new();
    p.op(b']')
        .global("mymod", "Thing")
        .op(b')')
        .op(b'R')
        .op(b'}')
        .unicode("x")
        .int(1)
        .op(b's')
        .op(b'b')
        .op(b'a')
        .op(b'.');
    let v = pickle::from_slice(&p.bytes).unwrap();
    let Value::Object(obj) = &v.as_list().unwrap()[0] else { panic!("expected an opaque object, got {v:?}") };
    assert_eq!(v.as_list().unwrap()[0].describe(), "object built by mymod.Thing");
    assert_eq!(obj.args, Value::Tuple(Vec::new().into()));
    let state = obj.state.as_ref().and_then(Value::as_dict).expect("dict state");
    assert_eq!(state.get_str("x"), Some(&Value::Int(1)));

    // NEWOBJ of an unknown class, and a bare global as a value.
    let mut p = crate::pickle_support::PickleAsm::new();
    p.global("mymod", "Thing").op(b')').op(0x81).op(b'.');
    let v = pickle::from_slice(&p.bytes).unwrap();
    assert!(matches!(v, Value::Object(_)), "{v:?}");
    let mut p = crate::pickle_support::PickleAsm::new();
    p.global("os", "system").op(b'.');
    assert_eq!(pickle::from_slice(&p.bytes).unwrap().describe(), "global os.system");

    // Appending to an opaque object cannot be represented.
    let mut p = crate::pickle_support::PickleAsm::new();
    p.global("mymod", "Thing").op(b')').op(b'R').int(1).op(b'a').op(b'.');
    let e = parse_err(&p.bytes);
    assert!(e.message.contains("cannot append to a object built by mymod.Thing"), "{e}");
}

#[test]
fn persistent_ids_that_are_not_torch_storages_stay_opaque() {
    let v = pickle::from_slice(b"\x80\x02K\x05Q.").unwrap();
    assert_eq!(v, Value::PersistentId(Value::Int(5).into()));
    let v = pickle::from_slice(b"P42\n.").unwrap();
    assert_eq!(v, Value::PersistentId(Value::Str("42".into()).into()));
}

#[test]
fn numpy_misuse_is_reported() {
    // _reconstruct without the BUILD that gives the array its data.
    let mut p = crate::pickle_support::PickleAsm::new();
    p.global("numpy.core.multiarray", "_reconstruct")
        .global("numpy", "ndarray")
        .int(0)
        .op(0x85)
        .op(b'U')
        .op(1)
        .op(b'b')
        .op(0x87)
        .op(b'R')
        .op(b'.');
    let e = parse_err(&p.bytes);
    assert!(e.message.contains("never received its data"), "{e}");

    // A dtype spec we do not know.
    let mut p = crate::pickle_support::PickleAsm::new();
    p.global("numpy", "dtype").unicode("z9").op(0x85).op(b'R').op(b'.');
    let e = parse_err(&p.bytes);
    assert!(e.message.contains("unsupported numpy dtype"), "{e}");
}

#[test]
fn dict_helpers_match_python_lookups() {
    // str and Python-2 bytes keys, and 1 / 1.0 as one key (first position, last value),
    // as Python's dict gives.
    let v = pickle::from_slice(
        b"\x80\x02}(U\x06ParamsK\x01X\x01\x00\x00\x00kK\x02K\x01K\x04G?\xf0\x00\x00\x00\x00\x00\x00K\x05u.",
    )
    .unwrap();
    let d = v.as_dict().unwrap();
    assert_eq!(d.len(), 3, "{d:?}");
    assert_eq!(d.get_str("Params"), Some(&Value::Int(1)));
    assert_eq!(d.get_str("k"), Some(&Value::Int(2)));
    assert_eq!(d.get_int(1), Some(&Value::Int(5)));
    assert_eq!(d.pairs()[2].0, Value::Int(1));
    assert_eq!(d.get_str("params"), None);
}

#[test]
fn output_of_the_crate_pickle_writer_reads_back() {
    use elmbench::pickle::writer::{NumpyDtype as WriterDtype, PickleWriter};
    let mut w = PickleWriter::new(Vec::new()).unwrap();
    w.empty_dict().unwrap();
    w.mark().unwrap();
    w.str("ints").unwrap();
    w.empty_list().unwrap();
    w.mark().unwrap();
    for v in [0, 255, 256, 65536, -1, i64::MIN] {
        w.int(v).unwrap();
    }
    w.appends().unwrap();
    w.str("spikes").unwrap();
    w.empty_list().unwrap();
    w.mark().unwrap();
    w.numpy_int64(-7).unwrap();
    w.numpy_int64(1 << 40).unwrap();
    w.appends().unwrap();
    w.str("soma").unwrap();
    let halves: Vec<u8> = [0x3c00u16, 0xc100].iter().flat_map(|b| b.to_le_bytes()).collect();
    w.numpy_array(WriterDtype::Float16, 2, &halves).unwrap();
    w.str("misc").unwrap();
    w.empty_dict().unwrap();
    w.mark().unwrap();
    w.float(-0.5).unwrap();
    w.none().unwrap();
    w.bool(true).unwrap();
    w.str("ints").unwrap();
    w.set_items().unwrap();
    w.set_items().unwrap();
    let bytes = w.finish().unwrap();

    let v = pickle::from_slice(&bytes).unwrap_or_else(|e| panic!("{e}"));
    let d = v.as_dict().unwrap();
    let ints: Vec<i64> = d.get_str("ints").unwrap().as_list().unwrap().iter().map(|x| x.as_i64().unwrap()).collect();
    assert_eq!(ints, [0, 255, 256, 65536, -1, i64::MIN]);
    let spikes: Vec<i64> =
        d.get_str("spikes").unwrap().as_list().unwrap().iter().map(|x| x.as_i64().unwrap()).collect();
    assert_eq!(spikes, [-7, 1 << 40]);
    let soma = d.get_str("soma").unwrap().as_ndarray().unwrap().to_tensor_data().unwrap();
    assert_eq!(soma.to_f32().unwrap(), [1.0, -2.5]);
    // misc: {-0.5: None, True: b'ints'}
    let misc = d.get_str("misc").unwrap().as_dict().unwrap();
    assert_eq!(misc.pairs()[0], (Value::Float(-0.5), Value::None));
    assert!(misc.get_int(1).unwrap().text_eq("ints"));
}
