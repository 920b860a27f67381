//! Errors a battery knows how to answer. `?` turns any `std::error::Error` into a
//! [`brisk::Error`](crate::Error); by default that is a 500 whose cause is logged. A battery
//! whose errors mean more (the ORM's "no such row" is a 404, its unique violation a 409)
//! registers a function here that recognises them and gives the right answer.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;

use super::Error;

/// Looks at an error and, when it knows it, answers it.
pub type ErrorAnswer = fn(&(dyn std::error::Error + 'static)) -> Option<Error>;

static ANSWERS: RwLock<Vec<ErrorAnswer>> = RwLock::new(Vec::new());
static ANY: AtomicBool = AtomicBool::new(false);

/// Registers `answer` for every error converted with `?` from now on (once per function;
/// registering it again does nothing).
///
/// ```
/// use brisk::{http::StatusCode, Error};
///
/// #[derive(Debug)]
/// struct Gone;
/// impl std::fmt::Display for Gone {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("gone") }
/// }
/// impl std::error::Error for Gone {}
///
/// brisk::error::answer_errors_with(|e| {
///     e.downcast_ref::<Gone>().map(|_| Error::http(StatusCode::GONE, "Gone"))
/// });
/// let e: Error = Gone.into();
/// assert_eq!(e.status(), StatusCode::GONE);
/// ```
pub fn answer_errors_with(answer: ErrorAnswer) {
    let mut answers = ANSWERS.write().unwrap_or_else(|p| p.into_inner());
    if !answers.iter().any(|a| std::ptr::fn_addr_eq(*a, answer)) {
        answers.push(answer);
    }
    ANY.store(true, Ordering::Release);
}

/// The answer of the first registered function that knows `e`.
pub(crate) fn answer(e: &(dyn std::error::Error + 'static)) -> Option<Error> {
    if !ANY.load(Ordering::Acquire) {
        return None;
    }
    ANSWERS.read().unwrap_or_else(|p| p.into_inner()).iter().find_map(|a| a(e))
}
