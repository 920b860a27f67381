//! HTML forms that show their errors back: [`FormResult<T>`] reads a form like
//! [`Form<T>`](crate::Form) but hands the handler the validation errors, keyed by field, and
//! the submitted values, instead of answering 422 itself — as Django's and Flask-WTF's forms do.
//!
//! ```
//! use brisk::prelude::*;
//! use brisk::extract::{FormErrors, FormResult};
//!
//! #[derive(Deserialize, JsonSchema, Validate)]
//! struct NoteForm {
//!     #[validate(min_length = 1, max_length = 100)]
//!     title: String,
//! }
//!
//! async fn create(form: FormResult<NoteForm>) -> Result<Redirect, FormErrors> {
//!     let note = form.into_inner()?; // the errors answer 422: a page for browsers, JSON for APIs
//!     let _ = note.title;
//!     Ok(Redirect::to("/notes"))
//! }
//! ```
//!
//! Returned as the error, [`FormErrors`] answers like `Form<T>` would have — FastAPI's JSON 422
//! for API clients — and an HTML 422 page for browsers (see [`crate::error`]'s error pages),
//! which a template `errors/422.html` can replace. A handler with templates renders its own form
//! page again instead: `{{ errors.title }}` lists the title's messages and `{{ values.title }}`
//! refills it (see `brisk::templates`).

use std::sync::Arc;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::request::Parts;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::Value;

use super::body::read_all;
use super::json::missing_body;
use super::percent::{decode_form, FormSource};
use super::{split_then, FromRequest, Request, RequestContext};
use crate::body::Body;
use crate::error::{Error, ErrorKind, Loc, LocItem, ValidationError};
use crate::openapi::{DescribeInput, DescribeOutput, DocContext, Operation, RequestBody};
use crate::response::{IntoResponse, Response};
use crate::validation::{from_strings, StringSource, Validate};

/// The key of errors that belong to no one field (Django's `NON_FIELD_ERRORS`).
pub const NON_FIELD: &str = "__all__";

/// The values a form was submitted with, in the order sent: to refill the form.
///
/// Serialized (for templates) as an object: a field sent once is a string, a field sent several
/// times (checkboxes, multiple selects) a list of strings.
///
/// ```
/// use brisk::extract::FormValues;
/// let values = FormValues::from_iter([("title", "Hi"), ("tag", "a"), ("tag", "b")]);
/// assert_eq!(values.get("title"), Some("Hi"));
/// assert_eq!(values.get_all("tag").collect::<Vec<_>>(), ["a", "b"]);
/// assert_eq!(serde_json::to_value(&values).unwrap(), serde_json::json!({"title": "Hi", "tag": ["a", "b"]}));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormValues(Vec<(String, String)>);

