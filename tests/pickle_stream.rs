//! Streaming reads (`pickle::stream_from_reader`): records handed to the consumer as soon as
//! they are finished and then forgotten. Put back in place of their `Value::Streamed` markers,
//! they must give exactly what the whole read gives, for CPython's pickles at every protocol
//! (tests/fixtures/pickle_cases/stream_cases.json, made by make_stream_cases.py) and for the
//! NeuronIO fixture; records that cannot stream safely stay in the tree, and a pickle that uses a
//! released object again is a `StreamError::Reused`, which the NeuronIO reader answers by reading
//! the file whole.

use crate::pickle_support::{neuronio_fixture, PickleAsm};
use crate::support::fixture;
use elmbench::pickle::{self, StreamConsumer, StreamContext, StreamError, Value};
use elmbench::tasks::neuronio::read_neuronio_file;
use elmbench::tasks::neuronio::reader::read_neuronio_file_whole;

/// Keeps every handed-over item, and what `enclosing_value("Params")` showed then.
struct Collect {
    key: &'static str,
    items: Vec<Value>,
    params: Vec<Option<Value>>,
}

impl Collect {
    fn new(key: &'static str) -> Self {
        Collect { key, items: Vec::new(), params: Vec::new() }
    }
}

impl StreamConsumer for Collect {
    fn wants(&mut self, list_key: &str) -> bool {
        list_key == self.key
    }

    fn take(&mut self, index: u64, item: Value, context: &StreamContext<'_>) -> Result<(), String> {
        assert_eq!(index as usize, self.items.len(), "items arrive numbered in order");
        self.params.push(context.enclosing_value("Params")?);
        self.items.push(item);
        Ok(())
    }
}

/// A full rendering of a value, with streamed items put back in place.
fn render(v: &Value, items: &[Value]) -> String {
    let all = |xs: &[Value]| xs.iter().map(|x| render(x, items)).collect::<Vec<_>>().join(",");
    match v {
        Value::Streamed(i) => render(&items[*i as usize], items),
        Value::List(xs) => format!("[{}]", all(xs)),
        Value::Tuple(xs) => format!("({})", all(xs)),
        Value::Set(xs) => format!("set({})", all(xs)),
        Value::Dict(d) => {
            let pairs: Vec<String> =
                d.iter().map(|(k, v)| format!("{}:{}", render(k, items), render(v, items))).collect();
            let attributes = d.attributes().map(|a| render(a, items)).unwrap_or_default();
            format!("{{{}}}{attributes}", pairs.join(","))
        }
        Value::Object(o) => format!(
            "obj({},{},{:?},{:?})",
            render(&o.callable, items),
            render(&o.args, items),
            o.kwargs.as_ref().map(|k| render(k, items)),
            o.state.as_ref().map(|s| render(s, items))
        ),
        Value::PersistentId(p) => format!("pid({})", render(p, items)),
        leaf => format!("{leaf:?}"),
    }
}

fn contains_marker(v: &Value) -> bool {
    match v {
        Value::Streamed(_) => true,
        Value::List(xs) | Value::Tuple(xs) | Value::Set(xs) => xs.iter().any(contains_marker),
        Value::Dict(d) => d.iter().any(|(k, v)| contains_marker(k) || contains_marker(v)),
        _ => false,
    }
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digit")).collect()
}

fn stream_cases() -> Vec<(String, u64, Vec<u8>)> {
    let text = std::fs::read_to_string(fixture("pickle_cases/stream_cases.json")).expect("stream_cases.json");
    let json: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    json["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| {
            let name = c["name"].as_str().expect("name").to_string();
            (name, c["protocol"].as_u64().expect("protocol"), unhex(c["pickle_hex"].as_str().expect("hex")))
        })
        .collect()
}

