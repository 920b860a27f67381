//! The admin's pages: the index, a model's list (search, filters, sorting, pages, actions),
//! the add and change forms, the delete confirmation, and an object's history.

use std::collections::BTreeMap;

use brisk::http::header::CONTENT_TYPE;
use brisk::http::HeaderMap;
use brisk::prelude::*;
use brisk::sessions::Session;
use brisk::templates::Templates;
use brisk_orm::dynamic::count_referring;
use brisk_orm::migrations::DynRow;
use brisk_orm::{Db, Executor, OnDelete};
use bytes::Bytes;
use serde_json::{json, Value as JsonValue};

use crate::form::{self, Errors};
use crate::history::{self, ActionFlag, Entry};
use crate::inline;
use crate::list;
use crate::many;
use crate::registry::{key_text, Registered};
use crate::site::StaffRequest;

/// `{app}/{model}` in a URL.
#[derive(Debug, Deserialize, JsonSchema, Validate)]
pub(crate) struct ModelPath {
    #[validate(max_length = 100)]
    app: String,
    #[validate(max_length = 100)]
    model: String,
}

/// `{app}/{model}/{key}` in a URL.
#[derive(Debug, Deserialize, JsonSchema, Validate)]
pub(crate) struct ObjectPath {
    #[validate(max_length = 100)]
    app: String,
    #[validate(max_length = 100)]
    model: String,
    #[validate(max_length = 100)]
    key: String,
}

/// The template for `page` of `m`: the app's `admin/<app>/<model>/<page>`, else
/// `admin/<app>/<page>`, else the admin's own (as Django looks them up).
fn template(tpl: &Templates, m: &Registered, page: &str) -> String {
    let model = format!("admin/{}/{}/{page}", m.meta.app_label, m.model_slug());
    if tpl.exists(&model) {
        return model;
    }
    let app = format!("admin/{}/{page}", m.meta.app_label);
    if tpl.exists(&app) {
        return app;
    }
    format!("admin/{page}")
}

fn model_url(prefix: &str, m: &Registered) -> String {
    format!("{prefix}/{}/{}", m.meta.app_label, m.model_slug())
}

fn object_url(prefix: &str, m: &Registered, key: &str) -> String {
    format!("{}/{}", model_url(prefix, m), form::encode_path(key))
}

fn model_context(prefix: &str, m: &Registered) -> JsonValue {
    json!({
        "app": m.meta.app_label,
        "slug": m.model_slug(),
        "name": form::capitalized(m.meta.verbose_name),
        "name_plural": form::capitalized(m.meta.verbose_name_plural),
        "url": model_url(prefix, m),
        "add_url": format!("{}/add", model_url(prefix, m)),
    })
}

/// The key in a URL as the primary key's JSON value (a number for an integer key).
fn key_value(m: &Registered, key: &str) -> Result<JsonValue> {
    crate::registry::key_from_text(m.meta, key)
        .ok_or_else(|| brisk::Error::http(StatusCode::NOT_FOUND, "No such object"))
}

async fn object(admin: &StaffRequest, db: &Db, m: &Registered, key: &str) -> Result<(JsonValue, DynRow)> {
    let value = key_value(m, key)?;
    match m.ops.get(&**db, &value).await? {
        Some(row) => Ok((value, row)),
        None => {
            let _ = admin;
            Err(brisk::Error::http(
                StatusCode::NOT_FOUND,
                format!("No {} with the key {key}", m.meta.verbose_name),
            ))
        }
    }
}

/// The admin's home: the models the user may see, by app.
pub(crate) async fn index(admin: StaffRequest, tpl: Templates) -> Result<Template> {
    let prefix = admin.site.prefix.clone();
    let mut apps: BTreeMap<&str, Vec<JsonValue>> = BTreeMap::new();
    for m in &admin.site.models {
        if !admin.may(m, "view").await? {
            continue;
        }
        let mut cx = model_context(&prefix, m);
        cx["can_add"] = json!(admin.may(m, "add").await?);
        apps.entry(m.meta.app_label).or_default().push(cx);
    }
    let apps: Vec<JsonValue> =
        apps.into_iter().map(|(app, models)| json!({"label": app, "models": models})).collect();
    tpl.render("admin/index.html", json!({"admin": base(&admin), "apps": apps}))
}

fn base(admin: &StaffRequest) -> JsonValue {
    json!({"prefix": admin.site.prefix, "username": admin.actor.username, "login_url": admin.site.login_url})
}

/// A model's rows: search, filters, sorting, one page (no count of the whole table).
pub(crate) async fn changelist(
    admin: StaffRequest,
    db: Db,
    tpl: Templates,
    Path(path): Path<ModelPath>,
) -> Result<Template> {
    let m = admin.model(&path.app, &path.model)?;
    admin.require(&m, "view").await?;
    render_list(&admin, &db, &tpl, &m, None).await
}

