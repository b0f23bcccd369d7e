//! Reading a NeuronIO file (a Python-2 pickle, DATASETS.md 1.2) into a `NeuronioFile` with the
//! official parser's semantics (`parse_sim_experiment_file`): inputs are boolean (a repeated spike
//! time counts once), excitatory channels first; an output spike at time t (float16 in the file)
//! falls in bin int(t - 0.5); the soma trace is taken as stored.
//!
//! Every structural problem is an error naming the file and where in it the problem is.

use super::{NeuronioFile, Simulation};
use crate::pickle::{Dict, Value};
use crate::weights::DType;
use anyhow::{bail, Context, Result};
use std::path::Path;

/// Reads and parses a NeuronIO pickle.
pub fn read_neuronio_file(path: &Path) -> Result<NeuronioFile> {
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
    let top = dict(value, "the pickle")?;
    let params = dict(field(top, "Params", "the pickle")?, "Params")?;
    let segments = field(params, "allSegmentsType", "Params")?
        .as_sequence()
        .context("Params['allSegmentsType'] is not a list")?
        .len();
    let seconds = field(params, "totalSimDurationInSec", "Params")?;
    let seconds = seconds
        .as_i64()
        .or_else(|| seconds.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
        .filter(|s| (1..=3600).contains(s))
        .with_context(|| {
            format!("Params['totalSimDurationInSec'] is {}, not a whole number of seconds", seconds.describe())
        })?;
    let steps = seconds as usize * 1000;
    let results = dict(field(top, "Results", "the pickle")?, "Results")?;
    let list = field(results, "listOfSingleSimulationDicts", "Results")?
        .as_sequence()
        .context("Results['listOfSingleSimulationDicts'] is not a list")?;
    let simulations = list
        .iter()
        .enumerate()
        .map(|(k, sim)| parse_simulation(sim, segments, steps).with_context(|| format!("simulation {k}")))
        .collect::<Result<Vec<_>>>()?;
    let synthetic = params.get_str("elmbenchSynthetic").and_then(Value::as_bool).unwrap_or(false);
    Ok(NeuronioFile { segments, simulations, synthetic })
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