/// How many records of a case stream (`None`: the pickle uses a released object again).
fn expected_streamed(name: &str, protocol: u64) -> Option<usize> {
    Some(match name {
        "records" => 4,
        "one_record" => 1,
        "single_key_records" => 3,
        // Past the 1000-item batches of CPython's pickler.
        "many_records" => 1002,
        // The list shared by records 0 and 1 is built inside record 0.
        "shared_between_records" | "neuronio_shared_array" => return None,
        // Record 0 holds a list built before the records (it could still change): it stays.
        "older_object_in_records" => 2,
        // The inner records stream; the outer ones then hold markers and stay.
        "nested_records" => 6,
        // The dict is followed by a str in a batch: nothing shows it finished before APPENDS,
        // which takes the str. Protocol 0 appends items one by one.
        "not_dicts" if protocol == 0 => 1,
        "not_dicts" => 0,
        // Only the list under the wanted key.
        "other_key" => 2,
        "empty_records" => 3,
        "neuronio" | "neuronio_results_first" => 3,
        other => panic!("unknown case {other}"),
    })
}

#[test]
fn streamed_records_put_back_equal_the_whole_read() {
    let cases = stream_cases();
    assert!(cases.len() > 60, "{} cases", cases.len());
    for (name, protocol, bytes) in cases {
        let case = format!("{name} (protocol {protocol})");
        let whole = pickle::from_slice(&bytes).unwrap_or_else(|e| panic!("{case}: {e}"));
        let key = if name.starts_with("neuronio") { "listOfSingleSimulationDicts" } else { "records" };
        let mut sink = Collect::new(key);
        let streamed = pickle::stream_from_reader(&bytes[..], Some(bytes.len() as u64), &mut sink);
        match (expected_streamed(&name, protocol), streamed) {
            (Some(n), Ok(value)) => {
                assert_eq!(sink.items.len(), n, "{case}: records streamed");
                assert_eq!(render(&value, &sink.items), render(&whole, &[]), "{case}");
                assert!(!contains_marker(&whole));
                // What the consumer saw of Params is the final Params.
                let params = whole.as_dict().and_then(|d| d.get_str("Params")).cloned();
                let results_first = name == "neuronio_results_first";
                for seen in &sink.params {
                    if results_first {
                        assert_eq!(seen, &None, "{case}: Params comes after the records");
                    } else {
                        assert_eq!(seen, &params, "{case}: Params as the consumer saw it");
                    }
                }
            }
            (None, Err(StreamError::Reused(e))) => {
                assert!(e.message.contains("released after streaming"), "{case}: {e}");
            }
            (expected, got) => panic!("{case}: expected {expected:?} streamed records, got {got:?}"),
        }
    }
}

#[test]
fn the_neuronio_fixture_streams_every_simulation() {
    let path = neuronio_fixture();
    let whole = pickle::from_file(&path).unwrap();
    let mut sink = Collect::new("listOfSingleSimulationDicts");
    let streamed = pickle::stream_file(&path, &mut sink).unwrap();
    assert_eq!(sink.items.len(), 3);
    assert_eq!(render(&streamed, &sink.items), render(&whole, &[]));
    let sims = streamed.as_dict().unwrap().get_str("Results").unwrap().as_dict().unwrap();
    let list = sims.get_str("listOfSingleSimulationDicts").unwrap().as_list().unwrap();
    assert_eq!(list, [Value::Streamed(0), Value::Streamed(1), Value::Streamed(2)]);
    // The reader streams it (no fallback needed) to the same file as the whole read.
    assert_eq!(read_neuronio_file(&path).unwrap(), read_neuronio_file_whole(&path).unwrap());
}

#[test]
fn the_neuronio_reader_handles_what_cannot_stream() {
    let dir = tempfile::tempdir().unwrap();
    for (name, protocol, bytes) in stream_cases().into_iter().filter(|(n, _, _)| n.starts_with("neuronio")) {
        let path = dir.path().join(format!("{name}_{protocol}.p"));
        std::fs::write(&path, &bytes).unwrap();
        let whole = read_neuronio_file_whole(&path).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        assert_eq!((whole.segments, whole.simulations.len()), (2, 3));
        // Results first: simulations wait for Params; a shared array: read again whole.
        assert_eq!(read_neuronio_file(&path).unwrap(), whole, "{name} (protocol {protocol})");
    }
}

/// `{'records': [X, Y]}` at protocol 2 with the given opcodes between X's creation and Y's.
fn two_records(build_x: impl Fn(&mut PickleAsm)) -> Vec<u8> {
    let mut p = PickleAsm::new();
    p.op(b'}').op(b'q').op(0); // top dict, memo 0
    p.unicode("records").op(b']').op(b'(');
    p.op(b'}'); // X
    build_x(&mut p);
    p.op(b'}').unicode("y").int(2).op(b's'); // Y = {'y': 2}
    p.op(b'e').op(b's').op(b'.');
    p.bytes.clone()
}