/// Inline edits sent back with their errors: `(row key, field)` → (text, messages).
type Edits = BTreeMap<(String, &'static str), (Option<String>, Vec<String>)>;

async fn render_list(
    admin: &StaffRequest,
    db: &Db,
    tpl: &Templates,
    m: &Registered,
    message: Option<String>,
) -> Result<Template> {
    render_list_with(admin, db, tpl, m, message, &Edits::new(), StatusCode::OK).await
}

async fn render_list_with(
    admin: &StaffRequest,
    db: &Db,
    tpl: &Templates,
    m: &Registered,
    message: Option<String>,
    edits: &Edits,
    status: StatusCode,
) -> Result<Template> {
    let prefix = &admin.site.prefix;
    let editable = !m.options.list_editable.is_empty() && admin.may(m, "change").await?;
    let params = list::params(m, &admin.query)?;
    let per_page = m.options.list_per_page;
    let mut rows = m.ops.list(&**db, &m.options, &params.query(m)).await?;
    let has_next = rows.len() > per_page;
    rows.truncate(per_page);
    let related = list::related_titles(&admin.site.models, m, &rows, &**db).await?;
    let empty = BTreeMap::new();
    let current_order: Vec<(&str, bool)> = params.order.clone();
    let columns: Vec<JsonValue> = m
        .options
        .list_display
        .iter()
        .filter_map(|n| {
            match m.field(n) {
            Some(f) => {
                let sorted = current_order
                    .iter()
                    .find(|(n, _)| *n == f.name)
                    .map(|(_, d)| if *d { "descending" } else { "ascending" });
                let next = match sorted {
                    Some("ascending") => format!("-{}", f.name),
                    _ => f.name.to_owned(),
                };
                Some(json!({
                    "name": f.name,
                    "label": form::capitalized(f.verbose_name),
                    "sortable": !matches!(f.kind, brisk_orm::ColumnKind::Json | brisk_orm::ColumnKind::Bytes),
                    "sort_url": params.with("o", Some(&next)),
                    "sorted": sorted.unwrap_or("none"),
                }))
            }
            None => m.options.computed.iter().find(|c| c.name == *n).map(|c| {
                json!({"name": c.name, "label": c.label, "sortable": false, "sort_url": "", "sorted": "none"})
            }),
        }
        })
        .collect();
    let pk = m.meta.primary_key().name;
    let table: Vec<JsonValue> = rows
        .iter()
        .map(|row| {
            let key = key_text(row.get(pk));
            let computed = |n: &&'static str| {
                m.options
                    .computed
                    .iter()
                    .find(|c| c.name == *n)
                    .map(|c| json!({"text": (c.text)(row), "link": null}))
            };
            let cells: Vec<JsonValue> = m
                .options
                .list_display
                .iter()
                .filter_map(|n| m.field(n).map(Ok).or_else(|| computed(n).map(Err)))
                .map(|f| {
                    let f = match f {
                        Ok(f) => f,
                        Err(cell) => return cell,
                    };
                    let text = list::cell(f, row.get(f.name), related.get(f.name).unwrap_or(&empty));
                    let link = m
                        .options
                        .list_display_links
                        .contains(&f.name)
                        .then(|| format!("{}/change", object_url(prefix, m, &key)));
                    if editable && m.options.list_editable.contains(&f.name) {
                        let (widget, step) = form::widget_of(f);
                        let sent = edits.get(&(key.clone(), f.name));
                        let value = match sent {
                            Some((text, _)) => text.clone().unwrap_or_default(),
                            None => form::input_text(f, row.get(f.name)),
                        };
                        let checked = match sent {
                            Some((text, _)) => text.is_some(),
                            None => row.get(f.name).and_then(JsonValue::as_bool).unwrap_or(false),
                        };
                        return json!({
                            "text": text,
                            "edit": {
                                "name": format!("{key}-{}", f.name),
                                "widget": widget,
                                "step": step,
                                "value": value,
                                "checked": checked,
                                "choices": f.choices,
                                "label": format!("{} of {}", form::capitalized(f.verbose_name), m.title(row)),
                                "errors": sent.map(|(_, e)| e.clone()).unwrap_or_default(),
                            },
                        });
                    }
                    json!({"text": text, "link": link})
                })
                .collect();
            json!({"key": key, "title": m.title(row), "cells": cells})
        })
        .collect();
    let mut actions = Vec::new();
    if admin.may(m, "delete").await? {
        actions.push(json!({"name": "delete_selected", "label": format!("Delete selected {}", m.meta.verbose_name_plural)}));
    }
    for action in &m.options.actions {
        if admin.may(m, action.needs).await? {
            actions.push(json!({"name": action.name, "label": action.label}));
        }
    }
    let page = params.page;
    tpl.render_status(
        status,
        &template(tpl, m, "change_list.html"),
        json!({
            "admin": base(admin),
            "model": model_context(prefix, m),
            "columns": columns,
            "rows": table,
            "q": params.q,
            "searchable": !m.options.search_fields.is_empty(),
            "filters": list::sidebar(&admin.site.models, m, &params, &**db).await?,
            "dates": list::date_links(m, &params, &**db).await?,
            "page": page,
            "prev_url": (page > 1).then(|| params.with("p", Some(&(page - 1).to_string()))),
            "next_url": has_next.then(|| params.with("p", Some(&(page + 1).to_string()))),
            "actions": actions,
            "can_add": admin.may(m, "add").await?,
            "editable": editable,
            "message": message,
        }),
    )
}

