//! `#[derive(Validate)]`.

mod attrs;
mod custom;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields};

use crate::serde_names;
use attrs::{field_attrs, model_validators, Rule, RuleKind};
use custom::{FieldWalk, Step, Tagging};

/// What one derive generates: `is_valid`, `apply_rules` and `check_custom` bodies.
struct Bodies {
    is_valid: TokenStream,
    apply_rules: TokenStream,
    check_custom: TokenStream,
    check_custom_raw: TokenStream,
}

pub fn expand(input: DeriveInput) -> syn::Result<TokenStream> {
    let name = &input.ident;
    let mut generics = input.generics.clone();
    for param in generics.type_params_mut() {
        param.bounds.push(syn::parse_quote!(::brisk::validation::Validate));
        param.bounds.push(syn::parse_quote!(::brisk::__private::schemars::JsonSchema));
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let models = model_validators(&input.attrs)?;

    let Bodies { is_valid, apply_rules, check_custom, check_custom_raw } = match &input.data {
        Data::Struct(data) => expand_struct(&input, &data.fields, &models)?,
        Data::Enum(data) => expand_enum(&input, data, &models)?,
        Data::Union(_) => return Err(syn::Error::new(input.span(), "Validate cannot be derived for unions")),
    };

    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics ::brisk::validation::Validate for #name #ty_generics #where_clause {
            fn is_valid(&self) -> bool {
                #is_valid
            }
            fn apply_rules(target: &mut ::brisk::validation::RuleTarget<'_>) {
                #apply_rules
            }
            #[allow(unused_variables, clippy::needless_borrow)]
            fn check_custom(
                &self,
                __here: &::brisk::validation::Here<'_>,
                __issues: &mut ::brisk::validation::Issues,
            ) {
                #check_custom
            }
            #[allow(unused_variables, clippy::needless_borrow)]
            fn check_custom_raw(
                __raw: &::brisk::serde_json::Value,
                __here: &::brisk::validation::Here<'_>,
                __issues: &mut ::brisk::validation::Issues,
            ) {
                #check_custom_raw
            }
        }
    })
}

