//! The registered models, with their types erased: what the admin's pages call to list, read,
//! make, change and delete rows of any of them.

use std::marker::PhantomData;
use std::sync::Arc;

use brisk::handler::BoxFuture;
use brisk_orm::dynamic::DynField;
use brisk_orm::migrations::DynRow;
use brisk_orm::{ColumnKind, Executor, FieldMeta, Model, ModelMeta, Order, Q};
use serde_json::Value as JsonValue;

use crate::options::Options;

/// A filter from the sidebar.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Filter {
    /// `field = value`.
    Eq(&'static str, JsonValue),
    /// `field IS NULL` (true) or `IS NOT NULL`.
    IsNull(&'static str, bool),
    /// `from <= field < to`.
    Range(&'static str, JsonValue, JsonValue),
}

/// What a list page asks for.
#[derive(Debug, Clone, Default)]
pub(crate) struct ListQuery {
    /// Each word must be in one of the search fields.
    pub(crate) words: Vec<String>,
    pub(crate) filters: Vec<Filter>,
    /// `(field, descending)`.
    pub(crate) order: Vec<(&'static str, bool)>,
    pub(crate) limit: u64,
    pub(crate) offset: u64,
}

/// One model's rows, whatever its type.
pub(crate) trait ModelOps: Send + Sync {
    fn list<'a>(
        &'a self,
        ex: &'a dyn Executor,
        options: &'a Options,
        query: &'a ListQuery,
    ) -> BoxFuture<'a, Result<Vec<DynRow>, brisk_orm::Error>>;
    fn get<'a>(
        &'a self,
        ex: &'a dyn Executor,
        key: &'a JsonValue,
    ) -> BoxFuture<'a, Result<Option<DynRow>, brisk_orm::Error>>;
    fn insert<'a>(
        &'a self,
        ex: &'a dyn Executor,
        row: &'a DynRow,
    ) -> BoxFuture<'a, Result<DynRow, brisk_orm::Error>>;
    fn update<'a>(
        &'a self,
        ex: &'a dyn Executor,
        key: &'a JsonValue,
        changes: &'a DynRow,
    ) -> BoxFuture<'a, Result<u64, brisk_orm::Error>>;
    fn delete<'a>(
        &'a self,
        ex: &'a dyn Executor,
        keys: &'a [JsonValue],
    ) -> BoxFuture<'a, Result<u64, brisk_orm::Error>>;
}

pub(crate) struct Ops<M> {
    pub(crate) scope: Option<crate::options::Scope<M>>,
    pub(crate) model: PhantomData<fn() -> M>,
}

impl<M: Model> Ops<M> {
    /// The rows this admin may see and touch.
    fn rows(&self) -> brisk_orm::QuerySet<M> {
        match &self.scope {
            Some(scope) => scope(M::objects()),
            None => M::objects(),
        }
    }
}

fn field<M: Model>(name: &str) -> Result<DynField<M>, brisk_orm::Error> {
    DynField::<M>::named(name)
        .ok_or_else(|| brisk_orm::Error::Config(format!("{} has no field {name}", M::META.name)))
}

fn by_key<M: Model>(key: &JsonValue) -> Result<Q<M>, brisk_orm::Error> {
    field::<M>(M::META.primary_key().name)?.eq(key)
}

