#![doc = include_str!("../../../README.md")]
#![warn(missing_docs)]

// The derives name `::brisk::...`, which must resolve inside this crate too.
extern crate self as brisk;

pub mod background;
pub mod batch;
pub mod body;
#[cfg(feature = "cache")]
pub mod cache;
#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "csrf")]
pub mod csrf;
pub mod depends;
pub mod error;
pub mod extract;
pub mod handler;
pub mod health;
mod install;
pub mod instance;
pub mod logging;
pub mod memory;
pub mod middleware;
pub mod openapi;
pub mod pubsub;
pub mod rate_limit;
pub mod response;
pub mod routing;
#[cfg(feature = "sessions")]
pub mod secret_key;
pub mod security;
#[cfg(feature = "sessions")]
pub mod sessions;
#[cfg(feature = "static-files")]
pub mod static_files;
#[cfg(feature = "templates")]
pub mod templates;
pub mod testing;
pub mod validation;
#[cfg(feature = "ws")]
pub mod ws;

mod answer;
mod app;
mod batched_io;
mod body_pace;
mod drain;
mod h2_idle;
mod header_clock;
#[cfg(feature = "cache")]
mod log_throttle;
mod run;
mod server;
mod web;

pub use app::{App, AppService, BuildError, ServerConfig, DEFAULT_BODY_LIMIT};
pub use error::{Error, Result};
pub use extract::{Form, Json, Path, Query, State};
pub use install::Install;
pub use openapi::{endpoint, ApiError};
pub use routing::Router;
pub use run::run;
pub use server::{bind, bind_reuse_port, shutdown_signal, ServeError};
pub use validation::Validate;

pub use bytes;
/// Streams for SSE and JSON Lines bodies: `futures_util::stream` (`iter`, `once`, `unfold`,
/// `Stream`, `StreamExt` ...), so an app needs no other crate for them.
pub use futures_util::stream;
pub use headers;
pub use http;
pub use schemars;
pub use serde_json;

/// Re-exports for the derive macros; not public API.
#[doc(hidden)]
pub mod __private {
    pub use regex_lite;
    pub use schemars;
}

/// Everything a typical app needs: `use brisk::prelude::*;`.
pub mod prelude {
    pub use crate::depends::{Dependency, Depends, Fresh, Scope};
    pub use crate::extract::{Cookies, Header, TypedHeader};
    pub use crate::extract::{FormErrors, FormResult};
    pub use crate::http::StatusCode;
    pub use crate::response::{Created, NoContent};
    pub use crate::response::{Html, IntoResponse, Redirect, Response};
    pub use crate::routing::UrlFor;
    pub use crate::routing::{delete, get, head, options, patch, post, put, trace};
    #[cfg(feature = "templates")]
    pub use crate::templates::{context, Template, Templates};
    pub use crate::validation::ValidationIssue;
    pub use crate::{ApiError, App, Error, Form, Json, Path, Query, Result, Router, State, Validate};
    pub use schemars::JsonSchema;
    pub use serde::{Deserialize, Serialize};
}
