//! Handlers: async functions whose arguments are extractors and whose result is a response.
//!
//! A function is a [`Handler`] through one impl whose bounds name each part apart: the
//! function's shape ([`HandlerFn`]: an `async fn` of at most 16 arguments), each argument in its
//! position ([`HeadArgument`] for all but the last, [`LastArgument`] for the last, which may read
//! the body), and the return type ([`HandlerReturn`]). So when one part is wrong, the compiler
//! names it — "`Json<Note>` is not an extractor brisk can build from the request head ...
//! required for `Json<Note>` to implement `HeadArgument<1>`" — rather than only saying that
//! the function is not a handler. `#[brisk::endpoint]` adds checks pointing at the argument.

pub mod check;

use std::future::Future;
use std::pin::Pin;

use http::request::Parts;

use crate::body::Body;
use crate::depends::take_deferred;
use crate::error::{Error, ValidationError};
use crate::extract::{FromRequest, FromRequestParts, Request, RequestContext};
use crate::openapi::{DescribeInput, DescribeOutput, DocContext, Operation};
use crate::response::{IntoResponse, Response};

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An async function usable as an endpoint: up to 16 extractor arguments, the last of which
/// may read the body, returning anything that implements [`IntoResponse`].
///
/// Extractors run in argument order. Validation failures are gathered from all of them and
/// answered as one 422; any other failure answers at once.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a brisk handler",
    label = "not a handler",
    note = "a handler is an `async fn` whose arguments are extractors (`Path<T>`, `Query<T>`, `Json<T>`, `State<T>` ...), the body extractor last, and whose return type implements `IntoResponse`",
    note = "types read from the request derive `Deserialize`, `JsonSchema` and `brisk::Validate`",
    note = "every argument must document itself (`brisk::openapi::DescribeInput`) and the return type its responses (`brisk::openapi::DescribeOutput`); wrap one in `brisk::openapi::Undocumented<...>` to leave it out of the docs on purpose"
)]
pub trait Handler<T>: Clone + Send + Sync + Sized + 'static {
    /// Runs the handler on a request (its context, if routed, is in the request's extensions).
    fn call(self, mut req: Request) -> BoxFuture<'static, Response> {
        let cx = take_context(req.extensions_mut());
        self.call_with_context(req, cx)
    }

    /// Runs the handler on a request with its context.
    #[doc(hidden)]
    fn call_with_context(self, req: Request, cx: RequestContext) -> BoxFuture<'static, Response>;

    /// Documents the operation from the argument and return types (at build time).
    fn describe(cx: &mut DocContext, op: &mut Operation);

    /// Whether the handler answers 422 with the validation errors a route dependency left for
    /// it (see [`depends`](crate::depends)) before it runs; a handler that does not lets the
    /// dependency answer its 422 at once.
    #[doc(hidden)]
    const READS_DEFERRED_ERRORS: bool = false;
}

/// The shape of a handler: a function of the arguments `Args` (a tuple) returning a future.
///
/// Implemented for every `FnOnce` of up to 16 arguments whose result is a future; what the
/// arguments and the output must be is asked apart ([`Arguments`], [`HandlerReturn`]).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an `async fn` brisk can call",
    label = "not an async function of at most 16 arguments",
    note = "a handler is an `async fn` (or a closure returning a future) with at most 16 arguments"
)]
pub trait HandlerFn<Args> {
    /// What the function's future gives.
    type Output;
    /// The function's future.
    type Future: Future<Output = Self::Output>;

    /// Calls the function with its arguments.
    fn call_with(self, args: Args) -> Self::Future;
}

/// A handler argument in position `POSITION` (from 1) that is not the last: it reads the
/// request head only (path, query, headers, state) and documents what it reads.
#[diagnostic::on_unimplemented(
    message = "argument {POSITION} of this handler, `{Self}`, cannot be read from the request head",
    label = "argument {POSITION} is not a request-head extractor",
    note = "only the last argument may read the body (`Json<T>`, `Form<T>`, `String`, `Bytes`, `Multipart`, `BodyStream`): move it last"
)]
pub trait HeadArgument<const POSITION: usize>: FromRequestParts + DescribeInput + Send {}

