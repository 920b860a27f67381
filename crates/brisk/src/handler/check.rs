//! The assertions `#[brisk::endpoint]` writes for a handler's signature, one per argument and
//! one for the return type, each spanned to that type so the compiler points at it.
//!
//! Each trait holds exactly when the handler's own bound holds ([`HeadArgument`],
//! [`LastArgument`], [`HandlerReturn`]); they differ only in the message, picked by the macro
//! from what it sees. A message names the argument's position and says what to change.
//!
//! ```
//! use brisk::handler::check::{Head, Returns};
//! use brisk::prelude::*;
//!
//! // What `#[brisk::endpoint]` writes for `async fn show(Path(id): Path<u32>) -> String`:
//! let () = <u32 as brisk::handler::check::HeadData<Path<u32>, 1>>::OK;
//! let () = <Path<u32> as Head<1>>::OK;
//! let () = <String as Returns>::OK;
//! ```

use super::{HandlerFn, HandlerReturn, HeadArgument, LastArgument};
use crate::openapi::Documented;

/// Argument `POSITION` (not the last) is a request-head extractor.
#[diagnostic::on_unimplemented(
    message = "argument {POSITION} of this handler, `{Self}`, cannot be read from the request head",
    label = "argument {POSITION} is not a request-head extractor",
    note = "arguments before the last are extractors that read the request head: `Path<T>`, `Query<T>`, `Header<T>`, `Cookies<T>`, `State<T>`, `Depends<T>` ...",
    note = "only the last argument may read the body (`Json<T>`, `Form<T>`, `String`, `Bytes`, `Multipart`, `BodyStream`)"
)]
pub trait Head<const POSITION: usize> {
    /// Naming it checks the bound.
    const OK: () = ();
}

impl<T: HeadArgument<POSITION>, const POSITION: usize> Head<POSITION> for T {}

/// Argument `POSITION`, not the last, is named like a body extractor: it must read the head.
#[diagnostic::on_unimplemented(
    message = "argument {POSITION} of this handler, `{Self}`, reads the request body, so it must be the last argument",
    label = "a body extractor in position {POSITION}, before other arguments",
    note = "the body can be read once, after the head: move this argument to the end of the list"
)]
pub trait BodyNotLast<const POSITION: usize> {
    /// Naming it checks the bound.
    const OK: () = ();
}

impl<T: HeadArgument<POSITION>, const POSITION: usize> BodyNotLast<POSITION> for T {}

/// The last argument, in position `POSITION`, is an extractor (it may read the body).
#[diagnostic::on_unimplemented(
    message = "argument {POSITION} of this handler, `{Self}`, is not an extractor",
    label = "argument {POSITION} is not an extractor",
    note = "handler arguments are extractors: `Path<T>`, `Query<T>`, `Json<T>`, `Form<T>`, `Header<T>`, `State<T>` ...; implement `brisk::extract::FromRequestParts` (or `FromRequest`) and `brisk::openapi::DescribeInput` for your own"
)]
pub trait Last<const POSITION: usize, M> {
    /// Naming it checks the bound.
    const OK: () = ();
}

impl<T: LastArgument<POSITION, M>, M, const POSITION: usize> Last<POSITION, M> for T {}

/// Argument `POSITION` (not the last) is `A`, an extractor carrying `Self` (`Path<Self>`,
/// `Query<Self>` ...).
#[diagnostic::on_unimplemented(
    message = "argument {POSITION} of this handler reads a `{Self}` from the request, but `{Self}` does not derive what that needs",
    label = "`{Self}` needs `Deserialize`, `JsonSchema` and `Validate`",
    note = "add `#[derive(Deserialize, JsonSchema, Validate)]` (from `brisk::prelude`) to `{Self}`",
    note = "derive `JsonSchema` from schemars 1.x, re-exported as `brisk::prelude::JsonSchema`; schemars 0.8's derive implements a different trait"
)]
pub trait HeadData<A, const POSITION: usize> {
    /// Naming it checks the bound.
    const OK: () = ();
}

impl<T: ?Sized, A: HeadArgument<POSITION>, const POSITION: usize> HeadData<A, POSITION> for T {}

/// The last argument, in position `POSITION`, is `A`, an extractor carrying `Self`
/// (`Json<Self>`, `Form<Self>` ...).
#[diagnostic::on_unimplemented(
    message = "argument {POSITION} of this handler reads a `{Self}` from the request, but `{Self}` does not derive what that needs",
    label = "`{Self}` needs `Deserialize`, `JsonSchema` and `Validate`",
    note = "add `#[derive(Deserialize, JsonSchema, Validate)]` (from `brisk::prelude`) to `{Self}`",
    note = "derive `JsonSchema` from schemars 1.x, re-exported as `brisk::prelude::JsonSchema`; schemars 0.8's derive implements a different trait"
)]
pub trait LastData<A, const POSITION: usize, M> {
    /// Naming it checks the bound.
    const OK: () = ();
}

impl<T: ?Sized, A: LastArgument<POSITION, M>, M, const POSITION: usize> LastData<A, POSITION, M> for T {}

/// The return type is a response that documents itself.
#[diagnostic::on_unimplemented(
    message = "the return type `{Self}` is not a response brisk can return and document",
    label = "not a documented response",
    note = "return a type that implements `IntoResponse` and `brisk::openapi::DescribeOutput`: `String`, `Json<T>`, `(StatusCode, Json<T>)`, `Created<Json<T>>`, `Result<Json<T>, MyApiError>` ...",
    note = "types sent as JSON derive `Serialize` and `JsonSchema`; a type of your own implements `IntoResponse` and `brisk::openapi::DescribeOutput`, or is returned as `brisk::openapi::Undocumented<...>`"
)]
pub trait Returns {
    /// Naming it checks the bound.
    const OK: () = ();
}

impl<T: HandlerReturn> Returns for T {}

/// A return type that is (or holds) an `impl Trait`: it must still be a documented response,
/// which an `impl IntoResponse` is not (brisk documents the concrete type, which it hides).
#[diagnostic::on_unimplemented(
    message = "the return type `{Self}` hides the type brisk documents",
    label = "brisk documents the concrete return type, which this `impl Trait` hides",
    note = "write the concrete type (`Json<Item>`, `(StatusCode, Json<Item>)`, `Result<Json<Item>, MyApiError>` ...), or return `brisk::openapi::Undocumented<impl IntoResponse>` to leave the responses out of the docs"
)]
pub trait OpaqueReturns {}

impl<T: HandlerReturn> OpaqueReturns for T {}

/// Checks the return type of an `#[endpoint]` handler whose return type holds an `impl Trait`
/// (which the macro cannot name): it takes the function itself.
pub fn opaque_return<F, Args, R, D>(_handler: F)
where
    F: HandlerFn<Args, Output = Documented<R, D>>,
    R: OpaqueReturns,
{
}