/// The fields of a posted form (`application/x-www-form-urlencoded`), in order; 415 otherwise.
fn form_pairs(headers: &HeaderMap, body: &Bytes) -> Result<Vec<(String, String)>> {
    let form = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.trim_start().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded")
    });
    if !form {
        return Err(brisk::Error::unsupported_media_type(&["application/x-www-form-urlencoded"]));
    }
    brisk::extract::form_pairs(body, false)
}

/// An action on the selected rows; `delete_selected` asks for confirmation first.
pub(crate) async fn changelist_action(
    admin: StaffRequest,
    db: Db,
    tpl: Templates,
    session: Session,
    headers: HeaderMap,
    Path(path): Path<ModelPath>,
    body: Bytes,
) -> Result<Response> {
    let m = admin.model(&path.app, &path.model)?;
    admin.require(&m, "view").await?;
    let pairs = form_pairs(&headers, &body)?;
    if pairs.iter().any(|(k, _)| k == "_save_list") {
        return save_list(&admin, &db, &tpl, &session, &m, &pairs).await;
    }
    let action = pairs.iter().find(|(k, _)| k == "action").map(|(_, v)| v.clone()).unwrap_or_default();
    let keys: Vec<JsonValue> = pairs
        .iter()
        .filter(|(k, _)| k == "_selected_action")
        .take(1000)
        .map(|(_, v)| key_value(&m, v))
        .collect::<Result<_>>()?;
    let list_url = model_url(&admin.site.prefix, &m);
    if keys.is_empty() {
        let page =
            render_list(&admin, &db, &tpl, &m, Some("Select one or more rows to act on.".into())).await?;
        return Ok(page.into_response());
    }
    if action == "delete_selected" {
        admin.require(&m, "delete").await?;
        let confirmed = pairs.iter().any(|(k, v)| k == "post" && v == "yes");
        if !confirmed {
            return Ok(confirm_delete(&admin, &db, &tpl, &m, &keys, true).await?.into_response());
        }
        let n = delete_rows(&admin, &db, &m, &keys).await?;
        session.flash(
            "success",
            format!("Deleted {n} {}.", if n == 1 { m.meta.verbose_name } else { m.meta.verbose_name_plural }),
        );
        return Ok(Redirect::to(list_url).into_response());
    }
    let Some(custom) = m.options.actions.iter().find(|a| a.name == action) else {
        return Err(brisk::Error::http(StatusCode::BAD_REQUEST, format!("No action {action:?}")));
    };
    admin.require(&m, custom.needs).await?;
    let message = (custom.run)(crate::ActionContext {
        db: (*db).clone(),
        keys,
        username: admin.actor.username.clone(),
    })
    .await?;
    session.flash("success", message);
    Ok(Redirect::to(list_url).into_response())
}

/// What deleting `keys` would also delete (Cascade) or is blocked by (Protect, Restrict).
async fn consequences(db: &Db, m: &Registered, keys: &[JsonValue]) -> Result<(Vec<String>, Vec<String>)> {
    let (mut cascades, mut blocks) = (Vec::new(), Vec::new());
    for other in brisk_orm::registry() {
        for f in other.fields {
            let Some(relation) = f.relation else { continue };
            if (relation.target)().table != m.meta.table {
                continue;
            }
            let n = count_referring(other, f, keys, &**db).await?;
            if n == 0 {
                continue;
            }
            let what = format!("{n} {}", if n == 1 { other.verbose_name } else { other.verbose_name_plural });
            match relation.on_delete {
                OnDelete::Cascade => cascades.push(what),
                OnDelete::Protect | OnDelete::Restrict => blocks.push(what),
                OnDelete::SetNull => {}
            }
        }
    }
    Ok((cascades, blocks))
}

async fn confirm_delete(
    admin: &StaffRequest,
    db: &Db,
    tpl: &Templates,
    m: &Registered,
    keys: &[JsonValue],
    bulk: bool,
) -> Result<Template> {
    let (cascades, blocks) = consequences(db, m, keys).await?;
    let mut objects = Vec::new();
    for key in keys.iter().take(100) {
        if let Some(row) = m.ops.get(&**db, key).await? {
            objects.push(json!({"key": key_text(Some(key)), "title": m.title(&row)}));
        }
    }
    let status = if blocks.is_empty() { StatusCode::OK } else { StatusCode::CONFLICT };
    tpl.render_status(
        status,
        &template(tpl, m, "delete_confirmation.html"),
        json!({
            "admin": base(admin),
            "model": model_context(&admin.site.prefix, m),
            "objects": objects,
            "cascades": cascades,
            "blocks": blocks,
            "bulk": bulk,
        }),
    )
}

