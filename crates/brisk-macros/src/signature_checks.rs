//! The checks `#[endpoint]` writes for a handler's signature: one per argument and one for the
//! return type, each spanned to that type, so a mistake is reported on the argument that makes
//! it (with its position and the fix) rather than where the handler is routed.
//!
//! The checks are trait bounds (`brisk::handler::check`), the same ones the handler needs; what
//! the macro sees of a type's name only picks the message. A `Json<T>` before the last
//! argument, say, is asserted with `BodyNotLast`, which holds exactly when the type can be read
//! from the request head, like `Head` (so a head extractor of your own named `Json` still
//! passes).

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, ItemFn, PathArguments, ReturnType, Type, TypeImplTrait};

/// Extractors whose one type argument is the data read from the request.
const DATA_EXTRACTORS: &[&str] = &["Path", "Query", "Json", "Form", "Header", "Cookies"];
/// Extractors that read the body: only the last argument may.
const BODY_EXTRACTORS: &[&str] =
    &["Json", "Form", "FormResult", "String", "Bytes", "Multipart", "BodyStream"];

/// The last path segment's name and its single type argument, if any.
fn name_and_data(ty: &Type) -> Option<(String, Option<&Type>)> {
    let Type::Path(path) = ty else { return None };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    let data = match &last.arguments {
        PathArguments::AngleBracketed(args) if args.args.len() == 1 => match args.args.first() {
            Some(GenericArgument::Type(t)) => Some(t),
            _ => None,
        },
        _ => None,
    };
    Some((last.ident.to_string(), data))
}

/// The first `impl Trait` inside `ty` (syn's `visit` feature is not enabled, so by hand).
fn impl_trait_in(ty: &Type) -> Option<&TypeImplTrait> {
    match ty {
        Type::ImplTrait(found) => Some(found),
        Type::Path(path) => path.path.segments.iter().find_map(|segment| match &segment.arguments {
            PathArguments::AngleBracketed(args) => args.args.iter().find_map(|arg| match arg {
                GenericArgument::Type(t) => impl_trait_in(t),
                _ => None,
            }),
            _ => None,
        }),
        Type::Reference(r) => impl_trait_in(&r.elem),
        Type::Tuple(t) => t.elems.iter().find_map(impl_trait_in),
        Type::Array(a) => impl_trait_in(&a.elem),
        Type::Slice(s) => impl_trait_in(&s.elem),
        Type::Paren(p) => impl_trait_in(&p.elem),
        Type::Group(g) => impl_trait_in(&g.elem),
        _ => None,
    }
}

fn argument_check(ty: &Type, position: usize, last: bool) -> TokenStream {
    let span = ty.span();
    let (name, data) = match name_and_data(ty) {
        Some((name, data)) => (name, data),
        None => (String::new(), None),
    };
    let data = data.filter(|_| DATA_EXTRACTORS.contains(&name.as_str()));
    let check = if !last && BODY_EXTRACTORS.contains(&name.as_str()) {
        quote_spanned!(span=> <#ty as ::brisk::handler::check::BodyNotLast<#position>>::OK)
    } else {
        match (data, last) {
            (Some(data), false) => {
                quote_spanned!(span=> <#data as ::brisk::handler::check::HeadData<#ty, #position>>::OK)
            }
            (Some(data), true) => {
                quote_spanned!(span=> <#data as ::brisk::handler::check::LastData<#ty, #position, _>>::OK)
            }
            (None, false) => quote_spanned!(span=> <#ty as ::brisk::handler::check::Head<#position>>::OK),
            (None, true) => quote_spanned!(span=> <#ty as ::brisk::handler::check::Last<#position, _>>::OK),
        }
    };
    quote_spanned!(span=> let () = #check;)
}

/// The checks for `item`'s signature. Generic handlers are not checked here (their types are
/// known only where they are routed).
pub fn checks(item: &ItemFn) -> TokenStream {
    if !item.sig.generics.params.is_empty() {
        return TokenStream::new();
    }
    let types: Vec<&Type> = item
        .sig
        .inputs
        .iter()
        .filter_map(|arg| match arg {
            FnArg::Typed(arg) => Some(&*arg.ty),
            FnArg::Receiver(_) => None,
        })
        .collect();
    let mut lines = Vec::new();
    for (index, ty) in types.iter().enumerate() {
        if impl_trait_in(ty).is_none() {
            lines.push(argument_check(ty, index + 1, index + 1 == types.len()));
        }
    }
    match &item.sig.output {
        ReturnType::Type(_, ty) if impl_trait_in(ty).is_none() => {
            let span = ty.span();
            lines.push(quote_spanned!(span=> let () = <#ty as ::brisk::handler::check::Returns>::OK;));
        }
        // An `impl Trait` cannot be named here: the check goes through the function itself.
        ReturnType::Type(_, ty) => {
            let name = &item.sig.ident;
            lines.push(quote_spanned!(ty.span()=> ::brisk::handler::check::opaque_return(#name);));
        }
        ReturnType::Default => lines.push(quote!(let () = <() as ::brisk::handler::check::Returns>::OK;)),
    }
    quote! {
        const _: () = {
            #[allow(dead_code, clippy::let_unit_value)]
            fn __brisk_signature_checks() {
                #(#lines)*
            }
        };
    }
}