impl<M: Model + Send + Sync + 'static> ModelOps for Ops<M> {
    fn list<'a>(
        &'a self,
        ex: &'a dyn Executor,
        options: &'a Options,
        query: &'a ListQuery,
    ) -> BoxFuture<'a, Result<Vec<DynRow>, brisk_orm::Error>> {
        Box::pin(async move {
            let mut qs = self.rows();
            for word in &query.words {
                let mut any: Option<Q<M>> = None;
                for name in &options.search_fields {
                    if let Some(q) = field::<M>(name)?.icontains(word) {
                        any = Some(match any {
                            Some(prev) => prev | q,
                            None => q,
                        });
                    }
                }
                if let Some(q) = any {
                    qs = qs.filter(q);
                }
            }
            for filter in &query.filters {
                qs = qs.filter(match filter {
                    Filter::Eq(name, value) => field::<M>(name)?.eq(value)?,
                    Filter::IsNull(name, is_null) => field::<M>(name)?.isnull(*is_null),
                    Filter::Range(name, from, to) => {
                        let f = field::<M>(name)?;
                        f.gte(from)? & f.lt(to)?
                    }
                });
            }
            let mut orders: Vec<Order<M>> = Vec::new();
            for (name, desc) in &query.order {
                let f = field::<M>(name)?;
                orders.push(if *desc { f.desc() } else { f.asc() });
            }
            // The key last, so that pages never repeat or skip a row.
            let pk = field::<M>(M::META.primary_key().name)?;
            if !query.order.iter().any(|(n, _)| *n == pk.meta().name) {
                orders.push(pk.desc());
            }
            qs.order_by(orders).limit(query.limit).offset(query.offset).rows_json(&ex).await
        })
    }

    fn get<'a>(
        &'a self,
        ex: &'a dyn Executor,
        key: &'a JsonValue,
    ) -> BoxFuture<'a, Result<Option<DynRow>, brisk_orm::Error>> {
        Box::pin(
            async move { Ok(self.rows().filter(by_key::<M>(key)?).limit(1).rows_json(&ex).await?.pop()) },
        )
    }

    fn insert<'a>(
        &'a self,
        ex: &'a dyn Executor,
        row: &'a DynRow,
    ) -> BoxFuture<'a, Result<DynRow, brisk_orm::Error>> {
        Box::pin(async move { M::objects().insert_json(row, &ex).await })
    }

    fn update<'a>(
        &'a self,
        ex: &'a dyn Executor,
        key: &'a JsonValue,
        changes: &'a DynRow,
    ) -> BoxFuture<'a, Result<u64, brisk_orm::Error>> {
        Box::pin(async move {
            let mut sets = Vec::new();
            for (name, value) in changes.iter() {
                sets.push(field::<M>(name)?.set(value)?);
            }
            if sets.is_empty() {
                return Ok(0);
            }
            self.rows().filter(by_key::<M>(key)?).update(sets, &ex).await
        })
    }

    fn delete<'a>(
        &'a self,
        ex: &'a dyn Executor,
        keys: &'a [JsonValue],
    ) -> BoxFuture<'a, Result<u64, brisk_orm::Error>> {
        Box::pin(async move {
            let mut any: Option<Q<M>> = None;
            for key in keys {
                let q = by_key::<M>(key)?;
                any = Some(match any {
                    Some(prev) => prev | q,
                    None => q,
                });
            }
            match any {
                Some(q) => self.rows().filter(q).delete(&ex).await,
                None => Ok(0),
            }
        })
    }
}

/// One registered model: its declaration, its options (defaults filled in) and its rows.
#[derive(Clone)]
pub(crate) struct Registered {
    pub(crate) meta: &'static ModelMeta,
    pub(crate) options: Options,
    pub(crate) ops: Arc<dyn ModelOps>,
}

impl Registered {
    /// `app_label/model` in URLs: `shop/item`.
    pub(crate) fn model_slug(&self) -> String {
        self.meta.name.to_lowercase()
    }

    pub(crate) fn field(&self, name: &str) -> Option<&'static FieldMeta> {
        self.meta.fields.iter().find(|f| f.name == name)
    }

    /// The fields the forms edit, in order.
    pub(crate) fn form_fields(&self) -> Vec<&'static FieldMeta> {
        let names: Vec<&str> = if self.options.fields.is_empty() {
            self.meta.fields.iter().map(|f| f.name).collect()
        } else {
            self.options.fields.clone()
        };
        names
            .into_iter()
            .filter_map(|n| self.field(n))
            .filter(|f| !(f.primary_key && f.kind == ColumnKind::AutoBigInt))
            .filter(|f| f.kind != ColumnKind::Bytes)
            .collect()
    }

    /// Whether `field` is shown but not edited.
    pub(crate) fn is_readonly(&self, field: &FieldMeta) -> bool {
        field.auto_now || field.auto_now_add || self.options.readonly_fields.contains(&field.name)
    }

    /// What a row is called: its title field, or "Model object (key)".
    pub(crate) fn title(&self, row: &DynRow) -> String {
        let key = key_text(row.get(self.meta.primary_key().name));
        let parts: Vec<String> = self
            .options
            .title_fields
            .iter()
            .filter_map(|f| row.get(f))
            .map(|v| match v {
                JsonValue::String(s) => s.clone(),
                other => other.to_string(),
            })
            .filter(|s| !s.is_empty())
            .collect();
        if parts.is_empty() {
            format!("{} object ({key})", self.meta.verbose_name)
        } else {
            parts.join(" | ")
        }
    }
}

/// A key's text (from a URL or a form) as the JSON value of `meta`'s primary key: a number
/// for an integer key (`None` when the text is not one), else the text.
pub(crate) fn key_from_text(meta: &ModelMeta, text: &str) -> Option<JsonValue> {
    match meta.primary_key().kind {
        ColumnKind::SmallInt | ColumnKind::Int | ColumnKind::BigInt | ColumnKind::AutoBigInt => {
            text.parse::<i64>().ok().map(JsonValue::from)
        }
        _ => Some(JsonValue::String(text.to_owned())),
    }
}