/// Deletes `keys` and records each deletion, in one transaction.
async fn delete_rows(admin: &StaffRequest, db: &Db, m: &Registered, keys: &[JsonValue]) -> Result<u64> {
    let tx = db.begin().await?;
    let mut titles = Vec::new();
    for key in keys {
        if let Some(row) = m.ops.get(&tx, key).await? {
            if let Some(hook) = &m.options.before_delete {
                if let Err(message) = hook(&row) {
                    let _ = tx.rollback().await;
                    return Err(brisk::Error::http(StatusCode::CONFLICT, message));
                }
            }
            titles.push((key_text(Some(key)), m.title(&row)));
        }
    }
    let n = match m.ops.delete(&tx, keys).await {
        Ok(n) => n,
        Err(e) => {
            let _ = tx.rollback().await;
            return Err(e.into());
        }
    };
    for (key, title) in titles {
        history::record(
            &tx,
            &admin.actor,
            Entry {
                app_label: m.meta.app_label,
                model: m.meta.name,
                object_id: key,
                object_repr: title,
                flag: ActionFlag::Deletion,
                changed: Vec::new(),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(n)
}

/// What a form page shows: the stored row, what was submitted, the errors, the row's key
/// (`None` when adding).
struct FormState<'a> {
    many: Vec<many::ManyWidget>,
    inlines: Vec<inline::InlineForm>,
    row: Option<&'a DynRow>,
    submitted: Option<&'a BTreeMap<String, String>>,
    errors: &'a Errors,
    key: Option<&'a str>,
}

fn form_page(
    admin: &StaffRequest,
    tpl: &Templates,
    m: &Registered,
    status: StatusCode,
    state: FormState<'_>,
) -> Result<Template> {
    let FormState { many, inlines, row, submitted, errors, key } = state;
    let adding = key.is_none();
    let widgets = form::widgets(m, row, submitted, errors, adding);
    let groups = form::groups(m, widgets, many);
    let prefix = &admin.site.prefix;
    tpl.render_status(
        status,
        &template(tpl, m, "change_form.html"),
        json!({
            "admin": base(admin),
            "model": model_context(prefix, m),
            "groups": groups,
            "inlines": inlines,
            "adding": adding,
            "title": row.map(|r| m.title(r)),
            "errors": !errors.is_empty(),
            "non_field_errors": errors.get("__all__").cloned().unwrap_or_default(),
            "object_url": key.map(|k| object_url(prefix, m, k)),
        }),
    )
}

/// A form page with its many-to-many multi-selects (stored links, or what was chosen).
#[allow(clippy::too_many_arguments)]
async fn full_form(
    admin: &StaffRequest,
    db: &Db,
    tpl: &Templates,
    m: &Registered,
    status: StatusCode,
    state: FormState<'_>,
    owner: Option<&JsonValue>,
    sent: Sent<'_>,
) -> Result<Response> {
    let many = many::widgets(&admin.site.models, m, &**db, owner, sent.chosen).await?;
    let inlines = inline::forms(m, owner, sent.pairs, sent.inline_errors, &**db).await?;
    Ok(form_page(admin, tpl, m, status, FormState { many, inlines, ..state })?.into_response())
}

/// What a form sent back carries besides its fields: the many-to-many choices, the raw pairs
/// (the inlines' rows) and the inlines' errors.
#[derive(Clone, Copy)]
struct Sent<'a> {
    chosen: Option<&'a many::Chosen>,
    pairs: Option<&'a [(String, String)]>,
    inline_errors: &'a inline::InlineErrors,
}

static NO_INLINE_ERRORS: std::sync::LazyLock<inline::InlineErrors> =
    std::sync::LazyLock::new(Default::default);

impl Sent<'static> {
    fn none() -> Self {
        Sent { chosen: None, pairs: None, inline_errors: &NO_INLINE_ERRORS }
    }
}

/// The add form.
pub(crate) async fn add_form(
    admin: StaffRequest,
    db: Db,
    tpl: Templates,
    Path(path): Path<ModelPath>,
) -> Result<Response> {
    let m = admin.model(&path.app, &path.model)?;
    admin.require(&m, "add").await?;
    let state = FormState {
        many: Vec::new(),
        inlines: Vec::new(),
        row: None,
        submitted: None,
        errors: &Errors::new(),
        key: None,
    };
    full_form(&admin, &db, &tpl, &m, StatusCode::OK, state, None, Sent::none()).await
}

