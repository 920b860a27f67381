//! `brisk::memory`: `trim` gives back what glibc's arenas kept, and after `map_large_blocks`
//! they keep nothing large (its own test binary and one test: resident memory is the whole
//! process's, and `map_large_blocks` changes the allocator for good).

#![cfg(all(target_os = "linux", target_env = "gnu"))]

/// Resident memory of this process, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn trim_and_map_large_blocks_return_freed_memory() {
    // On a thread of its own (its own arena): one large block freed raises glibc's mmap
    // threshold, so the next large blocks come from the arena and stay there when freed.
    let (before, kept, after) = std::thread::spawn(|| {
        drop(std::hint::black_box(vec![1u8; 24 << 20]));
        let blocks: Vec<Vec<u8>> = (0..4).map(|i| vec![i as u8 + 1; 4 << 20]).collect();
        let before = rss_kib();
        drop(std::hint::black_box(blocks));
        let kept = rss_kib();
        brisk::memory::trim();
        (before, kept, rss_kib())
    })
    .join()
    .expect("the allocating thread");
    assert!(
        kept + 1024 > before,
        "glibc gave the 16 MiB back by itself ({before} -> {kept} KiB): nothing to trim"
    );
    assert!(
        kept >= after + 12 * 1024,
        "trim returned {} KiB of the 16 MiB freed",
        kept.saturating_sub(after)
    );

    // From now on a large block has its own mapping, unmapped when freed: no trim needed.
    // (Blocks larger than the free space the arena above still holds, which would serve them.)
    assert!(brisk::memory::map_large_blocks());
    let (before, after) = std::thread::spawn(|| {
        let blocks: Vec<Vec<u8>> = (0..3).map(|i| vec![i as u8 + 1; 20 << 20]).collect();
        let before = rss_kib();
        drop(std::hint::black_box(blocks));
        (before, rss_kib())
    })
    .join()
    .expect("the allocating thread");
    assert!(
        before >= after + 56 * 1024,
        "freeing 60 MiB of large blocks returned {} KiB",
        before.saturating_sub(after)
    );
}
