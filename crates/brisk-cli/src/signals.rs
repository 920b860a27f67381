//! Ctrl-C (SIGINT) and SIGTERM as a call on a thread of their own, so that `brisk dev` stops
//! its app and its build before it exits.

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::failure::Failure;

/// Calls `stop` whenever the process receives SIGINT or SIGTERM (instead of dying).
pub fn on_stop(stop: impl Fn() + Send + 'static) -> Result<(), Failure> {
    let mut signals =
        Signals::new([SIGINT, SIGTERM]).map_err(|e| Failure::failed(format!("cannot handle Ctrl-C: {e}")))?;
    std::thread::spawn(move || {
        for _ in signals.forever() {
            stop();
        }
    });
    Ok(())
}