fn submitted(pairs: Vec<(String, String)>) -> BTreeMap<String, String> {
    pairs.into_iter().filter(|(k, _)| k != "csrf_token").collect()
}

/// A database refusal as a message beside the field it is about, when it names one.
fn refusal(m: &Registered, e: brisk_orm::Error) -> Result<Errors> {
    let mut errors = Errors::new();
    match e {
        brisk_orm::Error::UniqueViolation { ref columns, .. } => {
            let field = columns
                .first()
                .and_then(|c| m.meta.fields.iter().find(|f| f.column == c.as_str()))
                .map_or("__all__", |f| f.name);
            errors.insert(field, vec![format!("A {} with this value already exists.", m.meta.verbose_name)]);
        }
        brisk_orm::Error::ForeignKeyViolation { .. } => {
            errors.insert(
                "__all__",
                vec!["A related row does not exist (or still refers to this one).".into()],
            );
        }
        brisk_orm::Error::ConstraintViolation { ref message, .. } => {
            errors.insert("__all__", vec![format!("The database refused the values: {message}")]);
        }
        other => return Err(other.into()),
    }
    Ok(errors)
}

/// Saves the add form: the row is made and recorded, or the form comes back with its errors.
pub(crate) async fn add_save(
    admin: StaffRequest,
    db: Db,
    tpl: Templates,
    session: Session,
    headers: HeaderMap,
    Path(path): Path<ModelPath>,
    body: Bytes,
) -> Result<Response> {
    let m = admin.model(&path.app, &path.model)?;
    admin.require(&m, "add").await?;
    let pairs = form_pairs(&headers, &body)?;
    let next = button(&pairs);
    let chosen = many::chosen(&m, &pairs);
    let form = submitted(pairs.clone());
    let refused = |errors: Errors, inline_errors: inline::InlineErrors| {
        let chosen = chosen.as_ref().ok().cloned();
        let (admin, db, tpl, m, form, pairs) = (&admin, &db, &tpl, &m, &form, &pairs);
        async move {
            let state = FormState {
                many: Vec::new(),
                inlines: Vec::new(),
                row: None,
                submitted: Some(form),
                errors: &errors,
                key: None,
            };
            full_form(
                admin,
                db,
                tpl,
                m,
                StatusCode::UNPROCESSABLE_ENTITY,
                state,
                None,
                Sent { chosen: chosen.as_ref(), pairs: Some(pairs), inline_errors: &inline_errors },
            )
            .await
        }
    };
    let (mut values, chosen) = match (form::parse(&m, &form, true), chosen.clone()) {
        (Ok(values), Ok(chosen)) => (values, chosen),
        (Err(mut errors), Err(more)) => {
            errors.extend(more);
            return refused(errors, inline::InlineErrors::new()).await;
        }
        (Err(errors), _) | (_, Err(errors)) => return refused(errors, inline::InlineErrors::new()).await,
    };
    if let Some(hook) = &m.options.before_save {
        if let Err(message) = hook(&mut values, true) {
            return refused(Errors::from([("__all__", vec![message])]), inline::InlineErrors::new()).await;
        }
    }
    let planned = match inline::plan(&m, &pairs) {
        Ok(planned) => planned,
        Err(inline_errors) => {
            let errors =
                Errors::from([("__all__", vec!["Please correct the errors in the rows below.".to_owned()])]);
            return refused(errors, inline_errors).await;
        }
    };
    // Automatic timestamps are the server's to set.
    for f in m.meta.fields.iter().filter(|f| f.auto_now || f.auto_now_add) {
        values.set(f.name, json!(brisk_orm::DateTime::now()));
    }
    let tx = db.begin().await?;
    let stored = match m.ops.insert(&tx, &values).await {
        Ok(row) => row,
        Err(e) => {
            let _ = tx.rollback().await;
            return refused(refusal(&m, e)?, inline::InlineErrors::new()).await;
        }
    };
    if let Some(owner) = stored.get(m.meta.primary_key().name) {
        if let Err(e) = many::save(&m, owner, &chosen, &tx).await {
            let _ = tx.rollback().await;
            return refused(refusal(&m, e)?, inline::InlineErrors::new()).await;
        }
        if let Err(e) = inline::apply(&m, owner, &planned, &tx).await {
            let _ = tx.rollback().await;
            return refused(refusal(&m, e)?, inline::InlineErrors::new()).await;
        }
    }
    let key = key_text(stored.get(m.meta.primary_key().name));
    let title = m.title(&stored);
    history::record(
        &tx,
        &admin.actor,
        Entry {
            app_label: m.meta.app_label,
            model: m.meta.name,
            object_id: key.clone(),
            object_repr: title.clone(),
            flag: ActionFlag::Addition,
            changed: Vec::new(),
        },
    )
    .await?;
    tx.commit().await?;
    session.flash("success", format!("The {} “{title}” was added.", m.meta.verbose_name));
    Ok(Redirect::to(after_save(&admin.site.prefix, &m, &key, next)).into_response())
}

