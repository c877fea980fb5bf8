//! Progress bars for the long commands (generate, import, profile, train), on standard
//! error so that standard output stays the result.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar of `len` steps (0 when unknown yet) drawn with `template` (indicatif's syntax).
pub fn bar(len: u64, template: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(ProgressStyle::with_template(template).expect("valid template"));
    bar
}