fn stream(bytes: &[u8], key: &'static str) -> (Result<Value, StreamError>, Collect) {
    let mut sink = Collect::new(key);
    let result = pickle::stream_from_reader(bytes, Some(bytes.len() as u64), &mut sink);
    (result, sink)
}

#[test]
fn a_record_changed_after_it_streamed_is_a_reused_error() {
    // X = {}, then an empty list above it (X is handed over), popped again, and X['k'] = 1.
    let bytes = two_records(|p| {
        p.op(b']').op(b'0').unicode("k").int(1).op(b's');
    });
    assert!(pickle::from_slice(&bytes).is_ok());
    let (result, sink) = stream(&bytes, "records");
    assert_eq!(sink.items.len(), 1);
    match result {
        Err(StreamError::Reused(e)) => assert!(e.message.contains("streaming consumer"), "{e}"),
        other => panic!("expected a reused error, got {other:?}"),
    }
}

#[test]
fn a_record_an_older_object_points_into_stays_in_the_tree() {
    // While X is built, the older top dict (memo 0) gets top['late'] = Z, Z a list of X's.
    let bytes = two_records(|p| {
        p.unicode("a").op(b']').op(b'q').op(1).int(5).op(b'a').op(b's'); // X['a'] = Z = [5], memo 1
        p.op(b'h').op(0).unicode("late").op(b'h').op(1).op(b's').op(b'0'); // top['late'] = Z; pop
    });
    let whole = pickle::from_slice(&bytes).unwrap();
    let (result, sink) = stream(&bytes, "records");
    let value = result.unwrap();
    // Only Y streams; X stays, and Z is intact in both places.
    assert_eq!(sink.items.len(), 1);
    assert_eq!(render(&value, &sink.items), render(&whole, &[]));
    let late = value.as_dict().unwrap().get_str("late").unwrap();
    assert_eq!(late.as_list().unwrap(), [Value::Int(5)]);
}

#[test]
fn a_consumer_error_stops_reading() {
    struct Refuse;
    impl StreamConsumer for Refuse {
        fn wants(&mut self, _: &str) -> bool {
            true
        }
        fn take(&mut self, index: u64, _: Value, _: &StreamContext<'_>) -> Result<(), String> {
            Err(format!("no thanks ({index})"))
        }
    }
    let bytes = two_records(|_| {});
    match pickle::stream_from_reader(&bytes[..], None, &mut Refuse) {
        Err(StreamError::Consumer(e)) => assert!(e.message.contains("no thanks (0)"), "{e}"),
        other => panic!("expected a consumer error, got {other:?}"),
    }
}

#[test]
fn damaged_neuronio_pickles_stream_to_the_same_outcome_or_an_error() {
    // Truncations and byte changes of the fixture: the streaming read never panics, and when it
    // succeeds its records put back equal a successful whole read.
    let original = std::fs::read(neuronio_fixture()).unwrap();
    let mut rng = crate::pickle_support::SplitMix64(0x5eed_0003);
    for variant in 0..120 {
        let mut bytes = original.clone();
        if variant % 4 == 3 {
            bytes.truncate(rng.below(original.len()));
        } else {
            for _ in 0..1 + rng.below(6) {
                let at = rng.below(bytes.len());
                bytes[at] = rng.next_u64() as u8;
            }
        }
        let outcome = std::panic::catch_unwind(|| {
            let (result, sink) = stream(&bytes, "listOfSingleSimulationDicts");
            (result.map(|v| render(&v, &sink.items)), pickle::from_slice(&bytes).map(|v| render(&v, &[])))
        });
        match outcome {
            Err(_) => panic!("variant {variant} panicked"),
            Ok((Ok(streamed), whole)) => assert_eq!(Ok(streamed), whole.map_err(|_| ()), "variant {variant}"),
            Ok((Err(StreamError::Pickle(e)), whole)) => {
                // The same error as the whole read.
                assert_eq!(whole.err(), Some(e), "variant {variant}");
            }
            Ok((Err(_), _)) => {}
        }
    }
}
