//! `#[derive(Model)]` and `#[derive(Choice)]` for brisk-orm. See brisk-orm's docs.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::{format_ident, quote};
use syn::parse::ParseStream;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Expr, ExprArray, Fields, Lit, LitStr, Token};

/// Derives `brisk_orm::Model`: the table, typed field paths (`Post::title()`), row reading, and
/// the registry entry. See the `brisk_orm` crate docs for the attributes.
#[proc_macro_derive(Model, attributes(model, validate))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as DeriveInput);
    model(input).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Derives `brisk_orm::SqlType` for an enum of unit variants, stored as the variant's name
/// (or `#[choice(rename = "...")]`) in a text column that accepts only those strings.
#[proc_macro_derive(Choice, attributes(choice))]
pub fn derive_choice(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as DeriveInput);
    choice(input).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Derives `brisk_orm::Values<M>` (and `FromRow`) for a struct read from some fields of a
/// model: `#[values(model = Post)]` on the struct; each field reads the model's field of the
/// same name, or `#[values(from = <expression giving a Field<Post, T>>)]`.
#[proc_macro_derive(Values, attributes(values))]
pub fn derive_values(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as DeriveInput);
    values(input).unwrap_or_else(syn::Error::into_compile_error).into()
}

fn values(input: DeriveInput) -> syn::Result<Tokens> {
    let name = &input.ident;
    let mut model: Option<syn::Path> = None;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("values")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("model") {
                model = Some(meta.value()?.parse()?);
                Ok(())
            } else {
                Err(meta.error("unknown option; #[values(model = Model)] names the model read from"))
            }
        })?;
    }
    let model = model
        .ok_or_else(|| syn::Error::new(name.span(), "name the model read from: #[values(model = Post)]"))?;
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new(name.span(), "Values is derived for a struct with named fields"));
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(syn::Error::new(name.span(), "Values is derived for a struct with named fields"));
    };
    let mut reads = Vec::new();
    let mut columns = Vec::new();
    for (idx, field) in fields.named.iter().enumerate() {
        let ident = field.ident.as_ref().ok_or_else(|| syn::Error::new(field.span(), "unnamed field"))?;
        let ty = &field.ty;
        let mut from: Option<Expr> = None;
        for attr in field.attrs.iter().filter(|a| a.path().is_ident("values")) {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("from") {
                    from = Some(meta.value()?.parse()?);
                    Ok(())
                } else {
                    Err(meta.error(
                        "unknown option; #[values(from = Post::author().username())] names the field read",
                    ))
                }
            })?;
        }
        let source = from.map(|e| quote!(#e)).unwrap_or_else(|| quote!(#model::#ident()));
        reads.push(quote!(#ident: <#ty as ::brisk_orm::SqlType>::read(row, #idx)?));
        // The explicit `Field<M, T>` makes a field of another type (or model) a compile error.
        columns.push(quote!(.column::<#model, #ty>(#source)));
    }
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        impl #impl_generics ::brisk_orm::FromRow for #name #ty_generics #where_clause {
            fn from_row(row: &::brisk_orm::RowRef<'_>) -> ::core::result::Result<Self, ::brisk_orm::Error> {
                ::core::result::Result::Ok(#name { #(#reads),* })
            }
        }

        impl #impl_generics ::brisk_orm::Values<#model> for #name #ty_generics #where_clause {
            fn columns() -> ::brisk_orm::ColumnList {
                ::brisk_orm::ColumnList::default() #(#columns)*
            }
        }
    })
}

#[derive(Default)]
struct ModelAttrs {
    table: Option<String>,
    app_label: Option<String>,
    ordering: Vec<String>,
    indexes: Vec<Vec<String>>,
    unique_together: Vec<Vec<String>>,
    verbose_name: Option<String>,
    verbose_name_plural: Option<String>,
    renamed_from: Option<String>,
    checks: Vec<(String, String)>,
}

#[derive(Default)]
struct FieldAttrs {
    primary_key: bool,
    unique: bool,
    index: bool,
    column: Option<String>,
    auto_now: bool,
    auto_now_add: bool,
    verbose_name: Option<String>,
    help_text: Option<String>,
    on_delete: Option<syn::Ident>,
    default: Option<Tokens>,
    renamed_from: Option<String>,
    through: Option<syn::Path>,
    through_fields: Option<(String, String)>,
    default_fn: Option<syn::Path>,
}

fn strings(array: &ExprArray) -> syn::Result<Vec<String>> {
    array
        .elems
        .iter()
        .map(|e| match e {
            Expr::Lit(syn::ExprLit { lit: Lit::Str(s), .. }) => Ok(s.value()),
            other => Err(syn::Error::new(other.span(), "expected a string: a field name")),
        })
        .collect()
}

fn arrays(input: ParseStream<'_>) -> syn::Result<Vec<Vec<String>>> {
    let content;
    syn::parenthesized!(content in input);
    let list = Punctuated::<ExprArray, Token![,]>::parse_terminated(&content)?;
    list.iter().map(strings).collect()
}

fn model_attrs(attrs: &[syn::Attribute]) -> syn::Result<ModelAttrs> {
    let mut out = ModelAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("model")) {
        attr.parse_nested_meta(|meta| {
            let key = meta.path.get_ident().map(|i| i.to_string()).unwrap_or_default();
            match key.as_str() {
                "table" => out.table = Some(meta.value()?.parse::<LitStr>()?.value()),
                "app_label" => out.app_label = Some(meta.value()?.parse::<LitStr>()?.value()),
                "verbose_name" => out.verbose_name = Some(meta.value()?.parse::<LitStr>()?.value()),
                "verbose_name_plural" => out.verbose_name_plural = Some(meta.value()?.parse::<LitStr>()?.value()),
                "renamed_from" => out.renamed_from = Some(meta.value()?.parse::<LitStr>()?.value()),
                "ordering" => out.ordering = strings(&meta.value()?.parse::<ExprArray>()?)?,
                "indexes" => out.indexes = arrays(meta.input)?,
                "unique_together" => out.unique_together = arrays(meta.input)?,
                "check" => meta.parse_nested_meta(|check| {
                    let name = check.path.get_ident().map(|i| i.to_string()).unwrap_or_default();
                    let sql = check.value()?.parse::<LitStr>()?.value();
                    out.checks.push((name, sql));
                    Ok(())
                })?,
                _ => {
                    return Err(meta.error(
                        "unknown model option; brisk-orm knows table, app_label, ordering, indexes, unique_together, check, renamed_from, verbose_name and verbose_name_plural",
                    ))
                }
            }
            Ok(())
        })?;
    }
    Ok(out)
}

