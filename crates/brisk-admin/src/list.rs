//! The list page's query string (search, sidebar filters, sorting, page) and what its table
//! shows: cells as text, foreign keys as their rows' titles (one query per page, not per row).

use std::collections::BTreeMap;

use brisk_orm::dynamic::rows_by_key;
use brisk_orm::migrations::DynRow;
use brisk_orm::{ColumnKind, DateTime, Executor, FieldMeta};
use chrono::Datelike as _;
use serde::Serialize;
use serde_json::Value as JsonValue;

use crate::registry::{key_text, Filter, ListQuery, Registered};
use crate::site::encode;

/// The list page's parameters, as read from its query string.
#[derive(Debug, Clone, Default)]
pub(crate) struct ListParams {
    pub(crate) pairs: Vec<(String, String)>,
    pub(crate) q: String,
    pub(crate) page: u64,
    pub(crate) order: Vec<(&'static str, bool)>,
    pub(crate) filters: Vec<Filter>,
}

/// Reads `query` for `model`: only its list filters, its columns for sorting, a page from 1.
/// Anything else is ignored, so no parameter can reach a field the admin does not offer.
pub(crate) fn params(model: &Registered, query: &str) -> Result<ListParams, brisk::Error> {
    let pairs = brisk::extract::form_pairs(query.as_bytes(), true)?;
    let mut out = ListParams { page: 1, ..ListParams::default() };
    for (key, value) in &pairs {
        match key.as_str() {
            "q" => out.q = value.chars().take(200).collect(),
            "p" => out.page = value.parse::<u64>().ok().filter(|p| (1..=1_000_000).contains(p)).unwrap_or(1),
            "o" => {
                for part in value.split(',').take(5) {
                    let (desc, name) = match part.strip_prefix('-') {
                        Some(name) => (true, name),
                        None => (false, part),
                    };
                    if let Some(f) = sortable(model, name) {
                        if !out.order.iter().any(|(n, _)| *n == f.name) {
                            out.order.push((f.name, desc));
                        }
                    }
                }
            }
            _ => {
                if let Some(filter) = filter(model, key, value) {
                    out.filters.push(filter);
                }
            }
        }
    }
    out.pairs = pairs;
    Ok(out)
}

fn sortable(model: &Registered, name: &str) -> Option<&'static FieldMeta> {
    model
        .options
        .list_display
        .iter()
        .find(|n| **n == name)
        .and_then(|n| model.field(n))
        .filter(|f| !matches!(f.kind, ColumnKind::Json | ColumnKind::Bytes))
}

fn filter(model: &Registered, key: &str, value: &str) -> Option<Filter> {
    let (name, lookup) = key.split_once("__").unwrap_or((key, "exact"));
    let offered = model.options.list_filter.contains(&name) || model.options.date_hierarchy == Some(name);
    let field = model.field(name).filter(|_| offered)?;
    match lookup {
        "isnull" => Some(Filter::IsNull(field.name, value == "1")),
        "exact" => {
            let json = match field.kind {
                ColumnKind::Bool => JsonValue::Bool(value == "true" || value == "1"),
                ColumnKind::SmallInt | ColumnKind::Int | ColumnKind::BigInt => {
                    JsonValue::from(value.parse::<i64>().ok()?)
                }
                ColumnKind::Choice if !field.choices.contains(&value) => return None,
                _ => JsonValue::String(value.to_owned()),
            };
            Some(Filter::Eq(field.name, json))
        }
        "range" => {
            let (from, to) = value.split_once('/')?;
            let stamp = |d: &str| -> Option<JsonValue> {
                let valid = d.len() == 10
                    && d.bytes().enumerate().all(|(i, b)| {
                        if i == 4 || i == 7 {
                            b == b'-'
                        } else {
                            b.is_ascii_digit()
                        }
                    });
                valid.then(|| match field.kind {
                    ColumnKind::DateTime => JsonValue::String(format!("{d}T00:00:00Z")),
                    _ => JsonValue::String(d.to_owned()),
                })
            };
            Some(Filter::Range(field.name, stamp(from)?, stamp(to)?))
        }
        _ => None,
    }
}

