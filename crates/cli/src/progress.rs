//! Progress for long work: a bar on a terminal; in a log (stderr piped, nohup, Slurm, CI) a line
//! per tenth of the work instead, so a long run is never silent.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// `--quiet`: no bars and no progress lines.
static QUIET: AtomicBool = AtomicBool::new(false);

pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// A bar counting `what`; hidden automatically when stderr is not a terminal.
pub fn bar(what: &str) -> ProgressBar {
    let target = if QUIET.load(Ordering::Relaxed) {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    };
    let bar = ProgressBar::with_draw_target(Some(0), target);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix(what.to_string());
    bar
}

/// Adapts a bar to the `progress(done, total)` callbacks of the library crates.
pub fn callback(bar: &ProgressBar) -> impl Fn(usize, usize) + '_ {
    let logged = AtomicUsize::new(usize::MAX);
    move |done, total| advance(bar, &logged, done, total)
}

/// [`callback`] that owns (a handle to) its bar, for options structs that keep the callback.
pub fn owned_callback(bar: &ProgressBar) -> Box<dyn Fn(usize, usize) + Sync> {
    let bar = bar.clone();
    let logged = AtomicUsize::new(usize::MAX);
    Box::new(move |done, total| advance(&bar, &logged, done, total))
}

/// Moves the bar; without a terminal, logs `done/total` whenever another tenth is complete
/// (`logged` holds the last tenth written).
fn advance(bar: &ProgressBar, logged: &AtomicUsize, done: usize, total: usize) {
    bar.set_length(total as u64);
    bar.set_position(done as u64);
    if total == 0 || is_terminal() {
        return;
    }
    let tenth = done * 10 / total;
    if logged.swap(tenth, Ordering::Relaxed) != tenth {
        tracing::info!("{} {done}/{total}", bar.prefix());
    }
}

/// Whether bars are drawn: stderr is a terminal and `--quiet` is off.
pub fn is_terminal() -> bool {
    !QUIET.load(Ordering::Relaxed) && std::io::IsTerminal::is_terminal(&std::io::stderr())
}
