//! IEEE 754 half precision: NeuronIO stores voltages and spike times as float16.

/// The exact f32 value of a float16 bit pattern.
pub fn f16_to_f32(bits: u16) -> f32 {
    let sign = ((bits >> 15) as u32) << 31;
    let exponent = ((bits >> 10) & 0x1f) as u32;
    let mantissa = (bits & 0x3ff) as u32;
    let magnitude = match (exponent, mantissa) {
        (0, 0) => 0,
        // Subnormal: mantissa * 2^-24, exact in f32.
        (0, m) => return f32::from_bits(sign) + (if sign != 0 { -1.0 } else { 1.0 }) * m as f32 * 2f32.powi(-24),
        (0x1f, 0) => 0x7f80_0000,
        (0x1f, m) => 0x7fc0_0000 | (m << 13),
        (e, m) => ((e + 127 - 15) << 23) | (m << 13),
    };
    f32::from_bits(sign | magnitude)
}

/// The float16 nearest to `value` (ties to even), as numpy's `astype(np.float16)`.
pub fn f32_to_f16(value: f32) -> u16 {
    let bits = value.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exponent = ((bits >> 23) & 0xff) as i32;
    let mantissa = bits & 0x7f_ffff;
    if exponent == 0xff {
        return sign | 0x7c00 | if mantissa != 0 { 0x200 } else { 0 };
    }
    let e = exponent - 127 + 15;
    if e >= 0x1f {
        return sign | 0x7c00; // overflow to infinity
    }
    if e <= 0 {
        // Subnormal or zero: shift the full significand into place with rounding.
        if e < -10 {
            return sign;
        }
        let full = mantissa | 0x80_0000;
        let shift = (14 - e) as u32;
        let half = full >> shift;
        let rest = full & ((1 << shift) - 1);
        let halfway = 1 << (shift - 1);
        let round_up = rest > halfway || (rest == halfway && half & 1 == 1);
        return sign | (half + round_up as u32) as u16;
    }
    let half = ((e as u32) << 10) | (mantissa >> 13);
    let rest = mantissa & 0x1fff;
    let round_up = rest > 0x1000 || (rest == 0x1000 && half & 1 == 1);
    // A carry out of the mantissa correctly bumps the exponent (up to infinity).
    sign | (half + round_up as u32) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // From the IEEE 754 binary16 table.
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        assert!(f16_to_f32(0x7c00).is_infinite());
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f32_to_f16(1.0), 0x3c00);
        assert_eq!(f32_to_f16(65504.0), 0x7bff);
        assert_eq!(f32_to_f16(65520.0), 0x7c00); // rounds to infinity
        assert_eq!(f32_to_f16(2f32.powi(-24)), 0x0001);
        assert_eq!(f32_to_f16(2f32.powi(-26)), 0x0000); // below half the smallest subnormal
                                                        // Spacing is 4 above 4096: 4457.5 lies between 4456 and 4460, nearer 4456.
        assert_eq!(f16_to_f32(f32_to_f16(4457.5)), 4456.0);
        // A tie goes to even: 2049 is halfway between 2048 (even mantissa) and 2050.
        assert_eq!(f16_to_f32(f32_to_f16(2049.0)), 2048.0);
        assert_eq!(f16_to_f32(f32_to_f16(2051.0)), 2052.0);
    }

    #[test]
    fn every_half_round_trips_and_rounding_is_nearest() {
        for bits in 0..=u16::MAX {
            let v = f16_to_f32(bits);
            if v.is_nan() {
                assert!(f16_to_f32(f32_to_f16(v)).is_nan());
                continue;
            }
            assert_eq!(f32_to_f16(v), bits, "{bits:#06x} = {v}");
        }
        // Between neighbours, the nearer one wins.
        for &x in &[-72.2f32, 0.1, 1234.5678, 5999.9, -0.000_01] {
            let h = f16_to_f32(f32_to_f16(x));
            let up = f16_to_f32(f32_to_f16(x) + if x > 0.0 { 1 } else { 0 });
            let down = f16_to_f32(f32_to_f16(x).wrapping_sub(if x > 0.0 { 1 } else { 0 }));
            assert!((h - x).abs() <= (up - x).abs() && (h - x).abs() <= (down - x).abs(), "{x}");
        }
    }
}
