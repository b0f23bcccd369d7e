//! The official SHD binning (`tasks::shd::Binning`) against numpy: the counts the official Python
//! binning gives for the fixture (`expected_binned.safetensors`), and numpy's own arange and
//! digitize (`binning_cases.json`, made by `fixtures/shd/make_binning_cases.py`). Then binned
//! samples as a sparse batch, alone and concatenated in time (SHD-Adding).

use crate::support::{fixture, TensorFile};
use elmbench::engine::SparseSequences;
use elmbench::tasks::shd::{
    append_sequence, empty_batch, numpy_arange, numpy_digitize, BinScratch, BinnedSample, Binning, ShdFile, ShdSample,
    SpikeTimes, NUM_UNITS,
};
use serde_json::Value;
use std::path::PathBuf;

fn shd(name: &str) -> PathBuf {
    fixture(&format!("shd/{name}"))
}

fn hex_f64(v: &Value) -> f64 {
    let text = v.as_str().expect("a float.hex string");
    parse_float_hex(text).unwrap_or_else(|| panic!("bad float.hex `{text}`"))
}

/// Parses Python's `float.hex()` output (`-0x1.8p-3`, `0x0.0p+0`, `inf`, `nan`).
fn parse_float_hex(text: &str) -> Option<f64> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let magnitude = match rest {
        "inf" => f64::INFINITY,
        "nan" => f64::NAN,
        _ => {
            let rest = rest.strip_prefix("0x")?;
            let (mantissa, exponent) = rest.split_once('p')?;
            let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
            let mut bits = u64::from_str_radix(int, 16).ok()?;
            for c in frac.chars() {
                bits = bits * 16 + c.to_digit(16)? as u64;
            }
            let exponent: i32 = exponent.parse().ok()?;
            // Python prints at most 13 fraction digits: 52 bits, so `bits` is exact in an f64.
            bits as f64 * 2f64.powi(exponent - 4 * frac.len() as i32)
        }
    };
    Some(if negative { -magnitude } else { magnitude })
}