impl ListParams {
    /// The query for page `page` (one row more than a page: is there a next page?).
    pub(crate) fn query(&self, model: &Registered) -> ListQuery {
        let per_page = model.options.list_per_page as u64;
        let order = if self.order.is_empty() { default_order(model) } else { self.order.clone() };
        ListQuery {
            words: self.q.split_whitespace().map(str::to_owned).take(10).collect(),
            filters: self.filters.clone(),
            order,
            limit: per_page + 1,
            offset: (self.page - 1) * per_page,
        }
    }

    /// This page's URL with `key` set to `value` (removed when `None`), the page reset to 1
    /// unless it is the page that changes.
    pub(crate) fn with(&self, key: &str, value: Option<&str>) -> String {
        let mut pairs: Vec<(String, String)> =
            self.pairs.iter().filter(|(k, _)| k != key && (key == "p" || k != "p")).cloned().collect();
        if let Some(v) = value {
            pairs.push((key.to_owned(), v.to_owned()));
        }
        if pairs.is_empty() {
            return "?".to_owned();
        }
        let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
        format!("?{}", query.join("&"))
    }

    /// The URL of a filter link: this page's with the filter's parameters replaced.
    pub(crate) fn with_filter(&self, field: &str, set: &[(&str, String)]) -> String {
        let prefix = format!("{field}__");
        let mut pairs: Vec<(String, String)> = self
            .pairs
            .iter()
            .filter(|(k, _)| k != field && !k.starts_with(&prefix) && k != "p")
            .cloned()
            .collect();
        pairs.extend(set.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        if pairs.is_empty() {
            return "?".to_owned();
        }
        let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
        format!("?{}", query.join("&"))
    }

    fn has(&self, key: &str, value: &str) -> bool {
        self.pairs.iter().any(|(k, v)| k == key && v == value)
    }

    fn has_field(&self, field: &str) -> bool {
        let prefix = format!("{field}__");
        self.pairs.iter().any(|(k, _)| k == field || k.starts_with(&prefix))
    }
}

fn default_order(model: &Registered) -> Vec<(&'static str, bool)> {
    let names: Vec<&str> = if model.options.ordering.is_empty() {
        model.meta.ordering.to_vec()
    } else {
        model.options.ordering.clone()
    };
    names
        .iter()
        .filter_map(|n| {
            let (desc, name) = match n.strip_prefix('-') {
                Some(name) => (true, name),
                None => (false, *n),
            };
            model.field(name).map(|f| (f.name, desc))
        })
        .collect()
}

/// One link of a sidebar filter.
#[derive(Debug, Serialize)]
pub(crate) struct Choice {
    label: String,
    url: String,
    selected: bool,
}

/// A sidebar filter.
#[derive(Debug, Serialize)]
pub(crate) struct SidebarFilter {
    label: String,
    choices: Vec<Choice>,
}

/// The most related rows a foreign key's filter lists (more: only "has a value" / "empty").
const MAX_RELATED_CHOICES: u64 = 50;

/// The sidebar's filters for `model` on the page of `params`: a foreign key's lists the rows
/// it can point at (one query each, when there are few enough).
pub(crate) async fn sidebar(
    models: &[Registered],
    model: &Registered,
    params: &ListParams,
    ex: &impl Executor,
) -> Result<Vec<SidebarFilter>, brisk_orm::Error> {
    let mut related: BTreeMap<&'static str, Vec<(String, String)>> = BTreeMap::new();
    for name in &model.options.list_filter {
        let Some(f) = model.field(name) else { continue };
        let Some(relation) = f.relation else { continue };
        let target = (relation.target)();
        let rows = brisk_orm::dynamic::first_rows(target, MAX_RELATED_CHOICES + 1, ex).await?;
        if rows.len() as u64 <= MAX_RELATED_CHOICES {
            let title = |row: &DynRow| match models.iter().find(|m| m.meta.table == target.table) {
                Some(admin) => admin.title(row),
                None => key_text(row.get(target.primary_key().name)),
            };
            related.insert(
                f.name,
                rows.iter().map(|r| (key_text(r.get(target.primary_key().name)), title(r))).collect(),
            );
        }
    }
    Ok(sidebar_of(model, params, &related))
}

fn sidebar_of(
    model: &Registered,
    params: &ListParams,
    related: &BTreeMap<&'static str, Vec<(String, String)>>,
) -> Vec<SidebarFilter> {
    let mut out = Vec::new();
    for name in &model.options.list_filter {
        let Some(f) = model.field(name) else { continue };
        let all = Choice {
            label: "All".into(),
            url: params.with_filter(f.name, &[]),
            selected: !params.has_field(f.name),
        };
        let mut choices = vec![all];
        let option = |label: &str, key: &str, value: String| Choice {
            label: label.to_owned(),
            url: params.with_filter(f.name, &[(key, value.clone())]),
            selected: params.has(key, &value),
        };
        if let Some(rows) = related.get(f.name) {
            for (key, title) in rows {
                choices.push(option(title, f.name, key.clone()));
            }
        }
        match f.kind {
            _ if f.relation.is_some() => {}
            ColumnKind::Bool => {
                choices.push(option("Yes", f.name, "true".into()));
                choices.push(option("No", f.name, "false".into()));
            }
            ColumnKind::Choice => {
                for c in f.choices {
                    choices.push(option(c, f.name, (*c).to_owned()));
                }
            }
            ColumnKind::Date | ColumnKind::DateTime => {
                let today = DateTime::now().date_naive();
                let day = |d: chrono::NaiveDate| d.to_string();
                let tomorrow = today.succ_opt().unwrap_or(today);
                let key = format!("{}__range", f.name);
                let ranges = [
                    ("Today", day(today), day(tomorrow)),
                    ("Past 7 days", day(today - chrono::Days::new(7)), day(tomorrow)),
                    ("This month", day(today.with_day(1).unwrap_or(today)), day(tomorrow)),
                    ("This year", day(today.with_ordinal(1).unwrap_or(today)), day(tomorrow)),
                ];
                for (label, from, to) in ranges {
                    choices.push(option(label, &key, format!("{from}/{to}")));
                }
            }
            _ => {}
        }
        if f.nullable {
            let key = format!("{}__isnull", f.name);
            choices.push(option("Has a value", &key, "0".into()));
            choices.push(option("Empty", &key, "1".into()));
        }
        out.push(SidebarFilter { label: crate::form::capitalized(f.verbose_name), choices });
    }
    out
}

/// A cell's text: `Yes`/`No`, `—` for nothing, a timestamp to the minute in UTC, a related
/// row's title.
pub(crate) fn cell(
    field: &FieldMeta,
    value: Option<&JsonValue>,
    related: &BTreeMap<String, String>,
) -> String {
    match (field.kind, value) {
        (_, None | Some(JsonValue::Null)) => "—".to_owned(),
        (_, Some(v)) if field.relation.is_some() => {
            let key = key_text(Some(v));
            related.get(&key).cloned().unwrap_or(key)
        }
        (ColumnKind::Bool, Some(JsonValue::Bool(b))) => if *b { "Yes" } else { "No" }.to_owned(),
        (ColumnKind::DateTime, Some(JsonValue::String(s))) => {
            let t: String = s.replace('T', " ").chars().take(16).collect();
            format!("{t} UTC")
        }
        (ColumnKind::Json, Some(v)) => v.to_string().chars().take(100).collect(),
        (_, Some(JsonValue::String(s))) => s.chars().take(300).collect(),
        (_, Some(v)) => v.to_string(),
    }
}

/// The titles of the rows the page's foreign keys point at, by key, per column: one query
/// per foreign-key column for the whole page.
pub(crate) async fn related_titles(
    site_models: &[Registered],
    model: &Registered,
    rows: &[DynRow],
    ex: &impl Executor,
) -> Result<BTreeMap<&'static str, BTreeMap<String, String>>, brisk_orm::Error> {
    let mut out = BTreeMap::new();
    for name in &model.options.list_display {
        let Some(f) = model.field(name) else { continue };
        let Some(relation) = f.relation else { continue };
        let target = (relation.target)();
        let mut keys: Vec<JsonValue> = rows.iter().filter_map(|r| r.get(f.name).cloned()).collect();
        keys.sort_by_key(|k| k.to_string());
        keys.dedup();
        let found = rows_by_key(target, &keys, ex).await?;
        let title_of = |row: &DynRow| match site_models.iter().find(|m| m.meta.table == target.table) {
            Some(admin) => admin.title(row),
            None => {
                let text = target
                    .fields
                    .iter()
                    .find(|f| f.kind == ColumnKind::Text)
                    .and_then(|f| row.get_str(f.name));
                text.map(str::to_owned).unwrap_or_else(|| key_text(row.get(target.primary_key().name)))
            }
        };
        let titles =
            found.iter().map(|row| (key_text(row.get(target.primary_key().name)), title_of(row))).collect();
        out.insert(f.name, titles);
    }
    Ok(out)
}

