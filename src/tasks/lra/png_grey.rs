//! One Pathfinder image: an 8-bit grey PNG of a known square size, decoded to its grey levels.
//!
//! Decoder: the pure-Rust `png` crate (already in the build through `plotters`' bitmap encoder, so
//! no new dependency tree; no C libpng to install). With no transformations requested it returns
//! the stored 8-bit grey samples exactly, which is what PIL's `convert("L")` returns for an "L"
//! image (a no-op), so the tokens equal S4's. Anything else (RGB, grey + alpha, 16-bit, palette,
//! another size, a damaged or truncated stream) is refused with the file named: S4 would convert
//! such an image silently, but none belongs in the release, and a wrong one is worth knowing.

use anyhow::{anyhow, bail, Result};
use std::path::Path;

/// The largest PNG file accepted: a 128x128 8-bit image stores at most 16 KB of pixels (plus
/// filter bytes and chunk overhead); anything far larger is not a Pathfinder image.
pub const MAX_PNG_BYTES: u64 = 1 << 20;

/// Decodes `bytes` (the PNG file `path`) into `out`, which must hold `side * side` levels.
pub fn decode_grey_png_into(path: &Path, bytes: &[u8], side: usize, out: &mut [u8]) -> Result<()> {
    let fail = |what: String| anyhow!("{}: {what}", path.display());
    if bytes.is_empty() {
        bail!("{}: empty file, not a PNG image", path.display());
    }
    // The decoder allocates its line buffers from the header's size; the limit stops a damaged
    // header from asking for more than a small image needs.
    let limits = png::Limits { bytes: 4 * side * side + (1 << 16) };
    let mut decoder = png::Decoder::new_with_limits(std::io::Cursor::new(bytes), limits);
    decoder.set_transformations(png::Transformations::IDENTITY);
    let mut reader = decoder.read_info().map_err(|e| fail(format!("not a readable PNG image ({e})")))?;
    let info = reader.info();
    let (width, height) = (info.width as usize, info.height as usize);
    if (width, height) != (side, side) {
        bail!("{}: {width}x{height} pixels, expected {side}x{side}", path.display());
    }
    if info.color_type != png::ColorType::Grayscale || info.bit_depth != png::BitDepth::Eight {
        bail!(
            "{}: {:?} with {} bits per sample, expected 8-bit grey (Grayscale, 8)",
            path.display(),
            info.color_type,
            info.bit_depth as u8
        );
    }
    if out.len() != side * side || reader.output_buffer_size() != side * side {
        bail!("{}: decoding into {} bytes, the image has {}", path.display(), out.len(), side * side);
    }
    reader.next_frame(out).map_err(|e| fail(format!("damaged or truncated PNG image data ({e})")))?;
    Ok(())
}

/// Reads and decodes the PNG file `path`.
pub fn read_grey_png(path: &Path, side: usize) -> Result<Vec<u8>> {
    let mut out = vec![0; side * side];
    read_grey_png_into(path, side, &mut out)?;
    Ok(out)
}

/// Reads and decodes the PNG file `path` into `out` (`side * side` levels).
pub fn read_grey_png_into(path: &Path, side: usize, out: &mut [u8]) -> Result<()> {
    let len = std::fs::metadata(path).map_err(|e| anyhow!("{}: cannot read ({e})", path.display()))?.len();
    if len > MAX_PNG_BYTES {
        bail!("{}: {len} bytes, more than a {side}x{side} grey image needs", path.display());
    }
    let bytes = std::fs::read(path).map_err(|e| anyhow!("{}: cannot read ({e})", path.display()))?;
    decode_grey_png_into(path, &bytes, side, out)
}
