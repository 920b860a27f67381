//! Why a command failed: a sentence that says what to do, and the exit code.

use std::fmt;

/// A failed command: its message and exit code (1 failed, 2 bad arguments).
#[derive(Debug)]
pub struct Failure {
    /// What went wrong and what to do about it.
    pub message: String,
    /// The process's exit code.
    pub code: i32,
}

impl Failure {
    /// The command could not do its work (exit code 1).
    pub fn failed(message: impl Into<String>) -> Self {
        Failure { message: message.into(), code: 1 }
    }

    /// The arguments are wrong (exit code 2, as for clap's own errors).
    pub fn usage(message: impl Into<String>) -> Self {
        Failure { message: message.into(), code: 2 }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
