//! The HDF5 writer round trip: a file in the SHD layout (plus the cases the layout does not
//! exercise: an empty sequence, a sequence bigger than a heap collection, a group of more than
//! one symbol-table node, 2-D and signed data) read back exactly by the pure-Rust `hdf5-reader`
//! and, where available, by h5py; and the h5py-made fixture rewritten with its types intact.

use crate::h5_support::{array, python_with_h5py, run_python, vlen_u16};
use crate::support::fixture;
use elmbench::formats::hdf5_writer::{F16Bits, Hdf5Writer, Scalar};
use elmbench::io::float16::f32_to_f16;
use hdf5_reader::{Datatype, Hdf5File, StringEncoding, VarLenKind};
use std::io::BufWriter;
use std::path::Path;

const KEYS: [&str; 20] = [
    "english-zero",
    "english-one",
    "english-two",
    "english-three",
    "english-four",
    "english-five",
    "english-six",
    "english-seven",
    "english-eight",
    "english-nine",
    "german-null",
    "german-eins",
    "german-zwei",
    "german-drei",
    "german-vier",
    "german-fuenf",
    "german-sechs",
    "german-sieben",
    "german-acht",
    "german-neun",
];

/// What the test file holds.
struct Content {
    /// float16 bit patterns.
    times: Vec<Vec<u16>>,
    units: Vec<Vec<u16>>,
    labels: Vec<u16>,
    speaker: Vec<u16>,
    gender: Vec<String>,
    age: Vec<u16>,
    height: Vec<f32>,
    matrix: Vec<f64>,
    signed: Vec<i64>,
    many: Vec<String>,
}

fn content() -> Content {
    let bits = |seconds: &[f32]| seconds.iter().map(|&s| f32_to_f16(s)).collect::<Vec<u16>>();
    // Sample 0: a spike repeated three times, one past 1 s; sample 1 empty; sample 2 larger than
    // a heap collection (256 KiB); sample 3 a single spike at 0.
    let big: Vec<f32> = (0..150_000).map(|i| (i % 1400) as f32 * 1e-3).collect();
    let times = vec![bits(&[0.0123, 0.0123, 0.0123, 0.5, 1.25]), vec![], bits(&big), bits(&[0.0])];
    let units = vec![vec![17, 17, 17, 699, 0], vec![], (0..150_000).map(|i| (i % 700) as u16).collect(), vec![3]];
    Content {
        times,
        units,
        labels: vec![9, 19, 0, 10],
        speaker: vec![4, 5, 0, 11],
        gender: (0..12).map(|i| if i % 2 == 0 { "female" } else { "male" }.to_string()).collect(),
        age: (20..32).collect(),
        height: (0..12).map(|i| 160.0 + 2.5 * i as f32).collect(),
        matrix: vec![0.5, -1.0, 1e300, f64::MIN_POSITIVE, 0.0, -0.0],
        signed: vec![i64::MIN, -1, 0, i64::MAX],
        many: (0..20).map(|i| format!("member_{i:02}")).collect(),
    }
}

fn write(path: &Path, c: &Content) {
    let file = std::fs::File::create(path).unwrap();
    let mut w = Hdf5Writer::new(BufWriter::new(file)).unwrap();
    let mut times = Vec::new();
    let mut units = Vec::new();
    for (t, u) in c.times.iter().zip(&c.units) {
        let t: Vec<F16Bits> = t.iter().map(|&b| F16Bits(b)).collect();
        times.push(w.put_sequence(&t).unwrap());
        units.push(w.put_sequence(u).unwrap());
    }
    w.add_vlen_sequences("spikes/times", Scalar::F16, &times).unwrap();
    w.add_vlen_sequences("spikes/units", Scalar::U16, &units).unwrap();
    w.add_scalars("labels", &c.labels).unwrap();
    w.add_scalars("extra/speaker", &c.speaker).unwrap();
    w.add_vlen_strings("extra/keys", &KEYS).unwrap();
    let gender: Vec<&str> = c.gender.iter().map(String::as_str).collect();
    w.add_vlen_strings("extra/meta_info/gender", &gender).unwrap();
    w.add_scalars("extra/meta_info/age", &c.age).unwrap();
    w.add_scalars("extra/meta_info/body_height", &c.height).unwrap();
    w.add_scalars_shaped("matrix", &[2, 3], &c.matrix).unwrap();
    w.add_scalars("signed", &c.signed).unwrap();
    w.create_group("empty_group").unwrap();
    w.add_scalars::<u16>("empty_group_sibling/no_values", &[]).unwrap();
    w.add_vlen_sequences("empty_group_sibling/no_sequences", Scalar::U16, &[]).unwrap();
    for (i, name) in c.many.iter().enumerate() {
        w.add_scalars(&format!("many/{name}"), &[i as u8]).unwrap();
    }
    w.finish().unwrap();
}

