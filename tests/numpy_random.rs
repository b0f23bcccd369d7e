//! `engine::numpy_random` against numpy itself: every case in
//! `tests/fixtures/numpy_random/numpy_cases.json` (written by `make_numpy_cases.py` next to it,
//! which records the numpy version it ran) must come out equal bit for bit, including the
//! generator's full state after each call.

use elmbench::engine::numpy_random::{NumpyGenerator, Pcg64, Pcg64State, SeedSequence};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::OnceLock;

fn cases() -> &'static Value {
    static CASES: OnceLock<Value> = OnceLock::new();
    CASES.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/numpy_random/numpy_cases.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
    })
}

fn list(v: &Value) -> &Vec<Value> {
    v.as_array().unwrap_or_else(|| panic!("not an array: {v}"))
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

/// Integers beyond JSON's safe range are stored as decimal strings; small ones as numbers.
fn int<T: std::str::FromStr>(v: &Value) -> T
where
    T::Err: std::fmt::Debug,
{
    match v {
        Value::String(s) => s.parse().unwrap_or_else(|e| panic!("not an integer: {s:?}: {e:?}")),
        Value::Number(n) => n.to_string().parse().unwrap_or_else(|e| panic!("not an integer: {n}: {e:?}")),
        other => panic!("not an integer: {other}"),
    }
}

fn ints<T: std::str::FromStr>(v: &Value) -> Vec<T>
where
    T::Err: std::fmt::Debug,
{
    list(v).iter().map(int).collect()
}

/// `np.random.default_rng(seed)` for a fixture seed.
fn generator_for(seed: &Value) -> NumpyGenerator {
    let seed: u64 = int(seed);
    NumpyGenerator::new(seed)
}

fn state_from(v: &Value) -> Pcg64State {
    let state: u128 = int(&v["state"]);
    let inc: u128 = int(&v["inc"]);
    Pcg64State {
        state_high: (state >> 64) as u64,
        state_low: state as u64,
        inc_high: (inc >> 64) as u64,
        inc_low: inc as u64,
        has_uint32: int::<u8>(&v["has_uint32"]) != 0,
        uinteger: int(&v["uinteger"]),
    }
}

fn assert_state(actual: Pcg64State, expected: &Value, what: &str) {
    assert_eq!(actual, state_from(expected), "{what}: generator state differs from numpy's");
}

/// An int64 result: compared whole when stored whole, else by sha256 of its little-endian bytes
/// plus its stored head.
fn assert_i64_array(actual: &[i64], expected: &Value, what: &str) {
    assert_eq!(actual.len(), int::<usize>(&expected["len"]), "{what}: length");
    if let Some(values) = expected.get("values") {
        assert_eq!(actual, ints::<i64>(values).as_slice(), "{what}: values");
        return;
    }
    let head = ints::<i64>(&expected["head"]);
    assert_eq!(&actual[..head.len()], head.as_slice(), "{what}: first elements");
    let bytes: Vec<u8> = actual.iter().flat_map(|v| v.to_le_bytes()).collect();
    let digest: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(digest, text(&expected["sha256"]), "{what}: sha256 of the whole array");
}

#[test]
fn fixture_records_its_numpy_version() {
    let version = text(&cases()["numpy_version"]);
    assert!(version.chars().next().is_some_and(|c| c.is_ascii_digit()), "numpy_version {version:?}");
}

#[test]
fn seed_sequence_matches_numpy() {
    let all = list(&cases()["seed_sequence"]);
    assert!(all.len() >= 4);
    for case in all {
        let seed = text(&case["seed"]);
        let words: Vec<u32> = ints(&case["entropy_words"]);
        let ss = SeedSequence::from_entropy_words(&words);
        assert_eq!(ss.pool().to_vec(), ints::<u32>(&case["pool"]), "pool, seed {seed}");
        assert_eq!(ss.generate_state_u32(9), ints::<u32>(&case["u32x9"]), "u32 state, seed {seed}");
        assert_eq!(ss.generate_state_u64(4), ints::<u64>(&case["u64x4"]), "u64 state, seed {seed}");
        // Seeds that fit the integer constructors go through them too.
        if let Ok(seed) = seed.parse::<u128>() {
            assert_eq!(SeedSequence::from_u128(seed), ss, "from_u128({seed})");
        }
        let from_text = elmbench::engine::numpy_random::seed_words_from_decimal(seed).unwrap();
        assert_eq!(from_text, words, "decimal seed {seed} to words");
    }
    // The brief's reference point: SeedSequence(0).generate_state(4, np.uint64).
    assert_eq!(int::<u64>(&all[0]["seed"]), 0);
}

#[test]
fn pcg64_raw_words_match_numpy() {
    for case in list(&cases()["raw"]) {
        let seed = text(&case["seed"]);
        let words: Vec<u32> = elmbench::engine::numpy_random::seed_words_from_decimal(seed).unwrap();
        let mut pcg = Pcg64::from_seed_sequence(&SeedSequence::from_entropy_words(&words));
        assert_state(pcg.state(), &case["seeded_state"], &format!("seeded PCG64({seed})"));
        let expected: Vec<u64> = ints(&case["raw"]);
        let actual: Vec<u64> = (0..expected.len()).map(|_| pcg.next_u64()).collect();
        assert_eq!(actual, expected, "random_raw, seed {seed}");
        if let Ok(small) = seed.parse::<u64>() {
            assert_eq!(Pcg64::new(small).state(), state_from(&case["seeded_state"]), "Pcg64::new({small})");
        }
    }
}

#[test]
fn random_matches_numpy_bit_for_bit() {
    let case = &cases()["random"];
    let mut rng = generator_for(&case["seed"]);
    let expected: Vec<u64> = ints(&case["bits"]);
    let actual: Vec<u64> = rng.random_vec(expected.len()).iter().map(|x| x.to_bits()).collect();
    assert_eq!(actual, expected);
}

#[test]
fn binomial_matches_numpy() {
    for case in list(&cases()["binomial"]) {
        let n: i64 = int(&case["n"]);
        let p: f64 = text(&case["p"]).parse().unwrap();
        let what = format!("seed {} binomial({n}, {p})", case["seed"]);
        let mut rng = generator_for(&case["seed"]);
        let draws = rng.binomial_vec(n, p, int(&case["result"]["len"])).unwrap();
        if let Some(bits) = case.get("bits") {
            let actual: String = draws.iter().map(|&d| if d == 1 { '1' } else { '0' }).collect();
            assert_eq!(actual, text(bits), "{what}: 0/1 string");
        }
        assert_i64_array(&draws, &case["result"], &what);
        assert_state(rng.state(), &case["state_after"], &what);
    }
}

/// The SHD validation split itself: seed 0, the 8156 SHD training samples, valid_fraction 0.2.
#[test]
fn shd_validation_split_matches_numpy() {
    let case = list(&cases()["binomial"]).iter().find(|c| c["seed"] == 0 && c["n"] == 1).unwrap();
    assert_eq!(int::<usize>(&case["result"]["len"]), 8156);
    let mut rng = NumpyGenerator::new(0);
    let valid: Vec<bool> = (0..8156).map(|_| rng.binomial(1, 0.2).unwrap() == 1).collect();
    let expected: Vec<bool> = text(&case["bits"]).chars().map(|c| c == '1').collect();
    assert_eq!(valid, expected);
}

#[test]
fn integers_match_numpy_across_consecutive_calls() {
    for case in list(&cases()["integers"]) {
        let mut rng = generator_for(&case["seed"]);
        if let Some(scalars) = case.get("scalar_calls") {
            let (low, high) = (int::<i64>(&scalars["low"]), int::<i64>(&scalars["high"]));
            let expected: Vec<i64> = ints(&scalars["values"]);
            let actual: Vec<i64> = expected.iter().map(|_| rng.integers(low, high).unwrap()).collect();
            assert_eq!(actual, expected, "scalar integers({low}, {high})");
            continue;
        }
        for (i, call) in list(&case["calls"]).iter().enumerate() {
            let low: i128 = int(&call["low"]);
            let high: i128 = int(&call["high"]);
            let size: usize = int(&call["result"]["len"]);
            let what = format!("seed {} call {i}: integers({low}, {high}, size={size})", case["seed"]);
            // numpy's high is exclusive and may be 2**63; the closed form reaches it.
            let low = i64::try_from(low).unwrap();
            let last = i64::try_from(high - 1).unwrap();
            let draws: Vec<i64> = if let Ok(high) = i64::try_from(high) {
                rng.integers_vec(low, high, size).unwrap()
            } else {
                (0..size).map(|_| rng.integers_closed(low, last).unwrap()).collect()
            };
            assert_i64_array(&draws, &call["result"], &what);
            assert_state(rng.state(), &call["state_after"], &what);
        }
    }
}

#[test]
fn shuffle_matches_numpy_over_two_epochs() {
    for case in list(&cases()["shuffle"]) {
        let n: i64 = int(&case["n"]);
        let mut rng = generator_for(&case["seed"]);
        let mut index: Vec<i64> = (0..n).collect();
        for (epoch, expected) in list(&case["epochs"]).iter().enumerate() {
            let what = format!("seed {} shuffle(arange({n})) epoch {epoch}", case["seed"]);
            rng.shuffle(&mut index);
            assert_i64_array(&index, &expected["result"], &what);
            assert_state(rng.state(), &expected["state_after"], &what);
        }
    }
}

#[test]
fn mixed_sequence_matches_numpy() {
    let case = &cases()["mixed"];
    let mut rng = generator_for(&case["seed"]);
    for (i, step) in list(&case["ops"]).iter().enumerate() {
        let op = &step["op"];
        let kind = text(&op["kind"]);
        let what = format!("mixed step {i} ({kind})");
        match kind {
            "integers" => {
                let (low, high, size) = (int(&op["low"]), int(&op["high"]), int(&op["size"]));
                assert_i64_array(&rng.integers_vec(low, high, size).unwrap(), &step["result"], &what);
            }
            "random" => {
                let bits: Vec<u64> = rng.random_vec(int(&op["size"])).iter().map(|x| x.to_bits()).collect();
                assert_eq!(bits, ints::<u64>(&step["result"]), "{what}");
            }
            "shuffle" => {
                let mut index: Vec<i64> = (0..int::<i64>(&op["n"])).collect();
                rng.shuffle(&mut index);
                assert_i64_array(&index, &step["result"], &what);
            }
            "binomial" => {
                let p: f64 = text(&op["p"]).parse().unwrap();
                let draws = rng.binomial_vec(int(&op["n"]), p, int(&op["size"])).unwrap();
                assert_i64_array(&draws, &step["result"], &what);
            }
            "raw" => {
                let words: Vec<u64> =
                    (0..int::<usize>(&op["size"])).map(|_| rng.bit_generator_mut().next_u64()).collect();
                assert_eq!(words, ints::<u64>(&step["result"]), "{what}");
            }
            other => panic!("unknown op {other}"),
        }
        assert_state(rng.state(), &step["state_after"], &what);
    }
}

/// A run resumed from a saved mid-stream state (here with a buffered 32-bit half) continues
/// exactly as numpy does, also after a trip through JSON.
#[test]
fn restored_state_continues_like_numpy() {
    let case = &cases()["restore"];
    let state = state_from(&case["state"]);
    assert!(state.has_uint32);
    let saved = serde_json::to_string(&state).unwrap();
    let mut rng = NumpyGenerator::from_state(serde_json::from_str(&saved).unwrap());
    let draws = rng.integers_vec(0, 100, int(&case["integers_0_100"]["len"])).unwrap();
    assert_i64_array(&draws, &case["integers_0_100"], "resumed integers(0, 100)");

    // The same seed, run up to the saved point, reaches that very state.
    let mut fresh = NumpyGenerator::new(99);
    fresh.integers(0, 100).unwrap();
    assert_eq!(fresh.state(), state);
    let mut other = NumpyGenerator::new(1);
    other.set_state(state);
    assert_eq!(other, fresh);
}
