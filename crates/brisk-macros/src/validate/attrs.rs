//! What `#[validate(...)]` says: built-in rules and custom validators on fields, model
//! validators on the type.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ExprUnary, Lit, LitStr, UnOp};

pub enum RuleKind {
    Bound,
    Length,
    Pattern,
}

/// A built-in rule: checked by `is_valid` and written into the schema.
pub struct Rule {
    pub kind: RuleKind,
    pub tokens: TokenStream,
    pub pattern: Option<LitStr>,
}

/// A field's `#[validate(...)]`: its rules, then its custom validators in order.
#[derive(Default)]
pub struct FieldAttrs {
    pub rules: Vec<Rule>,
    pub with: Vec<Expr>,
}

impl FieldAttrs {
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.with.is_empty()
    }
}

/// The type's `#[validate(model = f)]` functions, in order.
pub fn model_validators(attrs: &[syn::Attribute]) -> syn::Result<Vec<Expr>> {
    let mut models = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("validate")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("model") {
                models.push(meta.value()?.parse::<Expr>()?);
                Ok(())
            } else {
                Err(meta.error(
                    "on a type, `#[validate(...)]` takes `model = function` (a fn(&Self) -> Result<(), ValidationIssue>); rules go on fields",
                ))
            }
        })?;
    }
    Ok(models)
}

pub fn field_attrs(attrs: &[syn::Attribute]) -> syn::Result<FieldAttrs> {
    let mut out = FieldAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("validate")) {
        attr.parse_nested_meta(|meta| {
            let key = meta.path.get_ident().map(ToString::to_string).unwrap_or_default();
            let value: Expr = meta.value()?.parse()?;
            let rule = match key.as_str() {
                "with" => {
                    out.with.push(value);
                    return Ok(());
                }
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
                "model" => return Err(meta.error("`model = function` goes on the type, not on a field")),
                _ => return Err(meta.error(
                    "unknown validation rule; brisk knows gt, ge, lt, le, min_length, max_length, pattern and with = function",
                )),
            };
            out.rules.push(rule);
            Ok(())
        })?;
    }
    Ok(out)
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
