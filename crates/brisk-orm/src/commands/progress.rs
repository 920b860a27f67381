//! Progress of long commands: a bar on stderr when it is a terminal, nothing otherwise (the
//! command's own lines go to its output either way, so logs and pipes stay plain).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar counting migrations, drawn only at a terminal.
pub(super) struct Bar(Option<ProgressBar>);

impl Bar {
    /// A bar for `migrate`, or none when stderr is not a terminal.
    pub(super) fn new() -> Self {
        if !std::io::stderr().is_terminal() {
            return Bar(None);
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{spinner} [{pos}/{len}] {msg} ({elapsed})") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Bar(Some(bar))
    }

    /// Migration `n` of `total`, `key`, starts.
    pub(super) fn starting(&self, key: &str, n: usize, total: usize) {
        if let Some(bar) = &self.0 {
            bar.set_length(total as u64);
            bar.set_position(n.saturating_sub(1) as u64);
            bar.set_message(format!("applying {key}"));
        }
    }

    /// Removes the bar.
    pub(super) fn finish(self) {
        if let Some(bar) = self.0 {
            bar.finish_and_clear();
        }
    }
}
