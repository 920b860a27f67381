//! `#[dependency]`: an async function becomes the provider of the type it returns.
//!
//! ```text
//! #[dependency]
//! async fn current_user(bearer: HttpBearer, State(keys): State<Keys>, scope: Scope) -> Result<User> { .. }
//! ```
//! implements `Dependency for User` with `Inputs = (HttpBearer, State<Keys>)`; an argument of
//! type `Scope` receives the request's teardown scope instead of being extracted.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, ItemFn, PathArguments, ReturnType, Type};

/// `T` of `Result<T>` / `Result<T, E>` (by the last path segment's name).
fn ok_type(output: &ReturnType) -> syn::Result<&Type> {
    let error =
        || syn::Error::new(output.span(), "a #[dependency] fn returns `Result<T>` (T is the dependency)");
    let ReturnType::Type(_, ty) = output else { return Err(error()) };
    let Type::Path(path) = &**ty else { return Err(error()) };
    let last = path.path.segments.last().ok_or_else(error)?;
    match (&*last.ident.to_string(), &last.arguments) {
        ("Result", PathArguments::AngleBracketed(args)) => match args.args.first() {
            Some(GenericArgument::Type(t)) => Ok(t),
            _ => Err(error()),
        },
        _ => Err(error()),
    }
}

fn is_scope(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "Scope"))
}

pub fn expand(item: ItemFn) -> syn::Result<TokenStream> {
    if item.sig.asyncness.is_none() {
        return Err(syn::Error::new(item.sig.span(), "#[dependency] goes on an `async fn`"));
    }
    if !item.sig.generics.params.is_empty() {
        return Err(syn::Error::new(item.sig.generics.span(), "a #[dependency] fn cannot be generic"));
    }
    let target = ok_type(&item.sig.output)?;
    let name = &item.sig.ident;
    let mut input_types = Vec::new();
    let mut call_args = Vec::new();
    for (i, arg) in item.sig.inputs.iter().enumerate() {
        let FnArg::Typed(arg) = arg else {
            return Err(syn::Error::new(arg.span(), "a #[dependency] fn takes no `self`"));
        };
        if is_scope(&arg.ty) {
            call_args.push(quote!(::std::clone::Clone::clone(scope)));
        } else {
            let binding = format_ident!("__input{}", i);
            input_types.push((binding.clone(), (*arg.ty).clone()));
            call_args.push(quote!(#binding));
        }
    }
    let bindings = input_types.iter().map(|(b, _)| b);
    let types = input_types.iter().map(|(_, t)| t);
    Ok(quote! {
        #item

        impl ::brisk::depends::Dependency for #target {
            type Inputs = (#(#types,)*);
            async fn provide(
                (#(#bindings,)*): Self::Inputs,
                scope: &::brisk::depends::Scope,
            ) -> ::std::result::Result<Self, ::brisk::Error> {
                #name(#(#call_args),*).await.map_err(::std::convert::Into::into)
            }
        }
    })
}
