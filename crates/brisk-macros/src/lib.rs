//! Procedural macros for brisk. Use them through `brisk` (`brisk::Validate`), not directly.

mod api_error;
mod declared_errors;
mod dependency;
mod endpoint;
mod serde_names;
mod signature_checks;
mod validate;

use proc_macro::TokenStream;

/// Derives `brisk::validation::Validate`: pydantic-style rules on fields, enforced at runtime
/// and written into the type's JSON Schema. See `brisk::validation` for the rules.
#[proc_macro_derive(Validate, attributes(validate))]
pub fn derive_validate(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    validate::expand(input).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Derives `From<E> for brisk::Error`, `IntoResponse` and `DescribeOutput` for an error enum:
/// each variant is an HTTP error with `#[api(status = 404, detail = "Item not found")]`, and
/// each status appears in the OpenAPI document with FastAPI's `{"detail": ...}` body.
#[proc_macro_derive(ApiError, attributes(api))]
pub fn derive_api_error(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    api_error::expand(input).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Documents a handler: its doc comment's first paragraph becomes the operation's summary and
/// the rest its description. Options: `summary = "..."`, `operation_id = "..."`,
/// `tags = ["..."]`, `deprecated`, and `response(status = 404, description = "...")` (repeatable).
/// `errors(NoteError::NotFound, ...)` names the variants of `#[derive(ApiError)]` enums the
/// handler answers with: only those are documented for their enums (an unknown variant does not
/// compile). Each argument and the return type are checked where they are written, so a
/// mistake is reported on that type, with its position and the fix.
#[proc_macro_attribute]
pub fn endpoint(args: TokenStream, input: TokenStream) -> TokenStream {
    let item = syn::parse_macro_input!(input as syn::ItemFn);
    endpoint::expand(args.into(), item).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Makes an `async fn` returning `Result<T>` the provider of dependency `T`: its arguments are
/// the inputs (extractors, `Depends<...>`), and an argument of type `Scope` receives the
/// request's teardown scope.
#[proc_macro_attribute]
pub fn dependency(args: TokenStream, input: TokenStream) -> TokenStream {
    if !args.is_empty() {
        return syn::Error::new(proc_macro2::Span::call_site(), "#[dependency] takes no options")
            .into_compile_error()
            .into();
    }
    let item = syn::parse_macro_input!(input as syn::ItemFn);
    dependency::expand(item).unwrap_or_else(syn::Error::into_compile_error).into()
}