impl<T: FromRequestParts + DescribeInput + Send, const POSITION: usize> HeadArgument<POSITION> for T {}

/// A handler's last argument, in position `POSITION` (from 1): any extractor, the body ones
/// included, that documents what it reads.
#[diagnostic::on_unimplemented(
    message = "argument {POSITION} of this handler, `{Self}`, is not an extractor",
    label = "argument {POSITION} is not an extractor",
    note = "handler arguments are extractors: `Path<T>`, `Query<T>`, `Json<T>`, `Form<T>`, `Header<T>`, `State<T>` ..."
)]
pub trait LastArgument<const POSITION: usize, M>: FromRequest<M> + DescribeInput + Send {}

impl<T: FromRequest<M> + DescribeInput + Send, M, const POSITION: usize> LastArgument<POSITION, M> for T {}

/// A handler's arguments (a tuple), each an extractor in its position; `M` tells how the last
/// one reads the request.
pub trait Arguments<M>: Sized + Send {
    /// Builds every argument: the validation failures of all of them as one 422, or the first
    /// other failure.
    #[doc(hidden)]
    fn extract(
        parts: &mut Parts,
        body: Body,
        cx: &RequestContext,
    ) -> impl Future<Output = Result<Self, Response>> + Send;

    /// Documents every argument.
    fn describe(cx: &mut DocContext, op: &mut Operation);
}

/// What a handler returns: a response ([`IntoResponse`]) that documents itself
/// ([`DescribeOutput`]).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a response brisk can return and document",
    label = "this return type is not a documented response",
    note = "return a type that implements `IntoResponse` and `brisk::openapi::DescribeOutput`: `String`, `Json<T>`, `(StatusCode, Json<T>)`, `Created<Json<T>>`, `Result<Json<T>, MyApiError>` ...",
    note = "`impl IntoResponse` hides the type brisk documents: write the concrete type, or return `brisk::openapi::Undocumented<impl IntoResponse>` to leave the responses out of the docs"
)]
pub trait HandlerReturn: IntoResponse + DescribeOutput {}

impl<T: IntoResponse + DescribeOutput> HandlerReturn for T {}

/// Adds a rejection to the request's validation errors, or returns it as the response when it
/// is not a validation error.
fn gather(errors: &mut Vec<ValidationError>, error: Error) -> Option<Response> {
    error.gather_into(errors).err().map(IntoResponse::into_response)
}

/// Dependencies' teardown runs once the response body is done with (sent, or dropped).
fn keep_scope_alive(res: Response, cx: &mut RequestContext) -> Response {
    match cx.take_scope() {
        Some(scope) => res.map(|body| body.keep_alive(scope)),
        None => res,
    }
}

fn take_context(extensions: &mut http::Extensions) -> RequestContext {
    extensions.remove::<RequestContext>().unwrap_or_default()
}

impl<F, M, Args> Handler<(M, Args)> for F
where
    F: HandlerFn<Args> + Clone + Send + Sync + 'static,
    F::Future: Send,
    F::Output: HandlerReturn,
    Args: Arguments<M>,
{
    const READS_DEFERRED_ERRORS: bool = true;

    fn call_with_context(self, req: Request, mut cx: RequestContext) -> BoxFuture<'static, Response> {
        // Split before the future exists: what it captures is then the head and the body
        // once each, not also the whole request they came from.
        let (mut parts, body) = req.into_parts();
        Box::pin(async move {
            let args = match Args::extract(&mut parts, body, &cx).await {
                Ok(args) => args,
                Err(res) => return res,
            };
            // Arguments that did not list a route dependency's validation errors still stop here.
            let deferred = take_deferred(&mut parts.extensions);
            if !deferred.is_empty() {
                return Error::validation(deferred).into_response();
            }
            let res = self.call_with(args).await.into_response();
            keep_scope_alive(res, &mut cx)
        })
    }

    fn describe(cx: &mut DocContext, op: &mut Operation) {
        Args::describe(cx, op);
        F::Output::describe_output(cx, op);
    }
}