impl FormValues {
    /// The first value sent for `field`.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == field).map(|(_, v)| v.as_str())
    }

    /// Every value sent for `field`, in order.
    pub fn get_all<'a>(&'a self, field: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(k, _)| k == field).map(|(_, v)| v.as_str())
    }

    /// Every `(field, value)` pair, in the order sent.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Whether nothing was sent.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The fields sent with a value: an empty field counts as absent, as in [`Form`](super::Form)
    /// (FastAPI's rule, and Django's "This field is required." for an empty input).
    pub(super) fn pairs(&self) -> Vec<(&str, &str)> {
        self.iter().filter(|(_, value)| !value.is_empty()).collect()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for FormValues {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        FormValues(iter.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

impl Serialize for FormValues {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields: Vec<&str> = Vec::new();
        for (k, _) in &self.0 {
            if !fields.contains(&k.as_str()) {
                fields.push(k);
            }
        }
        let mut map = serializer.serialize_map(Some(fields.len()))?;
        for field in fields {
            let all: Vec<&str> = self.get_all(field).collect();
            match all.as_slice() {
                [one] => map.serialize_entry(field, one)?,
                many => map.serialize_entry(field, many)?,
            }
        }
        map.end()
    }
}

/// The field an error belongs to: its location without the source (`["body", "tags", 0]` is
/// `tags.0`), or [`NON_FIELD`] for the whole body.
pub(crate) fn field_of(loc: &Loc) -> String {
    let mut field = String::new();
    for item in loc.0.iter().skip(1) {
        if !field.is_empty() {
            field.push('.');
        }
        match item {
            LocItem::Key(k) => field.push_str(k),
            LocItem::Index(i) => field.push_str(&i.to_string()),
        }
    }
    if field.is_empty() {
        NON_FIELD.to_owned()
    } else {
        field
    }
}

/// Validation errors as templates see them: `{field: [message, ...]}`, in the order found.
pub(crate) fn messages_by_field(errors: &[ValidationError]) -> Vec<(String, Vec<&str>)> {
    let mut fields: Vec<(String, Vec<&str>)> = Vec::new();
    for error in errors {
        let field = field_of(&error.loc);
        match fields.iter_mut().find(|(f, _)| *f == field) {
            Some((_, messages)) => messages.push(&error.msg),
            None => fields.push((field, vec![&error.msg])),
        }
    }
    fields
}

/// The failing inputs of `errors` as values (for a page when the whole form is not known).
pub(crate) fn inputs_of(errors: &[ValidationError]) -> FormValues {
    errors
        .iter()
        // A missing field's input is its parent object: not the field's value.
        .filter(|e| !e.input.is_null() && !e.input.is_object())
        .map(|e| {
            let input = match &e.input {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (field_of(&e.loc), input)
        })
        .collect()
}

/// A form's errors, keyed by field, with the values it was submitted with.
///
/// Serialized (for templates) as `{"title": ["String should have at least 1 character"], ...}`,
/// errors that belong to no field under `"__all__"`. Returned from a handler, it answers 422:
/// FastAPI's JSON for API clients, an HTML page for browsers.
///
/// ```
/// use brisk::extract::{FormErrors, FormValues};
///
/// let mut errors = FormErrors::new(FormValues::from_iter([("username", "alice")]));
/// errors.add("username", "This name is taken.");
/// errors.add("", "Try again later.");
/// assert_eq!(errors.get("username"), ["This name is taken."]);
/// assert_eq!(errors.non_field_errors(), ["Try again later."]);
/// assert_eq!(
///     serde_json::to_value(&errors).unwrap(),
///     serde_json::json!({"username": ["This name is taken."], "__all__": ["Try again later."]})
/// );
/// ```
#[derive(Debug, Clone, Default)]
pub struct FormErrors {
    errors: Vec<ValidationError>,
    values: FormValues,
}

impl FormErrors {
    /// No errors yet, for a form submitted with `values` (add some with [`add`](Self::add)).
    pub fn new(values: FormValues) -> Self {
        FormErrors { errors: Vec::new(), values }
    }

    /// Errors found by validation (FastAPI's format) for a form submitted with `values`.
    pub fn from_validation(errors: Vec<ValidationError>, values: FormValues) -> Self {
        FormErrors { errors, values }
    }

    /// Adds an error of the app's own (`This name is taken.`) to `field`; an empty field or
    /// `"__all__"` means the whole form. In the JSON 422 it is a `value_error` at
    /// `["body", field]` carrying the value submitted.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        let (loc, input) = if field.is_empty() || field == NON_FIELD {
            (Loc::root("body"), Value::Null)
        } else {
            let input = self.values.get(field).map_or(Value::Null, |v| Value::String(v.to_owned()));
            (Loc::root("body").key(field.to_owned()), input)
        };
        self.errors.push(ValidationError::new("value_error", loc, message.into(), input));
    }

    /// [`add`](Self::add), chained.
    pub fn with(mut self, field: &str, message: impl Into<String>) -> Self {
        self.add(field, message);
        self
    }

    /// The messages for `field`, in order (empty when it has none).
    pub fn get(&self, field: &str) -> Vec<&str> {
        self.errors.iter().filter(|e| field_of(&e.loc) == field).map(|e| &*e.msg).collect()
    }

    /// The messages that belong to no one field.
    pub fn non_field_errors(&self) -> Vec<&str> {
        self.get(NON_FIELD)
    }

    /// Whether there are no errors.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The values the form was submitted with.
    pub fn values(&self) -> &FormValues {
        &self.values
    }

    /// The errors in FastAPI's format.
    pub fn validation_errors(&self) -> &[ValidationError] {
        &self.errors
    }
}

impl Serialize for FormErrors {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let fields = messages_by_field(&self.errors);
        let mut map = serializer.serialize_map(Some(fields.len()))?;
        for (field, messages) in &fields {
            map.serialize_entry(field, messages)?;
        }
        map.end()
    }
}

