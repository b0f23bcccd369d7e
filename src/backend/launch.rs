//! CUDA launch configurations, computed by plain Rust functions so that they are unit-tested on
//! any machine: grid and block sizes, dynamic shared memory, and the limits they must respect.
//! A shape that does not fit is an error naming the shape, never a launch that fails on the GPU.

use anyhow::{bail, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LaunchConfig {
    pub grid: (u32, u32, u32),
    pub block: (u32, u32, u32),
    pub shared_bytes: u32,
}

/// What the device allows (queried from the driver on a GPU; `DeviceLimits::default()` is the
/// guaranteed floor of compute capability 8.0 and later).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceLimits {
    pub max_threads_per_block: u32,
    /// Dynamic shared memory a block may use without opting in (48 KiB on every GPU since
    /// Volta; A100 and H100/H200 allow 163 / 227 KiB after cuFuncSetAttribute).
    pub max_shared_bytes_per_block: u32,
    pub max_grid_x: u32,
    pub max_grid_y: u32,
}

impl Default for DeviceLimits {
    fn default() -> Self {
        Self {
            max_threads_per_block: 1024,
            max_shared_bytes_per_block: 48 * 1024,
            max_grid_x: i32::MAX as u32,
            max_grid_y: 65_535,
        }
    }
}

/// Threads of the recurrence blocks: one per unit of the widest layer, in whole warps, at most
/// this many (wider layers loop).
pub const RECURRENCE_MAX_THREADS: u32 = 256;
/// The backward kernel keeps each thread's d/d kappa sums for up to this many memory units in
/// registers, so d_m may be at most this many times the block size.
pub const RECURRENCE_MEMORY_SLOTS: u32 = 4;
/// Threads per block of the element-wise and scan kernels.
pub const ELEMENTWISE_THREADS: u32 = 256;
pub const SCAN_THREADS: u32 = 128;
/// Grid-stride loops need no more blocks than this to fill any current GPU.
pub const MAX_ELEMENTWISE_BLOCKS: u32 = 4096;

fn warps(threads: usize) -> u32 {
    (threads.div_ceil(32) * 32).clamp(32, RECURRENCE_MAX_THREADS as usize) as u32
}

/// The ELM recurrence's shape: d_m, the sum of every layer's outputs (`width`) and the widest
/// layer's inputs and outputs.
#[derive(Clone, Copy, Debug)]
pub struct RecurrenceShape {
    pub batch: usize,
    pub num_memory: usize,
    pub width: usize,
    pub widest_layer: usize,
}

fn shared_bytes(floats: usize, what: &str, limits: &DeviceLimits) -> Result<u32> {
    let bytes = floats.checked_mul(4).filter(|b| *b <= limits.max_shared_bytes_per_block as usize);
    match bytes {
        Some(b) => Ok(b as u32),
        None => bail!(
            "{what} needs {floats} floats of shared memory per block, more than the device's {} bytes",
            limits.max_shared_bytes_per_block
        ),
    }
}

fn blocks_for_batch(batch: usize, limits: &DeviceLimits) -> Result<u32> {
    if batch == 0 || batch > limits.max_grid_x as usize {
        bail!("batch {batch} is outside 1..={} blocks", limits.max_grid_x);
    }
    Ok(batch as u32)
}

/// `elm_recurrence_forward`: a block per sample; shared memory m, a (d_m each) and every layer's
/// activations (width).
pub fn elm_recurrence_forward(shape: RecurrenceShape, limits: &DeviceLimits) -> Result<LaunchConfig> {
    let threads = warps(shape.widest_layer.max(shape.num_memory)).min(limits.max_threads_per_block);
    let shared = shared_bytes(2 * shape.num_memory + shape.width, "the ELM recurrence", limits)?;
    Ok(LaunchConfig {
        grid: (blocks_for_batch(shape.batch, limits)?, 1, 1),
        block: (threads, 1, 1),
        shared_bytes: shared,
    })
}

