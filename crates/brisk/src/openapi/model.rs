//! The parts of an OpenAPI 3.1 document brisk writes. Schemas are JSON Schema 2020-12 values.

use serde::Serialize;
use serde_json::{Map, Value};

/// An OpenAPI 3.1 document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenApi {
    /// Always `3.1.0`.
    pub openapi: String,
    /// Title, version, description.
    pub info: Info,
    /// Where the API is served.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<Server>,
    /// Path template → method → operation.
    pub paths: Map<String, Value>,
    /// Shared schemas (and, later, security schemes).
    pub components: Components,
}

/// The API's title, version and description.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Info {
    /// The API's name.
    pub title: String,
    /// The API's version (not OpenAPI's).
    pub version: String,
    /// A longer description (Markdown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A server the API is reachable at.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Server {
    /// Its URL (may be relative, like `/api`).
    pub url: String,
    /// What it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Reusable parts of the document.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Components {
    /// Named schemas, referenced as `#/components/schemas/{name}`.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub schemas: Map<String, Value>,
    /// Security schemes, named in operations' `security`.
    #[serde(rename = "securitySchemes", skip_serializing_if = "Map::is_empty")]
    pub security_schemes: Map<String, Value>,
}

/// Where a parameter is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ParameterIn {
    /// A `{segment}` of the path.
    Path,
    /// The query string.
    Query,
    /// A request header.
    Header,
    /// A cookie.
    Cookie,
}

/// One parameter of an operation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Parameter {
    /// Its name on the wire.
    pub name: String,
    /// Where it is read from.
    #[serde(rename = "in")]
    pub location: ParameterIn,
    /// Whether a request must carry it.
    pub required: bool,
    /// Its schema.
    pub schema: Value,
    /// What it means.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The request body of an operation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestBody {
    /// Whether a request must have one.
    pub required: bool,
    /// Media type → `{"schema": ...}`.
    pub content: Map<String, Value>,
}

/// One documented response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResponseDoc {
    /// Required by OpenAPI; a sentence.
    pub description: String,
    /// Media type → `{"schema": ...}`.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub content: Map<String, Value>,
    /// Response headers.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub headers: Map<String, Value>,
}

impl ResponseDoc {
    /// A response with a description and no body.
    pub fn new(description: impl Into<String>) -> Self {
        ResponseDoc { description: description.into(), content: Map::new(), headers: Map::new() }
    }

    /// Adds a body of `media_type` with `schema`.
    pub fn with_content(mut self, media_type: &str, schema: Value) -> Self {
        self.content.insert(media_type.to_owned(), serde_json::json!({ "schema": schema }));
        self
    }
}

/// One operation: a method on a path.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    /// Groups in the docs UI.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// One line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Markdown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Unique in the document.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
    /// Path, query, header and cookie parameters.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<Parameter>,
    /// The body, if the operation reads one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_body: Option<RequestBody>,
    /// Status (`"200"`, `"4XX"`, `"default"`) → response.
    pub responses: Map<String, Value>,
    /// Whether clients should stop using it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deprecated: bool,
    /// Security requirements: each `{scheme: [scopes]}` (any one of them suffices).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security: Vec<Value>,
}

impl Operation {
    /// Documents a response for `status` (merging the content of one already there).
    pub fn add_response(&mut self, status: &str, response: ResponseDoc) {
        let new = serde_json::to_value(&response).unwrap_or(Value::Null);
        match self.responses.get_mut(status) {
            Some(Value::Object(existing)) => {
                if let Some(Value::Object(content)) = new.get("content") {
                    let slot = existing.entry("content").or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(slot) = slot {
                        for (k, v) in content {
                            slot.entry(k.clone()).or_insert_with(|| v.clone());
                        }
                    }
                }
            }
            _ => {
                self.responses.insert(status.to_owned(), new);
            }
        }
    }

    /// Adds a parameter unless one with the same name and location is already there.
    pub fn add_parameter(&mut self, parameter: Parameter) {
        let exists =
            self.parameters.iter().any(|p| p.name == parameter.name && p.location == parameter.location);
        if !exists {
            self.parameters.push(parameter);
        }
    }
}
