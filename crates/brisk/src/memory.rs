//! Memory given back to the operating system.
//!
//! glibc's `malloc` (the default allocator of Rust programs on most Linux systems) keeps what a
//! thread frees in that thread's arena, and once it has freed one large block it serves the
//! next ones (up to 32 MiB) from the arenas too: after a burst of large allocations — Argon2's
//! 19 MiB per password check on several threads, multi-megabyte request bodies — the process
//! stays that large although nothing uses the memory.
//!
//! - [`map_large_blocks`], called once at start-up, gives every block of 1 MiB or more its own
//!   mapping, unmapped when it is freed: large bodies and buffers leave nothing behind.
//!   [`brisk::run`](crate::run) (and so `runserver`) calls it before serving; an app that
//!   serves another way calls it first thing in `main`.
//! - [`trim`] returns the free memory inside the arenas (`malloc_trim(0)`); code that frees
//!   something large and then expects a quiet spell calls it (brisk-auth does, once password
//!   checks have stopped for a moment).
//!
//! With another global allocator (mimalloc, jemalloc), or off glibc, both do nothing.
//!
//! ```
//! brisk::memory::map_large_blocks(); // first thing in main
//! let big = vec![1u8; 32 << 20];
//! drop(big); // unmapped at once
//! brisk::memory::trim(); // and whatever smaller blocks freed goes back too
//! ```

/// The size from which [`map_large_blocks`] maps each block on its own: 1 MiB.
pub const LARGE_BLOCK: usize = 1 << 20;

/// Makes glibc's malloc serve every block of [`LARGE_BLOCK`] or more from a mapping of its
/// own, unmapped when the block is freed (`mallopt(M_MMAP_THRESHOLD, 1 MiB)`, which also turns
/// off glibc's habit of raising that threshold, up to 32 MiB, each time such a block is freed).
/// Call it once, first thing in `main`; whether it took. Costs nothing for the small blocks of
/// ordinary requests; a large block pays its page faults each time (it mostly would anyway).
/// A no-op, `false`, where the C library is not glibc.
pub fn map_large_blocks() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn mallopt(param: std::os::raw::c_int, value: std::os::raw::c_int) -> std::os::raw::c_int;
        }
        /// glibc's `M_MMAP_THRESHOLD` (malloc.h).
        const M_MMAP_THRESHOLD: std::os::raw::c_int = -3;
        // SAFETY: mallopt takes two integers and sets an allocator parameter under its lock.
        unsafe { mallopt(M_MMAP_THRESHOLD, LARGE_BLOCK as std::os::raw::c_int) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

/// Returns the free memory of glibc's malloc arenas to the operating system
/// (`malloc_trim(0)`); whether any was returned. Takes the arenas' locks in turn while it walks
/// their free lists (well under a millisecond for tens of megabytes): call it after freeing
/// something large, not per request. A no-op, `false`, where the C library is not glibc.
pub fn trim() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> std::os::raw::c_int;
        }
        // SAFETY: malloc_trim takes no pointers; it locks each arena and releases its free
        // pages, and may be called from any thread at any time.
        unsafe { malloc_trim(0) != 0 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}
