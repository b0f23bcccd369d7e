//! The CUDA kernels as embedded sources, compiled at run time by NVRTC (no toolkit needed to
//! build elmbench). Each has a CPU twin, the CPU backend's own code for the same math, named here
//! so that a reader finds the pair and the GPU equivalence tests know what to compare.

pub struct KernelSource {
    /// The file under src/backend/kernels/.
    pub file: &'static str,
    pub source: &'static str,
    /// The `extern "C" __global__` functions it defines.
    pub entry_points: &'static [&'static str],
    /// Where the CPU computes the same thing.
    pub cpu_twin: &'static str,
}

pub const KERNEL_SOURCES: &[KernelSource] = &[
    KernelSource {
        file: "elm_recurrence.cu",
        source: include_str!("kernels/elm_recurrence.cu"),
        entry_points: &["elm_recurrence_forward", "elm_recurrence_backward"],
        cpu_twin: "models::elm::recurrence::{forward, backward}",
    },
    KernelSource {
        file: "lstm_recurrence.cu",
        source: include_str!("kernels/lstm_recurrence.cu"),
        entry_points: &["lstm_recurrence_forward", "lstm_recurrence_backward", "lstm_mask_hidden"],
        cpu_twin: "models::lstm::recurrence::{forward, backward}",
    },
    KernelSource {
        file: "snn_recurrence.cu",
        source: include_str!("kernels/snn_recurrence.cu"),
        entry_points: &["snn_recurrence_forward", "snn_recurrence_backward"],
        cpu_twin: "models::snn::recurrence::{forward_group, backward_group}",
    },
    KernelSource {
        file: "snn_synapses.cu",
        source: include_str!("kernels/snn_synapses.cu"),
        entry_points: &["snn_input_currents", "snn_synapse_gradients"],
        cpu_twin: "models::snn::synapses::{project_inputs, parameter_gradient}",
    },
    KernelSource {
        file: "leaky_scan.cu",
        source: include_str!("kernels/leaky_scan.cu"),
        entry_points: &["leaky_scan_forward", "leaky_scan_backward"],
        cpu_twin: "models::elm::projection (the trace filter after projecting)",
    },
    KernelSource {
        file: "lif_recurrence.cu",
        source: include_str!("kernels/lif_recurrence.cu"),
        entry_points: &[
            "lif_recurrence_forward",
            "lif_recurrence_backward",
            "lif_memory_forward",
            "lif_memory_backward",
        ],
        cpu_twin: "models::lif::recurrence::{forward, backward} and models::lif::memory::MemoryFilter",
    },
    KernelSource {
        file: "optimizers.cu",
        source: include_str!("kernels/optimizers.cu"),
        entry_points: &["optimizer_step"],
        cpu_twin: "train::optimizer::Optimizer::step",
    },
    KernelSource {
        file: "staging.cu",
        source: include_str!("kernels/staging.cu"),
        entry_points: &["scatter_values"],
        cpu_twin: "engine::SparseSequences::to_dense",
    },
    KernelSource {
        file: "reductions.cu",
        source: include_str!("kernels/reductions.cu"),
        entry_points: &["column_sums", "add_bias_rows"],
        cpu_twin: "engine::kernels (bias gradients as column sums)",
    },
    KernelSource {
        file: "causal_conv.cu",
        source: include_str!("kernels/causal_conv.cu"),
        entry_points: &["causal_conv_forward", "causal_conv_backward"],
        cpu_twin: "models::tcn::causal_conv::{shift_add, shift_gather} (with the bias and Activation)",
    },
    KernelSource {
        file: "s5_scan.cu",
        source: include_str!("kernels/s5_scan.cu"),
        entry_points: &["s5_scan_forward", "s5_scan_backward"],
        cpu_twin: "models::s5::ssm::{scan_sample, reverse_scan_sample}",
    },
    KernelSource {
        file: "s5_layers.cu",
        source: include_str!("kernels/s5_layers.cu"),
        entry_points: &[
            "s5_gelu_forward",
            "s5_gelu_backward",
            "s5_sigmoid",
            "s5_multiply",
            "s5_add_into",
            "s5_scale_columns",
            "s5_apply_mask",
            "s5_glu_backward",
            "s5_column_sums",
            "s5_column_dots",
            "s5_batch_norm_forward",
            "s5_layer_norm_forward",
            "s5_norm_backward_features",
            "s5_layer_norm_backward",
        ],
        cpu_twin:
            "models::s5::norm::{forward, backward} and models::s5::layer (gelu, the gate, dropout, residual, D z)",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_point_is_defined_in_its_source() {
        for kernel in KERNEL_SOURCES {
            for name in kernel.entry_points {
                let declaration = format!("__global__ void {name}(");
                assert!(kernel.source.contains(&declaration), "{} does not define {name}", kernel.file);
            }
            // Header-free: NVRTC then needs no CUDA include folder at run time.
            assert!(!kernel.source.contains("#include"), "{} includes a header", kernel.file);
        }
    }
}
