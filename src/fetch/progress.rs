//! Progress bars for long downloads, checksums and unpacking. indicatif draws on stderr only when
//! it is a terminal, so logs and tests see no bar noise.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar counting bytes, with rate and ETA when the total is known.
pub fn bytes_bar(show: bool, total: Option<u64>, message: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = match total {
        Some(total) => {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}")
                    .expect("valid progress template")
                    .progress_chars("=> "),
            );
            bar
        }
        None => {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{msg} {spinner} {bytes} {binary_bytes_per_sec}")
                    .expect("valid progress template"),
            );
            bar
        }
    };
    bar.set_message(message.to_string());
    bar
}
