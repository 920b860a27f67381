#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

#[cfg(feature = "admin")]
pub mod admin;
mod command;
mod complete;
pub mod cron;
mod enqueue;
mod job;
mod jobs;
mod lease;
mod listen;
mod model;
mod notify;
mod registry;
mod settings;
mod store;
mod wake;
mod worker;

pub use enqueue::{Enqueue, JobExt};
pub use job::{Job, JobContext, JobError};
pub use jobs::{Jobs, StartError, WORKERS_ENV};
pub use model::{JobRecord, JobState};
pub use store::{cancel, prune, retry};
pub use worker::Runner;

brisk_orm::ship_migrations!();

/// What a module using brisk-jobs needs: `use brisk_jobs::prelude::*;`.
pub mod prelude {
    pub use crate::{Job, JobContext, JobError, JobExt, Jobs};
}
