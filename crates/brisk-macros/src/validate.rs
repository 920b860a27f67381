//! `#[derive(Validate)]`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Expr, ExprLit, ExprUnary, Fields, Lit, LitStr, UnOp};

use crate::serde_names;

enum RuleKind {
    Bound,
    Length,
    Pattern,
}

struct Rule {
    kind: RuleKind,
    tokens: TokenStream,
    pattern: Option<LitStr>,
}

pub fn expand(input: DeriveInput) -> syn::Result<TokenStream> {
    let name = &input.ident;
    let mut generics = input.generics.clone();
    for param in generics.type_params_mut() {
        param.bounds.push(syn::parse_quote!(::brisk::validation::Validate));
        param.bounds.push(syn::parse_quote!(::brisk::__private::schemars::JsonSchema));
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();

    let (is_valid, apply_rules) = match &input.data {
        Data::Struct(data) => expand_struct(&input, &data.fields)?,
        Data::Enum(data) => expand_enum(data)?,
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
        }
    })
}

fn expand_struct(input: &DeriveInput, fields: &Fields) -> syn::Result<(TokenStream, TokenStream)> {
    let rename_all = serde_names::rename_all(&input.attrs)?;
    let newtype = matches!(fields, Fields::Unnamed(f) if f.unnamed.len() == 1);
    let mut checks = Vec::new();
    let mut applies = Vec::new();
    for (index, field) in fields.iter().enumerate() {
        let serde = serde_names::field(&field.attrs)?;
        let rules = parse_rules(&field.attrs)?;
        if serde.skip {
            if !rules.is_empty() {
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
        checks.push(quote!(::brisk::validation::Validate::is_valid(&#access)));
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
        let rule_tokens: Vec<&TokenStream> = rules.iter().map(|r| &r.tokens).collect();
        if serde.flatten {
            if !rules.is_empty() {
                return Err(syn::Error::new(field.span(), "a flattened field cannot have validation rules"));
            }
            continue;
        }
        if newtype {
            applies.push(quote! {
                <#ty as ::brisk::validation::Validate>::apply_rules(target);
                target.itself(&[#(#rule_tokens),*]);
            });
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
        } else {
            applies.push(quote!(target.nested::<#ty>();));
        }
    }
    let is_valid = if checks.is_empty() { quote!(true) } else { quote!(#(#checks)&&*) };
    Ok((is_valid, quote!(#(#applies)*)))
}

fn expand_enum(data: &syn::DataEnum) -> syn::Result<(TokenStream, TokenStream)> {
    let mut arms = Vec::new();
    let mut applies = Vec::new();
    for variant in &data.variants {
        for field in &variant.fields {
            if !parse_rules(&field.attrs)?.is_empty() {
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
    }
    let is_valid = if arms.is_empty() { quote!(true) } else { quote!(match self { #(#arms)* }) };
    Ok((is_valid, quote!(#(#applies)*)))
}

fn parse_rules(attrs: &[syn::Attribute]) -> syn::Result<Vec<Rule>> {
    let mut rules = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("validate")) {
        attr.parse_nested_meta(|meta| {
            let key = meta.path.get_ident().map(ToString::to_string).unwrap_or_default();
            let value: Expr = meta.value()?.parse()?;
            let rule = match key.as_str() {
                "gt" | "ge" | "lt" | "le" => {
                    let variant = format_ident!("{}", capitalize(&key));
                    let bound = bound(&value)?;
                    Rule {
                        kind: RuleKind::Bound,
                        tokens: quote!(::brisk::validation::Rule::#variant(#bound)),
                        pattern: None,
                    }
                }
                "min_length" | "max_length" => {
                    let variant = if key == "min_length" { quote!(MinLength) } else { quote!(MaxLength) };
                    let n = match &value {
                        Expr::Lit(ExprLit { lit: Lit::Int(n), .. }) => n.base10_parse::<usize>()?,
                        _ => return Err(syn::Error::new(value.span(), "expected a non-negative integer")),
                    };
                    Rule {
                        kind: RuleKind::Length,
                        tokens: quote!(::brisk::validation::Rule::#variant(#n)),
                        pattern: None,
                    }
                }
                "pattern" => {
                    let lit = match &value {
                        Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => s.clone(),
                        _ => return Err(syn::Error::new(value.span(), "expected a string literal")),
                    };
                    // The same engine the check runs on: a pattern it refuses stops the build
                    // here, not at the first request.
                    if let Err(e) = regex_lite::Regex::new(&lit.value()) {
                        return Err(syn::Error::new(lit.span(), format!("invalid regular expression: {e}")));
                    }
                    Rule {
                        kind: RuleKind::Pattern,
                        tokens: quote!(::brisk::validation::Rule::Pattern(#lit)),
                        pattern: Some(lit),
                    }
                }
                _ => return Err(meta.error(
                    "unknown validation rule; brisk knows gt, ge, lt, le, min_length, max_length and pattern",
                )),
            };
            rules.push(rule);
            Ok(())
        })?;
    }
    Ok(rules)
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// A numeric literal, possibly negative, as a `Bound` expression.
fn bound(expr: &Expr) -> syn::Result<TokenStream> {
    let (negative, lit) = match expr {
        Expr::Lit(ExprLit { lit, .. }) => (false, lit),
        Expr::Unary(ExprUnary { op: UnOp::Neg(_), expr, .. }) => match &**expr {
            Expr::Lit(ExprLit { lit, .. }) => (true, lit),
            _ => return Err(syn::Error::new(expr.span(), "expected a number")),
        },
        _ => return Err(syn::Error::new(expr.span(), "expected a number")),
    };
    let sign = if negative { quote!(-) } else { quote!() };
    match lit {
        Lit::Int(n) => {
            let n = n.base10_parse::<i128>()?;
            Ok(quote!(::brisk::validation::Bound::Int(#sign #n)))
        }
        Lit::Float(f) => {
            let f = f.base10_parse::<f64>()?;
            Ok(quote!(::brisk::validation::Bound::Float(#sign #f)))
        }
        _ => Err(syn::Error::new(lit.span(), "expected a number")),
    }
}
