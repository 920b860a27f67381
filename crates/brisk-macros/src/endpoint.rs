//! `#[endpoint]`: a handler's doc comment and options become its OpenAPI operation's metadata.
//!
//! The function keeps its arguments and body; its return type `R` becomes
//! `brisk::openapi::Documented<R, __BriskDoc_name>`, a zero-sized wrapper whose documentation
//! carries the metadata, so nothing is looked up at run time.
//!
//! It also checks the signature where it is written (`signature_checks`): each argument and the
//! return type is asserted on its own, so a mistake is reported on that type, with its position.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ItemFn, Lit, LitStr, ReturnType, Token};

#[derive(Default)]
struct Options {
    summary: Option<String>,
    operation_id: Option<String>,
    deprecated: bool,
    tags: Vec<String>,
    responses: Vec<(u16, String)>,
    errors: Vec<syn::Path>,
}

fn parse_options(args: TokenStream) -> syn::Result<Options> {
    let mut options = Options::default();
    let parser = syn::meta::parser(|meta| {
        let key = meta.path.get_ident().map(ToString::to_string).unwrap_or_default();
        match key.as_str() {
            "deprecated" => options.deprecated = true,
            "summary" => options.summary = Some(meta.value()?.parse::<LitStr>()?.value()),
            "operation_id" => options.operation_id = Some(meta.value()?.parse::<LitStr>()?.value()),
            "tags" => {
                let value = meta.value()?;
                let content;
                syn::bracketed!(content in value);
                let tags = Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?;
                options.tags.extend(tags.iter().map(LitStr::value));
            }
            "response" => {
                let (mut status, mut description) = (None, None);
                meta.parse_nested_meta(|inner| {
                    if inner.path.is_ident("status") {
                        status = Some(inner.value()?.parse::<syn::LitInt>()?.base10_parse::<u16>()?);
                    } else if inner.path.is_ident("description") {
                        description = Some(inner.value()?.parse::<LitStr>()?.value());
                    } else {
                        return Err(inner.error("expected `status = 404` or `description = \"...\"`"));
                    }
                    Ok(())
                })?;
                match (status, description) {
                    (Some(s), Some(d)) if (100..=599).contains(&s) => options.responses.push((s, d)),
                    _ => {
                        return Err(meta.error("write `response(status = 404, description = \"Not found\")`"))
                    }
                }
            }
            "errors" => options.errors.extend(crate::declared_errors::parse(&meta)?),
            _ => {
                return Err(meta.error(
                    "expected summary, operation_id, tags, deprecated, response(...) or errors(Enum::Variant, ...)",
                ))
            }
        }
        Ok(())
    });
    parser.parse2(args)?;
    Ok(options)
}

fn doc_text(item: &ItemFn) -> String {
    let lines: Vec<String> = item
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .map(|line| line.strip_prefix(' ').unwrap_or(&line).to_owned())
        .collect();
    lines.join("\n").trim().to_owned()
}

pub fn expand(args: TokenStream, mut item: ItemFn) -> syn::Result<TokenStream> {
    let options = parse_options(args)?;
    if item.sig.asyncness.is_none() {
        return Err(syn::Error::new(item.sig.span(), "#[endpoint] goes on an `async fn` handler"));
    }
    let docs = doc_text(&item);
    let (first, rest) = match docs.split_once("\n\n") {
        Some((first, rest)) => (first.replace('\n', " "), rest.trim().to_owned()),
        None => (docs.replace('\n', " "), String::new()),
    };
    let summary = options.summary.clone().or((!first.is_empty()).then_some(first));
    let description = (!rest.is_empty()).then_some(rest);
    let opt = |v: &Option<String>| match v {
        Some(s) => quote!(::std::option::Option::Some(#s)),
        None => quote!(::std::option::Option::None),
    };
    let (summary, description, operation_id) = (opt(&summary), opt(&description), opt(&options.operation_id));
    let deprecated = options.deprecated;
    let tags = &options.tags;
    let responses = options.responses.iter().map(|(s, d)| quote!((#s, #d)));

    let errors = crate::declared_errors::declared(&options.errors);
    let error_checks = crate::declared_errors::checks(&options.errors);
    let signature_checks = crate::signature_checks::checks(&item);

    let name = &item.sig.ident;
    let doc_type = format_ident!("__BriskDoc_{}", name);
    let vis = &item.vis;
    let output = match &item.sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => quote!(#ty),
    };
    let body = &item.block;
    item.sig.output = syn::parse2(quote!(-> ::brisk::openapi::Documented<#output, #doc_type>))?;
    item.block = syn::parse2(quote!({
        ::brisk::openapi::Documented::new(async move #body.await)
    }))?;
    Ok(quote! {
        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        #vis struct #doc_type;

        impl ::brisk::openapi::EndpointDocs for #doc_type {
            const SUMMARY: ::std::option::Option<&'static str> = #summary;
            const DESCRIPTION: ::std::option::Option<&'static str> = #description;
            const OPERATION_ID: ::std::option::Option<&'static str> = #operation_id;
            const DEPRECATED: bool = #deprecated;
            const TAGS: &'static [&'static str] = &[#(#tags),*];
            const RESPONSES: &'static [(u16, &'static str)] = &[#(#responses),*];
            const ERRORS: &'static [::brisk::openapi::DeclaredError] = &[#(#errors),*];
        }

        #signature_checks
        #error_checks

        #item
    })
}