/// The checks of one field's built-in rules (and its own `is_valid`), all true when it is valid.
fn rule_checks(access: &TokenStream, rules: &[Rule], index: usize) -> Vec<TokenStream> {
    let mut checks = vec![quote!(::brisk::validation::Validate::is_valid(&#access))];
    for (n, rule) in rules.iter().enumerate() {
        let tokens = &rule.tokens;
        checks.push(match rule.kind {
            RuleKind::Bound => quote!(::brisk::validation::rules::check_bound(&#access, #tokens)),
            RuleKind::Length => quote!(::brisk::validation::rules::check_length(&#access, #tokens)),
            RuleKind::Pattern => {
                let pattern = &rule.pattern;
                let regex = format_ident!("__BRISK_PATTERN_{}_{}", index, n);
                quote!({
                    static #regex: ::std::sync::OnceLock<::brisk::__private::regex_lite::Regex> = ::std::sync::OnceLock::new();
                    ::brisk::validation::rules::check_pattern(
                        &#access,
                        #regex.get_or_init(|| ::brisk::validation::rules::compile_pattern(#pattern)),
                    )
                })
            }
        });
    }
    checks
}

fn expand_struct(input: &DeriveInput, fields: &Fields, models: &[syn::Expr]) -> syn::Result<Bodies> {
    let rename_all = serde_names::rename_all(&input.attrs)?;
    let newtype = matches!(fields, Fields::Unnamed(f) if f.unnamed.len() == 1);
    let track = !models.is_empty();
    let mut checks = Vec::new();
    let mut applies = Vec::new();
    let mut walks = Vec::new();
    let mut raws = Vec::new();
    for (index, field) in fields.iter().enumerate() {
        let serde = serde_names::field(&field.attrs)?;
        let attrs = field_attrs(&field.attrs)?;
        let rules = &attrs.rules;
        if serde.skip {
            if !attrs.is_empty() {
                return Err(syn::Error::new(
                    field.span(),
                    "a field serde skips cannot have validation rules",
                ));
            }
            continue;
        }
        let access = match &field.ident {
            Some(ident) => quote!(self.#ident),
            None => {
                let index = syn::Index::from(index);
                quote!(self.#index)
            }
        };
        let ty = &field.ty;
        let field_checks = rule_checks(&access, rules, index);
        checks.extend(field_checks.iter().cloned());
        let rule_tokens: Vec<&TokenStream> = rules.iter().map(|r| &r.tokens).collect();
        let step = if serde.flatten {
            if !attrs.is_empty() {
                return Err(syn::Error::new(field.span(), "a flattened field cannot have validation rules"));
            }
            Step::Same
        } else if newtype {
            applies.push(quote! {
                <#ty as ::brisk::validation::Validate>::apply_rules(target);
                target.itself(&[#(#rule_tokens),*]);
            });
            Step::Same
        } else if let Some(ident) = &field.ident {
            let raw = ident.to_string();
            let raw = raw.strip_prefix("r#").unwrap_or(&raw).to_owned();
            let json_name = match (&serde.rename, &rename_all) {
                (Some(rename), _) => rename.clone(),
                (None, Some(rule)) => serde_names::apply_rename_all(rule, &raw),
                (None, None) => raw,
            };
            applies.push(quote! {
                target.property(#json_name, &[#(#rule_tokens),*]);
                target.nested::<#ty>();
            });
            Step::Key(json_name)
        } else {
            applies.push(quote!(target.nested::<#ty>();));
            Step::Index(index)
        };
        if custom::reads_as_its_type(&field.attrs)? {
            raws.push(raw_field(ty, &step, rules, &attrs.with, index));
        }
        let walk = FieldWalk { value: quote!(&#access), step, checks: &field_checks, with: &attrs.with };
        walks.push(custom::field_block(&walk, track));
    }
    let is_valid = if checks.is_empty() { quote!(true) } else { quote!(#(#checks)&&*) };
    Ok(Bodies {
        is_valid,
        apply_rules: quote!(#(#applies)*),
        check_custom: custom::body(walks, models),
        check_custom_raw: custom::raw_body(raws),
    })
}

/// One field's part of `check_custom_raw`: with validators of its own, the part read as the
/// field's type and checked in full; otherwise the type's own walk over the part.
fn raw_field(ty: &syn::Type, step: &Step, rules: &[Rule], with: &[syn::Expr], index: usize) -> TokenStream {
    let part = custom::raw_part(step);
    let at = match step {
        Step::Same => quote!(*__here),
        Step::Key(key) => quote!(__here.key(#key)),
        Step::Index(i) => quote!(__here.index(#i)),
    };
    let descend = quote!({
        let __at = #at;
        <#ty as ::brisk::validation::Validate>::check_custom_raw(__v, &__at, __issues);
    });
    if with.is_empty() {
        return quote!(if let Some(__v) = #part #descend);
    }
    let read = custom::probe(ty, quote!(__v));
    let checks = rule_checks(&quote!((*__f)), rules, index);
    let walk = FieldWalk { value: quote!(__f), step: step.clone(), checks: &checks, with };
    let block = custom::field_block(&walk, false);
    quote!(if let Some(__v) = #part {
        match #read {
            Some(__f) => {
                let __f = &__f;
                #block
            }
            None => #descend,
        }
    })
}

fn expand_enum(input: &DeriveInput, data: &syn::DataEnum, models: &[syn::Expr]) -> syn::Result<Bodies> {
    let (tagging, rename_all) = custom::enum_serde(&input.attrs)?;
    let track = !models.is_empty();
    let mut arms = Vec::new();
    let mut walk_arms = Vec::new();
    let mut applies = Vec::new();
    for variant in &data.variants {
        for field in &variant.fields {
            if !field_attrs(&field.attrs)?.is_empty() {
                return Err(syn::Error::new(
                    field.span(),
                    "rules on enum variant fields are not supported; put them on a struct",
                ));
            }
            // The rules of the types inside the variants live where those types' schemas do.
            let ty = &field.ty;
            applies.push(quote!(target.nested::<#ty>();));
        }
        let ident = &variant.ident;
        let (pattern, bindings) = match &variant.fields {
            Fields::Unit => (quote!(Self::#ident), Vec::new()),
            Fields::Unnamed(f) => {
                let names: Vec<_> = (0..f.unnamed.len()).map(|i| format_ident!("f{}", i)).collect();
                (quote!(Self::#ident(#(#names),*)), names)
            }
            Fields::Named(f) => {
                let names: Vec<_> = f.named.iter().filter_map(|f| f.ident.clone()).collect();
                (quote!(Self::#ident { #(#names),* }), names)
            }
        };
        let checks = bindings.iter().map(|b| quote!(::brisk::validation::Validate::is_valid(#b)));
        arms.push(quote!(#pattern => true #(&& #checks)*,));
        walk_arms.push(variant_walk(variant, &pattern, &bindings, &tagging, rename_all.as_deref(), track)?);
    }
    let is_valid = if arms.is_empty() { quote!(true) } else { quote!(match self { #(#arms)* }) };
    let walk = if walk_arms.is_empty() { Vec::new() } else { vec![quote!(match self { #(#walk_arms)* })] };
    Ok(Bodies {
        is_valid,
        apply_rules: quote!(#(#applies)*),
        check_custom: custom::body(walk, models),
        check_custom_raw: custom::raw_body(Vec::new()),
    })
}

/// One match arm of an enum's `check_custom`: the variant's fields, where serde reads them.
fn variant_walk(
    variant: &syn::Variant,
    pattern: &TokenStream,
    bindings: &[syn::Ident],
    tagging: &Tagging,
    rename_all: Option<&str>,
    track: bool,
) -> syn::Result<TokenStream> {
    if bindings.is_empty() {
        return Ok(quote!(#pattern => {}));
    }
    // The variant's own place, relative to the enum's.
    let (base, inner_here) = match tagging {
        Tagging::External => {
            let name = custom::variant_name(variant, rename_all)?;
            (quote!(let __variant = __here.key(#name);), quote!(&__variant))
        }
        Tagging::Adjacent(content) => (quote!(let __variant = __here.key(#content);), quote!(&__variant)),
        Tagging::Internal | Tagging::Untagged => (quote!(let __variant = *__here;), quote!(&__variant)),
    };
    let field_rename = serde_names::rename_all(&variant.attrs)?;
    let single = bindings.len() == 1 && matches!(variant.fields, Fields::Unnamed(_));
    let mut blocks = Vec::new();
    for (i, (field, binding)) in variant.fields.iter().zip(bindings).enumerate() {
        let serde = serde_names::field(&field.attrs)?;
        if serde.skip {
            continue;
        }
        let step = match &field.ident {
            _ if single || serde.flatten => Step::Same,
            Some(ident) => {
                let raw = ident.to_string();
                let raw = raw.strip_prefix("r#").unwrap_or(&raw).to_owned();
                Step::Key(match (&serde.rename, &field_rename) {
                    (Some(rename), _) => rename.clone(),
                    (None, Some(rule)) => serde_names::apply_rename_all(rule, &raw),
                    (None, None) => raw,
                })
            }
            None => Step::Index(i),
        };
        let checks = [quote!(::brisk::validation::Validate::is_valid(#binding))];
        let walk = FieldWalk { value: quote!(#binding), step, checks: &checks, with: &[] };
        blocks.push(custom::field_block(&walk, track));
    }
    Ok(quote!(#pattern => {
        #base
        let __here = #inner_here;
        #(#blocks)*
    }))
}