fn cases() -> Value {
    let text = std::fs::read_to_string(shd("binning_cases.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// (sample, step, unit, count) of every non-zero, in order.
fn entries_of(binned: &[BinnedSample]) -> Vec<(usize, usize, usize, f32)> {
    binned
        .iter()
        .enumerate()
        .flat_map(|(k, b)| b.entries().iter().map(move |e| (k, e.step as usize, e.unit as usize, e.count as f32)))
        .collect()
}

#[test]
fn shd_binning_reproduces_the_official_counts() {
    let expected = TensorFile::load("shd/expected_binned.safetensors");
    for name in ["shd_fixture.h5", "shd_fixture_chunked_gzip.h5"] {
        let file = ShdFile::read(&shd(name)).unwrap();
        for bin_ms in [1, 2, 10, 100] {
            let binning = Binning::new(bin_ms).unwrap();
            let shape = expected.i64(&format!("binned_{bin_ms}ms_shape"));
            assert_eq!(shape, vec![24, binning.steps() as i64, NUM_UNITS as i64], "{name} {bin_ms} ms");
            let binned = binning.bin_all(file.samples());
            let index = expected.i32_triples(&format!("binned_{bin_ms}ms_index"));
            let count = expected.f32(&format!("binned_{bin_ms}ms_count"));
            let want: Vec<(usize, usize, usize, f32)> =
                index.iter().zip(&count).map(|(&(b, t, u), &c)| (b, t, u, c)).collect();
            assert_eq!(entries_of(&binned), want, "{name} at {bin_ms} ms");
            if bin_ms == 10 {
                // Sample 0's spike repeated three times at 0.0123 s on unit 17 counts 3.
                let triple = binned[0].entries().iter().find(|e| e.step == 1 && e.unit == 17).unwrap();
                assert_eq!(triple.count, 3);
            }
        }
    }
}

#[test]
fn shd_edges_equal_numpy_arange_for_every_bin_size() {
    let cases = cases();
    let arange = cases["arange"].as_array().unwrap();
    assert_eq!(arange.len(), 1000);
    for row in arange {
        let bin_ms = row[0].as_u64().unwrap() as u32;
        let binning = Binning::new(bin_ms).unwrap();
        let edges = binning.edges();
        assert_eq!(edges.len() as u64, row[1].as_u64().unwrap(), "{bin_ms} ms: len(edges)");
        assert_eq!(*edges.last().unwrap(), hex_f64(&row[2]), "{bin_ms} ms: last edge");
        let xor = edges.iter().fold(0u64, |x, e| x ^ e.to_bits());
        assert_eq!(format!("{xor:016x}"), row[3].as_str().unwrap(), "{bin_ms} ms: the edges' bits");
        assert_eq!(binning.steps(), edges.len() - 1);
        if 1000 % bin_ms == 0 {
            assert_eq!(binning.steps() as u32, 1000 / bin_ms, "{bin_ms} ms divides a second");
        }
    }
    for row in cases["arange_general"].as_array().unwrap() {
        let (start, stop, step) = (hex_f64(&row[0]), hex_f64(&row[1]), hex_f64(&row[2]));
        let want: Vec<f64> = row[3].as_array().unwrap().iter().map(hex_f64).collect();
        assert_eq!(numpy_arange(start, stop, step), want, "np.arange({start}, {stop}, {step})");
    }
}

#[test]
fn shd_steps_equal_numpy_digitize_on_every_float16_time() {
    let cases = cases();
    for (bin_ms, changes) in cases["digitize_f16"].as_object().unwrap() {
        let binning = Binning::new(bin_ms.parse().unwrap()).unwrap();
        let changes: Vec<(u16, usize)> = changes
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c[0].as_u64().unwrap() as u16, c[1].as_u64().unwrap() as usize))
            .collect();
        let mut next = 0;
        let mut index = 0;
        for bits in 0u16..0x7c00 {
            if next < changes.len() && changes[next].0 == bits {
                index = changes[next].1;
                next += 1;
            }
            let t = SpikeTimes::F16(std::slice::from_ref(&bits)).get(0);
            let want = (index < binning.steps()).then_some(index);
            assert_eq!(binning.step_of(t), want, "{bin_ms} ms, float16 {bits:#06x} = {t} s");
            assert_eq!(numpy_digitize(t, binning.edges()) - 1, index, "{bin_ms} ms, {t} s");
        }
        assert_eq!(next, changes.len());

        // The same through a sample, which bins float16 times by table: spikes per step agree.
        let all: Vec<u16> = (0u16..0x7c00).chain([0x8000, 0x8001, 0x7c00, 0x7e00]).collect();
        let units: Vec<u16> = all.iter().map(|&b| b % 700).collect();
        let sample = ShdSample { index: 0, times: SpikeTimes::F16(&all), units: &units, label: 0, speaker: None };
        let mut per_step = vec![0u64; binning.steps()];
        for e in binning.bin(&sample).entries() {
            per_step[e.step as usize] += e.count as u64;
        }
        let mut want = vec![0u64; binning.steps()];
        for &bits in &all {
            if let Some(step) = binning.step_of(SpikeTimes::F16(&[bits]).get(0)) {
                want[step] += 1;
            }
        }
        assert_eq!(per_step, want, "{bin_ms} ms");
        assert_eq!(want[0], changes.get(1).map_or(0x7c00, |c| c.0 as u64) + 1, "-0.0 counts in step 0");
    }
}

#[test]
fn shd_steps_equal_numpy_digitize_around_edges() {
    let cases = cases();
    let mut checked = 0;
    for row in cases["digitize_points"].as_array().unwrap() {
        let binning = Binning::new(row[0].as_u64().unwrap() as u32).unwrap();
        let t = hex_f64(&row[2]);
        let index = row[3].as_i64().unwrap() as usize;
        let want = (index < binning.steps()).then_some(index);
        // The times as the file type they came from, binned through a sample as a reader gives it.
        let (t32, t64) = ([t as f32], [t]);
        let times = match row[1].as_str().unwrap() {
            "f32" => SpikeTimes::F32(&t32),
            _ => SpikeTimes::F64(&t64),
        };
        assert_eq!(times.get(0), t, "{row}: the time is exact in its type");
        let sample = ShdSample { index: 0, times, units: &[5], label: 0, speaker: None };
        let binned = binning.bin(&sample);
        let got = binned.entries().first().map(|e| e.step as usize);
        assert_eq!(got, want, "{row}");
        assert_eq!(binning.step_of(t), want, "{row}");
        checked += 1;
    }
    assert!(checked > 400);
}

/// The dense (batch, time, 700) tensor a batch of parts describes.
fn dense_of(parts: &[Vec<(usize, &BinnedSample)>], time: usize) -> Vec<f32> {
    let mut dense = vec![0.0; parts.len() * time * NUM_UNITS];
    for (b, sequence) in parts.iter().enumerate() {
        for &(offset, sample) in sequence {
            for e in sample.entries() {
                dense[(b * time + offset + e.step as usize) * NUM_UNITS + e.unit as usize] = e.count as f32;
            }
        }
    }
    dense
}

fn assert_rows_sorted(batch: &SparseSequences) {
    assert_eq!(batch.row_start.len(), batch.batch * batch.time + 1);
    for r in 0..batch.batch * batch.time {
        let features: Vec<usize> = batch.row(r).map(|(f, _)| f).collect();
        assert!(features.windows(2).all(|w| w[0] < w[1]), "row {r}: {features:?}");
    }
}

#[test]
fn shd_batches_hold_binned_samples_alone_and_in_pairs() {
    let file = ShdFile::read(&shd("shd_fixture.h5")).unwrap();
    let binning = Binning::new(10).unwrap();
    let steps = binning.steps();
    let mut scratch = BinScratch::default();
    let mut binned = vec![BinnedSample::default(); 8];
    for (k, out) in binned.iter_mut().enumerate() {
        binning.bin_into(&file.sample(k), &mut scratch, out);
    }

    // SHD: one sample per sequence; the dense form equals each sample's own dense counts.
    let mut batch = empty_batch(steps);
    for sample in &binned {
        append_sequence(&mut batch, &[(0, sample)]).unwrap();
    }
    assert_eq!((batch.batch, batch.time, batch.features), (8, steps, NUM_UNITS));
    assert_rows_sorted(&batch);
    let singles: Vec<f32> = binned.iter().flat_map(|b| b.to_dense()).collect();
    assert_eq!(batch.to_dense(), singles);

    // SHD-Adding: sample 2i in steps 0..T, sample 2i+1 in T..2T, as np.concatenate(axis=-2).
    let pairs: Vec<Vec<(usize, &BinnedSample)>> =
        (0..4).map(|i| vec![(0, &binned[2 * i]), (steps, &binned[2 * i + 1])]).collect();
    let mut adding = empty_batch(2 * steps);
    for pair in &pairs {
        append_sequence(&mut adding, pair).unwrap();
    }
    assert_rows_sorted(&adding);
    assert_eq!(adding.to_dense(), dense_of(&pairs, 2 * steps));
    let nnz: usize = binned.iter().map(|b| b.entries().len()).sum();
    assert_eq!(adding.nnz(), nnz);
    // Row T of pair 0 is the first step of sample 1.
    let first: Vec<(usize, f32)> = adding.row(steps).collect();
    let want: Vec<(usize, f32)> =
        binned[1].entries().iter().filter(|e| e.step == 0).map(|e| (e.unit as usize, e.count as f32)).collect();
    assert_eq!(first, want);
}

#[test]
fn shd_batch_refuses_parts_that_do_not_fit() {
    let file = ShdFile::read(&shd("shd_fixture.h5")).unwrap();
    let binning = Binning::new(100).unwrap();
    let sample = binning.bin(&file.sample(0));
    let mut batch = empty_batch(15);
    let e = append_sequence(&mut batch, &[(0, &sample), (5, &sample)]).unwrap_err().to_string();
    assert!(e.contains("part 1 starts at step 5, inside the part before it (which ends at 10)"), "{e}");
    let e = append_sequence(&mut batch, &[(6, &sample)]).unwrap_err().to_string();
    assert!(e.contains("part 0 covers steps 6..16, beyond the batch's 15 steps"), "{e}");
    assert_eq!((batch.batch, batch.row_start.len()), (0, 1), "a refused sequence adds nothing");
    // A gap before a part is empty rows.
    append_sequence(&mut batch, &[(5, &sample)]).unwrap();
    assert_eq!(batch.to_dense()[..5 * NUM_UNITS], vec![0.0; 5 * NUM_UNITS][..]);
    assert_eq!(batch.to_dense()[5 * NUM_UNITS..], sample.to_dense()[..]);
    let mut wrong = SparseSequences::from_dense(&[0.0; 6], 1, 2, 3);
    let e = append_sequence(&mut wrong, &[(0, &sample)]).unwrap_err().to_string();
    assert!(e.contains("700 features, this one 3"), "{e}");
}

#[test]
fn shd_binning_is_the_same_for_every_time_type() {
    // The fixture's float16 times widened to f32 and f64 bin as the float16 ones do.
    let file = ShdFile::read(&shd("shd_fixture.h5")).unwrap();
    let binning = Binning::new(2).unwrap();
    for k in [0, 5, 23] {
        let sample = file.sample(k);
        let t64 = sample.times.to_f64();
        let t32: Vec<f32> = t64.iter().map(|&t| t as f32).collect();
        let from_f16 = binning.bin(&sample);
        let from_f32 = binning.bin(&ShdSample { times: SpikeTimes::F32(&t32), ..sample });
        let from_f64 = binning.bin(&ShdSample { times: SpikeTimes::F64(&t64), ..sample });
        assert_eq!(from_f16, from_f32, "sample {k}");
        assert_eq!(from_f16, from_f64, "sample {k}");
        let inside = t64.iter().filter(|&&t| t < 1.0).count() as u64;
        assert_eq!(from_f16.spike_count(), inside, "sample {k}: every spike before 1 s counts once");
    }
}
