//! `#[derive(ApiError)]`: an error enum whose variants are HTTP errors, documented each.
//!
//! It also lists the documented variants (`brisk::openapi::ErrorVariants`), so an endpoint can
//! declare the ones it answers with: `#[endpoint(errors(NoteError::NotFound))]`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Expr, ExprLit, Fields, Lit};

struct VariantDoc {
    status: u16,
    detail: Option<String>,
}

/// A variant is documented with a status, or `#[api(transparent)]`: it wraps another error
/// (a database error, say) that becomes a `brisk::Error` through its own `From`, documented
/// by nothing here.
enum Variant {
    Doc(VariantDoc),
    Transparent,
}

fn parse_variant(variant: &syn::Variant) -> syn::Result<Variant> {
    let mut status = None;
    let mut detail = None;
    let mut transparent = false;
    for attr in variant.attrs.iter().filter(|a| a.path().is_ident("api")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("transparent") {
                transparent = true;
                return Ok(());
            }
            let value: Expr = meta.value()?.parse()?;
            match (meta.path.get_ident().map(ToString::to_string).as_deref(), &value) {
                (Some("status"), Expr::Lit(ExprLit { lit: Lit::Int(n), .. })) => {
                    let n = n.base10_parse::<u16>()?;
                    if !(400..=599).contains(&n) {
                        return Err(syn::Error::new(n.span(), "an error status is 400 to 599"));
                    }
                    status = Some(n);
                }
                (Some("detail"), Expr::Lit(ExprLit { lit: Lit::Str(s), .. })) => detail = Some(s.value()),
                _ => return Err(meta.error("expected `status = <400..599>` or `detail = \"...\"`")),
            }
            Ok(())
        })?;
    }
    if transparent {
        return match &variant.fields {
            Fields::Unnamed(f) if f.unnamed.len() == 1 && status.is_none() && detail.is_none() => {
                Ok(Variant::Transparent)
            }
            _ => Err(syn::Error::new(
                variant.span(),
                "a transparent variant has one field and no status or detail",
            )),
        };
    }
    let status = status.ok_or_else(|| {
        syn::Error::new(variant.span(), "every variant needs #[api(status = ...)] or #[api(transparent)]")
    })?;
    Ok(Variant::Doc(VariantDoc { status, detail }))
}

pub fn expand(input: DeriveInput) -> syn::Result<TokenStream> {
    let name = &input.ident;
    let Data::Enum(data) = &input.data else {
        return Err(syn::Error::new(input.span(), "ApiError is derived for enums"));
    };
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let mut arms = Vec::new();
    let mut docs = Vec::new();
    for variant in &data.variants {
        let ident = &variant.ident;
        let doc = match parse_variant(variant)? {
            Variant::Doc(doc) => doc,
            Variant::Transparent => {
                arms.push(quote!(#name::#ident(inner) => ::brisk::Error::from(inner),));
                continue;
            }
        };
        let status = doc.status;
        let reason = quote!(::brisk::http::StatusCode::from_u16(#status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Error"));
        let (pattern, detail) = match (&variant.fields, &doc.detail) {
            (Fields::Unit, Some(d)) => (quote!(#name::#ident), quote!(#d.to_owned())),
            (Fields::Unit, None) => (quote!(#name::#ident), quote!(#reason.to_owned())),
            (Fields::Unnamed(f), None) if f.unnamed.len() == 1 => {
                (quote!(#name::#ident(inner)), quote!(::std::string::ToString::to_string(&inner)))
            }
            (Fields::Unnamed(_), Some(d)) => (quote!(#name::#ident(..)), quote!(#d.to_owned())),
            (Fields::Named(_), Some(d)) => (quote!(#name::#ident { .. }), quote!(#d.to_owned())),
            _ => {
                return Err(syn::Error::new(
                    variant.span(),
                    "give a `detail = \"...\"`, or one field whose Display is the detail",
                ))
            }
        };
        arms.push(quote! {
            #pattern => ::brisk::Error::http(
                ::brisk::http::StatusCode::from_u16(#status).unwrap_or(::brisk::http::StatusCode::INTERNAL_SERVER_ERROR),
                #detail,
            ),
        });
        let name = ident.to_string();
        let detail = match &doc.detail {
            Some(d) => quote!(::std::option::Option::Some(#d)),
            None => quote!(::std::option::Option::None),
        };
        docs.push(
            quote!(::brisk::openapi::ErrorVariantDoc { name: #name, status: #status, detail: #detail }),
        );
    }
    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics ::std::convert::From<#name #ty_generics> for ::brisk::Error #where_clause {
            fn from(error: #name #ty_generics) -> Self {
                match error { #(#arms)* }
            }
        }

        #[automatically_derived]
        impl #impl_generics ::brisk::response::IntoResponse for #name #ty_generics #where_clause {
            fn into_response(self) -> ::brisk::response::Response {
                ::brisk::response::IntoResponse::into_response(::brisk::Error::from(self))
            }
        }

        #[automatically_derived]
        impl #impl_generics ::brisk::openapi::ErrorVariants for #name #ty_generics #where_clause {
            const VARIANTS: &'static [::brisk::openapi::ErrorVariantDoc] = &[#(#docs),*];
        }

        #[automatically_derived]
        impl #impl_generics ::brisk::openapi::DescribeOutput for #name #ty_generics #where_clause {
            fn describe_output(cx: &mut ::brisk::openapi::DocContext, op: &mut ::brisk::openapi::Operation) {
                ::brisk::openapi::document_error_variants::<Self>(cx, op);
            }
        }
    })
}