/// `elm_recurrence_backward`: as forward, with the per-thread kappa slots as a further limit.
pub fn elm_recurrence_backward(shape: RecurrenceShape, limits: &DeviceLimits) -> Result<LaunchConfig> {
    let launch = elm_recurrence_forward(shape, limits)?;
    let capacity = launch.block.0 as usize * RECURRENCE_MEMORY_SLOTS as usize;
    if shape.num_memory > capacity {
        bail!("d_m = {} exceeds the backward kernel's {capacity} memory units per block", shape.num_memory);
    }
    Ok(launch)
}

/// `lstm_recurrence_*`: a block per sample; shared memory h_{t-1}, c_{t-1} (H each) and the
/// step's 4H pre-activations (the backward pass needs 5H of the 6H).
pub fn lstm_recurrence(batch: usize, hidden: usize, limits: &DeviceLimits) -> Result<LaunchConfig> {
    let threads = warps(4 * hidden).min(limits.max_threads_per_block);
    let shared = shared_bytes(6 * hidden, "the LSTM recurrence", limits)?;
    Ok(LaunchConfig { grid: (blocks_for_batch(batch, limits)?, 1, 1), block: (threads, 1, 1), shared_bytes: shared })
}

/// `snn_recurrence_*`: a block per sample and a thread per neuron (whole warps; the neuron's
/// membrane and adjoints stay in its registers across the steps, so the layer may not be wider
/// than a block); shared memory the spikes (forward) or current gradients (backward) of two
/// steps, 2N floats.
pub fn snn_recurrence(batch: usize, neurons: usize, limits: &DeviceLimits) -> Result<LaunchConfig> {
    let threads = neurons.div_ceil(32).max(1) * 32;
    if threads > limits.max_threads_per_block as usize {
        bail!(
            "the SNN recurrence runs a thread per neuron: {neurons} neurons need {threads} threads, more than the \
             device's {} per block",
            limits.max_threads_per_block
        );
    }
    let shared = shared_bytes(2 * neurons, "the SNN recurrence", limits)?;
    Ok(LaunchConfig {
        grid: (blocks_for_batch(batch, limits)?, 1, 1),
        block: (threads as u32, 1, 1),
        shared_bytes: shared,
    })
}

/// `snn_synapse_gradients`: a thread per (synapse, sample); synapses along x, samples along y.
pub fn snn_synapse_gradients(batch: usize, entries: usize, limits: &DeviceLimits) -> Result<LaunchConfig> {
    if batch == 0 || batch > limits.max_grid_y as usize {
        bail!("batch {batch} is outside 1..={} (the grid's y extent)", limits.max_grid_y);
    }
    let blocks = entries.div_ceil(ELEMENTWISE_THREADS as usize).max(1);
    if blocks > limits.max_grid_x as usize {
        bail!("{entries} synapses need more than {} blocks", limits.max_grid_x);
    }
    Ok(LaunchConfig { grid: (blocks as u32, batch as u32, 1), block: (ELEMENTWISE_THREADS, 1, 1), shared_bytes: 0 })
}

/// Grid-stride element-wise kernels (`optimizer_step`, `add_bias_rows`) over `n` elements.
pub fn elementwise(n: usize) -> LaunchConfig {
    let blocks = n.div_ceil(ELEMENTWISE_THREADS as usize).clamp(1, MAX_ELEMENTWISE_BLOCKS as usize) as u32;
    LaunchConfig { grid: (blocks, 1, 1), block: (ELEMENTWISE_THREADS, 1, 1), shared_bytes: 0 }
}

/// `leaky_scan_*` and the LIF layer's kernels: a thread per (sample, channel or neuron); channels
/// along x, samples along y.
pub fn leaky_scan(batch: usize, channels: usize, limits: &DeviceLimits) -> Result<LaunchConfig> {
    if batch == 0 || batch > limits.max_grid_y as usize {
        bail!("batch {batch} is outside 1..={} (the grid's y extent)", limits.max_grid_y);
    }
    let blocks = channels.div_ceil(SCAN_THREADS as usize).max(1);
    if blocks > limits.max_grid_x as usize {
        bail!("{channels} channels need more than {} blocks", limits.max_grid_x);
    }
    Ok(LaunchConfig { grid: (blocks as u32, batch as u32, 1), block: (SCAN_THREADS, 1, 1), shared_bytes: 0 })
}