#[test]
fn round_trip_through_hdf5_reader() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("roundtrip.h5");
    let c = content();
    write(&path, &c);
    let f = Hdf5File::open(&path).unwrap();

    let times = f.dataset("spikes/times").unwrap();
    let Datatype::VarLen { base, kind: VarLenKind::Sequence, .. } = times.dtype() else {
        panic!("spikes/times has type {:?}", times.dtype())
    };
    assert!(matches!(**base, Datatype::FloatingPoint { size: 2, .. }), "{base:?}");
    assert_eq!(times.shape(), &[4]);
    assert_eq!(vlen_u16(&f, "spikes/times"), c.times);
    assert_eq!(vlen_u16(&f, "spikes/units"), c.units);
    assert_eq!(array::<u16>(&f, "labels"), c.labels);
    assert_eq!(array::<u16>(&f, "extra/speaker"), c.speaker);
    assert_eq!(array::<u16>(&f, "extra/meta_info/age"), c.age);
    assert_eq!(array::<f32>(&f, "extra/meta_info/body_height"), c.height);
    assert_eq!(array::<i64>(&f, "signed"), c.signed);
    let matrix = f.dataset("matrix").unwrap();
    assert_eq!(matrix.shape(), &[2, 3]);
    let values: Vec<f64> = matrix.read_array::<f64>().unwrap().iter().copied().collect();
    assert_eq!(
        values.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        c.matrix.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );

    let keys = f.dataset("extra/keys").unwrap();
    assert!(
        matches!(keys.dtype(), Datatype::VarLen { kind: VarLenKind::String, encoding: StringEncoding::Utf8, .. }),
        "{:?}",
        keys.dtype()
    );
    assert_eq!(keys.read_strings().unwrap(), KEYS);
    assert_eq!(f.dataset("extra/meta_info/gender").unwrap().read_strings().unwrap(), c.gender);

    let (groups, datasets) = f.root_group().unwrap().member_names().unwrap();
    assert_eq!(groups, ["empty_group", "empty_group_sibling", "extra", "many", "spikes"]);
    assert_eq!(array::<u16>(&f, "empty_group_sibling/no_values"), Vec::<u16>::new());
    assert_eq!(vlen_u16(&f, "empty_group_sibling/no_sequences"), Vec::<Vec<u16>>::new());
    assert_eq!(datasets, ["labels", "matrix", "signed"]);
    let (_, many) = f.group("many").unwrap().member_names().unwrap();
    assert_eq!(many, c.many);
    for (i, name) in c.many.iter().enumerate() {
        assert_eq!(array::<u8>(&f, &format!("many/{name}")), [i as u8]);
    }
    assert_eq!(f.group("empty_group").unwrap().member_names().unwrap(), (vec![], vec![]));
}

