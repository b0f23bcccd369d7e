//! PLACEHOLDER until the SHD reader lands.
pub fn num_steps(bin_ms: u32) -> usize {
    let step = bin_ms as f64 / 1000.0;
    ((1.0 + step) / step).ceil() as usize - 1
}