/// A key as it appears in a URL.
pub(crate) fn key_text(key: Option<&JsonValue>) -> String {
    match key {
        Some(JsonValue::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// Fills in what `ModelAdmin::default()` leaves to the model: columns, links, title.
pub(crate) fn with_defaults(meta: &'static ModelMeta, mut options: Options) -> Options {
    if options.title_fields.is_empty() {
        options.title_fields = meta
            .fields
            .iter()
            .find(|f| f.kind == ColumnKind::Text && !f.primary_key)
            .map(|f| f.name)
            .into_iter()
            .collect();
    }
    if options.list_display.is_empty() {
        options.list_display = meta
            .fields
            .iter()
            .filter(|f| f.kind != ColumnKind::Bytes && f.kind != ColumnKind::Json)
            .map(|f| f.name)
            .take(6)
            .collect();
    }
    if options.list_display_links.is_empty() {
        options.list_display_links = options
            .list_display
            .iter()
            .filter(|n| !options.list_editable.contains(n))
            .take(1)
            .copied()
            .collect();
    }
    options
}

/// The names in `options` that are not fields of `meta`: a mistake the app is told of at start.
pub(crate) fn unknown_names(meta: &'static ModelMeta, options: &Options) -> Vec<String> {
    let lists = [
        ("list_display", &options.list_display),
        ("list_display_links", &options.list_display_links),
        ("list_editable", &options.list_editable),
        ("search_fields", &options.search_fields),
        ("list_filter", &options.list_filter),
        ("readonly_fields", &options.readonly_fields),
        ("fields", &options.fields),
        ("title_fields", &options.title_fields),
    ];
    let mut problems = Vec::new();
    if let Some(name) = options.date_hierarchy {
        let dated = meta
            .fields
            .iter()
            .any(|f| f.name == name && matches!(f.kind, ColumnKind::Date | ColumnKind::DateTime));
        if !dated {
            problems.push(format!(
                "the admin of {}: date_hierarchy names {name:?}, which is not a date field",
                meta.name
            ));
        }
    }
    for inline in &options.inlines {
        let child = inline.meta;
        match child.fields.iter().find(|f| f.name == inline.fk) {
            Some(f) if f.relation.is_some_and(|r| (r.target)().table == meta.table) => {}
            _ => problems.push(format!(
                "the admin of {}: the inline of {} names {:?}, which is not its foreign key to {}",
                meta.name, child.name, inline.fk, meta.name
            )),
        }
        for name in &inline.fields {
            if !child.fields.iter().any(|f| f.name == *name) || *name == inline.fk {
                problems.push(format!(
                    "the admin of {}: the inline of {} names {name:?}, which is not one of its fields",
                    meta.name, child.name
                ));
            }
        }
    }
    let in_sets: Vec<&'static str> =
        options.fieldsets.iter().flat_map(|(_, names)| names.iter().copied()).collect();
    for name in &in_sets {
        if !meta.fields.iter().any(|f| f.name == *name) && !meta.many_to_many.iter().any(|f| f.name == *name)
        {
            problems.push(format!(
                "the admin of {}: fieldsets name {name:?}, which is not one of its fields",
                meta.name
            ));
        }
    }
    for (option, names) in lists {
        for name in names.iter() {
            let computed = option == "list_display" && options.computed.iter().any(|c| c.name == *name);
            if !computed && !meta.fields.iter().any(|f| f.name == *name) {
                problems.push(format!(
                    "the admin of {}: {option} names {name:?}, which is not one of its fields",
                    meta.name
                ));
            }
        }
    }
    for name in &options.ordering {
        let bare = name.trim_start_matches('-');
        if !meta.fields.iter().any(|f| f.name == bare) {
            problems.push(format!(
                "the admin of {}: ordering names {name:?}, which is not one of its fields",
                meta.name
            ));
        }
    }
    for name in &options.list_editable {
        if !options.list_display.is_empty() && !options.list_display.contains(name) {
            problems.push(format!(
                "the admin of {}: list_editable names {name:?}, which is not in list_display",
                meta.name
            ));
        }
        if options.list_display_links.contains(name) {
            problems.push(format!(
                "the admin of {}: list_editable names {name:?}, which is also a link",
                meta.name
            ));
        }
    }
    for name in &options.search_fields {
        if let Some(f) = meta.fields.iter().find(|f| f.name == *name) {
            if !matches!(f.kind, ColumnKind::Text | ColumnKind::Choice) {
                problems.push(format!(
                    "the admin of {}: search_fields names {name:?}, which is not text",
                    meta.name
                ));
            }
        }
    }
    problems
}