/// Which submit button was pressed.
#[derive(Clone, Copy)]
enum Next {
    List,
    AddAnother,
    Continue,
}

fn button(pairs: &[(String, String)]) -> Next {
    if pairs.iter().any(|(k, _)| k == "_addanother") {
        Next::AddAnother
    } else if pairs.iter().any(|(k, _)| k == "_continue") {
        Next::Continue
    } else {
        Next::List
    }
}

fn after_save(prefix: &str, m: &Registered, key: &str, next: Next) -> String {
    match next {
        Next::List => model_url(prefix, m),
        Next::AddAnother => format!("{}/add", model_url(prefix, m)),
        Next::Continue => format!("{}/change", object_url(prefix, m, key)),
    }
}

/// The change form (read-only for a user with only the view permission).
pub(crate) async fn change_form(
    admin: StaffRequest,
    db: Db,
    tpl: Templates,
    Path(path): Path<ObjectPath>,
) -> Result<Response> {
    let m = admin.model(&path.app, &path.model)?;
    admin.require(&m, "view").await?;
    let (key, row) = object(&admin, &db, &m, &path.key).await?;
    if admin.may(&m, "change").await? {
        let state = FormState {
            many: Vec::new(),
            inlines: Vec::new(),
            row: Some(&row),
            submitted: None,
            errors: &Errors::new(),
            key: Some(&path.key),
        };
        return full_form(&admin, &db, &tpl, &m, StatusCode::OK, state, Some(&key), Sent::none()).await;
    }
    let fields: Vec<JsonValue> = m
        .form_fields()
        .into_iter()
        .map(|f| json!({"label": form::capitalized(f.verbose_name), "text": list::cell(f, row.get(f.name), &BTreeMap::new())}))
        .collect();
    let page = tpl.render(
        &template(&tpl, &m, "view_object.html"),
        json!({
            "admin": base(&admin),
            "model": model_context(&admin.site.prefix, &m),
            "title": m.title(&row),
            "fields": fields,
            "object_url": object_url(&admin.site.prefix, &m, &path.key),
        }),
    )?;
    Ok(page.into_response())
}

/// Saves the change form: only the fields that changed are written, and recorded by name.
pub(crate) async fn change_save(
    admin: StaffRequest,
    db: Db,
    tpl: Templates,
    session: Session,
    headers: HeaderMap,
    Path(path): Path<ObjectPath>,
    body: Bytes,
) -> Result<Response> {
    let m = admin.model(&path.app, &path.model)?;
    admin.require(&m, "change").await?;
    let (key_json, row) = object(&admin, &db, &m, &path.key).await?;
    let pairs = form_pairs(&headers, &body)?;
    let next = button(&pairs);
    let chosen = many::chosen(&m, &pairs);
    let form = submitted(pairs.clone());
    let refused = |errors: Errors, inline_errors: inline::InlineErrors| {
        let chosen = chosen.as_ref().ok().cloned();
        let (admin, db, tpl, m, form, row, key, key_json, pairs) =
            (&admin, &db, &tpl, &m, &form, &row, &path.key, &key_json, &pairs);
        async move {
            let state = FormState {
                many: Vec::new(),
                inlines: Vec::new(),
                row: Some(row),
                submitted: Some(form),
                errors: &errors,
                key: Some(key),
            };
            full_form(
                admin,
                db,
                tpl,
                m,
                StatusCode::UNPROCESSABLE_ENTITY,
                state,
                Some(key_json),
                Sent { chosen: chosen.as_ref(), pairs: Some(pairs), inline_errors: &inline_errors },
            )
            .await
        }
    };
    let (mut values, chosen) = match (form::parse(&m, &form, false), chosen.clone()) {
        (Ok(values), Ok(chosen)) => (values, chosen),
        (Err(mut errors), Err(more)) => {
            errors.extend(more);
            return refused(errors, inline::InlineErrors::new()).await;
        }
        (Err(errors), _) | (_, Err(errors)) => return refused(errors, inline::InlineErrors::new()).await,
    };
    if let Some(hook) = &m.options.before_save {
        if let Err(message) = hook(&mut values, false) {
            return refused(Errors::from([("__all__", vec![message])]), inline::InlineErrors::new()).await;
        }
    }
    let planned = match inline::plan(&m, &pairs) {
        Ok(planned) => planned,
        Err(inline_errors) => {
            let errors =
                Errors::from([("__all__", vec!["Please correct the errors in the rows below.".to_owned()])]);
            return refused(errors, inline_errors).await;
        }
    };
    let mut changed = form::changed(&row, &values);
    let mut changes = DynRow::new();
    for name in &changed {
        if let Some(v) = values.get(name) {
            changes.set(name, v.clone());
        }
    }
    // `auto_now` fields move with every change.
    for f in m.meta.fields.iter().filter(|f| f.auto_now) {
        changes.set(f.name, json!(brisk_orm::DateTime::now()));
    }
    let tx = db.begin().await?;
    if !changed.is_empty() {
        if let Err(e) = m.ops.update(&tx, &key_json, &changes).await {
            let _ = tx.rollback().await;
            return refused(refusal(&m, e)?, inline::InlineErrors::new()).await;
        }
    }
    match many::save(&m, &key_json, &chosen, &tx).await {
        Ok(links) => changed.extend(links),
        Err(e) => {
            let _ = tx.rollback().await;
            return refused(refusal(&m, e)?, inline::InlineErrors::new()).await;
        }
    }
    match inline::apply(&m, &key_json, &planned, &tx).await {
        Ok(children) => changed.extend(children),
        Err(e) => {
            let _ = tx.rollback().await;
            return refused(refusal(&m, e)?, inline::InlineErrors::new()).await;
        }
    }
    let mut updated = row.clone();
    for (name, value) in changes.iter() {
        updated.set(name, value.clone());
    }
    let title = m.title(&updated);
    history::record(
        &tx,
        &admin.actor,
        Entry {
            app_label: m.meta.app_label,
            model: m.meta.name,
            object_id: path.key.clone(),
            object_repr: title.clone(),
            flag: ActionFlag::Change,
            changed: changed.clone(),
        },
    )
    .await?;
    tx.commit().await?;
    let what = if changed.is_empty() {
        "No fields changed".to_owned()
    } else {
        format!("Changed {}", changed.join(", "))
    };
    session.flash("success", format!("The {} “{title}” was saved. {what}.", m.meta.verbose_name));
    Ok(Redirect::to(after_save(&admin.site.prefix, &m, &path.key, next)).into_response())
}