/// The values a form was submitted with, on a 422 response, for the HTML error page.
#[derive(Clone)]
pub(crate) struct SubmittedValues(pub(crate) Arc<FormValues>);

impl IntoResponse for FormErrors {
    fn into_response(self) -> Response {
        let mut res = Error::validation(self.errors).into_response();
        res.extensions_mut().insert(SubmittedValues(Arc::new(self.values)));
        res
    }
}

/// Loses the submitted values (an HTML error page shows each error's own input instead);
/// return `Result<_, FormErrors>` to keep them.
impl From<FormErrors> for Error {
    fn from(errors: FormErrors) -> Self {
        Error::validation(errors.errors)
    }
}

/// FastAPI's 422.
impl DescribeOutput for FormErrors {
    fn describe_output(cx: &mut DocContext, _op: &mut Operation) {
        cx.can_fail_validation();
    }
}

/// A file part of a `multipart/form-data` form read by [`FormResult`].
#[derive(Debug, Clone)]
pub struct UploadedFile {
    /// The form field's name.
    pub field: String,
    /// The file's name, as the browser sent it (never use it as a path as is).
    pub file_name: String,
    /// Its content type, as the browser said.
    pub content_type: Option<String>,
    /// Its bytes.
    pub bytes: Bytes,
}

/// An HTML form, `application/x-www-form-urlencoded` or (feature `multipart`)
/// `multipart/form-data`: the typed value, or the errors keyed by field — with the submitted
/// values either way. Its fields follow [`Form<T>`](crate::Form)'s rules; the files of a
/// multipart form are set apart ([`files`](Self::files)), and checked by the handler.
///
/// Only validation failures reach the handler: another content type is still a 415 (naming
/// the form types above), a body over the limit a 413.
///
/// ```
/// use brisk::prelude::*;
/// use brisk::extract::{FormErrors, FormResult};
///
/// #[derive(Deserialize, JsonSchema, Validate)]
/// struct Upload {
///     #[validate(min_length = 1)]
///     title: String,
/// }
///
/// async fn upload(form: FormResult<Upload>) -> Result<String, FormErrors> {
///     let files = form.files().len();
///     let values = form.values().clone();
///     let upload = form.into_inner()?;
///     if files == 0 {
///         return Err(FormErrors::new(values).with("photo", "Choose a file."));
///     }
///     Ok(format!("{}: {files} file(s)", upload.title))
/// }
/// ```
pub struct FormResult<T> {
    result: Result<T, FormErrors>,
    values: FormValues,
    files: Vec<UploadedFile>,
}

impl<T> FormResult<T> {
    /// The form's value, or its errors.
    pub fn into_inner(self) -> Result<T, FormErrors> {
        self.result
    }

    /// Whether the form is valid.
    pub fn is_ok(&self) -> bool {
        self.result.is_ok()
    }

    /// The submitted values (files aside).
    pub fn values(&self) -> &FormValues {
        &self.values
    }

    /// The files of a multipart form (parts with a file name; an empty file input sends none).
    pub fn files(&self) -> &[UploadedFile] {
        &self.files
    }

    /// Takes the files out.
    pub fn take_files(&mut self) -> Vec<UploadedFile> {
        std::mem::take(&mut self.files)
    }

    fn validate(values: FormValues, files: Vec<UploadedFile>) -> Result<Self, Error>
    where
        T: DeserializeOwned + JsonSchema + Validate + 'static,
    {
        let result = match from_strings::<T>(&values.pairs(), StringSource::Form) {
            Ok(value) => Ok(value),
            Err(e) => Err(errors_of(e, &values)?),
        };
        Ok(FormResult { result, values, files })
    }
}

/// The validation errors of `e` as form errors; any other error is returned as is.
fn errors_of(e: Error, values: &FormValues) -> Result<FormErrors, Error> {
    match e.into_kind() {
        ErrorKind::Validation(errors) => Ok(FormErrors::from_validation(errors, values.clone())),
        other => Err(Error::from_kind(other)),
    }
}

/// The media types a [`FormResult`] reads.
pub(super) const ACCEPTED: &[&str] = &[
    super::form::FORM_URLENCODED,
    #[cfg(feature = "multipart")]
    "multipart/form-data",
];

