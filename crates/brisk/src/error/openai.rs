//! [`OpenAiFormatter`]: errors in OpenAI's shape, for OpenAI-compatible routes.

use std::fmt::Write as _;

use bytes::Bytes;
use http::StatusCode;
use serde_json::{json, Value};

use super::format::bytes_response;
use super::{Error, ErrorFormatter, ErrorKind, LocItem, ValidationError};
use crate::openapi::DocContext;
use crate::response::{to_json_bytes, Response};

/// OpenAI's error body, `{"error": {"message", "type", "param", "code"}}`, for routes that
/// OpenAI's clients call (their SDKs read `error.message`; FastAPI's `{"detail": ...}` shows as
/// "422 status code (no body)" in the Node client). Give it to the router of those routes with
/// [`Router::error_formatter`](crate::Router::error_formatter); the rest of the app keeps its
/// own format.
///
/// - `type`: `invalid_request_error` for a 4xx, `authentication_error` (401),
///   `permission_error` (403), `rate_limit_error` (429), `server_error` for a 5xx.
/// - A validation error (422): `message` lists every failure as `field: message`, `param` is
///   the first failing field's path (`messages.0.content`: the part after `body`/`query`...),
///   `code` its type (`string_too_short`, `missing` ...).
/// - Other errors: `message` is the `detail` (its JSON text when it is not a string), `param`
///   is null, `code` is null (`rate_limit_exceeded` for a 429). A 500's cause is never sent.
///
/// ```
/// use brisk::error::OpenAiFormatter;
/// use brisk::prelude::*;
///
/// #[derive(Deserialize, JsonSchema, Validate)]
/// struct Completion {
///     #[validate(min_length = 1)]
///     model: String,
/// }
///
/// async fn complete(Json(req): Json<Completion>) -> String {
///     req.model
/// }
///
/// let openai = Router::new().route("/v1/completions", post(complete)).error_formatter(OpenAiFormatter);
/// let app = App::new().merge(openai);
/// # let _ = app;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenAiFormatter;

/// The `type` OpenAI's API gives an error of `status`.
fn error_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "authentication_error",
        403 => "permission_error",
        429 => "rate_limit_error",
        500.. => "server_error",
        _ => "invalid_request_error",
    }
}

/// `messages.0.content`: a location without its source (`body`, `query` ...).
fn param(error: &ValidationError) -> Option<String> {
    let mut out = String::new();
    for item in error.loc.0.iter().skip(1) {
        if !out.is_empty() {
            out.push('.');
        }
        match item {
            LocItem::Key(k) => out.push_str(k),
            LocItem::Index(i) => {
                let _ = write!(out, "{i}");
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

impl ErrorFormatter for OpenAiFormatter {
    fn format(&self, error: &Error) -> Response {
        let status = error.status();
        let (message, param, code) = match error.kind() {
            ErrorKind::Validation(errors) => {
                let message = errors
                    .iter()
                    .map(|e| match param(e) {
                        Some(p) => format!("{p}: {}", e.msg),
                        None => e.msg.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                let first = errors.first();
                (message, first.and_then(param), first.map(|e| e.kind.to_string()))
            }
            ErrorKind::Http { detail, .. } => {
                let message = match detail {
                    Value::String(s) => s.clone(),
                    Value::Null => status.canonical_reason().unwrap_or("Error").to_owned(),
                    other => other.to_string(),
                };
                (
                    message,
                    None,
                    (status == StatusCode::TOO_MANY_REQUESTS).then(|| "rate_limit_exceeded".to_owned()),
                )
            }
            ErrorKind::Internal(_) => ("Internal Server Error".to_owned(), None, None),
        };
        let body =
            json!({"error": {"message": message, "type": error_type(status), "param": param, "code": code}});
        let bytes = to_json_bytes(&body).unwrap_or_else(|_| {
            Bytes::from_static(br#"{"error":{"message":"Internal Server Error","type":"server_error","param":null,"code":null}}"#)
        });
        bytes_response(status, bytes, "application/json")
    }

    fn error_schema(cx: &mut DocContext) -> Option<Value> {
        let nullable = |description: &str| json!({"type": ["string", "null"], "description": description});
        Some(cx.builtin_schema(
            "OpenAIError",
            json!({
                "type": "object",
                "title": "OpenAIError",
                "properties": {"error": {
                    "type": "object",
                    "properties": {
                        "message": {"type": "string", "description": "What went wrong, for people"},
                        "type": {"type": "string", "description": "invalid_request_error, authentication_error, permission_error, rate_limit_error or server_error"},
                        "param": nullable("The request field at fault, if any"),
                        "code": nullable("A machine-readable code, if any"),
                    },
                    "required": ["message", "type", "param", "code"],
                }},
                "required": ["error"],
            }),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Loc;
    use http_body_util::BodyExt;

    async fn body(res: Response) -> Value {
        let bytes = res.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    }

    #[tokio::test]
    async fn validation_errors_name_the_field_and_list_every_failure() {
        let errors = vec![
            ValidationError::new("missing", Loc::root("body").key("model"), "Field required", Value::Null),
            ValidationError::new(
                "string_too_short",
                Loc::root("body").key("messages").index(0).key("content"),
                "String should have at least 1 character",
                json!(""),
            ),
        ];
        let res = OpenAiFormatter.format(&Error::validation(errors));
        assert_eq!(res.status(), 422);
        assert_eq!(
            body(res).await,
            json!({"error": {
                "message": "model: Field required; messages.0.content: String should have at least 1 character",
                "type": "invalid_request_error", "param": "model", "code": "missing"}})
        );
    }

    #[tokio::test]
    async fn http_errors_keep_their_status_and_message_and_internal_ones_hide_the_cause() {
        let res = OpenAiFormatter.format(&Error::http(StatusCode::UNAUTHORIZED, "Invalid API key"));
        assert_eq!(res.status(), 401);
        assert_eq!(
            body(res).await,
            json!({"error": {"message": "Invalid API key", "type": "authentication_error", "param": null, "code": null}})
        );
        let res = OpenAiFormatter.format(&Error::from_status(StatusCode::TOO_MANY_REQUESTS));
        let b = body(res).await;
        assert_eq!(
            (b["error"]["type"].as_str(), b["error"]["code"].as_str()),
            (Some("rate_limit_error"), Some("rate_limit_exceeded"))
        );
        let res = OpenAiFormatter.format(&Error::internal("database password is hunter2"));
        assert_eq!(res.status(), 500);
        let text = body(res).await.to_string();
        assert!(!text.contains("hunter2") && text.contains("server_error"), "{text}");
    }
}