/// The delete confirmation: what else goes (cascades) or what stops it (protected rows).
pub(crate) async fn delete_form(
    admin: StaffRequest,
    db: Db,
    tpl: Templates,
    Path(path): Path<ObjectPath>,
) -> Result<Template> {
    let m = admin.model(&path.app, &path.model)?;
    admin.require(&m, "delete").await?;
    let (key, _) = object(&admin, &db, &m, &path.key).await?;
    confirm_delete(&admin, &db, &tpl, &m, &[key], false).await
}

/// Deletes the object (and what cascades) in one transaction, recorded.
pub(crate) async fn delete_save(
    admin: StaffRequest,
    db: Db,
    tpl: Templates,
    session: Session,
    Path(path): Path<ObjectPath>,
) -> Result<Response> {
    let m = admin.model(&path.app, &path.model)?;
    admin.require(&m, "delete").await?;
    let (key, row) = object(&admin, &db, &m, &path.key).await?;
    match delete_rows(&admin, &db, &m, std::slice::from_ref(&key)).await {
        Ok(_) => {
            session.flash("success", format!("The {} “{}” was deleted.", m.meta.verbose_name, m.title(&row)));
            Ok(Redirect::to(model_url(&admin.site.prefix, &m)).into_response())
        }
        Err(e) if e.status() == StatusCode::CONFLICT => {
            // Protected rows: the confirmation page says which. Anything else (a delete hook's
            // refusal) is shown as it is.
            let (_, blocks) = consequences(&db, &m, std::slice::from_ref(&key)).await?;
            if blocks.is_empty() {
                return Err(e);
            }
            Ok(confirm_delete(&admin, &db, &tpl, &m, &[key], false).await?.into_response())
        }
        Err(e) => Err(e),
    }
}

/// An object's history, newest first.
pub(crate) async fn history(
    admin: StaffRequest,
    db: Db,
    tpl: Templates,
    Path(path): Path<ObjectPath>,
) -> Result<Template> {
    let m = admin.model(&path.app, &path.model)?;
    admin.require(&m, "view").await?;
    let entries = history::of_object(&*db, m.meta.app_label, m.meta.name, &path.key).await?;
    let title = match m.ops.get(&*db, &key_value(&m, &path.key)?).await? {
        Some(row) => m.title(&row),
        None => entries.first().map(|e| e.object_repr.clone()).unwrap_or_else(|| path.key.clone()),
    };
    let entries: Vec<JsonValue> = entries
        .iter()
        .map(|e| {
            json!({
                "when": e.action_time.format("%Y-%m-%d %H:%M UTC").to_string(),
                "who": e.username,
                "action": e.action().map_or("?", ActionFlag::label),
                "changed": e.change_message,
            })
        })
        .collect();
    tpl.render(
        &template(&tpl, &m, "object_history.html"),
        json!({
            "admin": base(&admin),
            "model": model_context(&admin.site.prefix, &m),
            "title": title,
            "entries": entries,
            "object_url": object_url(&admin.site.prefix, &m, &path.key),
        }),
    )
}

