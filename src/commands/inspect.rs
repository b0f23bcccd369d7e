//! `elmbench inspect`: what a dataset file holds, and its contents as tensors.

use crate::tasks::neuronio::{read_neuronio_file, NeuronioFile};
use crate::tasks::shd::ShdFile;
use anyhow::{bail, Context, Result};
use clap::Args;
use safetensors::tensor::{Dtype, TensorView};
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct InspectArgs {
    /// A dataset file (a NeuronIO pickle, `*.p`, or an SHD HDF5 file, `*.h5`).
    pub file: PathBuf,
    /// Also write the parsed contents to this safetensors file: `x_ones_syn_time_sim` (int32
    /// (synapse, time, simulation) triples where the official input matrix X[inputs, time, sims]
    /// is 1), `x_shape`, `y_spike` and `y_soma` (time, simulations) in f64, before preprocessing.
    #[arg(long, value_name = "OUT.safetensors")]
    pub export: Option<PathBuf>,
}

/// The first bytes of an HDF5 file (at offset 0, where h5py writes it).
const HDF5_SIGNATURE: &[u8] = b"\x89HDF\r\n\x1a\n";

/// Whether `path` starts like an HDF5 file, whatever its name.
fn looks_like_hdf5(path: &Path) -> bool {
    let mut head = [0u8; 8];
    std::fs::File::open(path).and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head)).is_ok()
        && head == HDF5_SIGNATURE
}

pub fn run(args: InspectArgs) -> Result<()> {
    if args.file.extension().is_some_and(|e| e == "h5") || looks_like_hdf5(&args.file) {
        if args.export.is_some() {
            bail!("--export writes NeuronIO parses; {} is an SHD file", args.file.display());
        }
        return inspect_shd(&args.file);
    }
    let file = read_neuronio_file(&args.file).with_context(|| {
        format!(
            "inspect reads NeuronIO pickles (*.p) and SHD HDF5 files (*.h5); {} did not read as a pickle",
            args.file.display()
        )
    })?;
    print_summary(&args.file, &file);
    if let Some(out) = &args.export {
        export(&file, out)?;
        println!("exported to {}", out.display());
    }
    Ok(())
}

fn inspect_shd(path: &Path) -> Result<()> {
    let started = std::time::Instant::now();
    let file = ShdFile::read(path)?;
    let seconds = started.elapsed().as_secs_f64();
    let summary = file.summary();
    println!("{}", path.display());
    println!("  SHD HDF5 file, read in {seconds:.2} s");
    println!("  {}", summary.describe());
    println!("  samples per class: {:?}", summary.label_counts);
    if let Some(keys) = file.keys() {
        println!("  classes: {}", keys.join(", "));
    }
    Ok(())
}

fn print_summary(path: &Path, file: &NeuronioFile) {
    let steps = file.simulations.first().map_or(0, |s| s.steps());
    let inputs: usize = file.simulations.iter().map(|s| s.channel.len()).sum();
    let cells = (file.simulations.len() * steps * file.num_inputs()).max(1);
    println!("{}", path.display());
    println!(
        "  NeuronIO pickle ({})",
        if file.synthetic { "SYNTHETIC, written by elmbench synth" } else { "not marked synthetic" }
    );
    println!(
        "  {} segments ({} inputs), {} simulations of {steps} ms",
        file.segments,
        file.num_inputs(),
        file.simulations.len()
    );
    println!("  input spikes: {inputs} ({:.3}% of input x time)", 100.0 * inputs as f64 / cells as f64);
    let spikes: Vec<usize> =
        file.simulations.iter().map(|s| s.output_spike.iter().map(|&v| v as usize).sum()).collect();
    println!("  output spikes per simulation: {spikes:?}");
    let soma: Vec<f32> = file.simulations.iter().flat_map(|s| s.soma_mv.iter().copied()).collect();
    if !soma.is_empty() {
        let mean = soma.iter().map(|v| *v as f64).sum::<f64>() / soma.len() as f64;
        let (min, max) = soma.iter().fold((f32::MAX, f32::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
        println!("  soma voltage: mean {mean:.2} mV, min {min:.2}, max {max:.2}");
    }
}

/// The parse in the layout of the official parser's arrays (see `--export`).
pub fn export(file: &NeuronioFile, out: &Path) -> Result<()> {
    let sims = file.simulations.len();
    let steps = file.simulations.first().map_or(0, |s| s.steps());
    // np.nonzero order: by synapse, then time, then simulation.
    let mut triples: Vec<[i32; 3]> = Vec::new();
    for (k, sim) in file.simulations.iter().enumerate() {
        for t in 0..steps {
            for &c in sim.spikes_at(t) {
                triples.push([c as i32, t as i32, k as i32]);
            }
        }
    }
    triples.sort_unstable();
    let ones: Vec<u8> = triples.iter().flatten().flat_map(|v| v.to_le_bytes()).collect();
    let shape: Vec<u8> =
        [file.num_inputs() as i64, steps as i64, sims as i64].iter().flat_map(|v| v.to_le_bytes()).collect();
    let by_time = |value: &dyn Fn(usize, usize) -> f64| -> Vec<u8> {
        (0..steps).flat_map(|t| (0..sims).map(move |k| (t, k))).flat_map(|(t, k)| value(t, k).to_le_bytes()).collect()
    };
    let spike = by_time(&|t, k| file.simulations[k].output_spike[t] as f64);
    let soma = by_time(&|t, k| file.simulations[k].soma_mv[t] as f64);
    let tensors = [
        ("x_ones_syn_time_sim", TensorView::new(Dtype::I32, vec![triples.len(), 3], &ones)?),
        ("x_shape", TensorView::new(Dtype::I64, vec![3], &shape)?),
        ("y_spike", TensorView::new(Dtype::F64, vec![steps, sims], &spike)?),
        ("y_soma", TensorView::new(Dtype::F64, vec![steps, sims], &soma)?),
    ];
    let bytes = safetensors::serialize(tensors, None)?;
    crate::io::write_atomically(out, &bytes)
}
