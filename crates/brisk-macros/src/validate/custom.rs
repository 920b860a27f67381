//! The custom-validator walk a derive generates (`Validate::check_custom`): each field's
//! validators run once its built-in rules and inner validators passed, the type's model
//! validators once every field did, each failure located where serde reads the value.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Attribute, Expr, LitStr};

use crate::serde_names;

/// Where a field's value sits relative to its container's (`__here`).
#[derive(Clone)]
pub enum Step {
    /// The same place: a newtype's inner value, a flattened field, an untagged variant.
    Same,
    Key(String),
    Index(usize),
}

/// One field's part of the walk.
pub struct FieldWalk<'a> {
    /// An expression that is a reference to the field's value.
    pub value: TokenStream,
    pub step: Step,
    /// The field's built-in checks (`is_valid` and its rules), all true when it is valid.
    pub checks: &'a [TokenStream],
    pub with: &'a [Expr],
}

/// The block that walks one field, adding `__fields_ok &= ...` when `track` (the type has
/// model validators that run only when every field is valid).
pub fn field_block(field: &FieldWalk<'_>, track: bool) -> TokenStream {
    let value = &field.value;
    let at = match &field.step {
        Step::Same => quote!(*__here),
        Step::Key(key) => quote!(__here.key(#key)),
        Step::Index(i) => quote!(__here.index(#i)),
    };
    let nested = quote!(::brisk::validation::Validate::check_custom(#value, &__at, __issues););
    if field.with.is_empty() && !track {
        return quote!({ let __at = #at; #nested });
    }
    let checks = field.checks;
    let with = field.with.iter().map(|f| quote!(&& __issues.report(&__at, (#f)(#value))));
    let record = if track { quote!(__fields_ok &= __ok;) } else { quote!(let _ = __ok;) };
    quote!({
        let __at = #at;
        let __before = __issues.len();
        #nested
        let __ok = __issues.len() == __before #(&& #checks)* #(#with)*;
        #record
    })
}

/// The body of `check_custom`: the field blocks, then the model validators.
pub fn body(blocks: Vec<TokenStream>, models: &[Expr]) -> TokenStream {
    if models.is_empty() {
        return quote!(#(#blocks)*);
    }
    let models = models.iter().map(|f| quote!(__issues.report(__here, (#f)(self))));
    quote! {
        let __start = __issues.len();
        let mut __fields_ok = true;
        #(#blocks)*
        if __fields_ok && __issues.len() == __start {
            let _ = #(#models)&&*;
        }
    }
}

/// Whether serde reads the field as its type reads itself (no `with`, `deserialize_with` or
/// `borrow`), so that the field's part of a raw input can be read as its type alone.
pub fn reads_as_its_type(attrs: &[Attribute]) -> syn::Result<bool> {
    let mut plain = true;
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("with")
                || meta.path.is_ident("deserialize_with")
                || meta.path.is_ident("borrow")
            {
                plain = false;
            }
            if meta.input.peek(syn::Token![=]) {
                let _: Expr = meta.value()?.parse()?;
            } else if meta.input.peek(syn::token::Paren) {
                let _content;
                syn::parenthesized!(_content in meta.input);
            }
            Ok(())
        })?;
    }
    Ok(plain)
}

/// Where a field's part of a raw input is, as an expression of `Option<&Value>`.
pub fn raw_part(step: &Step) -> TokenStream {
    match step {
        Step::Same => quote!(Some(__raw)),
        Step::Key(key) => quote!(__raw.as_object().and_then(|o| o.get(#key))),
        Step::Index(i) => quote!(__raw.as_array().and_then(|a| a.get(#i))),
    }
}

/// Reads a part of a raw input as `ty` when `ty` can be read on its own.
pub fn probe(ty: &syn::Type, raw: TokenStream) -> TokenStream {
    quote!({
        use ::brisk::validation::{ReadTyped as _, ReadUntyped as _};
        (&&::brisk::validation::Probe::<#ty>::new()).read(#raw)
    })
}

/// The body of `check_custom_raw`: the whole value if it reads, else each field's part.
pub fn raw_body(fields: Vec<TokenStream>) -> TokenStream {
    let whole = probe(&syn::parse_quote!(Self), quote!(__raw));
    quote! {
        if let Some(__value) = #whole {
            ::brisk::validation::Validate::check_custom(&__value, __here, __issues);
        } else if __issues.enter_raw() {
            #(#fields)*
            __issues.leave_raw();
        }
    }
}

/// How serde lays out an enum's variants.
pub enum Tagging {
    /// `{"Variant": ...}` (serde's default).
    External,
    /// `{"tag": "Variant", ...fields}`.
    Internal,
    /// `{"tag": "Variant", "content": ...}`.
    Adjacent(String),
    /// The variant's own shape.
    Untagged,
}

/// An enum's tagging and its `rename_all` for variant names.
pub fn enum_serde(attrs: &[Attribute]) -> syn::Result<(Tagging, Option<String>)> {
    let (mut tag, mut content, mut untagged) = (false, None, false);
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("tag") {
                let _: LitStr = meta.value()?.parse()?;
                tag = true;
            } else if meta.path.is_ident("content") {
                content = Some(meta.value()?.parse::<LitStr>()?.value());
            } else if meta.path.is_ident("untagged") {
                untagged = true;
            } else if meta.input.peek(syn::Token![=]) {
                let _: Expr = meta.value()?.parse()?;
            } else if meta.input.peek(syn::token::Paren) {
                let _content;
                syn::parenthesized!(_content in meta.input);
            }
            Ok(())
        })?;
    }
    let tagging = match (untagged, tag, content) {
        (true, _, _) => Tagging::Untagged,
        (false, true, Some(content)) => Tagging::Adjacent(content),
        (false, true, None) => Tagging::Internal,
        (false, false, _) => Tagging::External,
    };
    Ok((tagging, serde_names::rename_all(attrs)?))
}

/// A variant's name on the wire: its `rename`, else the enum's `rename_all` applied to it.
pub fn variant_name(variant: &syn::Variant, rename_all: Option<&str>) -> syn::Result<String> {
    if let Some(rename) = serde_names::field(&variant.attrs)?.rename {
        return Ok(rename);
    }
    let ident = variant.ident.to_string();
    let snake = to_snake(&ident);
    Ok(match rename_all {
        Some("lowercase") => ident.to_lowercase(),
        Some("UPPERCASE") => ident.to_uppercase(),
        Some("camelCase") => {
            let mut chars = ident.chars();
            chars.next().map(|c| c.to_lowercase().chain(chars).collect()).unwrap_or_default()
        }
        Some("snake_case") => snake,
        Some("SCREAMING_SNAKE_CASE") => snake.to_uppercase(),
        Some("kebab-case") => snake.replace('_', "-"),
        Some("SCREAMING-KEBAB-CASE") => snake.to_uppercase().replace('_', "-"),
        _ => ident,
    })
}

fn to_snake(ident: &str) -> String {
    let mut out = String::new();
    for (i, c) in ident.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variant_names_follow_serde() {
        let v: syn::Variant = syn::parse_quote!(DateRange);
        assert_eq!(variant_name(&v, None).unwrap(), "DateRange");
        assert_eq!(variant_name(&v, Some("snake_case")).unwrap(), "date_range");
        assert_eq!(variant_name(&v, Some("kebab-case")).unwrap(), "date-range");
        assert_eq!(variant_name(&v, Some("camelCase")).unwrap(), "dateRange");
        assert_eq!(variant_name(&v, Some("lowercase")).unwrap(), "daterange");
        let v: syn::Variant = syn::parse_quote!(
            #[serde(rename = "dr")]
            DateRange
        );
        assert_eq!(variant_name(&v, Some("snake_case")).unwrap(), "dr");
    }
}
