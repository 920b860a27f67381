//! What each extractor adds to the OpenAPI operation.

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderMap, Method, Uri, Version};
use schemars::JsonSchema;
use serde_json::json;

use super::{CookieJar, Cookies, Form, Header, Json, Path, Query, RequestContext, State, TypedHeader};
use crate::openapi::{
    DescribeInput, DocContext, HasJsonSchema, Operation, Parameter, ParameterIn, RequestBody,
};
use crate::validation::Validate;

fn add_parameters<T: JsonSchema + Validate>(cx: &mut DocContext, op: &mut Operation, location: ParameterIn) {
    let parameters = cx.parameters::<T>(location);
    if location == ParameterIn::Path {
        let names: Vec<String> = parameters.iter().map(|p| p.name.clone()).collect();
        cx.claim_path_params(&names);
    }
    for parameter in parameters {
        op.add_parameter(parameter);
    }
    cx.can_fail_validation();
}

fn set_body(op: &mut Operation, media_type: &str, schema: serde_json::Value, required: bool) {
    let mut content = serde_json::Map::new();
    content.insert(media_type.to_owned(), json!({ "schema": schema }));
    op.request_body = Some(RequestBody { required, content });
}

impl<T: HasJsonSchema + Validate> DescribeInput for Path<T> {
    fn describe_input(cx: &mut DocContext, op: &mut Operation) {
        add_parameters::<T>(cx, op, ParameterIn::Path);
    }
}

impl<T: HasJsonSchema + Validate> DescribeInput for Query<T> {
    fn describe_input(cx: &mut DocContext, op: &mut Operation) {
        add_parameters::<T>(cx, op, ParameterIn::Query);
    }
}

impl<T: HasJsonSchema + Validate> DescribeInput for Header<T> {
    fn describe_input(cx: &mut DocContext, op: &mut Operation) {
        add_parameters::<T>(cx, op, ParameterIn::Header);
    }
}

impl<T: HasJsonSchema + Validate> DescribeInput for Cookies<T> {
    fn describe_input(cx: &mut DocContext, op: &mut Operation) {
        add_parameters::<T>(cx, op, ParameterIn::Cookie);
    }
}

impl<T: headers::Header> DescribeInput for TypedHeader<T> {
    fn describe_input(cx: &mut DocContext, op: &mut Operation) {
        op.add_parameter(Parameter {
            name: T::name().as_str().to_owned(),
            location: ParameterIn::Header,
            required: true,
            schema: json!({ "type": "string" }),
            description: None,
        });
        cx.can_fail_validation();
    }
}

impl<T: HasJsonSchema + Validate> DescribeInput for Json<T> {
    fn describe_input(cx: &mut DocContext, op: &mut Operation) {
        let schema = cx.input_schema::<T>();
        set_body(op, "application/json", schema, true);
        cx.can_fail_validation();
        cx.can_refuse_media_type();
    }
}

impl<T: HasJsonSchema + Validate> DescribeInput for Form<T> {
    fn describe_input(cx: &mut DocContext, op: &mut Operation) {
        let schema = cx.input_schema::<T>();
        set_body(op, "application/x-www-form-urlencoded", schema.clone(), true);
        // The same fields as multipart, as a browser's `FormData` and `curl -F` send them.
        #[cfg(feature = "multipart")]
        if let Some(body) = op.request_body.as_mut() {
            body.content.insert("multipart/form-data".to_owned(), json!({ "schema": schema }));
        }
        cx.can_fail_validation();
        cx.can_refuse_media_type();
    }
}

#[cfg(feature = "multipart")]
impl DescribeInput for super::Multipart {
    fn describe_input(cx: &mut DocContext, op: &mut Operation) {
        set_body(op, "multipart/form-data", json!({ "type": "object" }), true);
        cx.can_refuse_media_type();
    }
}

impl DescribeInput for Bytes {
    fn describe_input(_cx: &mut DocContext, op: &mut Operation) {
        set_body(op, "application/octet-stream", json!({ "type": "string", "format": "binary" }), false);
    }
}

impl DescribeInput for String {
    fn describe_input(cx: &mut DocContext, op: &mut Operation) {
        set_body(op, "text/plain", json!({ "type": "string" }), false);
        cx.can_fail_validation();
    }
}

/// `Option<T>`: the same parameters or body, not required.
impl<T: DescribeInput> DescribeInput for Option<T> {
    fn describe_input(cx: &mut DocContext, op: &mut Operation) {
        let mut inner = Operation::default();
        T::describe_input(cx, &mut inner);
        for mut parameter in inner.parameters {
            parameter.required = parameter.location == ParameterIn::Path;
            op.add_parameter(parameter);
        }
        if let Some(mut body) = inner.request_body {
            body.required = false;
            op.request_body = Some(body);
        }
    }
}

/// Reads the path parameters by name at run time: the route's parameters count as read.
impl DescribeInput for RequestContext {
    fn describe_input(cx: &mut DocContext, _op: &mut Operation) {
        let names = cx.path_params().to_vec();
        cx.claim_path_params(&names);
    }
}

macro_rules! server_side {
    ($($ty:ty),*) => {$(
        /// Not part of the client's request contract: documents nothing.
        impl DescribeInput for $ty {
            fn describe_input(_cx: &mut DocContext, _op: &mut Operation) {}
        }
    )*};
}

server_side!(Method, Uri, Version, HeaderMap, Parts, CookieJar);

/// App state is the server's own: documents nothing, but says which type the handler needs,
/// so that an app without it refuses to build rather than answer 500 at every request.
impl<T: 'static> DescribeInput for State<T> {
    fn describe_input(cx: &mut DocContext, _op: &mut Operation) {
        cx.needs_state(std::any::TypeId::of::<T>(), std::any::type_name::<T>());
    }
}