/// `causal_conv_forward` (`columns` = C, an element per output channel) and
/// `causal_conv_backward` (`columns` = K * C, an element per tap's product): grid-stride loops
/// over every (sample, step) row's `columns`, as the element-wise kernels. The count is checked
/// here because the kernels index in size_t but take the sizes as 32-bit ints.
pub fn causal_conv(rows: usize, columns: usize) -> Result<LaunchConfig> {
    match rows.checked_mul(columns) {
        Some(n) if rows <= i32::MAX as usize && columns <= i32::MAX as usize => Ok(elementwise(n)),
        _ => bail!("a causal convolution over {rows} rows of {columns} columns exceeds the kernels' sizes"),
    }
}

/// `column_sums`: a thread per column.
pub fn column_sums(cols: usize) -> LaunchConfig {
    let blocks = cols.div_ceil(ELEMENTWISE_THREADS as usize).max(1) as u32;
    LaunchConfig { grid: (blocks, 1, 1), block: (ELEMENTWISE_THREADS, 1, 1), shared_bytes: 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> DeviceLimits {
        DeviceLimits::default()
    }

    // The paper's shapes, by hand. Branch-ELM on NeuronIO (d_m 20, MLP width 2 d_m = 40, one
    // hidden layer): layers 40 and 20, width 60; 64 threads (2 warps cover 40 units).
    #[test]
    fn branch_elm_neuronio_batch_8() {
        let shape = RecurrenceShape { batch: 8, num_memory: 20, width: 60, widest_layer: 40 };
        let launch = elm_recurrence_forward(shape, &limits()).unwrap();
        assert_eq!(launch, LaunchConfig { grid: (8, 1, 1), block: (64, 1, 1), shared_bytes: (2 * 20 + 60) * 4 });
    }

    // ELM on LRA Image (d_m 150, MLP width 300): layers 300 and 150, width 450; the widest layer
    // needs 320 threads, capped at 256 (threads loop over the rest); 3,000 bytes of shared memory.
    #[test]
    fn elm_lra_image_batch_384_and_path_x_batch_768() {
        let image = RecurrenceShape { batch: 384, num_memory: 150, width: 450, widest_layer: 300 };
        let launch = elm_recurrence_backward(image, &limits()).unwrap();
        assert_eq!(launch, LaunchConfig { grid: (384, 1, 1), block: (256, 1, 1), shared_bytes: 3000 });
        let path_x = RecurrenceShape { batch: 768, ..image };
        assert_eq!(elm_recurrence_forward(path_x, &limits()).unwrap().grid, (768, 1, 1));
    }

    #[test]
    fn shapes_that_do_not_fit_are_refused_by_name() {
        // 48 KiB hold 12,288 floats: d_m 4,000 with width 6,000 needs 14,000.
        let big = RecurrenceShape { batch: 1, num_memory: 4000, width: 6000, widest_layer: 2000 };
        let error = elm_recurrence_forward(big, &limits()).unwrap_err().to_string();
        assert!(error.contains("14000 floats") && error.contains("49152 bytes"), "{error}");
        // 256 threads x 4 slots = 1,024 memory units at most in the backward kernel.
        let wide = RecurrenceShape { batch: 1, num_memory: 1100, width: 1100, widest_layer: 1100 };
        assert!(elm_recurrence_forward(wide, &limits()).is_ok());
        assert!(elm_recurrence_backward(wide, &limits()).unwrap_err().to_string().contains("1024"));
        let empty = RecurrenceShape { batch: 0, num_memory: 10, width: 30, widest_layer: 20 };
        assert!(elm_recurrence_forward(empty, &limits()).is_err());
    }

    // The paper's LSTM on NeuronIO (hidden 50): 200 gates -> 224 threads, 300 floats of shared
    // memory; Figure 5's hidden 250: 1,000 gates capped at 256 threads, 6,000 bytes.
    #[test]
    fn lstm_shapes() {
        let h50 = lstm_recurrence(8, 50, &limits()).unwrap();
        assert_eq!(h50, LaunchConfig { grid: (8, 1, 1), block: (224, 1, 1), shared_bytes: 1200 });
        assert_eq!(lstm_recurrence(8, 250, &limits()).unwrap().block, (256, 1, 1));
        assert_eq!(lstm_recurrence(8, 250, &limits()).unwrap().shared_bytes, 6000);
        assert!(lstm_recurrence(8, 3000, &limits()).is_err());
    }

    // The paper's SNN on SHD: 500 neurons -> 16 warps of 32 = 512 threads, spikes of two steps
    // 2 x 500 floats = 4,000 bytes; batch 8 -> 8 blocks.
    #[test]
    fn snn_shapes() {
        let shd = snn_recurrence(8, 500, &limits()).unwrap();
        assert_eq!(shd, LaunchConfig { grid: (8, 1, 1), block: (512, 1, 1), shared_bytes: 4000 });
        // The small test network: 12 neurons in one warp.
        assert_eq!(snn_recurrence(3, 12, &limits()).unwrap().block, (32, 1, 1));
        // A thread per neuron: 1,024 neurons fit a block, 1,025 do not, and say so.
        assert_eq!(snn_recurrence(1, 1024, &limits()).unwrap().shared_bytes, 8192);
        let error = snn_recurrence(1, 1025, &limits()).unwrap_err().to_string();
        assert!(error.contains("1025 neurons") && error.contains("1056 threads") && error.contains("1024"), "{error}");
        // A device with 4 KiB of shared memory holds the spikes of 512 neurons, not of 600.
        let small = DeviceLimits { max_shared_bytes_per_block: 4096, ..limits() };
        let error = snn_recurrence(1, 600, &small).unwrap_err().to_string();
        assert!(error.contains("1200 floats") && error.contains("4096 bytes"), "{error}");
        assert!(snn_recurrence(0, 12, &limits()).is_err());
        // SHD's neuron-to-neuron synapses, about 10% of 50,000: 5,000 -> 20 blocks of 256, 8 samples.
        assert_eq!(snn_synapse_gradients(8, 5000, &limits()).unwrap().grid, (20, 8, 1));
        assert_eq!(snn_synapse_gradients(2, 0, &limits()).unwrap().grid, (1, 2, 1));
        assert!(snn_synapse_gradients(70_000, 10, &limits()).is_err());
        assert!(snn_synapse_gradients(0, 10, &limits()).is_err());
    }

    #[test]
    fn elementwise_and_scan_grids() {
        // 8,002 parameters (Branch-ELM d_m 20): 32 blocks of 256 cover 8,192.
        assert_eq!(elementwise(8002).grid, (32, 1, 1));
        // Ten million elements: capped at 4,096 blocks (grid-stride loop).
        assert_eq!(elementwise(10_000_000).grid, (4096, 1, 1));
        assert_eq!(elementwise(0).grid, (1, 1, 1));
        // SHD: batch 8 x 700 channels -> 6 blocks of 128 along x, 8 along y.
        assert_eq!(leaky_scan(8, 700, &limits()).unwrap().grid, (6, 8, 1));
        assert!(leaky_scan(70_000, 10, &limits()).is_err());
        assert_eq!(column_sums(300).grid, (2, 1, 1));
    }

    // The default TCN (7 x 128 filters of 35 taps) on NeuronIO, batch 8 x 500 = 4,000 rows:
    // forward 512,000 outputs -> 2,000 blocks of 256; backward 4,000 x 4,480 products, capped at
    // 4,096 blocks (grid-stride). An evaluation window of 128 x 6,000 steps passes 2^31 products,
    // which the size_t indices allow; a row count beyond the kernels' ints is refused.
    #[test]
    fn causal_conv_grids() {
        let forward = causal_conv(4000, 128).unwrap();
        assert_eq!(forward, LaunchConfig { grid: (2000, 1, 1), block: (256, 1, 1), shared_bytes: 0 });
        assert_eq!(causal_conv(4000, 35 * 128).unwrap().grid, (4096, 1, 1));
        assert_eq!(causal_conv(128 * 6000, 35 * 128).unwrap().grid, (4096, 1, 1));
        assert_eq!(causal_conv(0, 5).unwrap().grid, (1, 1, 1));
        assert!(causal_conv(1 << 31, 1).is_err());
        assert!(causal_conv(usize::MAX / 2, 3).is_err());
    }
}
