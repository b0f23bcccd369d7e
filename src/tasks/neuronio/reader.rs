//! Reading a NeuronIO file (a Python-2 pickle, DATASETS.md 1.2) into a `NeuronioFile` with the
//! official parser's semantics (`parse_sim_experiment_file`): inputs are boolean (a repeated spike
//! time counts once), excitatory channels first; an output spike at time t (float16 in the file)
//! falls in bin int(t - 0.5); the soma trace is taken as stored.
//!
//! Files are read as a stream: each simulation dict is converted to its compact form as soon as
//! the pickle has finished it, and its Python objects are dropped (`crate::pickle::stream_file`),
//! so memory holds the compact result plus one simulation's objects, not the file's object tree.
//! A file the stream cannot serve (one that refers to a simulation's objects again after it, which
//! no NeuronIO writer does) is read again as a whole, with a warning.
//!
//! Every structural problem is an error naming the file and where in it the problem is.

use super::{NeuronioFile, Simulation};
use crate::io::DType;
use crate::pickle::{Dict, StreamConsumer, StreamContext, StreamError, Value};
use anyhow::{bail, Context, Result};
use std::path::Path;

/// The key of the simulations list in `Results`.
const SIMULATIONS_KEY: &str = "listOfSingleSimulationDicts";

/// Reads and parses a NeuronIO pickle, streaming it.
pub fn read_neuronio_file(path: &Path) -> Result<NeuronioFile> {
    let invalid = || format!("{} is not a valid NeuronIO file", path.display());
    let reason = {
        let mut sink = SimulationSink::default();
        match crate::pickle::stream_file(path, &mut sink) {
            Ok(value) => match sink.resolve(&value) {
                Ok(parsed) => return parsed.with_context(invalid),
                Err(conflict) => conflict,
            },
            Err(e) => match e.downcast_ref::<StreamError>() {
                Some(reused @ StreamError::Reused(_)) => reused.to_string(),
                _ => return Err(e),
            },
        }
    };
    eprintln!(
        "warning: {}: {reason}; reading it again as a whole (this needs memory for its whole object tree)",
        path.display()
    );
    read_neuronio_file_whole(path)
}

/// Reads and parses a NeuronIO pickle by building its whole object tree first (the reader before
/// streaming; about 5.5 times the file size in memory).
pub fn read_neuronio_file_whole(path: &Path) -> Result<NeuronioFile> {
    let value = crate::pickle::from_file(path)?;
    parse_neuronio(&value).with_context(|| format!("{} is not a valid NeuronIO file", path.display()))
}

fn dict<'a>(value: &'a Value, what: &str) -> Result<&'a Dict> {
    value.as_dict().with_context(|| format!("{what} is a {}, not a dict", value.kind()))
}

fn field<'a>(d: &'a Dict, key: &str, what: &str) -> Result<&'a Value> {
    d.get_str(key).with_context(|| format!("{what} has no key '{key}'"))
}

/// Parses the value of a NeuronIO pickle.
pub fn parse_neuronio(value: &Value) -> Result<NeuronioFile> {
    parse_with(value, |sim, shape| parse_simulation(sim, shape.segments, shape.steps))
}

/// The most input channels a file may define: channel numbers are `u16`.
const MAX_CHANNELS: usize = u16::MAX as usize + 1;

/// What `Params` says about the simulations.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Shape {
    segments: usize,
    steps: usize,
}