// `Executor` is what `&Db` and the transaction are handed on as.
const _: fn(&Db) -> &dyn Executor = |db| db;

/// `?q=` of the autocomplete endpoint.
#[derive(Debug, Deserialize, JsonSchema, Validate)]
pub(crate) struct Search {
    #[serde(default)]
    #[validate(max_length = 200)]
    q: String,
}

/// The rows of a model matching `q` in its search fields, as `[{"id", "text"}]` (at most 20):
/// what a foreign key's input suggests as the user types. Needs the model's view permission.
pub(crate) async fn autocomplete(
    admin: StaffRequest,
    db: Db,
    Path(path): Path<ModelPath>,
    Query(search): Query<Search>,
) -> Result<Json<Vec<JsonValue>>> {
    let m = admin.model(&path.app, &path.model)?;
    admin.require(&m, "view").await?;
    let query = crate::registry::ListQuery {
        words: search.q.split_whitespace().map(str::to_owned).take(10).collect(),
        limit: 20,
        ..Default::default()
    };
    let rows = m.ops.list(&*db, &m.options, &query).await?;
    let pk = m.meta.primary_key().name;
    Ok(Json(rows.iter().map(|r| json!({"id": r.get(pk), "text": m.title(r)})).collect()))
}

/// Saves the list's inline edits (`list_editable`): every row on the page, checked first; if
/// any field is wrong nothing is written and the page comes back with the messages (422);
/// otherwise the changed rows are written and recorded in one transaction.
async fn save_list(
    admin: &StaffRequest,
    db: &Db,
    tpl: &Templates,
    session: &Session,
    m: &Registered,
    pairs: &[(String, String)],
) -> Result<Response> {
    admin.require(m, "change").await?;
    let keys: Vec<String> =
        pairs.iter().filter(|(k, _)| k == "_edit_key").map(|(_, v)| v.clone()).take(1000).collect();
    let fields: Vec<&'static brisk_orm::FieldMeta> =
        m.options.list_editable.iter().filter_map(|n| m.field(n)).filter(|f| !m.is_readonly(f)).collect();
    let mut edits = Edits::new();
    let mut parsed: Vec<(String, DynRow)> = Vec::new();
    let mut wrong = false;
    for key in &keys {
        let mut values = DynRow::new();
        for f in &fields {
            let name = format!("{key}-{}", f.name);
            let text = pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone());
            match form::parse_field(f, text.as_deref()) {
                Ok(value) => {
                    values.set(f.name, value);
                    edits.insert((key.clone(), f.name), (text, Vec::new()));
                }
                Err(messages) => {
                    wrong = true;
                    edits.insert((key.clone(), f.name), (text, messages));
                }
            }
        }
        parsed.push((key.clone(), values));
    }
    if wrong {
        let message = Some("Please correct the errors below.".to_owned());
        let page =
            render_list_with(admin, db, tpl, m, message, &edits, StatusCode::UNPROCESSABLE_ENTITY).await?;
        return Ok(page.into_response());
    }
    let tx = db.begin().await?;
    let mut saved = 0;
    for (key, values) in parsed {
        let key_json = key_value(m, &key)?;
        let Some(row) = m.ops.get(&tx, &key_json).await? else { continue };
        let changed = form::changed(&row, &values);
        if changed.is_empty() {
            continue;
        }
        let mut changes = DynRow::new();
        for name in &changed {
            if let Some(v) = values.get(name) {
                changes.set(name, v.clone());
            }
        }
        for f in m.meta.fields.iter().filter(|f| f.auto_now) {
            changes.set(f.name, json!(brisk_orm::DateTime::now()));
        }
        if let Err(e) = m.ops.update(&tx, &key_json, &changes).await {
            let _ = tx.rollback().await;
            let message = refusal(m, e)?.into_values().flatten().next();
            let page = render_list_with(admin, db, tpl, m, message, &edits, StatusCode::UNPROCESSABLE_ENTITY)
                .await?;
            return Ok(page.into_response());
        }
        let mut updated = row.clone();
        for (name, value) in changes.iter() {
            updated.set(name, value.clone());
        }
        history::record(
            &tx,
            &admin.actor,
            Entry {
                app_label: m.meta.app_label,
                model: m.meta.name,
                object_id: key.clone(),
                object_repr: m.title(&updated),
                flag: ActionFlag::Change,
                changed,
            },
        )
        .await?;
        saved += 1;
    }
    tx.commit().await?;
    let noun = if saved == 1 { m.meta.verbose_name } else { m.meta.verbose_name_plural };
    session.flash("success", format!("{saved} {noun} changed."));
    let back = format!(
        "{}{}",
        model_url(&admin.site.prefix, m),
        if admin.query.is_empty() { String::new() } else { format!("?{}", admin.query) }
    );
    Ok(Redirect::to(back).into_response())
}
