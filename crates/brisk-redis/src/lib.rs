//! Redis backends for brisk: sessions, cache, rate limits and pub/sub.
