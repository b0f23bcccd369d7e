//! How device results are compared with the CPU's, in the tests and in the first-step check of
//! `models::on_device`.

/// max |got - want| / max(floor, max |want|): an error relative to the tensor's largest value,
/// so a gradient's tiny entries are judged on the scale of its large ones.
pub fn error_relative_to_largest(got: &[f32], want: &[f32], floor: f32) -> f32 {
    assert_eq!(got.len(), want.len());
    let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(floor);
    // f32::max drops NaN; a NaN difference must make the whole error NaN, which fails any check.
    let worst =
        got.iter().zip(want).map(|(a, b)| (a - b).abs()).fold(0.0f32, |m, d| if d.is_nan() || d > m { d } else { m });
    worst / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_relative_to_the_largest_value() {
        // Largest |want| is 4; the worst difference is 0.2 (in the small entry).
        assert!((error_relative_to_largest(&[4.0, 0.3], &[4.0, 0.1], 1e-6) - 0.05).abs() < 1e-6);
        // The floor takes over for an all-zero tensor.
        assert!((error_relative_to_largest(&[0.001], &[0.0], 0.01) - 0.1).abs() < 1e-6);
        // A NaN anywhere makes the error NaN, which no `< tolerance` check passes.
        assert!(error_relative_to_largest(&[f32::NAN, 1.0], &[1.0, 1.0], 1e-6).is_nan());
        assert!(error_relative_to_largest(&[1.0, f32::NAN], &[1.0, 1.0], 1e-6).is_nan());
    }
}