fn parse_shape(params: &Dict) -> Result<Shape> {
    let segments = field(params, "allSegmentsType", "Params")?
        .as_sequence()
        .context("Params['allSegmentsType'] is not a list")?
        .len();
    // Channels (excitatory then inhibitory, 2 per segment) are stored as 16-bit numbers; more
    // segments would wrap the inhibitory channels onto excitatory ones silently.
    if segments == 0 || 2 * segments > MAX_CHANNELS {
        bail!(
            "Params['allSegmentsType'] lists {segments} segments; 1 to {} are supported (2 input channels each, \
             stored as 16-bit numbers; the real neuron has 639)",
            MAX_CHANNELS / 2
        );
    }
    let seconds = field(params, "totalSimDurationInSec", "Params")?;
    let seconds = seconds
        .as_i64()
        .or_else(|| seconds.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
        .filter(|s| (1..=3600).contains(s))
        .with_context(|| {
            format!("Params['totalSimDurationInSec'] is {}, not a whole number of seconds", seconds.describe())
        })?;
    Ok(Shape { segments, steps: seconds as usize * 1000 })
}

/// The walk of the official parser, with `simulation` turning each item of the simulations list
/// into a `Simulation`.
fn parse_with(value: &Value, mut simulation: impl FnMut(&Value, Shape) -> Result<Simulation>) -> Result<NeuronioFile> {
    let top = dict(value, "the pickle")?;
    let params = dict(field(top, "Params", "the pickle")?, "Params")?;
    let shape = parse_shape(params)?;
    let results = dict(field(top, "Results", "the pickle")?, "Results")?;
    let list = field(results, SIMULATIONS_KEY, "Results")?
        .as_sequence()
        .context("Results['listOfSingleSimulationDicts'] is not a list")?;
    let simulations = list
        .iter()
        .enumerate()
        .map(|(k, sim)| simulation(sim, shape).with_context(|| format!("simulation {k}")))
        .collect::<Result<Vec<_>>>()?;
    let synthetic = params.get_str("elmbenchSynthetic").and_then(Value::as_bool).unwrap_or(false);
    Ok(NeuronioFile { segments: shape.segments, simulations, synthetic })
}

/// A simulation handed over while streaming.
enum Taken {
    /// Parsed with the `Params` found then (`Err` if invalid: reported in list order at the end).
    Parsed(Result<Simulation>),
    /// `Params` was not known yet (a file with `Results` first): parsed at the end.
    Deferred(Value),
    /// `Params` was there but invalid: the final walk reports that first.
    ParamsInvalid,
}

/// Receives the simulation dicts while a file streams.
#[derive(Default)]
struct SimulationSink {
    /// `Some(Ok)` once `Params` was found valid, `Some(Err)` if found invalid.
    shape: Option<Result<Shape, ()>>,
    taken: Vec<Option<Taken>>,
}

impl StreamConsumer for SimulationSink {
    fn wants(&mut self, list_key: &str) -> bool {
        list_key == SIMULATIONS_KEY
    }

    fn take(&mut self, index: u64, item: Value, context: &StreamContext<'_>) -> Result<(), String> {
        if index != self.taken.len() as u64 {
            return Err(format!("internal: simulation {index} handed over out of order"));
        }
        if self.shape.is_none() {
            if let Ok(Some(params)) = context.enclosing_value("Params") {
                self.shape = Some(params.as_dict().ok_or(()).and_then(|p| parse_shape(p).map_err(|_| ())));
            }
        }
        self.taken.push(Some(match self.shape {
            Some(Ok(shape)) => Taken::Parsed(parse_simulation(&item, shape.segments, shape.steps)),
            Some(Err(())) => Taken::ParamsInvalid,
            None => Taken::Deferred(item),
        }));
        Ok(())
    }
}

impl SimulationSink {
    /// The file from the streamed value and the simulations taken; `Err` (why) if the value does
    /// not match what was handed over, so the file must be read as a whole.
    fn resolve(mut self, value: &Value) -> std::result::Result<Result<NeuronioFile>, String> {
        // Every simulation handed over must sit, in order, in the simulations list.
        let top = value.as_dict();
        let list = top
            .and_then(|t| t.get_str("Results"))
            .and_then(Value::as_dict)
            .and_then(|r| r.get_str(SIMULATIONS_KEY))
            .and_then(Value::as_sequence)
            .unwrap_or(&[]);
        let markers = list.iter().filter_map(|v| match v {
            Value::Streamed(i) => Some(*i),
            _ => None,
        });
        if !markers.eq(0..self.taken.len() as u64) {
            return Err("simulations were streamed that are not items of the simulations list".into());
        }
        // ... and was parsed with the final Params.
        let shape = top.and_then(|t| t.get_str("Params")).and_then(Value::as_dict).map(parse_shape);
        let shape = shape.and_then(|s| s.ok());
        let used = self.taken.iter().flatten().find_map(|t| match t {
            Taken::Parsed(_) => Some(true),
            Taken::ParamsInvalid => Some(false),
            Taken::Deferred(_) => None,
        });
        match (used, self.shape) {
            (Some(true), Some(Ok(s))) if shape == Some(s) => {}
            (Some(false), _) if shape.is_none() => {}
            (None, _) => {}
            _ => return Err("Params changed after simulations were parsed with it".into()),
        }
        Ok(parse_with(value, |sim, shape| match sim {
            Value::Streamed(i) => match self.taken.get_mut(*i as usize).and_then(Option::take) {
                Some(Taken::Parsed(parsed)) => parsed,
                Some(Taken::Deferred(value)) => parse_simulation(&value, shape.segments, shape.steps),
                Some(Taken::ParamsInvalid) | None => bail!("internal: streamed simulation {i} is not available"),
            },
            other => parse_simulation(other, shape.segments, shape.steps),
        }))
    }
}

fn parse_simulation(value: &Value, segments: usize, steps: usize) -> Result<Simulation> {
    let sim = dict(value, "the simulation")?;
    // Spikes of every channel, bucketed by time step, then sorted and deduplicated per step.
    let mut by_step: Vec<Vec<u16>> = vec![Vec::new(); steps];
    for (key, offset) in [("exInputSpikeTimes", 0), ("inhInputSpikeTimes", segments)] {
        let spikes = dict(field(sim, key, "the simulation")?, key)?;
        for (segment, times) in spikes.iter() {
            let segment = segment
                .as_i64()
                .filter(|s| (0..segments as i64).contains(s))
                .with_context(|| format!("{key} has the key {}, not a segment below {segments}", segment.describe()))?;
            let times = times.as_sequence().with_context(|| format!("{key}[{segment}] is not a list"))?;
            for t in times {
                let step = t.as_i64().filter(|t| (0..steps as i64).contains(t)).with_context(|| {
                    format!("{key}[{segment}] holds {}, not a time step below {steps}", t.describe())
                })?;
                by_step[step as usize].push((offset + segment as usize) as u16);
            }
        }
    }
    let mut step_start = Vec::with_capacity(steps + 1);
    let mut channel = Vec::new();
    step_start.push(0u32);
    for mut spikes in by_step {
        spikes.sort_unstable();
        spikes.dedup();
        channel.extend_from_slice(&spikes);
        step_start.push(channel.len() as u32);
    }

    let mut output_spike = vec![0u8; steps];
    for t in float_values(field(sim, "outputSpikeTimes", "the simulation")?, "outputSpikeTimes")? {
        // The official int(t - 0.5), on the float16 value as stored (truncation toward zero).
        let bin = (t - 0.5).trunc();
        if !(0.0..steps as f64).contains(&bin) {
            bail!("outputSpikeTimes holds {t}, outside the {steps} ms simulation");
        }
        output_spike[bin as usize] = 1;
    }
    let soma_mv: Vec<f32> = float_values(field(sim, "somaVoltageLowRes", "the simulation")?, "somaVoltageLowRes")?
        .into_iter()
        .map(|v| v as f32)
        .collect();
    if soma_mv.len() != steps {
        bail!("somaVoltageLowRes has {} values, the simulation {steps} ms", soma_mv.len());
    }
    Ok(Simulation { step_start, channel, output_spike, soma_mv })
}

/// The values of a one-dimensional float numpy array, exactly (f16 and f32 widen to f64 exactly).
fn float_values(value: &Value, what: &str) -> Result<Vec<f64>> {
    let array = value.as_ndarray().with_context(|| format!("{what} is a {}, not a numpy array", value.kind()))?;
    if array.shape.len() != 1 {
        bail!("{what} has shape {:?}, expected one dimension", array.shape);
    }
    let tensor = array.to_tensor_data().with_context(|| what.to_string())?;
    Ok(match tensor.dtype {
        DType::F64 => {
            tensor.bytes.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes"))).collect()
        }
        DType::F32 | DType::F16 | DType::BF16 => tensor.to_f32()?.into_iter().map(f64::from).collect(),
        other => bail!("{what} has dtype {other}, expected a float type"),
    })
}
