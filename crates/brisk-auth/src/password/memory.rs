//! Argon2's working memory: two 19 MiB buffers kept while logins come, freed (and the
//! allocator trimmed) once they stop.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Argon2's working memory kept between verifications (at most this many buffers), so a
/// verification neither allocates nor faults in 19 MiB each time: every check costs the same,
/// whichever thread runs it, and the memory does not grow with the threads that ever hashed.
const KEPT_BUFFERS: usize = 2;

/// How long the kept buffers outlive the last verification (one run inside a tokio runtime,
/// as [`Hasher::verify_blocking`](super::Hasher::verify_blocking)'s are): a burst of logins
/// reuses them; then they are freed and the
/// allocator's free memory is given back to the system ([`brisk::memory::trim`]), so a
/// server that has logged people in does not stay 40 MiB larger.
const KEEP_FOR: Duration = Duration::from_millis(if cfg!(test) { 300 } else { 2000 });

/// The kept buffers and when one was last given back.
struct Kept {
    buffers: Vec<Vec<argon2::Block>>,
    last_used: Option<Instant>,
    /// Whether a task waits to free the buffers.
    release_pending: bool,
}

static MEMORY: Mutex<Kept> =
    Mutex::new(Kept { buffers: Vec::new(), last_used: None, release_pending: false });

fn kept() -> MutexGuard<'static, Kept> {
    MEMORY.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs `f` with `blocks` Argon2 memory blocks, from the kept buffers when one is free.
pub(super) fn with_memory<R>(blocks: usize, f: impl FnOnce(&mut [argon2::Block]) -> R) -> R {
    let mut buffer = kept().buffers.pop().unwrap_or_default();
    if buffer.len() != blocks {
        buffer.clear();
        buffer.resize(blocks, argon2::Block::new());
    }
    let result = f(&mut buffer);
    let mut state = kept();
    state.last_used = Some(Instant::now());
    if state.buffers.len() < KEPT_BUFFERS {
        state.buffers.push(buffer);
    }
    drop(state);
    // Here rather than in the caller: a verification whose caller went away (the client left,
    // a timeout) still schedules the release of what it kept.
    release_when_quiet();
    result
}

/// Frees the kept buffers once no verification has used one for [`KEEP_FOR`], then trims the
/// allocator: one task on the current tokio runtime (none outside one: then the buffers stay).
pub(super) fn release_when_quiet() {
    let mut state = kept();
    if state.release_pending || state.buffers.is_empty() {
        return;
    }
    let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
    state.release_pending = true;
    drop(state);
    runtime.spawn(async {
        // A runtime shut down while the task waits must not leave the flag set for good.
        let _pending = PendingGuard;
        loop {
            match take_when_quiet() {
                Ok(freed) => {
                    // Freeing 40 MiB and trimming the arenas: off the async workers.
                    let _ = tokio::task::spawn_blocking(move || {
                        drop(freed);
                        brisk::memory::trim();
                    })
                    .await;
                    #[cfg(test)]
                    tests::RELEASES.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    return;
                }
                Err(wait) => tokio::time::sleep(wait).await,
            }
        }
    });
}

/// Clears `release_pending` when the release task ends, however it ends (a task of another
/// release may run meanwhile: the two then free what there is, which does no harm).
struct PendingGuard;

impl Drop for PendingGuard {
    fn drop(&mut self) {
        kept().release_pending = false;
    }
}

/// The kept buffers, when none was used for [`KEEP_FOR`]; otherwise how long to wait.
fn take_when_quiet() -> Result<Vec<Vec<argon2::Block>>, Duration> {
    let mut state = kept();
    let quiet_at = state.last_used.map_or(Instant::now(), |t| t + KEEP_FOR);
    match quiet_at.saturating_duration_since(Instant::now()) {
        wait if !wait.is_zero() => Err(wait),
        _ => {
            // A verification ending from now on schedules the next release itself.
            state.release_pending = false;
            Ok(std::mem::take(&mut state.buffers))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::password::{Argon2Cost, Hasher};

    /// How many times the kept buffers were freed.
    pub(super) static RELEASES: AtomicUsize = AtomicUsize::new(0);

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_kept_buffers_are_freed_once_verifications_stop() {
        let hasher = Hasher::new(Argon2Cost { memory_kib: 64, iterations: 1, parallelism: 1 });
        let hash = hasher.hash("pw").unwrap();
        let released = RELEASES.load(Ordering::SeqCst);
        // Verifications closer together than KEEP_FOR keep the buffers.
        let start = Instant::now();
        while start.elapsed() < KEEP_FOR * 2 {
            assert!(hasher.verify_blocking("pw", Some(&hash)).await.is_match());
            tokio::time::sleep(KEEP_FOR / 4).await;
        }
        assert_eq!(RELEASES.load(Ordering::SeqCst), released, "freed while verifications went on");
        let last = Instant::now();
        assert!(hasher.verify_blocking("pw", Some(&hash)).await.is_match());
        while RELEASES.load(Ordering::SeqCst) == released {
            assert!(
                last.elapsed() < KEEP_FOR * 5,
                "the buffers were not freed {:?} after the last use",
                last.elapsed()
            );
            tokio::time::sleep(KEEP_FOR / 10).await;
        }
        assert!(last.elapsed() >= KEEP_FOR, "freed {:?} after the last use", last.elapsed());
        // And a verification after that still works (on new memory).
        assert!(hasher.verify_blocking("pw", Some(&hash)).await.is_match());
        assert!(!hasher.verify_blocking("not pw", Some(&hash)).await.is_match());
    }
}