/// Reads `argv[1]` with h5py and compares every value and type with the JSON in `argv[2]`.
const H5PY_ROUND_TRIP: &str = r#"
import json, sys
import h5py, numpy as np
expected = json.load(open(sys.argv[2]))
with h5py.File(sys.argv[1], "r") as f:
    assert f.libver[0] == "earliest", f.libver
    times, units = f["spikes/times"], f["spikes/units"]
    assert h5py.check_vlen_dtype(times.dtype) == np.dtype("<f2"), times.dtype
    assert h5py.check_vlen_dtype(units.dtype) == np.dtype("<u2"), units.dtype
    assert times.shape == (len(expected["times"]),) and units.shape == times.shape
    all_times, all_units = times[:], units[:]
    for i, (bits, unit) in enumerate(zip(expected["times"], expected["units"])):
        assert times[i].dtype == np.float16 and units[i].dtype == np.uint16
        assert times[i].view(np.uint16).tolist() == bits, f"times[{i}]"
        assert all_times[i].view(np.uint16).tolist() == bits, f"times[:][{i}]"
        assert units[i].tolist() == unit and all_units[i].tolist() == unit, f"units[{i}]"
    for name in ["labels", "extra/speaker", "extra/meta_info/age"]:
        assert f[name].dtype == np.uint16, (name, f[name].dtype)
    assert f["labels"][:].tolist() == expected["labels"]
    assert f["extra/speaker"][:].tolist() == expected["speaker"]
    assert f["extra/meta_info/age"][:].tolist() == expected["age"]
    height = f["extra/meta_info/body_height"]
    assert height.dtype == np.float32 and height[:].tolist() == expected["height"]
    for name, values in [("extra/keys", expected["keys"]), ("extra/meta_info/gender", expected["gender"])]:
        info = h5py.check_string_dtype(f[name].dtype)
        assert info is not None and info.encoding == "utf-8" and info.length is None, (name, f[name].dtype)
        assert [s.decode("utf-8") for s in f[name][:]] == values, name
    matrix = f["matrix"]
    assert matrix.dtype == np.float64 and matrix.shape == (2, 3)
    assert matrix[:].reshape(-1).view(np.uint64).tolist() == expected["matrix_bits"]
    assert f["signed"].dtype == np.int64 and f["signed"][:].tolist() == expected["signed"]
    assert list(f["many"].keys()) == expected["many"]
    assert [int(f["many"][n][0]) for n in expected["many"]] == list(range(len(expected["many"])))
    assert len(f["empty_group"]) == 0
    empty = f["empty_group_sibling"]
    assert empty["no_values"].shape == (0,) and empty["no_values"].dtype == np.uint16 and empty["no_values"][:].tolist() == []
    assert empty["no_sequences"].shape == (0,) and h5py.check_vlen_dtype(empty["no_sequences"].dtype) == np.dtype("<u2")
    assert sorted(f.keys()) == ["empty_group", "empty_group_sibling", "extra", "labels", "many", "matrix", "signed", "spikes"]
print("h5py read back every value")
"#;

#[test]
fn round_trip_through_h5py() {
    let Some(python) = python_with_h5py("the HDF5 writer round trip") else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("roundtrip.h5");
    let c = content();
    write(&path, &c);
    let expected = serde_json::json!({
        "times": c.times, "units": c.units, "labels": c.labels, "speaker": c.speaker, "keys": KEYS,
        "gender": c.gender, "age": c.age, "height": c.height,
        "matrix_bits": c.matrix.iter().map(|v| v.to_bits()).collect::<Vec<u64>>(),
        "signed": c.signed, "many": c.many,
    });
    let expected_path = dir.path().join("expected.json");
    std::fs::write(&expected_path, expected.to_string()).unwrap();
    let out = run_python(&python, H5PY_ROUND_TRIP, &[&path, &expected_path]);
    assert!(out.contains("h5py read back every value"), "{out}");
}

