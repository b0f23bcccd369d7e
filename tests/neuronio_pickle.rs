//! The NeuronIO fixture (a Python 2 `cPickle` protocol-2 file, see DATASETS.md 1.2) through
//! the pickle VM: the structure a NeuronIO reader walks, and concrete values. Every expected
//! value below was printed by CPython 3.11 + numpy 2.4 with
//! `pickle.load(open(path, "rb"), encoding="latin1")` on the same file.

use crate::pickle_support::neuronio_fixture;
use elmbench::io::DType;
use elmbench::pickle::{self, DtypeKind, NumpyScalar, Value};

fn dict_get<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.as_dict()
        .unwrap_or_else(|| panic!("expected a dict, got {}", v.describe()))
        .get_str(key)
        .unwrap_or_else(|| panic!("no key {key:?}"))
}

fn keys(v: &Value) -> Vec<String> {
    v.as_dict().expect("dict").keys().map(|k| k.as_text().expect("text key").into_owned()).collect()
}

/// The i64 values of a list of numpy int64 scalars.
fn int64_list(v: &Value) -> Vec<i64> {
    v.as_list()
        .expect("list")
        .iter()
        .map(|x| match x {
            Value::NumpyScalar(NumpyScalar::Int { value, itemsize: 8 }) => *value,
            other => panic!("expected a numpy int64, got {other:?}"),
        })
        .collect()
}

