//! The network architectures of Beniaguev et al.'s fitting script, by name.
//!
//! Source: SelfishGene/neuron_as_deep_net, `fit_CNN.py` ("define network architecture params",
//! the same in all three commits of the file, 495fe71, ca1f93f, e402d1b): one active
//! configuration (depth 3, filters [54, 24, 24], 64 per layer) and the commented-out ones of their
//! sweep. Every layer there has the same width, every layer after the first the same filter size,
//! stride 1 and dilation 1, so four numbers describe each. Names follow the authors' own
//! `DxWxT` tag (depth x width x receptive field T = sum(filter - 1) + 1, the formula of their
//! `fit_CNN.py` and `evaluate_CNN_*.py`).
//!
//! The paper's best NMDA model is tagged `NMDA_TCN__DxWxT_7x128x153` (`main_figure_replication.py`),
//! but its filter sizes are not in the repository (no split of 152 ms over a first filter of 54
//! or 35 and six equal later ones gives it), so it is not offered here. The closest published
//! architecture, 7 layers of 128 filters of 35 ms, is the default.

/// One architecture: `num_layers` causal convolutions of `num_filters` filters, the first of
/// `first_filter_size` steps, the others of `filter_size`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Preset {
    pub name: &'static str,
    pub num_layers: usize,
    pub num_filters: usize,
    pub first_filter_size: usize,
    pub filter_size: usize,
    /// Where in `fit_CNN.py` it stands.
    pub note: &'static str,
}

pub const DEFAULT_PRESET: &str = "beniaguev-7x128x239";

const fn preset(
    name: &'static str,
    num_layers: usize,
    num_filters: usize,
    first_filter_size: usize,
    filter_size: usize,
    note: &'static str,
) -> Preset {
    Preset { name, num_layers, num_filters, first_filter_size, filter_size, note }
}

pub const PRESETS: &[Preset] = &[
    preset("beniaguev-1x128x110", 1, 128, 110, 1, "FCN, filter [110]"),
    preset("beniaguev-2x128x45", 2, 128, 45, 1, "FCN, filters [45, 1]"),
    preset("beniaguev-3x256x25", 3, 256, 25, 1, "FCN, filters [25, 1, 1]"),
    preset("beniaguev-2x8x79", 2, 8, 40, 40, "TCN, filters [40] * 2"),
    preset("beniaguev-3x8x58", 3, 8, 20, 20, "TCN, filters [20] * 3"),
    preset("beniaguev-4x128x61", 4, 128, 16, 16, "TCN, filters [16] * 4"),
    preset("beniaguev-5x256x46", 5, 256, 10, 10, "TCN, filters [10] * 5"),
    preset("beniaguev-6x128x73", 6, 128, 13, 13, "TCN, filters [13] * 6"),
    preset("beniaguev-7x128x239", 7, 128, 35, 35, "TCN, filters [35] * 7"),
    preset("beniaguev-8x256x257", 8, 256, 33, 33, "TCN, filters [33] * 8"),
    preset("beniaguev-7x256x120", 7, 256, 54, 12, "TCN with large first layer filter (for presentation), [54, 12 * 6]"),
    preset("beniaguev-3x64x100", 3, 64, 54, 24, "the active configuration, filters [54, 24, 24]"),
];

pub fn find(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

pub fn names() -> Vec<&'static str> {
    PRESETS.iter().map(|p| p.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name's T is the receptive field of its filters, by the authors' formula.
    #[test]
    fn names_state_depth_width_and_receptive_field() {
        for p in PRESETS {
            let t = (p.first_filter_size - 1) + (p.num_layers - 1) * (p.filter_size - 1) + 1;
            assert_eq!(p.name, format!("beniaguev-{}x{}x{t}", p.num_layers, p.num_filters), "{}", p.note);
        }
        assert!(find(DEFAULT_PRESET).is_some());
    }
}
