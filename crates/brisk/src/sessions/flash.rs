//! Flash messages: notes for the next page ("Saved."), kept on the session and shown once
//! (Django's messages framework on the session backend).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Session;

/// Where flash messages are kept in the session.
const FLASHES_KEY: &str = "_flashes";

/// A flash message's level: one of Django's five, or any tag of yours. Its text is what a
/// template puts in a CSS class.
///
/// ```
/// use brisk::sessions::Level;
/// assert_eq!(Level::SUCCESS.as_str(), "success");
/// assert_eq!(Level::from("success"), Level::SUCCESS);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Level(Cow<'static, str>);

impl Level {
    /// `debug`.
    pub const DEBUG: Level = Level(Cow::Borrowed("debug"));
    /// `info`.
    pub const INFO: Level = Level(Cow::Borrowed("info"));
    /// `success`.
    pub const SUCCESS: Level = Level(Cow::Borrowed("success"));
    /// `warning`.
    pub const WARNING: Level = Level(Cow::Borrowed("warning"));
    /// `error`.
    pub const ERROR: Level = Level(Cow::Borrowed("error"));

    /// The level's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&'static str> for Level {
    fn from(name: &'static str) -> Self {
        Level(Cow::Borrowed(name))
    }
}

impl From<String> for Level {
    fn from(name: String) -> Self {
        Level(Cow::Owned(name))
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One flash message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flash {
    /// Its level (`success`, `error` ...).
    pub level: Level,
    /// Its text.
    pub message: String,
}

impl Session {
    /// Keeps `message` for the next page that shows flashes.
    ///
    /// ```
    /// use brisk::prelude::*;
    /// use brisk::sessions::Session;
    ///
    /// async fn save(session: Session) -> Redirect {
    ///     session.flash("success", "Saved.");
    ///     Redirect::to("/")
    /// }
    ///
    /// async fn home(session: Session) -> String {
    ///     session.take_flashes().iter().map(|f| format!("[{}] {}\n", f.level, f.message)).collect()
    /// }
    /// ```
    pub fn flash(&self, level: impl Into<Level>, message: impl Into<String>) {
        let flash = Flash { level: level.into(), message: message.into() };
        self.update(|data| {
            let list = data.entry(FLASHES_KEY).or_insert_with(|| Value::Array(Vec::new()));
            if !list.is_array() {
                *list = Value::Array(Vec::new());
            }
            if let (Value::Array(list), Ok(flash)) = (list, serde_json::to_value(flash)) {
                list.push(flash);
            }
            ((), true)
        });
    }

    /// The flash messages waiting, oldest first, removed: each is shown once.
    pub fn take_flashes(&self) -> Vec<Flash> {
        self.update(|data| match data.remove(FLASHES_KEY) {
            Some(list) => (read(list), true),
            None => (Vec::new(), false),
        })
    }

    /// The flash messages waiting, left in place.
    pub fn peek_flashes(&self) -> Vec<Flash> {
        self.update(|data| (data.get(FLASHES_KEY).cloned().map(read).unwrap_or_default(), false))
    }
}

/// The messages in `list`; anything else there is dropped.
fn read(list: Value) -> Vec<Flash> {
    match list {
        Value::Array(items) => items.into_iter().filter_map(|v| serde_json::from_value(v).ok()).collect(),
        _ => Vec::new(),
    }
}