#[test]
fn neuronio_fixture_has_the_expected_structure_and_values() {
    let root = pickle::from_file(&neuronio_fixture()).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(keys(&root), ["Params", "Results"]);
    // Python 2 str keys arrive as bytes (the reader leaves decoding to callers).
    assert!(matches!(root.as_dict().unwrap().pairs()[0].0, Value::Bytes(_)));

    let params = dict_get(&root, "Params");
    assert_eq!(
        keys(params),
        [
            "allSegmentsType",
            "allSegments_DistFromSoma",
            "totalSimDurationInSec",
            "numSimulations",
            "randomSeed",
            "excitatorySynapseType",
            "inhibitorySynapseType",
            "numSamplesPerMS_HighRes"
        ]
    );
    let types = dict_get(params, "allSegmentsType").as_list().unwrap();
    assert_eq!(types.len(), 639);
    assert_eq!(types[0].as_text().unwrap(), "basal");
    assert_eq!(types.iter().filter(|t| t.text_eq("apical")).count(), 377);
    let dist = dict_get(params, "allSegments_DistFromSoma").as_list().unwrap();
    assert_eq!(dist[5], Value::Float(14.365203761755486));
    assert_eq!(dict_get(params, "totalSimDurationInSec"), &Value::Int(6));
    assert_eq!(dict_get(params, "randomSeed"), &Value::Int(100523));
    assert_eq!(dict_get(params, "numSamplesPerMS_HighRes"), &Value::Int(8));
    assert!(dict_get(params, "excitatorySynapseType").text_eq("NMDA"));

    let sims = dict_get(dict_get(&root, "Results"), "listOfSingleSimulationDicts").as_list().unwrap();
    assert_eq!(sims.len(), 3);

    // (ex segments, ex spikes, inh segments, inh spikes, sum of ex times, ex[638][..4],
    //  inh[0][..4], output spike f16 bits, soma f16 bits [..3], soma[5999], sum of soma)
    type Expected = (usize, usize, usize, usize, i64, [i64; 4], [i64; 4], &'static [u16], [u16; 3], f32, f64);
    let expected: [Expected; 3] = [
        (
            638,
            5286,
            637,
            3824,
            15949642,
            [682, 1112, 2815, 3484],
            [1826, 2559, 3492, 3854],
            &[24671, 25533, 27738, 27896],
            [54403, 54362, 54375],
            -75.25,
            -430377.15625,
        ),
        (
            639,
            9191,
            639,
            7583,
            27718976,
            [357, 412, 566, 1421],
            [72, 641, 730, 1306],
            &[25433, 25655, 25721, 26000, 26126, 26911, 27609],
            [54291, 54306, 54349],
            -77.9375,
            -430285.1875,
        ),
        (
            639,
            13049,
            639,
            11392,
            38994928,
            [197, 252, 307, 366],
            [249, 550, 1211, 2215],
            &[25237, 26225, 26705, 26793, 26855, 26877, 26880, 27770, 27784, 27975],
            [54311, 54299, 54338],
            -75.6875,
            -430726.09375,
        ),
    ];
    for (sim, e) in sims.iter().zip(expected) {
        assert_eq!(
            keys(sim),
            [
                "exInputSpikeTimes",
                "inhInputSpikeTimes",
                "outputSpikeTimes",
                "somaVoltageLowRes",
                "recordingTimeLowRes",
                "nexusVoltageLowRes"
            ]
        );
        let ex = dict_get(sim, "exInputSpikeTimes").as_dict().unwrap();
        let inh = dict_get(sim, "inhInputSpikeTimes").as_dict().unwrap();
        assert_eq!(ex.len(), e.0);
        assert_eq!(inh.len(), e.2);
        // Keys are numpy int64 scalars, in increasing segment order.
        let ex_keys: Vec<i64> = ex.keys().map(|k| k.as_i64().expect("int key")).collect();
        assert!(ex_keys.windows(2).all(|w| w[0] < w[1]));
        assert!(ex.keys().all(|k| matches!(k, Value::NumpyScalar(NumpyScalar::Int { itemsize: 8, .. }))));
        let ex_spikes: Vec<Vec<i64>> = ex.values().map(int64_list).collect();
        assert_eq!(ex_spikes.iter().map(Vec::len).sum::<usize>(), e.1);
        assert_eq!(ex_spikes.iter().flatten().sum::<i64>(), e.4);
        assert_eq!(inh.values().map(|v| int64_list(v).len()).sum::<usize>(), e.3);
        assert_eq!(int64_list(ex.get_int(638).unwrap())[..4], e.5);
        assert_eq!(int64_list(inh.get_int(0).unwrap())[..4], e.6);

        let out = dict_get(sim, "outputSpikeTimes").as_ndarray().unwrap();
        assert_eq!((out.dtype.kind, out.dtype.itemsize), (DtypeKind::Float, 2));
        let out_bits: Vec<u16> = out.data.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        assert_eq!(out_bits, e.7);

        let soma = dict_get(sim, "somaVoltageLowRes").as_ndarray().unwrap();
        assert_eq!(soma.dtype.descr(), "<f2");
        assert_eq!(soma.shape, [6000]);
        let soma_t = soma.to_tensor_data().unwrap();
        assert_eq!((soma_t.dtype, soma_t.shape.as_slice()), (DType::F16, &[6000][..]));
        let bits: Vec<u16> = soma_t.bytes[..6].chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        assert_eq!(bits, e.8);
        let volts = soma_t.to_f32().unwrap();
        assert_eq!(volts[5999], e.9);
        // f16 -> f64 is exact, so this sum matches numpy's float64 sum up to summation order;
        // it is exact here because every partial sum is a multiple of 2^-10 below 2^43.
        assert_eq!(volts.iter().map(|&v| f64::from(v)).sum::<f64>(), e.10);

        let rec = dict_get(sim, "recordingTimeLowRes").as_ndarray().unwrap().to_tensor_data().unwrap();
        assert_eq!(rec.dtype, DType::F32);
        let rec = rec.to_f32().unwrap();
        assert_eq!((rec[0], rec[1], rec[2], rec[5999]), (0.0, 1.0, 2.0, 5999.0));
    }
    let nexus = dict_get(&sims[0], "nexusVoltageLowRes").as_ndarray().unwrap();
    assert_eq!(nexus.to_tensor_data().unwrap().to_f32().unwrap()[100], -69.9375);
}