/// The fixture (written by h5py) read with hdf5-reader and written again with our writer.
fn rewrite_fixture(dst: &Path) {
    let f = Hdf5File::open(fixture("shd/shd_fixture.h5")).unwrap();
    let file = std::fs::File::create(dst).unwrap();
    let mut w = Hdf5Writer::new(BufWriter::new(file)).unwrap();
    let times: Vec<_> = vlen_u16(&f, "spikes/times")
        .iter()
        .map(|t| w.put_sequence(&t.iter().map(|&b| F16Bits(b)).collect::<Vec<_>>()).unwrap())
        .collect();
    let units: Vec<_> = vlen_u16(&f, "spikes/units").iter().map(|u| w.put_sequence(u).unwrap()).collect();
    w.add_vlen_sequences("spikes/times", Scalar::F16, &times).unwrap();
    w.add_vlen_sequences("spikes/units", Scalar::U16, &units).unwrap();
    w.add_scalars("labels", &array::<u16>(&f, "labels")).unwrap();
    w.add_scalars("extra/speaker", &array::<u16>(&f, "extra/speaker")).unwrap();
    for name in ["extra/keys", "extra/meta_info/gender"] {
        let strings = f.dataset(name).unwrap().read_strings().unwrap();
        w.add_vlen_strings(name, &strings.iter().map(String::as_str).collect::<Vec<_>>()).unwrap();
    }
    w.add_scalars("extra/meta_info/age", &array::<u16>(&f, "extra/meta_info/age")).unwrap();
    w.add_scalars("extra/meta_info/body_height", &array::<f32>(&f, "extra/meta_info/body_height")).unwrap();
    w.finish().unwrap();
}

/// Compares every dataset of two files: the HDF5 type (class, size, sign, order, vlen base,
/// string encoding and padding), the h5py dtype, the shape, and the values.
const H5PY_SAME_AS_FIXTURE: &str = r#"
import sys
import h5py, numpy as np
def describe(t):
    d = [t.get_class(), t.get_size()]
    if isinstance(t, h5py.h5t.TypeIntegerID): d += [t.get_sign(), t.get_order()]
    if isinstance(t, h5py.h5t.TypeFloatID): d += [t.get_order(), t.get_fields(), t.get_ebias(), t.get_norm()]
    if isinstance(t, h5py.h5t.TypeStringID): d += [t.is_variable_str(), t.get_cset(), t.get_strpad()]
    if isinstance(t, h5py.h5t.TypeVlenID): d += ["vlen of", describe(t.get_super())]
    return d
def items(f):
    out = {}
    f.visititems(lambda name, obj: out.__setitem__(name, obj))
    return out
with h5py.File(sys.argv[1], "r") as a, h5py.File(sys.argv[2], "r") as b:
    ia, ib = items(a), items(b)
    assert sorted(ia) == sorted(ib), (sorted(ia), sorted(ib))
    for name, x in ia.items():
        y = ib[name]
        assert type(x) == type(y), name
        if not isinstance(x, h5py.Dataset):
            continue
        assert describe(x.id.get_type()) == describe(y.id.get_type()), (name, describe(x.id.get_type()), describe(y.id.get_type()))
        assert x.dtype == y.dtype and x.dtype.metadata == y.dtype.metadata, (name, x.dtype, y.dtype)
        assert x.shape == y.shape and x.maxshape == y.maxshape, name
        for i in range(x.shape[0]):
            vx, vy = x[i], y[i]
            if isinstance(vx, np.ndarray):
                assert vx.dtype == vy.dtype and vx.tobytes() == vy.tobytes(), (name, i)
            else:
                assert vx == vy, (name, i, vx, vy)
print("same types and values as the fixture")
"#;

#[test]
fn rewriting_the_h5py_fixture_keeps_its_types_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rewritten.h5");
    rewrite_fixture(&path);
    let (a, b) = (Hdf5File::open(fixture("shd/shd_fixture.h5")).unwrap(), Hdf5File::open(&path).unwrap());
    for name in ["spikes/times", "spikes/units"] {
        assert_eq!(vlen_u16(&a, name), vlen_u16(&b, name), "{name}");
        assert_eq!(a.dataset(name).unwrap().dtype(), b.dataset(name).unwrap().dtype(), "{name}");
    }
    for name in ["labels", "extra/speaker", "extra/keys", "extra/meta_info/age", "extra/meta_info/body_height"] {
        assert_eq!(a.dataset(name).unwrap().dtype(), b.dataset(name).unwrap().dtype(), "{name}");
    }
    assert_eq!(array::<u16>(&a, "labels"), array::<u16>(&b, "labels"));

    let Some(python) = python_with_h5py("the rewritten SHD fixture") else { return };
    let out = run_python(&python, H5PY_SAME_AS_FIXTURE, &[&fixture("shd/shd_fixture.h5"), &path]);
    assert!(out.contains("same types and values as the fixture"), "{out}");
}
