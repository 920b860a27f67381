//! How types say what they add to an operation: [`DescribeInput`] for extractors,
//! [`DescribeOutput`] for return types, and the [`DocContext`] they write through.

use std::collections::HashSet;

use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::JsonSchema;
use serde_json::{json, Map, Value};

use super::model::{Operation, Parameter, ParameterIn};
use crate::validation::{RuleTarget, Validate};

/// An extractor that documents what it reads: parameters, a request body, security.
///
/// Every extractor implements it; there is no silent default. Wrap an extractor in
/// [`Undocumented`](super::Undocumented) to leave it out of the document on purpose.
///
/// ```
/// use brisk::openapi::{DescribeInput, DocContext, Operation, Parameter, ParameterIn};
///
/// struct ApiVersion(u8);
///
/// impl DescribeInput for ApiVersion {
///     fn describe_input(_cx: &mut DocContext, op: &mut Operation) {
///         op.add_parameter(Parameter {
///             name: "x-api-version".into(),
///             location: ParameterIn::Header,
///             required: false,
///             schema: serde_json::json!({"type": "integer", "enum": [1, 2]}),
///             description: Some("API version; 1 when absent".into()),
///         });
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not say what it adds to the OpenAPI document",
    label = "this extractor has no `DescribeInput` impl",
    note = "implement `brisk::openapi::DescribeInput` for it (a few lines), or wrap it in `brisk::openapi::Undocumented<...>` to leave it out of the docs on purpose"
)]
pub trait DescribeInput {
    /// Adds this extractor's parameters, body or requirements to `op`.
    fn describe_input(cx: &mut DocContext, op: &mut Operation);
}

/// A return type that documents its responses: status, media type, schema.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not say what responses it produces in the OpenAPI document",
    label = "this return type has no `DescribeOutput` impl",
    note = "implement `brisk::openapi::DescribeOutput` for it, or return `brisk::openapi::Undocumented<...>`",
    note = "when the return type is `impl IntoResponse`, brisk cannot see the type it documents: write the concrete type (`Json<Item>`, `(StatusCode, Json<Item>)`, `Result<Json<Item>, MyApiError>` ...), or return `brisk::openapi::Undocumented<impl IntoResponse>` to leave the responses out of the docs"
)]
pub trait DescribeOutput {
    /// Adds this type's responses to `op`.
    fn describe_output(cx: &mut DocContext, op: &mut Operation);
}

/// A type brisk can write a JSON Schema for: any type with schemars 1.x's `JsonSchema`
/// (`brisk::prelude::JsonSchema`). The extractors and responses that document a type ask for
/// this, so that a type without it is reported with the fix.
///
/// ```
/// use brisk::openapi::HasJsonSchema;
/// use brisk::prelude::*;
///
/// #[derive(JsonSchema)]
/// struct Note {
///     title: String,
/// }
///
/// fn documented<T: HasJsonSchema>() {}
/// documented::<Note>();
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no JSON Schema, which brisk needs to document it",
    label = "derive `JsonSchema` (schemars 1.x) for this type",
    note = "derive `JsonSchema` from schemars 1.x, re-exported as `brisk::prelude::JsonSchema`; schemars 0.8's derive implements a different trait"
)]
pub trait HasJsonSchema: JsonSchema {}

#[diagnostic::do_not_recommend]
impl<T: JsonSchema + ?Sized> HasJsonSchema for T {}

/// What describing an operation writes through: the schema generators (inputs and outputs
/// apart, so they can differ), the route's path parameters, and problems found.
pub struct DocContext {
    input: SchemaGenerator,
    output: SchemaGenerator,
    path_params: Vec<String>,
    pub(crate) claimed_path: bool,
    pub(crate) validates: bool,
    pub(crate) refuses_media_type: bool,
    /// The operation being described is a WebSocket handshake.
    pub(crate) websocket: bool,
    pub(crate) errors: Vec<String>,
    pub(crate) route: String,
    dependencies: Vec<std::any::TypeId>,
    pub(crate) security_schemes: Map<String, Value>,
    /// The app state each route's handler reads: (route, type, type name).
    pub(crate) needed_state: Vec<(String, std::any::TypeId, &'static str)>,
    /// Every route name of the app (for [`DocContext::links_to_route`]).
    pub(crate) route_names: Vec<String>,
    /// The error enums (type names) whose variants the endpoint being described declares.
    pub(crate) declared_errors: Vec<&'static str>,
}

fn generator(settings: SchemaSettings) -> SchemaGenerator {
    let mut settings = settings;
    settings.definitions_path = "/components/schemas".into();
    settings.into_generator()
}

impl Default for DocContext {
    fn default() -> Self {
        DocContext::new()
    }
}

impl DocContext {
    /// A context with empty generators.
    pub fn new() -> Self {
        DocContext {
            input: generator(SchemaSettings::draft2020_12().for_deserialize()),
            output: generator(SchemaSettings::draft2020_12().for_serialize()),
            path_params: Vec::new(),
            claimed_path: false,
            validates: false,
            refuses_media_type: false,
            websocket: false,
            errors: Vec::new(),
            needed_state: Vec::new(),
            route: String::new(),
            dependencies: Vec::new(),
            security_schemes: Map::new(),
            route_names: Vec::new(),
            declared_errors: Vec::new(),
        }
    }

