//! The chrono initialisation (Tallec & Ollivier 2018): forget biases log(U(1, T_max - 1)), so in
//! [0, log(T_max - 1)), input biases their negatives, and every other tensor exactly as the plain
//! LSTM of the same seed draws it.

use elmbench::models::lstm::{Lstm, LstmConfig};

fn bias(lstm: &Lstm, name: &str) -> Vec<f32> {
    lstm.params.by_name(name).unwrap().value.data().to_vec()
}

#[test]
fn forget_biases_spread_over_the_timescales_and_input_biases_mirror_them() {
    let (hs, t_max) = (300, 1000.0f64);
    for two_biases in [false, true] {
        let config = LstmConfig { two_biases, chrono_t_max: Some(t_max), ..LstmConfig::new(11, 3, hs) };
        let chrono = Lstm::new(config.clone(), true, 21).unwrap();
        let plain = Lstm::new(LstmConfig { chrono_t_max: None, ..config }, false, 21).unwrap();
        // The effective bias of each gate: the single one, or bias_ih + bias_hh.
        let effective = |lstm: &Lstm| -> Vec<f32> {
            if two_biases {
                let (ih, hh) = (bias(lstm, "lstm.bias_ih_l0"), bias(lstm, "lstm.bias_hh_l0"));
                ih.iter().zip(&hh).map(|(a, b)| a + b).collect()
            } else {
                bias(lstm, "lstm.bias_l0")
            }
        };
        let (b, b_plain) = (effective(&chrono), effective(&plain));
        let (input, forget) = (&b[..hs], &b[hs..2 * hs]);
        let top = (t_max - 1.0).ln() as f32;
        for k in 0..hs {
            assert!((0.0..=top).contains(&forget[k]), "forget bias {k} = {} outside [0, {top}]", forget[k]);
            assert_eq!(input[k], -forget[k], "input bias {k}");
        }
        // Spread over the range, not clustered: log U(1, 999) has mean ~5.9 and most mass near the top.
        let mean = forget.iter().sum::<f32>() / hs as f32;
        assert!((5.5..6.3).contains(&mean), "mean forget bias {mean}");
        assert!(forget.iter().any(|&f| f < 3.0) && forget.iter().any(|&f| f > 6.7));
        // Cell and output gates keep PyTorch's init, identical to the plain LSTM's.
        assert_eq!(&b[2 * hs..], &b_plain[2 * hs..], "g and o biases");
        for p in chrono.params.iter() {
            if !p.name.starts_with("lstm.bias") {
                assert_eq!(Some(p), plain.params.by_name(&p.name), "{}", p.name);
            }
        }
        // And the plain LSTM's biases are PyTorch's uniform(+-1/sqrt(H)).
        let bound = 1.0 / (hs as f32).sqrt();
        assert!(bias(&plain, if two_biases { "lstm.bias_ih_l0" } else { "lstm.bias_l0" })
            .iter()
            .all(|v| v.abs() <= bound));
    }
}
