//! Progress for long work: a bar on a terminal, nothing when output is piped or logged.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar counting `what`; hidden automatically when stderr is not a terminal.
pub fn bar(what: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix(what.to_string());
    bar
}

/// Adapts a bar to the `progress(done, total)` callbacks of the library crates.
pub fn callback(bar: &ProgressBar) -> impl Fn(usize, usize) + '_ {
    move |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    }
}

/// [`callback`] that owns (a handle to) its bar, for options structs that keep the callback.
pub fn owned_callback(bar: &ProgressBar) -> Box<dyn Fn(usize, usize)> {
    let bar = bar.clone();
    Box::new(move |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })
}

pub fn is_terminal() -> bool {
    std::io::IsTerminal::is_terminal(&std::io::stderr())
}