/// One link of the date drill-down.
#[derive(Debug, Serialize)]
pub(crate) struct DateLink {
    label: String,
    url: String,
    current: bool,
}

/// The date drill-down above the list (`date_hierarchy`): the years from the oldest row's to
/// the newest's (two indexed reads, no scan), or the months of the chosen year, or the days of
/// the chosen month; with a link back up.
pub(crate) async fn date_links(
    m: &Registered,
    params: &ListParams,
    ex: &dyn Executor,
) -> Result<Vec<DateLink>, brisk_orm::Error> {
    let Some(name) = m.options.date_hierarchy else { return Ok(Vec::new()) };
    let Some(field) = m.field(name) else { return Ok(Vec::new()) };
    let key = format!("{name}__range");
    let range = params.pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone());
    let link = |label: String, from: chrono::NaiveDate, to: chrono::NaiveDate, current: bool| DateLink {
        url: params.with_filter(name, &[(&key, format!("{from}/{to}"))]),
        label,
        current,
    };
    let parse = |d: &str| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok();
    let chosen =
        range.as_deref().and_then(|r| r.split_once('/')).and_then(|(a, b)| Some((parse(a)?, parse(b)?)));
    let mut out = vec![DateLink {
        label: "All dates".into(),
        url: params.with_filter(name, &[]),
        current: chosen.is_none(),
    }];
    match chosen {
        None => {
            let first = |desc: bool| {
                let q = ListQuery {
                    order: vec![(field.name, desc)],
                    filters: vec![Filter::IsNull(field.name, false)],
                    limit: 1,
                    ..ListQuery::default()
                };
                async move { m.ops.list(ex, &Default::default(), &q).await }
            };
            let year_of = |rows: Vec<DynRow>| {
                rows.first()
                    .and_then(|r| r.get_str(field.name))
                    .and_then(|s| s.get(..4))
                    .and_then(|y| y.parse::<i32>().ok())
            };
            let (Some(low), Some(high)) = (year_of(first(false).await?), year_of(first(true).await?)) else {
                return Ok(out);
            };
            for year in low..=high.min(low + 50) {
                if let (Some(from), Some(to)) = (
                    chrono::NaiveDate::from_ymd_opt(year, 1, 1),
                    chrono::NaiveDate::from_ymd_opt(year + 1, 1, 1),
                ) {
                    out.push(link(year.to_string(), from, to, false));
                }
            }
        }
        Some((from, to)) => {
            let year = from.year();
            let whole_year = from.ordinal() == 1 && to.year() == year + 1 && to.ordinal() == 1;
            if whole_year {
                for month in 1..=12 {
                    let start = chrono::NaiveDate::from_ymd_opt(year, month, 1);
                    let end = if month == 12 {
                        chrono::NaiveDate::from_ymd_opt(year + 1, 1, 1)
                    } else {
                        chrono::NaiveDate::from_ymd_opt(year, month + 1, 1)
                    };
                    if let (Some(start), Some(end)) = (start, end) {
                        out.push(link(start.format("%B %Y").to_string(), start, end, false));
                    }
                }
            } else {
                let mut day = from.with_day(1).unwrap_or(from);
                let month = day.month();
                while day.month() == month {
                    let next = day.succ_opt().unwrap_or(day);
                    out.push(link(day.format("%-d %B").to_string(), day, next, day == from && next == to));
                    if next == day {
                        break;
                    }
                    day = next;
                }
            }
        }
    }
    Ok(out)
}
