//! How the ELM's MLP is laid out for the recurrence kernels (`kernels/elm_recurrence.cu`): every
//! layer's weights in one buffer, transposed for the forward kernel (so a warp's loads of one
//! input's weights to consecutive units are coalesced) and row-major for the backward kernel, the
//! biases in another, and a table of ints per layer that says where each lives.

use anyhow::{bail, Result};

/// One layer of the MLP: row-major weight (out, inp) and bias (out).
pub struct MlpLayer<'a> {
    pub weight: &'a [f32],
    pub bias: &'a [f32],
    pub out: usize,
    pub inp: usize,
}

pub struct RecurrenceLayout {
    /// Per layer, transposed: layer 0's memory columns only, (d_m, out); deeper layers (inp, out).
    pub weights_t: Vec<f32>,
    /// Per layer, row-major (out, inp), as the model holds them.
    pub weights: Vec<f32>,
    pub biases: Vec<f32>,
    /// 4 ints per layer: out, the step's inner size (d_m for layer 0, else inp), offset in
    /// `weights_t`, offset in `biases`.
    pub forward_table: Vec<i32>,
    /// 4 ints per layer: inp, offset in `weights`, the first memory column (layer 0: num_branch), 0.
    pub backward_table: Vec<i32>,
    /// The sum of every layer's outputs (a row of the kernels' pre/post buffers).
    pub width: usize,
    /// The widest layer's inputs or outputs (sizes the thread block).
    pub widest: usize,
}

fn as_i32(value: usize, what: &str) -> Result<i32> {
    i32::try_from(value).or_else(|_| bail!("{what} = {value} does not fit the kernels' 32-bit offsets"))
}

/// Packs `layers` (layer 0's input is [branch sums (num_branch), memory (num_memory)]; the last
/// layer has num_memory outputs).
pub fn pack(layers: &[MlpLayer], num_branch: usize, num_memory: usize) -> Result<RecurrenceLayout> {
    let Some(last) = layers.last() else { bail!("the ELM's MLP has no layers") };
    if last.out != num_memory || layers[0].inp != num_branch + num_memory {
        bail!(
            "MLP shapes do not fit d_m = {num_memory}, {num_branch} branches: layer 0 takes {}, the last gives {}",
            layers[0].inp,
            last.out
        );
    }
    let mut layout = RecurrenceLayout {
        weights_t: Vec::new(),
        weights: Vec::new(),
        biases: Vec::new(),
        forward_table: Vec::new(),
        backward_table: Vec::new(),
        width: 0,
        widest: 0,
    };
    for (l, layer) in layers.iter().enumerate() {
        if layer.weight.len() != layer.out * layer.inp || layer.bias.len() != layer.out {
            bail!(
                "MLP layer {l}: weight {} and bias {} for ({}, {})",
                layer.weight.len(),
                layer.bias.len(),
                layer.out,
                layer.inp
            );
        }
        let (first, inner) = if l == 0 { (num_branch, num_memory) } else { (0, layer.inp) };
        layout.forward_table.extend([
            as_i32(layer.out, "a layer's width")?,
            as_i32(inner, "a layer's input")?,
            as_i32(layout.weights_t.len(), "the weights' offset")?,
            as_i32(layout.biases.len(), "the biases' offset")?,
        ]);
        layout.backward_table.extend([
            as_i32(layer.inp, "a layer's input")?,
            as_i32(layout.weights.len(), "the weights' offset")?,
            as_i32(first, "the memory column")?,
            0,
        ]);
        for k in 0..inner {
            for o in 0..layer.out {
                layout.weights_t.push(layer.weight[o * layer.inp + first + k]);
            }
        }
        layout.weights.extend_from_slice(layer.weight);
        layout.biases.extend_from_slice(layer.bias);
        layout.width += layer.out;
        layout.widest = layout.widest.max(layer.out).max(inner);
    }
    as_i32(layout.weights.len(), "the MLP's weights")?;
    Ok(layout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_and_transposes_by_hand() {
        // d_m 2, 1 branch: layer 0 (3 out, 3 in), layer 1 (2 out, 3 in).
        let w0 = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
        let w1 = [10.0, 11.0, 12.0, 13.0, 14.0, 15.0];
        let layers = [
            MlpLayer { weight: &w0, bias: &[0.1, 0.2, 0.3], out: 3, inp: 3 },
            MlpLayer { weight: &w1, bias: &[0.4, 0.5], out: 2, inp: 3 },
        ];
        let layout = pack(&layers, 1, 2).unwrap();
        // Layer 0's memory columns (1 and 2) transposed: column 1 = [2, 5, 8], column 2 = [3, 6, 9].
        assert_eq!(&layout.weights_t[..6], &[2.0, 5.0, 8.0, 3.0, 6.0, 9.0]);
        // Layer 1 transposed: (3, 2).
        assert_eq!(&layout.weights_t[6..], &[10.0, 13.0, 11.0, 14.0, 12.0, 15.0]);
        assert_eq!(layout.forward_table, vec![3, 2, 0, 0, 2, 3, 6, 3]);
        assert_eq!(layout.backward_table, vec![3, 0, 1, 0, 3, 9, 0, 0]);
        assert_eq!((layout.width, layout.widest), (5, 3));
        assert!(pack(&layers, 2, 2).is_err());
    }
}