impl<F, Fut> HandlerFn<()> for F
where
    F: FnOnce() -> Fut,
    Fut: Future,
{
    type Output = Fut::Output;
    type Future = Fut;

    fn call_with(self, _args: ()) -> Fut {
        self()
    }
}

impl Arguments<()> for () {
    async fn extract(parts: &mut Parts, _body: Body, _cx: &RequestContext) -> Result<Self, Response> {
        let errors = take_deferred(&mut parts.extensions);
        if !errors.is_empty() {
            return Err(Error::validation(errors).into_response());
        }
        Ok(())
    }

    fn describe(_cx: &mut DocContext, _op: &mut Operation) {}
}

macro_rules! impl_handler {
    ([$($ty:ident $pos:literal),*], $last:ident $last_pos:literal) => {
        impl<F, Fut, $($ty,)* $last> HandlerFn<($($ty,)* $last,)> for F
        where
            F: FnOnce($($ty,)* $last,) -> Fut,
            Fut: Future,
        {
            type Output = Fut::Output;
            type Future = Fut;

            #[allow(non_snake_case)]
            fn call_with(self, ($($ty,)* $last,): ($($ty,)* $last,)) -> Fut {
                self($($ty,)* $last,)
            }
        }

        impl<M, $($ty,)* $last> Arguments<M> for ($($ty,)* $last,)
        where
            $( $ty: HeadArgument<$pos>, )*
            $last: LastArgument<$last_pos, M>,
        {
            #[allow(non_snake_case)]
            async fn extract(parts: &mut Parts, body: Body, cx: &RequestContext) -> Result<Self, Response> {
                // A route dependency's validation errors come first (see `crate::depends`).
                let mut errors = take_deferred(&mut parts.extensions);
                $(
                    let $ty = match $ty::from_request_parts(parts, cx).await {
                        Ok(value) => Some(value),
                        Err(e) => match gather(&mut errors, e) {
                            Some(res) => return Err(res),
                            None => None,
                        },
                    };
                )*
                let $last = match $last::from_parts_and_body(parts, body, cx).await {
                    Ok(value) => Some(value),
                    Err(e) => match gather(&mut errors, e) {
                        Some(res) => return Err(res),
                        None => None,
                    },
                };
                if !errors.is_empty() {
                    return Err(Error::validation(errors).into_response());
                }
                let ($(Some($ty),)* Some($last),) = ($($ty,)* $last,) else {
                    return Err(Error::internal("an extractor failed without an error").into_response());
                };
                Ok(($($ty,)* $last,))
            }

            fn describe(cx: &mut DocContext, op: &mut Operation) {
                $( <$ty as DescribeInput>::describe_input(cx, op); )*
                <$last as DescribeInput>::describe_input(cx, op);
            }
        }
    };
}

impl_handler!([], T1 1);
impl_handler!([T1 1], T2 2);
impl_handler!([T1 1, T2 2], T3 3);
impl_handler!([T1 1, T2 2, T3 3], T4 4);
impl_handler!([T1 1, T2 2, T3 3, T4 4], T5 5);
impl_handler!([T1 1, T2 2, T3 3, T4 4, T5 5], T6 6);
impl_handler!([T1 1, T2 2, T3 3, T4 4, T5 5, T6 6], T7 7);
impl_handler!([T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7], T8 8);
impl_handler!([T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8], T9 9);
impl_handler!([T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9], T10 10);
impl_handler!([T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9, T10 10], T11 11);
impl_handler!([T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9, T10 10, T11 11], T12 12);
impl_handler!([T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9, T10 10, T11 11, T12 12], T13 13);
impl_handler!([T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9, T10 10, T11 11, T12 12, T13 13], T14 14);
impl_handler!(
    [T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9, T10 10, T11 11, T12 12, T13 13, T14 14],
    T15 15
);
impl_handler!(
    [T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9, T10 10, T11 11, T12 12, T13 13, T14 14, T15 15],
    T16 16
);