    pub(crate) fn start_route(&mut self, route: &str, path_params: Vec<String>) {
        self.route = route.to_owned();
        self.path_params = path_params;
        self.claimed_path = false;
        self.validates = false;
        self.refuses_media_type = false;
        self.websocket = false;
    }

    /// Says this operation is a WebSocket handshake: the document leaves it out unless the
    /// app asks for WebSockets to be documented
    /// ([`App::document_websockets`](crate::App::document_websockets)).
    pub fn is_websocket(&mut self) {
        self.websocket = true;
    }

    /// The schema of a request type, with its validation rules; named types become components.
    pub fn input_schema<T: JsonSchema + Validate + ?Sized>(&mut self) -> Value {
        let mut schema = self.input.subschema_for::<T>().to_value();
        T::apply_rules_nested(&mut RuleTarget::new(&mut schema, self.input.definitions_mut()));
        schema
    }

    /// The schema of a request type whose every field is optional (a PATCH body that sends
    /// only what changes): inline, with its rules, and no `required` list.
    pub fn partial_input_schema<T: JsonSchema + Validate + ?Sized>(&mut self) -> Value {
        let mut root = T::json_schema(&mut self.input).to_value();
        T::apply_rules(&mut RuleTarget::new(&mut root, self.input.definitions_mut()));
        if let Some(object) = root.as_object_mut() {
            object.remove("required");
            if let Some(title) = object.get("title").and_then(Value::as_str).map(|t| format!("{t} (partial)"))
            {
                object.insert("title".into(), Value::String(title));
            }
        }
        root
    }

    /// The schema of a response type; named types become components.
    pub fn output_schema<T: JsonSchema + ?Sized>(&mut self) -> Value {
        self.output.subschema_for::<T>().to_value()
    }

    /// A schema for the shared components brisk itself defines (`HTTPValidationError` ...).
    pub(crate) fn builtin_schema(&mut self, name: &str, schema: Value) -> Value {
        self.output.definitions_mut().insert(name.to_owned(), schema);
        json!({ "$ref": format!("#/components/schemas/{name}") })
    }

    /// The parameters a struct `T` stands for (one per field), read from `location`.
    ///
    /// A scalar `T` is the route's single path parameter; a tuple, its path parameters in order.
    pub fn parameters<T: JsonSchema + Validate>(&mut self, location: ParameterIn) -> Vec<Parameter> {
        let mut root = T::json_schema(&mut self.input).to_value();
        T::apply_rules(&mut RuleTarget::new(&mut root, self.input.definitions_mut()));
        let object = root.as_object().cloned().unwrap_or_default();
        let required: HashSet<&str> = object
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(Value::Object(properties)) = object.get("properties") {
            return properties
                .iter()
                .map(|(name, schema)| {
                    let wire = match location {
                        ParameterIn::Header => name.replace('_', "-"),
                        _ => name.clone(),
                    };
                    parameter(wire, location, required.contains(name.as_str()), schema)
                })
                .collect();
        }
        if let Some(Value::Array(items)) = object.get("prefixItems") {
            return items
                .iter()
                .zip(&self.path_params)
                .map(|(schema, name)| parameter(name.clone(), location, true, schema))
                .collect();
        }
        match (location, self.path_params.as_slice()) {
            (ParameterIn::Path, [name]) => vec![parameter(name.clone(), location, true, &root)],
            _ => {
                self.error(format!(
                    "{} extracts a `{}` from the {location:?}, which is neither a struct nor one path parameter",
                    self.route,
                    std::any::type_name::<T>()
                ));
                Vec::new()
            }
        }
    }

