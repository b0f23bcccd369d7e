//! Writes NeuronIO files in the real format: a Python-2 protocol-2 pickle of
//! `{'Params': {...}, 'Results': {'listOfSingleSimulationDicts': [...]}}` with the keys, Python
//! types and numpy dtypes of the real files (DATASETS.md 1.2), readable by the official parser and
//! by `pickle.load(f, encoding="latin1")`. Synthetic files say so in `Params['elmbenchSynthetic']`.

use super::synthetic::{RawSimulation, SyntheticNeuron};
use crate::io::float16::f32_to_f16;
use crate::pickle::writer::{NumpyDtype, PickleWriter};
use anyhow::{Context, Result};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The real files' name template, with the figures of this file.
pub fn file_name(simulations: &[RawSimulation], seed: u64) -> String {
    let spikes: usize = simulations.iter().map(|s| s.output_spike_times.len()).sum();
    let per_100ms = |spikes: &dyn Fn(&RawSimulation) -> &Vec<Vec<u32>>| {
        let counts: Vec<usize> = simulations
            .iter()
            .map(|s| spikes(s).iter().map(Vec::len).sum::<usize>() * 100 / s.soma_mv.len().max(1))
            .collect();
        (counts.iter().copied().min().unwrap_or(0), counts.iter().copied().max().unwrap_or(0))
    };
    let (exc_lo, exc_hi) = per_100ms(&|s| &s.excitatory_spikes);
    let (inh_lo, inh_hi) = per_100ms(&|s| &s.inhibitory_spikes);
    let seconds = simulations.first().map_or(0, |s| s.soma_mv.len() / 1000);
    format!(
        "L5PC_sim__Output_spikes_{spikes:04}__Input_ranges_Exc_[{exc_lo:04},{exc_hi:04}]_Inh_[{inh_lo:04},{inh_hi:04}]_per100ms__simXsec_{}x{seconds}_randseed_{seed}.p",
        simulations.len()
    )
}

/// Writes one file into `folder` (atomically) and returns its path.
pub fn write_file(
    folder: &Path,
    neuron: &SyntheticNeuron,
    simulations: &[RawSimulation],
    seed: u64,
) -> Result<PathBuf> {
    std::fs::create_dir_all(folder).with_context(|| format!("creating {}", folder.display()))?;
    let path = folder.join(file_name(simulations, seed));
    let tmp = crate::io::temporary_sibling(&path)?;
    let result = (|| -> Result<()> {
        let file = std::fs::File::create(&tmp)?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        write_pickle(&mut out, neuron, simulations, seed)?;
        out.flush()?;
        out.get_ref().sync_all()?;
        drop(out);
        std::fs::rename(&tmp, &path)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

pub fn write_pickle<W: Write>(
    out: W,
    neuron: &SyntheticNeuron,
    simulations: &[RawSimulation],
    seed: u64,
) -> Result<()> {
    write_records(PickleWriter::new(out)?, neuron, simulations, seed)?;
    Ok(())
}

/// The file's pickle through a given writer (e.g. one that memoizes every object, as cPickle
/// does); returns the underlying output.
pub fn write_records<W: Write>(
    mut p: PickleWriter<W>,
    neuron: &SyntheticNeuron,
    simulations: &[RawSimulation],
    seed: u64,
) -> Result<W> {
    let steps = simulations.first().map_or(0, |s| s.soma_mv.len());
    p.empty_dict()?;
    p.mark()?;
    p.str("Params")?;
    p.empty_dict()?;
    p.mark()?;
    p.str("allSegmentsType")?;
    p.empty_list()?;
    p.mark()?;
    for t in &neuron.segment_type {
        p.str(t)?;
    }
    p.appends()?;
    p.str("allSegments_DistFromSoma")?;
    p.empty_list()?;
    p.mark()?;
    for d in &neuron.distance_from_soma {
        p.float(*d)?;
    }
    p.appends()?;
    p.str("totalSimDurationInSec")?;
    p.int((steps / 1000) as i64)?;
    p.str("numSimulations")?;
    p.int(simulations.len() as i64)?;
    p.str("randomSeed")?;
    p.int(seed as i64)?;
    p.str("excitatorySynapseType")?;
    p.str("NMDA")?;
    p.str("inhibitorySynapseType")?;
    p.str("GABA_A")?;
    p.str("elmbenchSynthetic")?;
    p.bool(true)?;
    p.set_items()?;
    p.str("Results")?;
    p.empty_dict()?;
    p.mark()?;
    p.str("listOfSingleSimulationDicts")?;
    p.empty_list()?;
    p.mark()?;
    let times: Vec<u8> = (0..steps).flat_map(|t| (t as f32).to_le_bytes()).collect();
    for sim in simulations {
        p.empty_dict()?;
        p.mark()?;
        for (key, spikes) in
            [("exInputSpikeTimes", &sim.excitatory_spikes), ("inhInputSpikeTimes", &sim.inhibitory_spikes)]
        {
            p.str(key)?;
            p.empty_dict()?;
            p.mark()?;
            for (segment, times) in spikes.iter().enumerate().filter(|(_, t)| !t.is_empty()) {
                p.numpy_int64(segment as i64)?;
                p.empty_list()?;
                p.mark()?;
                for &t in times {
                    p.numpy_int64(t as i64)?;
                }
                p.appends()?;
            }
            p.set_items()?;
        }
        p.str("outputSpikeTimes")?;
        let spikes: Vec<u8> = sim.output_spike_times.iter().flat_map(|t| f32_to_f16(*t as f32).to_le_bytes()).collect();
        p.numpy_array(NumpyDtype::Float16, sim.output_spike_times.len(), &spikes)?;
        p.str("somaVoltageLowRes")?;
        let soma: Vec<u8> = sim.soma_mv.iter().flat_map(|v| f32_to_f16(*v).to_le_bytes()).collect();
        p.numpy_array(NumpyDtype::Float16, steps, &soma)?;
        p.str("recordingTimeLowRes")?;
        p.numpy_array(NumpyDtype::Float32, steps, &times)?;
        p.set_items()?;
    }
    p.appends()?;
    p.set_items()?;
    p.set_items()?;
    Ok(p.finish()?)
}
