//! What each return type adds to the OpenAPI operation's responses.

use std::borrow::Cow;
use std::convert::Infallible;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde_json::json;

use super::{Created, Html, NoContent, Redirect, Response};
use crate::body::Body;
use crate::error::Error;
use crate::extract::Json;
use crate::openapi::{DescribeOutput, DocContext, HasJsonSchema, Operation, ResponseDoc};

const OK: &str = "Successful Response";

/// Documents `R`, moving its `200` to `status`.
pub(crate) fn describe_as<R: DescribeOutput>(status: &str, cx: &mut DocContext, op: &mut Operation) {
    let mut inner = Operation::default();
    R::describe_output(cx, &mut inner);
    for (key, response) in inner.responses {
        let key = if key == "200" { status.to_owned() } else { key };
        if !op.responses.contains_key(&key) {
            op.responses.insert(key, response);
        }
    }
}

macro_rules! text_like {
    ($media:expr, $schema:expr => $($ty:ty),*) => {$(
        impl DescribeOutput for $ty {
            fn describe_output(_cx: &mut DocContext, op: &mut Operation) {
                op.add_response("200", ResponseDoc::new(OK).with_content($media, $schema));
            }
        }
    )*};
}

text_like!("text/plain", json!({"type": "string"}) => &'static str, String, Cow<'static, str>);
text_like!("application/octet-stream", json!({"type": "string", "format": "binary"}) => Bytes, Vec<u8>, &'static [u8]);

impl<T: HasJsonSchema> DescribeOutput for Json<T> {
    fn describe_output(cx: &mut DocContext, op: &mut Operation) {
        let schema = cx.output_schema::<T>();
        op.add_response("200", ResponseDoc::new(OK).with_content("application/json", schema));
    }
}

impl<T> DescribeOutput for Html<T> {
    fn describe_output(_cx: &mut DocContext, op: &mut Operation) {
        op.add_response("200", ResponseDoc::new(OK).with_content("text/html", json!({"type": "string"})));
    }
}

impl DescribeOutput for Redirect {
    fn describe_output(_cx: &mut DocContext, op: &mut Operation) {
        let mut doc = ResponseDoc::new("Redirect");
        doc.headers.insert("Location".to_owned(), json!({"schema": {"type": "string"}}));
        op.add_response("3XX", doc);
    }
}

impl DescribeOutput for () {
    fn describe_output(_cx: &mut DocContext, op: &mut Operation) {
        op.add_response("200", ResponseDoc::new(OK));
    }
}

impl DescribeOutput for HeaderMap {
    fn describe_output(_cx: &mut DocContext, op: &mut Operation) {
        op.add_response("200", ResponseDoc::new(OK));
    }
}

impl DescribeOutput for Infallible {
    fn describe_output(_cx: &mut DocContext, _op: &mut Operation) {}
}

/// The status is chosen at run time: documented as `default`, with no body.
impl DescribeOutput for StatusCode {
    fn describe_output(_cx: &mut DocContext, op: &mut Operation) {
        op.add_response("default", ResponseDoc::new("A response with no body"));
    }
}

macro_rules! raw {
    ($($ty:ty),*) => {$(
        /// A hand-built response: documented as `default`, shape unknown.
        impl DescribeOutput for $ty {
            fn describe_output(_cx: &mut DocContext, op: &mut Operation) {
                op.add_response("default", ResponseDoc::new("Response"));
            }
        }
    )*};
}

raw!(Response, Body);

/// Any status with FastAPI's `{"detail": ...}` body.
impl DescribeOutput for Error {
    fn describe_output(cx: &mut DocContext, op: &mut Operation) {
        let schema = crate::openapi::http_error_schema(cx);
        op.add_response("default", ResponseDoc::new("Error").with_content("application/json", schema));
    }
}

impl<T: DescribeOutput, E: DescribeOutput> DescribeOutput for Result<T, E> {
    fn describe_output(cx: &mut DocContext, op: &mut Operation) {
        T::describe_output(cx, op);
        E::describe_output(cx, op);
    }
}

impl<R: DescribeOutput> DescribeOutput for (StatusCode, R) {
    fn describe_output(cx: &mut DocContext, op: &mut Operation) {
        describe_as::<R>("default", cx, op);
    }
}

impl<R: DescribeOutput> DescribeOutput for (HeaderMap, R) {
    fn describe_output(cx: &mut DocContext, op: &mut Operation) {
        R::describe_output(cx, op);
    }
}

impl<R: DescribeOutput> DescribeOutput for (StatusCode, HeaderMap, R) {
    fn describe_output(cx: &mut DocContext, op: &mut Operation) {
        describe_as::<R>("default", cx, op);
    }
}

impl<R: DescribeOutput, K, V, const N: usize> DescribeOutput for ([(K, V); N], R) {
    fn describe_output(cx: &mut DocContext, op: &mut Operation) {
        R::describe_output(cx, op);
    }
}

impl<R: DescribeOutput, K, V, const N: usize> DescribeOutput for (StatusCode, [(K, V); N], R) {
    fn describe_output(cx: &mut DocContext, op: &mut Operation) {
        describe_as::<R>("default", cx, op);
    }
}

impl<T: DescribeOutput> DescribeOutput for Created<T> {
    fn describe_output(cx: &mut DocContext, op: &mut Operation) {
        describe_as::<T>("201", cx, op);
    }
}

impl DescribeOutput for NoContent {
    fn describe_output(_cx: &mut DocContext, op: &mut Operation) {
        op.add_response("204", ResponseDoc::new("No Content"));
    }
}
