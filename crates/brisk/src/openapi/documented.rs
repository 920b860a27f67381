//! [`Documented`]: what `#[brisk::endpoint]` wraps a handler's return value in, to carry the
//! operation's summary, description and other metadata into the document.

use std::marker::PhantomData;

use super::{document_error, DescribeOutput, DocContext, Operation, ResponseDoc};
use crate::response::{IntoResponse, Response};

/// An operation's metadata, as `#[brisk::endpoint]` writes it from a handler's doc comment and
/// options.
pub trait EndpointDocs {
    /// One line.
    const SUMMARY: Option<&'static str>;
    /// Markdown.
    const DESCRIPTION: Option<&'static str>;
    /// Replaces the id derived from the function name.
    const OPERATION_ID: Option<&'static str>;
    /// Marks the operation deprecated.
    const DEPRECATED: bool;
    /// Extra tags.
    const TAGS: &'static [&'static str];
    /// Extra documented responses: status and description (error statuses get FastAPI's
    /// `{"detail": ...}` body).
    const RESPONSES: &'static [(u16, &'static str)];
}

/// A handler's return value with its operation's metadata; answers exactly like `R`.
pub struct Documented<R, D> {
    inner: R,
    _docs: PhantomData<fn() -> D>,
}

impl<R, D> Documented<R, D> {
    /// Wraps a return value.
    pub fn new(inner: R) -> Self {
        Documented { inner, _docs: PhantomData }
    }

    /// The value the handler returned.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: IntoResponse, D> IntoResponse for Documented<R, D> {
    fn into_response(self) -> Response {
        self.inner.into_response()
    }
}

impl<R: DescribeOutput, D: EndpointDocs> DescribeOutput for Documented<R, D> {
    fn describe_output(cx: &mut DocContext, op: &mut Operation) {
        R::describe_output(cx, op);
        op.summary = D::SUMMARY.map(str::to_owned).or(op.summary.take());
        op.description = D::DESCRIPTION.map(str::to_owned).or(op.description.take());
        op.operation_id = D::OPERATION_ID.map(str::to_owned).or(op.operation_id.take());
        op.deprecated |= D::DEPRECATED;
        op.tags.extend(D::TAGS.iter().map(|t| (*t).to_owned()));
        for (status, description) in D::RESPONSES {
            if *status >= 400 {
                document_error(cx, op, *status, description);
            } else {
                op.add_response(&status.to_string(), ResponseDoc::new(*description));
            }
        }
    }
}
