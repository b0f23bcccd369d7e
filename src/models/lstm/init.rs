//! The LSTM's parameters, their names and their initial values.
//!
//! Names are PyTorch's state-dict names (`lstm.weight_ih_l0`, ...; the readout `readout.weight`,
//! `readout.bias`, as in the reference tensors), so `torch.nn.LSTM` weights load by name into the
//! two-bias mode. The single bias of the paper's convention has no PyTorch counterpart and is named
//! `lstm.bias_l0`; it plays the role of bias_ih + bias_hh.
//!
//! Values follow PyTorch: every LSTM tensor uniform in +-1/sqrt(H) (`nn.LSTM.reset_parameters`,
//! drawn in parameter order), the readout as `nn.Linear` (weight and bias uniform in
//! +-1/sqrt(fan_in), fan_in = H). The chrono initialisation (Tallec & Ollivier 2018) then
//! overwrites the input and forget biases, drawn last so that every other tensor is the same as the
//! plain LSTM's of the same seed.

use super::config::{LstmConfig, LstmInit};
use crate::engine::{ParamSet, Rng, Tensor};

/// Indices of the LSTM's tensors in its `ParamSet`.
#[derive(Clone, Debug)]
pub struct ParamIds {
    pub w_ih: usize,
    pub w_hh: usize,
    /// The single bias, or `bias_ih` in the two-bias mode.
    pub bias: usize,
    /// `bias_hh` in the two-bias mode.
    pub bias_hh: Option<usize>,
    pub w_y: usize,
    pub b_y: usize,
}

pub fn initial_params(config: &LstmConfig, init: LstmInit, seed: u64) -> (ParamSet, ParamIds) {
    let (d, hs, out) = (config.num_input, config.hidden_size, config.num_output);
    let mut rng = Rng::new(seed);
    let bound = 1.0 / (hs as f32).sqrt();
    let mut uniform = |shape: &[usize]| {
        let n = shape.iter().product();
        Tensor::from_vec(shape, (0..n).map(|_| rng.uniform(-bound, bound)).collect()).expect("sized")
    };
    let mut params = ParamSet::default();
    let w_ih = params.push("lstm.weight_ih_l0", uniform(&[4 * hs, d]), true);
    let w_hh = params.push("lstm.weight_hh_l0", uniform(&[4 * hs, hs]), true);
    let (bias, bias_hh) = if config.two_biases {
        let ih = params.push("lstm.bias_ih_l0", uniform(&[4 * hs]), true);
        (ih, Some(params.push("lstm.bias_hh_l0", uniform(&[4 * hs]), true)))
    } else {
        (params.push("lstm.bias_l0", uniform(&[4 * hs]), true), None)
    };
    // nn.Linear(H, O): both bounds are 1/sqrt(fan_in) = 1/sqrt(H), the LSTM's bound.
    let w_y = params.push("readout.weight", uniform(&[out, hs]), true);
    let b_y = params.push("readout.bias", uniform(&[out]), true);

    if let LstmInit::Chrono { t_max } = init {
        // b_f = log(U(1, t_max - 1)), b_i = -b_f: forget gates open on timescales spread up to
        // t_max, input gates correspondingly closed. In the two-bias mode the values go to bias_ih
        // and the i and f parts of bias_hh are zeroed, so their sum is exactly the chrono bias.
        let forget: Vec<f32> = (0..hs).map(|_| (1.0 + (t_max - 2.0) * rng.uniform_f64()).ln() as f32).collect();
        let b = params.get_mut(bias).data_mut();
        for k in 0..hs {
            b[k] = -forget[k];
            b[hs + k] = forget[k];
        }
        if let Some(hh) = bias_hh {
            params.get_mut(hh).data_mut()[..2 * hs].fill(0.0);
        }
    }
    (params, ParamIds { w_ih, w_hh, bias, bias_hh, w_y, b_y })
}
