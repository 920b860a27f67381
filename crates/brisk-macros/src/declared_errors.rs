//! `#[endpoint(errors(NoteError::NotFound, ...))]`: the variants of shared error enums an
//! endpoint answers with, checked at compile time and documented alone.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Path, Token};

/// Reads `(Enum::Variant, ...)` after `errors`.
pub fn parse(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<Vec<Path>> {
    let content;
    syn::parenthesized!(content in meta.input);
    let paths = Punctuated::<Path, Token![,]>::parse_terminated(&content)?;
    for path in &paths {
        if path.segments.len() < 2 {
            return Err(syn::Error::new(
                path.span(),
                "name the variant with its enum: `errors(NoteError::NotFound)`",
            ));
        }
    }
    Ok(paths.into_iter().collect())
}

/// `NoteError::NotFound` → (`NoteError`, `"NotFound"`).
fn split(path: &Path) -> (Path, String) {
    let mut enum_path = path.clone();
    let variant = enum_path.segments.pop().map(|p| p.into_value().ident.to_string()).unwrap_or_default();
    // `Punctuated::pop` leaves the trailing `::`; rebuild without it.
    let segments: Punctuated<syn::PathSegment, Token![::]> = enum_path.segments.into_iter().collect();
    enum_path.segments = segments;
    (enum_path, variant)
}

/// The `EndpointDocs::ERRORS` items, one per declared variant.
pub fn declared(paths: &[Path]) -> Vec<TokenStream> {
    paths
        .iter()
        .map(|path| {
            let (enum_path, variant) = split(path);
            quote_spanned!(path.span()=> ::brisk::openapi::DeclaredError::of::<#enum_path>(#variant))
        })
        .collect()
}

/// A pattern per declared variant, so that a variant the enum does not have is a compile error
/// pointing at it.
pub fn checks(paths: &[Path]) -> TokenStream {
    let lines = paths.iter().map(|path| {
        let (enum_path, _) = split(path);
        quote_spanned!(path.span()=> {
            fn variant_exists(error: &#enum_path) -> bool {
                matches!(error, #path { .. })
            }
        })
    });
    if paths.is_empty() {
        return TokenStream::new();
    }
    quote! {
        const _: () = {
            #[allow(dead_code)]
            fn __brisk_declared_errors() {
                #(#lines)*
            }
        };
    }
}
