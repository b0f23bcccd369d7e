//! Peak heap while reading NeuronIO files and `forward`'s input, counted by a global allocator
//! (hence a test binary of its own; its tests take one lock, so nothing else allocates meanwhile).
//!
//! The streaming reader must hold the compact result plus about one simulation's objects: its
//! peak stays below `compact + 3 x (one simulation's share of the whole object tree) + 4 MiB`
//! and far below the file size, for a file in elmbench's synthetic format and for one that
//! memoizes every object as cPickle (and so the real files) does. The whole-tree reader on the
//! same files must exceed that bound, so the test can fail.

use elmbench::pickle::writer::PickleWriter;
use elmbench::tasks::neuronio::reader::read_neuronio_file_whole;
use elmbench::tasks::neuronio::synthetic::{simulate, RawSimulation, SyntheticNeuron};
use elmbench::tasks::neuronio::writer::{write_file, write_records};
use elmbench::tasks::neuronio::{read_neuronio_file, NeuronioFile, Simulation};
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let now = CURRENT.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        System.dealloc(p, layout);
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let q = System.realloc(p, layout, new_size);
        if !q.is_null() {
            if new_size > layout.size() {
                grew(new_size - layout.size());
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        q
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its result with the peak heap above the level at the start (the
/// result, still alive at the end, included).
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let start = CURRENT.load(Ordering::SeqCst);
    PEAK.store(start, Ordering::SeqCst);
    let out = f();
    (out, PEAK.load(Ordering::SeqCst).saturating_sub(start))
}

/// Heap bytes the parsed file holds.
fn compact_bytes(file: &NeuronioFile) -> usize {
    let sims: usize = file
        .simulations
        .iter()
        .map(|s| {
            s.step_start.capacity() * 4
                + s.channel.capacity() * 2
                + s.output_spike.capacity()
                + s.soma_mv.capacity() * 4
        })
        .sum();
    sims + file.simulations.capacity() * std::mem::size_of::<Simulation>()
}

/// The file `write_file` writes, but with every object memoized as cPickle does (the real
/// files' memo grows with the data: three entries per input spike).
fn write_memoizing(path: &Path, neuron: &SyntheticNeuron, simulations: &[RawSimulation]) -> anyhow::Result<()> {
    let out = BufWriter::new(std::fs::File::create(path)?);
    write_records(PickleWriter::new(out)?.memoize_everything(), neuron, simulations, 5)?.flush()?;
    Ok(())
}

const MIB: f64 = (1 << 20) as f64;

/// Reads `path` both ways; checks the results agree and the streaming peak is bounded.
fn check(what: &str, path: &Path, simulations: usize) -> NeuronioFile {
    let file_len = std::fs::metadata(path).unwrap().len() as usize;
    let (whole, whole_peak) = peak_of(|| read_neuronio_file_whole(path).unwrap());
    let whole_bytes = compact_bytes(&whole);
    let (streamed, stream_peak) = peak_of(|| read_neuronio_file(path).unwrap());
    assert!(streamed == whole, "{what}: the streamed parse differs from the whole one");
    let compact = compact_bytes(&streamed);
    assert_eq!(compact, whole_bytes);
    // One simulation's objects: its share of the whole object tree.
    let one_simulation = (whole_peak - compact) / simulations;
    let bound = compact + 3 * one_simulation + (4 << 20);
    eprintln!(
        "{what}: file {:.1} MiB, compact result {:.1} MiB, one simulation's objects {:.1} MiB; peak heap: whole tree {:.1} MiB, streaming {:.1} MiB (bound {:.1} MiB)",
        file_len as f64 / MIB,
        compact as f64 / MIB,
        one_simulation as f64 / MIB,
        whole_peak as f64 / MIB,
        stream_peak as f64 / MIB,
        bound as f64 / MIB,
    );
    assert!(stream_peak <= bound, "{what}: streaming peak {stream_peak} B above the bound {bound} B");
    assert!(stream_peak * 2 < file_len, "{what}: streaming peak {stream_peak} B not far below the file ({file_len} B)");
    // The bound is tight enough to catch the whole-tree reader.
    assert!(whole_peak > 3 * bound, "{what}: the whole-tree peak {whole_peak} B is not far above the bound {bound} B");
    streamed
}

/// Held by each test: peaks are global, so the tests of this binary run one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn streaming_reads_need_the_compact_result_plus_one_simulation() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    const SIMULATIONS: usize = 64;
    let neuron = SyntheticNeuron::new(3);
    let simulations: Vec<RawSimulation> = (0..SIMULATIONS as u64).map(|s| simulate(&neuron, 6000, 100 + s)).collect();
    let dir = tempfile::tempdir().unwrap();
    let synthetic: PathBuf = write_file(dir.path(), &neuron, &simulations, 5).unwrap();
    let memoizing = dir.path().join("memoizing.p");
    write_memoizing(&memoizing, &neuron, &simulations).unwrap();
    drop(simulations);
    let a = check("elmbench synth format", &synthetic, SIMULATIONS);
    let b = check("cPickle-style memo", &memoizing, SIMULATIONS);
    assert!(a == b, "the two files parse differently");
}

/// Finding F (issue 14): `forward` converts its input piece by piece: the peak is the f32 result
/// plus one 1 MiB piece, not the file, a copy of its tensor and the result (measured with an f16
/// input, where the old way held 2 x 4.8 MB + 9.6 MB; it is measured too, so the test can fail).
#[test]
fn forward_input_needs_the_f32_result_plus_one_piece() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let shape = vec![4usize, 2000, 300];
    let numel: usize = shape.iter().product();
    let data: Vec<u8> = (0..numel).flat_map(|i| ((i % 3000) as u16).to_le_bytes()).collect();
    let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F16, shape.clone(), &data).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.safetensors");
    std::fs::write(&path, safetensors::serialize([("x", view)], None).unwrap()).unwrap();
    drop(data);
    let result = numel * 4;
    let bound = result + (1 << 20) + (64 << 10);
    let ((read_shape, x), peak) = peak_of(|| elmbench::commands::forward::read_input(&path).unwrap());
    assert_eq!((read_shape, x.len()), (shape, numel));
    let ((), old_peak) = peak_of(|| {
        let bytes = std::fs::read(&path).unwrap();
        let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let view = file.tensor("x").unwrap();
        let tensor =
            elmbench::io::TensorData::new(elmbench::io::DType::F16, view.shape().to_vec(), view.data().to_vec())
                .unwrap();
        assert_eq!(tensor.to_f32().unwrap(), x);
    });
    eprintln!(
        "forward input: f32 result {:.1} MiB; peak {:.1} MiB (bound {:.1} MiB); reading whole, copying, converting: {:.1} MiB",
        result as f64 / MIB,
        peak as f64 / MIB,
        bound as f64 / MIB,
        old_peak as f64 / MIB
    );
    assert!(peak <= bound, "peak {peak} B above the bound {bound} B");
    assert!(old_peak > bound + result / 2, "the whole-file way ({old_peak} B) is not far above the bound");
}