fn field_attrs(attrs: &[syn::Attribute]) -> syn::Result<FieldAttrs> {
    let mut out = FieldAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("model")) {
        attr.parse_nested_meta(|meta| {
            let key = meta.path.get_ident().map(|i| i.to_string()).unwrap_or_default();
            match key.as_str() {
                "primary_key" => out.primary_key = true,
                "unique" => out.unique = true,
                "index" => out.index = true,
                "auto_now" => out.auto_now = true,
                "auto_now_add" => out.auto_now_add = true,
                "column" => out.column = Some(meta.value()?.parse::<LitStr>()?.value()),
                "verbose_name" => out.verbose_name = Some(meta.value()?.parse::<LitStr>()?.value()),
                "help_text" => out.help_text = Some(meta.value()?.parse::<LitStr>()?.value()),
                "on_delete" => out.on_delete = Some(meta.value()?.parse::<syn::Ident>()?),
                "renamed_from" => out.renamed_from = Some(meta.value()?.parse::<LitStr>()?.value()),
                "through" => out.through = Some(meta.value()?.parse::<syn::Path>()?),
                "default_fn" => out.default_fn = Some(meta.value()?.parse::<syn::Path>()?),
                "through_fields" => {
                    let content;
                    meta.value()?;
                    syn::parenthesized!(content in meta.input);
                    let pair = Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?;
                    let names: Vec<String> = pair.iter().map(LitStr::value).collect();
                    let [from, to] = names.as_slice() else {
                        return Err(meta.error("through_fields = (\"from\", \"to\"): the through model's two foreign keys"));
                    };
                    out.through_fields = Some((from.clone(), to.clone()));
                }
                "default" => {
                    let negative = meta.value()?.peek(Token![-]);
                    if negative {
                        meta.input.parse::<Token![-]>()?;
                    }
                    let sign = if negative { quote!(-) } else { quote!() };
                    out.default = Some(match meta.input.parse::<Lit>()? {
                        Lit::Bool(b) if !negative => quote!(::brisk_orm::DefaultValue::Bool(#b)),
                        Lit::Int(i) => quote!(::brisk_orm::DefaultValue::Int(#sign #i)),
                        Lit::Float(f) => quote!(::brisk_orm::DefaultValue::Float(#sign #f)),
                        Lit::Str(s) if !negative => quote!(::brisk_orm::DefaultValue::Text(#s)),
                        other => return Err(syn::Error::new(other.span(), "a default is a literal: true, 0, 1.5 or \"text\"")),
                    });
                }
                _ => {
                    return Err(meta.error(
                        "unknown field option; brisk-orm knows primary_key, unique, index, column, auto_now, auto_now_add, on_delete, default, default_fn, renamed_from, through, through_fields, verbose_name and help_text",
                    ))
                }
            }
            Ok(())
        })?;
    }
    Ok(out)
}

/// The `N` of the field's `#[validate(max_length = N)]`, which becomes the column's limit.
fn max_length(attrs: &[syn::Attribute]) -> syn::Result<Option<u32>> {
    let mut found = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("validate")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("max_length") {
                if let Lit::Int(n) = meta.value()?.parse::<Lit>()? {
                    found = Some(n.base10_parse::<u32>()?);
                }
            } else if meta.input.peek(Token![=]) {
                meta.value()?.parse::<Expr>()?;
            }
            Ok(())
        })?;
    }
    Ok(found)
}

/// The field's `#[validate(...)]` rules, as `brisk::validation::Rule` values for its
/// [`FieldMeta::rules`]: what the admin's forms check, the same rules the API enforces.
fn validate_rules(attrs: &[syn::Attribute]) -> syn::Result<Vec<Tokens>> {
    let rule = quote!(::brisk_orm::__private::brisk::validation::Rule);
    let bound = quote!(::brisk_orm::__private::brisk::validation::Bound);
    let mut rules = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("validate")) {
        attr.parse_nested_meta(|meta| {
            let key = meta.path.get_ident().map(ToString::to_string).unwrap_or_default();
            if !meta.input.peek(Token![=]) {
                return Ok(());
            }
            let value: Expr = meta.value()?.parse()?;
            let (negative, lit) = match &value {
                Expr::Lit(l) => (false, Some(&l.lit)),
                Expr::Unary(u) if matches!(u.op, syn::UnOp::Neg(_)) => match &*u.expr {
                    Expr::Lit(l) => (true, Some(&l.lit)),
                    _ => (false, None),
                },
                _ => (false, None),
            };
            let sign = if negative { quote!(-) } else { quote!() };
            match (key.as_str(), lit) {
                ("gt" | "ge" | "lt" | "le", Some(Lit::Int(n))) => {
                    let variant = format_ident!(
                        "{}",
                        if key == "gt" {
                            "Gt"
                        } else if key == "ge" {
                            "Ge"
                        } else if key == "lt" {
                            "Lt"
                        } else {
                            "Le"
                        }
                    );
                    let n = n.base10_parse::<i128>()?;
                    rules.push(quote!(#rule::#variant(#bound::Int(#sign #n))));
                }
                ("gt" | "ge" | "lt" | "le", Some(Lit::Float(f))) => {
                    let variant = format_ident!(
                        "{}",
                        if key == "gt" {
                            "Gt"
                        } else if key == "ge" {
                            "Ge"
                        } else if key == "lt" {
                            "Lt"
                        } else {
                            "Le"
                        }
                    );
                    let f = f.base10_parse::<f64>()?;
                    rules.push(quote!(#rule::#variant(#bound::Float(#sign #f))));
                }
                ("min_length", Some(Lit::Int(n))) => {
                    let n = n.base10_parse::<usize>()?;
                    rules.push(quote!(#rule::MinLength(#n)));
                }
                ("max_length", Some(Lit::Int(n))) => {
                    let n = n.base10_parse::<usize>()?;
                    rules.push(quote!(#rule::MaxLength(#n)));
                }
                ("pattern", Some(Lit::Str(p))) => rules.push(quote!(#rule::Pattern(#p))),
                _ => {}
            }
            Ok(())
        })?;
    }
    Ok(rules)
}

/// The last segment of a type path: `ForeignKey` for `brisk_orm::ForeignKey<User>`.
fn last_segment(ty: &syn::Type) -> Option<&syn::PathSegment> {
    match ty {
        syn::Type::Path(p) => p.path.segments.last(),
        _ => None,
    }
}

/// The `T` of a `ManyToMany<T>` field.
fn many_target(ty: &syn::Type) -> Option<&syn::Type> {
    let seg = last_segment(ty)?;
    if seg.ident != "ManyToMany" {
        return None;
    }
    match &seg.arguments {
        syn::PathArguments::AngleBracketed(args) => match args.args.first() {
            Some(syn::GenericArgument::Type(inner)) => Some(inner),
            _ => None,
        },
        _ => None,
    }
}

/// For a relation field: whether it is optional (`Option<ForeignKey<T>>`) and one-to-one.
fn relation_kind(ty: &syn::Type) -> Option<(bool, bool)> {
    let seg = last_segment(ty)?;
    match seg.ident.to_string().as_str() {
        "ForeignKey" => Some((false, false)),
        "OneToOne" => Some((false, true)),
        "Option" => match &seg.arguments {
            syn::PathArguments::AngleBracketed(args) => match args.args.first() {
                Some(syn::GenericArgument::Type(inner)) => relation_kind(inner).map(|(_, one)| (true, one)),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

/// The doc comment's text, as help text.
fn doc(attrs: &[syn::Attribute]) -> String {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(syn::ExprLit { lit: Lit::Str(s), .. }) => Some(s.value().trim().to_owned()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    lines.join(" ").trim().to_owned()
}

/// `BlogPost` -> `blog post`; `created_at` -> `created at`.
fn words(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c == '_' {
            out.push(' ');
        } else if c.is_uppercase() {
            if i > 0 && !out.ends_with(' ') {
                out.push(' ');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn model(input: DeriveInput) -> syn::Result<Tokens> {
    let name = &input.ident;
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new(input.generics.span(), "a model cannot have generic parameters"));
    }
    let fields = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => &named.named,
            _ => return Err(syn::Error::new(input.span(), "a model is a struct with named fields")),
        },
        _ => return Err(syn::Error::new(input.span(), "a model is a struct with named fields")),
    };
    let attrs = model_attrs(&input.attrs)?;
    let lower = name.to_string().to_lowercase();
    let app_label = match &attrs.app_label {
        Some(label) => quote!(#label),
        None => quote!(::core::env!("CARGO_CRATE_NAME")),
    };
    let table = match (&attrs.table, &attrs.app_label) {
        (Some(t), _) => quote!(#t),
        (None, Some(label)) => {
            let t = format!("{label}_{lower}");
            quote!(#t)
        }
        (None, None) => {
            let suffix = format!("_{lower}");
            quote!(::core::concat!(::core::env!("CARGO_CRATE_NAME"), #suffix))
        }
    };
    let verbose = attrs.verbose_name.clone().unwrap_or_else(|| words(&name.to_string()));
    let verbose_plural = attrs.verbose_name_plural.clone().unwrap_or_else(|| format!("{verbose}s"));
    let model_renamed_from = attrs.renamed_from.clone().unwrap_or_default();

    let mut metas = Vec::new();
    let mut reads = Vec::new();
    let mut values = Vec::new();
    let mut accessors = Vec::new();
    let mut touches = Vec::new();
    let mut pk = None;
    let mut names = Vec::new();
    let mut fills = Vec::new();
    let mut slots = Vec::new();
    let mut manys = Vec::new();
    let mut lookup_sigs = Vec::new();
    let mut lookup_impls = Vec::new();
    let mut checks_extra = Vec::new();
    let mut idx = 0usize;
    for field in fields.iter() {
        let ident = field.ident.as_ref().ok_or_else(|| syn::Error::new(field.span(), "unnamed field"))?;
        let raw = ident.to_string();
        let fname = raw.strip_prefix("r#").unwrap_or(&raw).to_owned();
        let ty = &field.ty;
        let fa = field_attrs(&field.attrs)?;
        if let Some(target) = many_target(ty) {
            // No column: links live in a through table.
            let target_name =
                last_segment(target).map(|s| s.ident.to_string().to_lowercase()).unwrap_or_default();
            let (from, to) = if target_name == lower {
                (format!("from_{lower}_id"), format!("to_{lower}_id"))
            } else {
                (format!("{lower}_id"), format!("{target_name}_id"))
            };
            let meta = match &fa.through {
                None => {
                    if fa.through_fields.is_some() {
                        return Err(syn::Error::new(
                            field.span(),
                            "through_fields goes with through = Model",
                        ));
                    }
                    let suffix = format!("_{fname}");
                    quote! {
                        ::brisk_orm::ManyToManyMeta {
                            name: #fname,
                            through: ::core::concat!(#table, #suffix),
                            from_column: #from,
                            to_column: #to,
                            target: ::brisk_orm::meta_of::<#target>,
                            through_model: ::core::option::Option::None,
                            through_key: "id",
                        }
                    }
                }
                Some(through) => {
                    // The through model's foreign keys: named, or this model's and the
                    // target's names in lowercase (Django's default too).
                    let (from_field, to_field) = fa.through_fields.clone().unwrap_or_else(|| {
                        if target_name == lower {
                            (format!("from_{lower}"), format!("to_{lower}"))
                        } else {
                            (lower.clone(), target_name.clone())
                        }
                    });
                    let from_ident = format_ident!("{}", from_field);
                    let to_ident = format_ident!("{}", to_field);
                    checks_extra.push(quote! {
                        const _: () = ::brisk_orm::__private::check_through(<#through as ::brisk_orm::Model>::META, #from_field, #to_field);
                        // Both foreign keys point where they must, or the build stops here.
                        const _: fn() -> ::brisk_orm::Field<#through, ::brisk_orm::ForeignKey<#name>> = #through::#from_ident;
                        const _: fn() -> ::brisk_orm::Field<#through, ::brisk_orm::ForeignKey<#target>> = #through::#to_ident;
                    });
                    quote! {
                        ::brisk_orm::ManyToManyMeta {
                            name: #fname,
                            through: <#through as ::brisk_orm::Model>::META.table,
                            from_column: ::brisk_orm::__private::through_column(<#through as ::brisk_orm::Model>::META, #from_field),
                            to_column: ::brisk_orm::__private::through_column(<#through as ::brisk_orm::Model>::META, #to_field),
                            target: ::brisk_orm::meta_of::<#target>,
                            through_model: ::core::option::Option::Some(::brisk_orm::meta_of::<#through>),
                            through_key: ::brisk_orm::__private::through_key(<#through as ::brisk_orm::Model>::META),
                        }
                    }
                }
            };
            let doc = format!("The `{fname}` links (a many-to-many field).");
            accessors.push(quote! {
                #[doc = #doc]
                #[allow(dead_code)]
                pub const fn #ident() -> ::brisk_orm::ManyField<#name, #target> {
                    ::brisk_orm::ManyField::new(#meta)
                }
            });
            manys.push(meta);
            reads.push(quote!(#ident: ::core::default::Default::default()));
            slots.push(quote!(#fname => ::core::option::Option::Some(&mut self.#ident),));
            continue;
        }
        names.push(fname.clone());
        let column = fa.column.clone().unwrap_or_else(|| fname.clone());
        if fa.primary_key {
            if pk.is_some() {
                return Err(syn::Error::new(field.span(), "a model has one primary key"));
            }
            pk = Some((ident.clone(), ty.clone()));
        }
        let relation = match (relation_kind(ty), &fa.on_delete) {
            (Some((optional, _)), Some(action)) => {
                let known = ["Cascade", "Protect", "Restrict", "SetNull"];
                if !known.contains(&action.to_string().as_str()) {
                    return Err(syn::Error::new(
                        action.span(),
                        "on_delete is Cascade, Protect, Restrict or SetNull",
                    ));
                }
                if action == "SetNull" && !optional {
                    return Err(syn::Error::new(
                        action.span(),
                        "on_delete = SetNull needs an Option<ForeignKey<...>> field",
                    ));
                }
                fills.push(
                    quote!(#column => ::brisk_orm::RelatedField::fill_from_row(&mut self.#ident, row),),
                );
                slots.push(quote!(#column => ::core::option::Option::Some(&mut self.#ident),));
                quote! {
                    match <#ty as ::brisk_orm::SqlType>::RELATED {
                        ::core::option::Option::Some(target) => ::core::option::Option::Some(::brisk_orm::Relation {
                            target,
                            on_delete: ::brisk_orm::OnDelete::#action,
                        }),
                        ::core::option::Option::None => ::core::option::Option::None,
                    }
                }
            }
            (Some(_), None) => {
                return Err(syn::Error::new(
                    field.span(),
                    "a relation needs #[model(on_delete = ...)]: Cascade, Protect, Restrict or SetNull",
                ))
            }
            (None, Some(action)) => {
                return Err(syn::Error::new(action.span(), "on_delete is for ForeignKey and OneToOne fields"))
            }
            (None, None) => quote!(::core::option::Option::None),
        };
        let unique = fa.unique || relation_kind(ty).is_some_and(|(_, one)| one);
        // A length rule limits the column only for text (on a list it counts items).
        let max = match max_length(&field.attrs)? {
            Some(n) => quote! {
                match <#ty as ::brisk_orm::SqlType>::KIND {
                    ::brisk_orm::ColumnKind::Text => ::core::option::Option::Some(#n),
                    _ => ::core::option::Option::None,
                }
            },
            None => quote!(::core::option::Option::None),
        };
        let verbose_name = fa.verbose_name.clone().unwrap_or_else(|| words(&fname));
        let help = fa.help_text.clone().unwrap_or_else(|| doc(&field.attrs));
        // Foreign keys are indexed, as Django indexes them.
        let index = fa.index || relation_kind(ty).is_some();
        let renamed_from = fa.renamed_from.clone().unwrap_or_default();
        let default = match &fa.default {
            Some(value) => quote!(::core::option::Option::Some(#value)),
            None => quote!(::core::option::Option::None),
        };
        if fa.default.is_some() && fa.default_fn.is_some() {
            return Err(syn::Error::new(field.span(), "a field has a default or a default_fn, not both"));
        }
        // A function returning the field's own type: anything else does not compile.
        let default_fn = match &fa.default_fn {
            Some(f) => {
                quote!(::core::option::Option::Some(|| <#ty as ::brisk_orm::SqlType>::to_value(&#f())))
            }
            None => quote!(::core::option::Option::None),
        };
        let (primary_key, auto_now, auto_now_add) = (fa.primary_key, fa.auto_now, fa.auto_now_add);
        let rules = validate_rules(&field.attrs)?;
        metas.push(quote! {
            ::brisk_orm::FieldMeta {
                name: #fname,
                column: #column,
                kind: <#ty as ::brisk_orm::SqlType>::KIND,
                nullable: <#ty as ::brisk_orm::SqlType>::NULLABLE,
                primary_key: #primary_key,
                unique: #unique,
                index: #index,
                max_length: #max,
                choices: <#ty as ::brisk_orm::SqlType>::CHOICES,
                auto_now: #auto_now,
                auto_now_add: #auto_now_add,
                verbose_name: #verbose_name,
                help_text: #help,
                relation: #relation,
                default: #default,
                default_fn: #default_fn,
                renamed_from: #renamed_from,
                rules: &[#(#rules),*],
            }
        });
        reads.push(quote!(#ident: <#ty as ::brisk_orm::SqlType>::read(row, #idx)?));
        idx += 1;
        values.push(quote!(::brisk_orm::SqlType::to_value(&self.#ident)));
        let accessor = format_ident!("{}", fname);
        let doc = format!("The `{fname}` column, for lookups, ordering and updates.");
        accessors.push(quote! {
            #[doc = #doc]
            #[allow(dead_code)]
            pub const fn #accessor() -> ::brisk_orm::Field<#name, #ty> {
                ::brisk_orm::Field::new(<#name as ::brisk_orm::Model>::META.table, #column)
            }
        });
        lookup_sigs.push(quote! {
            #[doc = #doc]
            fn #accessor(self) -> ::brisk_orm::Field<__BriskM, #ty>;
        });
        lookup_impls.push(quote! {
            fn #accessor(self) -> ::brisk_orm::Field<__BriskM, #ty> {
                self.join(#name::#accessor())
            }
        });
        if fa.auto_now {
            touches.push(quote!(self.#ident = ::core::convert::From::from(::brisk_orm::DateTime::now());));
        } else if fa.auto_now_add {
            touches.push(quote! {
                if adding {
                    self.#ident = ::core::convert::From::from(::brisk_orm::DateTime::now());
                }
            });
        }
    }
    let (pk, pk_ty) = pk.ok_or_else(|| {
        syn::Error::new(input.ident.span(), "a model needs a primary key: mark one field #[model(primary_key)] (an `id: AutoId` is the usual one)")
    })?;
    for list in attrs.indexes.iter().chain(&attrs.unique_together).chain(std::iter::once(
        &attrs.ordering.iter().map(|o| o.trim_start_matches('-').to_owned()).collect::<Vec<_>>(),
    )) {
        for f in list {
            if !names.contains(f) {
                return Err(syn::Error::new(input.ident.span(), format!("`{f}` is not a field of {name}")));
            }
        }
    }
    let ordering = &attrs.ordering;
    let checks = attrs.checks.iter().map(|(n, sql)| quote!((#n, #sql)));
    let vis = &input.vis;
    let lookups = format_ident!("{}Fields", name);
    let lookups_doc = format!(
        "The fields of {name} reached through a relation that points at it: `Post::author().username()` for `Post::author().join({name}::username())` (bring this trait into scope)."
    );
    let indexes = attrs.indexes.iter().map(|set| quote!(&[#(#set),*]));
    let unique_together = attrs.unique_together.iter().map(|set| quote!(&[#(#set),*]));
    let name_str = name.to_string();
    let value_indexes = 0..values.len();
    let touch_body = if touches.is_empty() { quote!(let _ = adding;) } else { quote!(#(#touches)*) };

    Ok(quote! {
        #(#checks_extra)*

        impl ::brisk_orm::FromRow for #name {
            fn from_row(row: &::brisk_orm::RowRef<'_>) -> ::core::result::Result<Self, ::brisk_orm::Error> {
                ::core::result::Result::Ok(#name { #(#reads),* })
            }
        }

        impl ::brisk_orm::Model for #name {
            const META: &'static ::brisk_orm::ModelMeta = &::brisk_orm::ModelMeta {
                app_label: #app_label,
                name: #name_str,
                table: #table,
                fields: &[#(#metas),*],
                ordering: &[#(#ordering),*],
                indexes: &[#(#indexes),*],
                unique_together: &[#(#unique_together),*],
                many_to_many: &[#(#manys),*],
                checks: &[#(#checks),*],
                verbose_name: #verbose,
                verbose_name_plural: #verbose_plural,
                renamed_from: #model_renamed_from,
            };
            type Pk = #pk_ty;
            fn pk(&self) -> &#pk_ty {
                &self.#pk
            }
            fn fill_related(&mut self, column: &str, row: &::brisk_orm::RowRef<'_>) -> ::core::result::Result<(), ::brisk_orm::Error> {
                let _ = row;
                match column {
                    #(#fills)*
                    _ => ::core::result::Result::Ok(()),
                }
            }
            fn related_mut(&mut self, column: &str) -> ::core::option::Option<&mut dyn ::core::any::Any> {
                match column {
                    #(#slots)*
                    _ => ::core::option::Option::None,
                }
            }
            fn values(&self) -> ::std::vec::Vec<::brisk_orm::Value> {
                ::std::vec![#(#values),*]
            }
            fn value_at(&self, index: usize) -> ::core::option::Option<::brisk_orm::Value> {
                match index {
                    #(#value_indexes => ::core::option::Option::Some(#values),)*
                    _ => ::core::option::Option::None,
                }
            }
            fn pk_value(&self) -> ::brisk_orm::Value {
                ::brisk_orm::SqlType::to_value(&self.#pk)
            }
            fn pk_is_unset(&self) -> bool {
                ::brisk_orm::SqlType::is_unset(&self.#pk)
            }
            fn unset_pk(&mut self) {
                ::brisk_orm::SqlType::unset(&mut self.#pk)
            }
            fn touch(&mut self, adding: bool) {
                #touch_body
            }
        }

        impl #name {
            #(#accessors)*
        }

        #[doc = #lookups_doc]
        #[allow(dead_code)]
        #vis trait #lookups<__BriskM> {
            #(#lookup_sigs)*
        }

        impl<__BriskM, __BriskF> #lookups<__BriskM> for ::brisk_orm::Field<__BriskM, __BriskF>
        where
            __BriskF: ::brisk_orm::SqlType + ::brisk_orm::Relates<Target = #name>,
        {
            #(#lookup_impls)*
        }

        ::brisk_orm::__private::inventory::submit! {
            ::brisk_orm::__private::Registered(|| <#name as ::brisk_orm::Model>::META)
        }
    })
}

fn choice(input: DeriveInput) -> syn::Result<Tokens> {
    let name = &input.ident;
    let variants = match &input.data {
        Data::Enum(e) => &e.variants,
        _ => return Err(syn::Error::new(input.span(), "Choice is derived for enums of unit variants")),
    };
    let mut strings = Vec::new();
    let mut idents = Vec::new();
    for v in variants {
        if !matches!(v.fields, Fields::Unit) {
            return Err(syn::Error::new(v.span(), "a Choice variant has no fields"));
        }
        let mut value = v.ident.to_string();
        for attr in v.attrs.iter().filter(|a| a.path().is_ident("choice")) {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename") {
                    value = meta.value()?.parse::<LitStr>()?.value();
                    Ok(())
                } else {
                    Err(meta.error("the choice option is rename = \"...\""))
                }
            })?;
        }
        strings.push(value);
        idents.push(&v.ident);
    }
    let name_str = name.to_string();
    Ok(quote! {
        impl ::brisk_orm::SqlType for #name {
            type Inner = #name;
            const KIND: ::brisk_orm::ColumnKind = ::brisk_orm::ColumnKind::Choice;
            const CHOICES: &'static [&'static str] = &[#(#strings),*];
            fn to_value(&self) -> ::brisk_orm::Value {
                let s: &'static str = match self { #(#name::#idents => #strings),* };
                ::brisk_orm::Value::String(::core::option::Option::Some(s.to_owned()))
            }
            fn null() -> ::brisk_orm::Value {
                ::brisk_orm::Value::String(::core::option::Option::None)
            }
            fn read(row: &::brisk_orm::RowRef<'_>, idx: usize) -> ::core::result::Result<Self, ::brisk_orm::Error> {
                let s = <::std::string::String as ::brisk_orm::SqlType>::read(row, idx)?;
                match s.as_str() {
                    #(#strings => ::core::result::Result::Ok(#name::#idents),)*
                    other => ::core::result::Result::Err(::brisk_orm::Error::Decode {
                        column: idx,
                        message: ::std::format!("{other:?} is not a {}", #name_str),
                    }),
                }
            }
        }

        impl<M> ::core::convert::From<#name> for ::brisk_orm::Expr<M, #name> {
            fn from(v: #name) -> Self {
                ::brisk_orm::Expr::value_of(&v)
            }
        }
    })
}