    /// Registers a security scheme under `name`; two different schemes with one name are an error.
    pub fn security_scheme(&mut self, name: &str, scheme: Value) {
        match self.security_schemes.get(name) {
            Some(existing) if *existing != scheme => {
                let error = format!("{}: two different security schemes are named `{name}`", self.route);
                self.error(error);
            }
            Some(_) => {}
            None => {
                self.security_schemes.insert(name.to_owned(), scheme);
            }
        }
    }

    /// Enters the description of dependency `D`; false (and an error) if `D` depends on itself.
    pub(crate) fn enter_dependency<D: 'static>(&mut self) -> bool {
        let id = std::any::TypeId::of::<D>();
        if self.dependencies.contains(&id) {
            let error = format!("{}: dependency cycle through `{}`", self.route, std::any::type_name::<D>());
            self.error(error);
            return false;
        }
        self.dependencies.push(id);
        true
    }

    pub(crate) fn leave_dependency(&mut self) {
        self.dependencies.pop();
    }

    /// The `{params}` of the route being described.
    pub fn path_params(&self) -> &[String] {
        &self.path_params
    }

    /// Says the path parameters are read, and checks the names read match the route's.
    pub fn claim_path_params(&mut self, names: &[String]) {
        self.claimed_path = true;
        let mut ours: Vec<&String> = self.path_params.iter().collect();
        let mut theirs: Vec<&String> = names.iter().collect();
        ours.sort();
        theirs.sort();
        if ours != theirs {
            let error = format!(
                "{}: the route's path parameters {:?} do not match the `Path` extractor's fields {:?}",
                self.route, self.path_params, names
            );
            self.error(error);
        }
    }

    /// Says this operation can answer 422 (it validates input).
    pub fn can_fail_validation(&mut self) {
        self.validates = true;
    }

    /// Says this operation answers 415 to a body of a type its request body does not list (as
    /// [`Json`](crate::Json) and [`Form`](crate::Form) do). The document then has a `415`
    /// response naming the request body's media types, the ones
    /// [`Error::unsupported_media_type`](crate::Error::unsupported_media_type) names at run time.
    pub fn can_refuse_media_type(&mut self) {
        self.refuses_media_type = true;
    }

    /// Records that the route's handler reads app state of type `id` (`State<T>`).
    pub(crate) fn needs_state(&mut self, id: std::any::TypeId, name: &'static str) {
        self.needed_state.push((self.route.clone(), id, name));
    }

    /// Says this operation links to the route named `name` (see
    /// [`UrlTo`](crate::routing::UrlTo)); the app refuses to build when no route has that name.
    pub fn links_to_route(&mut self, name: &str) {
        if !self.route_names.iter().any(|n| n == name) {
            let error =
                format!("{}: links to the route named `{name}`, but no route has that name", self.route);
            self.error(error);
        }
    }

    /// Whether the endpoint being described declares which variants of the error enum
    /// `enum_name` it answers with (`#[endpoint(errors(...))]`).
    pub(crate) fn declares_errors_of(&self, enum_name: &str) -> bool {
        self.declared_errors.contains(&enum_name)
    }

    /// Records a problem; the app refuses to build and names it.
    pub fn error(&mut self, message: impl Into<String>) {
        self.errors.push(message.into());
    }

    pub(crate) fn take_components(&mut self) -> (Map<String, Value>, Map<String, Value>) {
        (std::mem::take(self.input.definitions_mut()), std::mem::take(self.output.definitions_mut()))
    }
}

/// An optional field is simply not required: a parameter cannot carry `null`, so the `null`
/// alternative schemars writes for `Option<T>` is dropped.
fn without_null(schema: &mut Value) {
    let Some(object) = schema.as_object_mut() else { return };
    // An absent parameter is not a null one: a `null` default would contradict the type.
    if object.get("default") == Some(&Value::Null) {
        object.remove("default");
    }
    if let Some(Value::Array(types)) = object.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            object.insert("type".to_owned(), only);
        }
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = object.get_mut(key) {
            branches.retain(|b| b.get("type").and_then(Value::as_str) != Some("null"));
            if branches.len() == 1 {
                let only = branches.remove(0);
                object.remove(key);
                if let Value::Object(inner) = only {
                    for (k, v) in inner {
                        object.entry(k).or_insert(v);
                    }
                }
            }
        }
    }
}

fn parameter(name: String, location: ParameterIn, required: bool, schema: &Value) -> Parameter {
    let description = schema.get("description").and_then(Value::as_str).map(str::to_owned);
    let mut schema = schema.clone();
    without_null(&mut schema);
    if let Some(object) = schema.as_object_mut() {
        object.remove("description");
    }
    Parameter { name, location, required: required || location == ParameterIn::Path, schema, description }
}