pub(super) fn essence(parts: &Parts) -> Option<String> {
    let value = parts.headers.get(CONTENT_TYPE)?.to_str().ok()?;
    let mime = value.parse::<mime::Mime>().ok()?;
    Some(mime.essence_str().to_owned())
}

impl<T> FromRequest for FormResult<T>
where
    T: DeserializeOwned + JsonSchema + Validate + Send + 'static,
{
    async fn from_request(req: Request, cx: &RequestContext) -> Result<Self, Error> {
        split_then(req, cx).await
    }

    async fn from_parts_and_body(
        parts: &mut Parts,
        mut body: Body,
        cx: &RequestContext,
    ) -> Result<Self, Error> {
        let essence = essence(parts);
        #[cfg(feature = "multipart")]
        if essence.as_deref() == Some(mime::MULTIPART_FORM_DATA.essence_str()) {
            let (values, files) = read_multipart(parts, body, cx).await?;
            return FormResult::validate(values, files);
        }
        let bytes = read_all(&mut body, &parts.headers, cx.body_limit).await?;
        if essence.as_deref() != Some(mime::APPLICATION_WWW_FORM_URLENCODED.essence_str()) {
            if !bytes.is_empty() {
                return Err(Error::unsupported_media_type(ACCEPTED));
            }
            let values = FormValues::default();
            let errors = errors_of(missing_body(), &values)?;
            return Ok(FormResult { result: Err(errors), values, files: Vec::new() });
        }
        let values = decode_form(&bytes, FormSource::Body)?.into_iter().collect();
        FormResult::validate(values, Vec::new())
    }
}

/// Every part of a multipart form: text fields as values, file parts as files.
#[cfg(feature = "multipart")]
pub(super) async fn read_multipart(
    parts: &Parts,
    body: Body,
    cx: &RequestContext,
) -> Result<(FormValues, Vec<UploadedFile>), Error> {
    let mut req = Request::new(body);
    *req.headers_mut() = parts.headers.clone();
    let mut form = super::Multipart::from_request(req, cx).await?;
    let mut values = Vec::new();
    let mut files = Vec::new();
    while let Some(field) = form.next_field().await? {
        let name = field.name().unwrap_or("").to_owned();
        match field.file_name().map(str::to_owned) {
            Some(file_name) => {
                let content_type = field.content_type().map(str::to_owned);
                let bytes = field.bytes().await?;
                // A file input left empty sends a part with no name and no bytes.
                if !file_name.is_empty() || !bytes.is_empty() {
                    files.push(UploadedFile { field: name, file_name, content_type, bytes });
                }
            }
            None => values.push((name, field.text().await?)),
        }
    }
    Ok((FormValues(values), files))
}

impl<T: JsonSchema + Validate> DescribeInput for FormResult<T> {
    fn describe_input(cx: &mut DocContext, op: &mut Operation) {
        let schema = cx.input_schema::<T>();
        let mut content = serde_json::Map::new();
        content
            .insert("application/x-www-form-urlencoded".to_owned(), serde_json::json!({ "schema": schema }));
        #[cfg(feature = "multipart")]
        content.insert("multipart/form-data".to_owned(), serde_json::json!({ "schema": schema }));
        op.request_body = Some(RequestBody { required: true, content });
        cx.can_fail_validation();
        cx.can_refuse_media_type();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_locations_without_their_source() {
        assert_eq!(field_of(&Loc::root("body").key("title")), "title");
        assert_eq!(field_of(&Loc::root("body").key("tags").index(2)), "tags.2");
        assert_eq!(field_of(&Loc::root("body")), NON_FIELD);
        assert_eq!(field_of(&Loc::root("query").key("page")), "page");
    }

    #[test]
    fn errors_group_by_field_in_order() {
        let errors = vec![
            ValidationError::new("a", Loc::root("body").key("b"), "first", Value::Null),
            ValidationError::new("a", Loc::root("body").key("a"), "second", Value::Null),
            ValidationError::new("a", Loc::root("body").key("b"), "third", Value::Null),
        ];
        let form = FormErrors::from_validation(errors, FormValues::default());
        assert_eq!(
            serde_json::to_string(&form).ok().as_deref(),
            Some(r#"{"b":["first","third"],"a":["second"]}"#)
        );
        assert_eq!(form.get("b"), ["first", "third"]);
        assert!(form.get("c").is_empty());
    }
}
