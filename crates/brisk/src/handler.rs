//! Handlers: async functions whose arguments are extractors and whose result is a response.

use std::future::Future;
use std::pin::Pin;

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
}

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

impl<F, Fut, Res> Handler<((),)> for F
where
    F: FnOnce() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Res> + Send,
    Res: IntoResponse + DescribeOutput,
{
    fn call_with_context(self, _req: Request, _cx: RequestContext) -> BoxFuture<'static, Response> {
        Box::pin(async move { self().await.into_response() })
    }

    fn describe(cx: &mut DocContext, op: &mut Operation) {
        Res::describe_output(cx, op);
    }
}

macro_rules! impl_handler {
    ([$($ty:ident),*], $last:ident) => {
        #[allow(non_snake_case, unused_mut)]
        impl<F, Fut, Res, M, $($ty,)* $last> Handler<(M, $($ty,)* $last,)> for F
        where
            F: FnOnce($($ty,)* $last,) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = Res> + Send,
            Res: IntoResponse + DescribeOutput,
            $( $ty: FromRequestParts + DescribeInput + Send, )*
            $last: FromRequest<M> + DescribeInput + Send,
        {
            fn describe(cx: &mut DocContext, op: &mut Operation) {
                $( $ty::describe_input(cx, op); )*
                $last::describe_input(cx, op);
                Res::describe_output(cx, op);
            }

            fn call_with_context(self, req: Request, mut cx: RequestContext) -> BoxFuture<'static, Response> {
                // Split before the future exists: what it captures is then the head and the body
                // once each, not also the whole request they came from.
                let (mut parts, body) = req.into_parts();
                Box::pin(async move {
                    let mut errors = Vec::new();
                    $(
                        let $ty = match $ty::from_request_parts(&mut parts, &cx).await {
                            Ok(value) => Some(value),
                            Err(e) => match gather(&mut errors, e) {
                                Some(res) => return res,
                                None => None,
                            },
                        };
                    )*
                    let $last = match $last::from_parts_and_body(&mut parts, body, &cx).await {
                        Ok(value) => Some(value),
                        Err(e) => match gather(&mut errors, e) {
                            Some(res) => return res,
                            None => None,
                        },
                    };
                    if !errors.is_empty() {
                        return Error::validation(errors).into_response();
                    }
                    let ($(Some($ty),)* Some($last),) = ($($ty,)* $last,) else {
                        return Error::internal("an extractor failed without an error").into_response();
                    };
                    let res = self($($ty,)* $last,).await.into_response();
                    keep_scope_alive(res, &mut cx)
                })
            }
        }
    };
}

impl_handler!([], T1);
impl_handler!([T1], T2);
impl_handler!([T1, T2], T3);
impl_handler!([T1, T2, T3], T4);
impl_handler!([T1, T2, T3, T4], T5);
impl_handler!([T1, T2, T3, T4, T5], T6);
impl_handler!([T1, T2, T3, T4, T5, T6], T7);
impl_handler!([T1, T2, T3, T4, T5, T6, T7], T8);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8], T9);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8, T9], T10);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8, T9, T10], T11);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11], T12);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12], T13);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13], T14);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14], T15);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14, T15], T16);
