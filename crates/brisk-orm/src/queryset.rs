//! [`QuerySet`]: a lazy, chainable query over one model's rows. Nothing runs until a method
//! that takes an [`Executor`] (`all`, `get`, `count`, `update` ...) is awaited.

use std::marker::PhantomData;

use futures_util::future::BoxFuture;
use sea_query::{
    Alias, Asterisk, ExprTrait, InsertStatement, JoinType, NullOrdering, Order as SqlOrder, Query,
    SelectStatement,
};
use smallvec::SmallVec;

use crate::aggregate::Aggregates;
use crate::backend::{AtMostOne, Dialect, Executor, Found, Params, Sql, Target};
use crate::condition::{comparable, Hop, Node, Operand, Path, Q};
use crate::error::Error;
use crate::field::Field;
use crate::many::{ManyField, ManyToManyMeta};
use crate::model::{FromRow, Model};
use crate::relation::{meta_of, KeyOf, PrimaryKey, Relates};
use crate::shape::Key;
use crate::value::{ColumnKind, RowRef, SqlType, Value};

/// An order for [`QuerySet::order_by`]: `Post::created_at().desc()`.
pub struct Order<M> {
    operand: Operand,
    desc: bool,
    nullable: bool,
    nulls_first: Option<bool>,
    kind: ColumnKind,
    _model: PhantomData<fn() -> M>,
}

impl<M> Clone for Order<M> {
    fn clone(&self) -> Self {
        Order { operand: self.operand.clone(), _model: PhantomData, ..*self }
    }
}

impl<M> Order<M> {
    pub(crate) fn new(operand: Operand, desc: bool, nullable: bool, kind: ColumnKind) -> Self {
        Order { operand, desc, nullable, nulls_first: None, kind, _model: PhantomData }
    }

    /// NULLs before every value.
    pub fn nulls_first(mut self) -> Self {
        self.nulls_first = Some(true);
        self
    }

    /// NULLs after every value.
    pub fn nulls_last(mut self) -> Self {
        self.nulls_first = Some(false);
        self
    }

    fn reversed(mut self) -> Self {
        self.desc = !self.desc;
        self.nulls_first = self.nulls_first.map(|first| !first);
        self
    }

    fn apply(&self, select: &mut SelectStatement, dialect: Dialect) {
        let expr = comparable(dialect, self.kind, self.operand.to_expr(dialect));
        let order = if self.desc { SqlOrder::Desc } else { SqlOrder::Asc };
        if self.nullable {
            // PostgreSQL's rule on both backends unless asked: NULLs count as the largest.
            let first = self.nulls_first.unwrap_or(self.desc);
            let nulls = if first { NullOrdering::First } else { NullOrdering::Last };
            select.order_by_expr_with_nulls(expr, order, nulls);
        } else {
            select.order_by_expr(expr, order);
        }
    }
}

/// One `SET column = expression` of [`QuerySet::update`]; made by [`Field::set`].
pub struct Assignment<M> {
    column: &'static str,
    value: Operand,
    _model: PhantomData<fn() -> M>,
}

impl<M> Assignment<M> {
    pub(crate) fn new(column: &'static str, value: Operand) -> Self {
        Assignment { column, value, _model: PhantomData }
    }
}

/// Columns to read instead of whole rows: a tuple of fields (`(Post::id(), Post::title())`)
/// read as a tuple of their types.
pub trait Columns<M> {
    /// What one row reads as.
    type Row: FromRow;
    #[doc(hidden)]
    fn operands(&self) -> ColumnList;
}

/// The columns of a [`Columns`] tuple (with whether each is nullable, and its kind); not
/// public API.
#[doc(hidden)]
#[derive(Default)]
pub struct ColumnList(pub(crate) Vec<(Operand, bool, ColumnKind)>);

impl ColumnList {
    /// Adds `field` (what `#[derive(Values)]` generates for each struct field).
    #[doc(hidden)]
    pub fn column<M, T: SqlType>(mut self, field: Field<M, T>) -> Self {
        self.0.push((field.operand(), T::NULLABLE, field.kind()));
        self
    }
}

/// A struct read from some fields of `M` instead of whole rows (Django's `values()`, typed):
/// derive it with `#[derive(Values)]` and `#[values(model = M)]`, then read it with
/// [`QuerySet::values`]. Each struct field reads the model's field of the same name, or the
/// field `#[values(from = ...)]` names (one across a relation too); a field of another type
/// does not compile.
///
/// ```
/// use brisk_orm::prelude::*;
///
/// #[derive(Model)]
/// struct Author {
///     #[model(primary_key)]
///     id: AutoId,
///     username: String,
/// }
/// #[derive(Model)]
/// struct Post {
///     #[model(primary_key)]
///     id: AutoId,
///     title: String,
///     #[model(on_delete = Cascade)]
///     author: ForeignKey<Author>,
/// }
///
/// #[derive(Values)]
/// #[values(model = Post)]
/// struct PostTitle {
///     title: String,
///     #[values(from = Post::author().username())]
///     author: String,
/// }
///
/// # async fn demo(db: Database) -> Result<(), brisk_orm::Error> {
/// let titles: Vec<PostTitle> = Post::objects().values(&db).await?; // one query, one JOIN
/// # Ok(()) }
/// ```
///
/// A struct field whose type is not the model field's does not compile:
///
/// ```compile_fail
/// use brisk_orm::prelude::*;
///
/// #[derive(Model)]
/// struct Post {
///     #[model(primary_key)]
///     id: AutoId,
///     views: i64,
/// }
/// #[derive(Values)]
/// #[values(model = Post)]
/// struct Views {
///     views: String, // i64 in the model
/// }
/// ```
pub trait Values<M>: FromRow {
    /// The columns read, in the struct's order.
    #[doc(hidden)]
    fn columns() -> ColumnList;
}

macro_rules! columns {
    ($($name:ident $idx:tt),+) => {
        impl<M, $($name: SqlType),+> Columns<M> for ($(Field<M, $name>,)+) {
            type Row = ($($name,)+);
            fn operands(&self) -> ColumnList {
                ColumnList(vec![$((self.$idx.operand(), $name::NULLABLE, self.$idx.kind())),+])
            }
        }
    };
}

columns!(A 0);
columns!(A 0, B 1);
columns!(A 0, B 1, C 2);
columns!(A 0, B 1, C 2, D 3);
columns!(A 0, B 1, C 2, D 3, E 4);
columns!(A 0, B 1, C 2, D 3, E 4, F 5);

/// A lazy query over the rows of `M` (Django's QuerySet). Build it with `M::objects()`.
///
/// ```ignore
/// let page = Post::objects()
///     .filter(Post::title().icontains("rust") & Post::published().eq(true))
///     .exclude(Post::views().lt(10))
///     .order_by([Post::created_at().desc()])
///     .offset(20)
///     .limit(10)
///     .all(&db)
///     .await?;
/// ```
pub struct QuerySet<M> {
    /// Inline room for one: most QuerySets have one filter, and its Vec's first growth was
    /// an allocation of four (~1 KB) for every query.
    filters: SmallVec<[Node; 1]>,
    order: Option<Vec<Order<M>>>,
    limit: Option<u64>,
    offset: Option<u64>,
    /// Foreign keys whose targets come in the same query (JOIN).
    related: Vec<Hop>,
    /// Foreign keys whose targets come in one more query for all rows.
    prefetch: Vec<(Prefetched, PrefetchFn<M>)>,
    _model: PhantomData<fn() -> M>,
}

/// What a prefetch loads: a foreign key's targets, or a many-to-many field's links.
#[derive(Clone, Copy)]
enum Prefetched {
    Column(&'static str),
    Many(ManyToManyMeta),
}

type PrefetchFn<M> = for<'a> fn(&'a mut [M], Prefetched, Target<'a>) -> BoxFuture<'a, Result<(), Error>>;

fn prefetch_fn<'a, M: Model, T: Model>(
    rows: &'a mut [M],
    what: Prefetched,
    target: Target<'a>,
) -> BoxFuture<'a, Result<(), Error>> {
    Box::pin(async move {
        match what {
            Prefetched::Column(column) => {
                crate::relation::prefetch_forward::<M, T>(rows, column, target).await
            }
            Prefetched::Many(meta) => crate::many::prefetch_many::<M, T>(rows, meta, target).await,
        }
    })
}

impl<M> Clone for QuerySet<M> {
    fn clone(&self) -> Self {
        QuerySet {
            filters: self.filters.clone(),
            order: self.order.clone(),
            limit: self.limit,
            offset: self.offset,
            related: self.related.clone(),
            prefetch: self.prefetch.clone(),
            _model: PhantomData,
        }
    }
}

impl<M: Model> Default for QuerySet<M> {
    fn default() -> Self {
        QuerySet::new()
    }
}

fn table<M: Model>() -> &'static str {
    M::META.table
}

/// The INSERT of `rows` (an unset [`AutoId`](crate::AutoId) is left to the database), with
/// `RETURNING` every column.
pub(crate) fn insert_statement<M: Model>(rows: &[M]) -> InsertStatement {
    let meta = M::META;
    let skip_pk = rows.first().is_some_and(|r| r.pk_is_unset());
    let keep: Vec<bool> = meta.fields.iter().map(|f| !(skip_pk && f.primary_key)).collect();
    let mut insert = Query::insert();
    insert.into_table(table::<M>());
    insert.columns(meta.fields.iter().zip(&keep).filter(|(_, k)| **k).map(|(f, _)| f.column));
    for row in rows {
        let values =
            row.values().into_iter().zip(&keep).filter(|(_, k)| **k).map(|(v, _)| sea_query::Expr::val(v));
        insert.values_panic(values);
    }
    insert.returning(Query::returning().columns(meta.fields.iter().map(|f| f.column)));
    insert
}

/// The most rows one INSERT carries: SQLite allows 32766 parameters, PostgreSQL 65535.
fn rows_per_insert(columns: usize) -> usize {
    (30_000 / columns.max(1)).max(1)
}

impl<M: Model> QuerySet<M> {
    /// True when no filter, slice or relation narrows the rows (the whole table).
    pub(crate) fn is_whole_table(&self) -> bool {
        self.filters.is_empty() && self.limit.is_none() && self.offset.is_none()
    }

    /// Every row (ordered by the model's `ordering`, if it has one).
    #[inline]
    pub fn new() -> Self {
        QuerySet {
            filters: SmallVec::new(),
            order: None,
            limit: None,
            offset: None,
            related: Vec::new(),
            prefetch: Vec::new(),
            _model: PhantomData,
        }
    }

    /// Keeps the rows that match `q`; several `filter`s all apply.
    #[inline]
    pub fn filter(mut self, q: Q<M>) -> Self {
        self.filters.push(q.node);
        self
    }

    /// Drops the rows that match `q`.
    pub fn exclude(mut self, q: Q<M>) -> Self {
        self.filters.push(Node::Not(Box::new(q.node)));
        self
    }

    pub(crate) fn pk_operand() -> Operand {
        Operand::Column {
            table: M::META.table,
            column: M::META.primary_key().column,
            path: Path::new_empty(),
        }
    }

    pub(crate) fn filter_pk(mut self, pk: Value) -> Self {
        let lhs = Self::pk_operand();
        self.filters.push(Node::Cmp {
            lhs,
            op: crate::condition::CmpOp::Eq,
            rhs: Operand::Value(pk),
            kind: M::META.primary_key().kind,
        });
        self
    }

    pub(crate) fn filter_pk_in(mut self, keys: Vec<Value>) -> Self {
        let values = keys.into_iter().map(Operand::Value).collect();
        self.filters.push(Node::In { lhs: Self::pk_operand(), values, kind: M::META.primary_key().kind });
        self
    }

    /// Loads the rows this foreign key points at in the same query (a LEFT JOIN); then
    /// `row.author.get()` is `Some` with no further query (Django's `select_related`).
    pub fn select_related<F: SqlType + Relates>(mut self, field: Field<M, F>) -> Self {
        if field.is_direct() {
            let hop = Hop { column: field.column(), target: meta_of::<F::Target> };
            if !self.related.iter().any(|h| h.column == hop.column) {
                self.related.push(hop);
            }
        }
        self
    }

    /// Loads the rows this foreign key points at with one more query for all the rows
    /// found (`WHERE pk IN (...)`), never one per row (Django's `prefetch_related`).
    pub fn prefetch_related<F: SqlType + Relates>(mut self, field: Field<M, F>) -> Self {
        if field.is_direct() {
            self.prefetch.push((Prefetched::Column(field.column()), prefetch_fn::<M, F::Target>));
        }
        self
    }

    /// Every matching row with the rows of `M` that point at it through `field` (Django's
    /// `prefetch_related("post_set")`): two queries however many rows.
    ///
    /// ```ignore
    /// for (author, posts) in Author::objects().with_related(Post::author(), &db).await? {
    ///     println!("{} wrote {}", author.username, posts.len());
    /// }
    /// ```
    pub async fn with_related<R: Model, F: SqlType + Relates<Target = M>>(
        &self,
        field: Field<R, F>,
        ex: &impl Executor,
    ) -> Result<Vec<(M, Vec<R>)>, Error> {
        let owners = self.all(ex).await?;
        let keys: Vec<Value> = owners.iter().filter_map(|o| o.pk().key()).map(|k| k.to_value()).collect();
        let mut referrers = if keys.is_empty() || !field.is_direct() {
            Vec::new()
        } else {
            let q = Q::new(Node::In {
                lhs: field.operand(),
                values: keys.into_iter().map(Operand::Value).collect(),
                kind: field.kind(),
            });
            QuerySet::<R>::new().filter(q).all(ex).await?
        };
        let mut by_key: std::collections::HashMap<KeyOf<M>, Vec<R>> = std::collections::HashMap::new();
        for row in referrers.drain(..) {
            let mut row = row;
            let key = row.related_mut(field.column()).and_then(crate::relation::key_in::<M>);
            if let Some(key) = key {
                by_key.entry(key).or_default().push(row);
            }
        }
        Ok(owners
            .into_iter()
            .map(|o| {
                let rows = o.pk().key().and_then(|k| by_key.remove(&k)).unwrap_or_default();
                (o, rows)
            })
            .collect())
    }

    /// Loads a many-to-many field's linked rows with one more query for all the rows found
    /// (then `post.tags.get()` is `Some`).
    pub fn prefetch_many<T: Model>(mut self, field: ManyField<M, T>) -> Self {
        self.prefetch.push((Prefetched::Many(*field.meta()), prefetch_fn::<M, T>));
        self
    }

    /// Orders by these fields, replacing any earlier order and the model's `ordering`.
    pub fn order_by(mut self, order: impl IntoIterator<Item = Order<M>>) -> Self {
        self.order = Some(order.into_iter().collect());
        self
    }

    /// At most `n` rows.
    pub fn limit(mut self, n: u64) -> Self {
        self.limit = Some(n);
        self
    }

    /// Skips the first `n` rows.
    pub fn offset(mut self, n: u64) -> Self {
        self.offset = Some(n);
        self
    }

    /// The order in force: the explicit one, else the model's `ordering`, else none.
    fn orders(&self) -> Vec<Order<M>> {
        if let Some(order) = &self.order {
            return order.clone();
        }
        let meta = M::META;
        meta.ordering
            .iter()
            .filter_map(|spec| {
                let (desc, name) = match spec.strip_prefix('-') {
                    Some(name) => (true, name),
                    None => (false, *spec),
                };
                let field = meta.field(name)?;
                let operand =
                    Operand::Column { table: meta.table, column: field.column, path: Path::new_empty() };
                Some(Order::new(operand, desc, field.nullable, field.kind))
            })
            .collect()
    }

    /// The order for `first` and `last` when none is set: the primary key.
    pub(crate) fn orders_or_pk(&self) -> Vec<Order<M>> {
        let orders = self.orders();
        if !orders.is_empty() {
            return orders;
        }
        let pk = M::META.primary_key();
        let operand = Operand::Column { table: M::META.table, column: pk.column, path: Path::new_empty() };
        vec![Order::new(operand, false, false, pk.kind)]
    }

    fn condition(&self, dialect: Dialect) -> Option<sea_query::Expr> {
        self.filters.iter().map(|n| n.to_expr(dialect)).reduce(|a, b| a.and(b))
    }

    /// LEFT JOINs for every relation the columns, filters and orders follow, each once,
    /// parents first.
    fn add_joins(&self, select: &mut SelectStatement, columns: &[Operand], orders: &[Order<M>]) {
        let mut paths = Vec::new();
        columns.iter().for_each(|c| c.paths(&mut paths));
        self.filters.iter().for_each(|n| n.paths(&mut paths));
        orders.iter().for_each(|o| o.operand.paths(&mut paths));
        let mut joined: Vec<String> = Vec::new();
        for path in paths {
            for (i, hop) in path.hops().enumerate() {
                let target = (hop.target)();
                let alias = path.alias(i + 1);
                if !joined.contains(&alias) {
                    let from = if i == 0 { M::META.table.to_owned() } else { path.alias(i) };
                    let on = sea_query::Expr::col((Alias::new(alias.clone()), target.primary_key().column))
                        .equals((from, hop.column));
                    select.join_as(JoinType::LeftJoin, target.table, Alias::new(alias.clone()), on);
                    joined.push(alias);
                }
            }
        }
    }

    pub(crate) fn select_with(
        &self,
        dialect: Dialect,
        columns: Vec<Operand>,
        orders: &[Order<M>],
    ) -> SelectStatement {
        self.select_exprs(dialect, columns, &[], orders)
    }

    /// The SELECT of `columns` with this QuerySet's filters, `orders` and slice, JOINed for
    /// every relation they (and `also`) follow.
    fn select_exprs(
        &self,
        dialect: Dialect,
        columns: Vec<Operand>,
        also: &[Operand],
        orders: &[Order<M>],
    ) -> SelectStatement {
        let mut select = Query::select();
        select.from(table::<M>());
        let mut joined_by = columns.clone();
        joined_by.extend(also.iter().cloned());
        self.add_joins(&mut select, &joined_by, orders);
        for c in columns {
            select.expr(c.to_expr(dialect));
        }
        if let Some(cond) = self.condition(dialect) {
            select.and_where(cond);
        }
        for order in orders {
            order.apply(&mut select, dialect);
        }
        match (self.limit, self.offset) {
            (Some(limit), offset) => {
                select.limit(limit);
                if let Some(offset) = offset {
                    select.offset(offset);
                }
            }
            // SQLite needs a LIMIT before an OFFSET.
            (None, Some(offset)) => {
                select.limit(i64::MAX as u64).offset(offset);
            }
            (None, None) => {}
        }
        select
    }

    fn all_columns() -> Vec<Operand> {
        let meta = M::META;
        let direct = Path::new_empty();
        meta.fields
            .iter()
            .map(|f| Operand::Column { table: meta.table, column: f.column, path: direct })
            .collect()
    }

    /// The model's columns, then those of each `select_related` target.
    fn columns_with_related(&self) -> Vec<Operand> {
        let mut columns = Self::all_columns();
        for hop in &self.related {
            let target = (hop.target)();
            let path = Path::new_empty().then(*hop, Path::new_empty());
            columns.extend(target.fields.iter().map(|f| Operand::Column {
                table: target.table,
                column: f.column,
                path,
            }));
        }
        columns
    }

    /// Runs a SELECT of [`Self::columns_with_related`] and reads each row with its related
    /// rows, then runs the prefetches.
    async fn fetch_models(
        &self,
        target: Target<'_>,
        (sql, values): (Sql, Params<'_>),
    ) -> Result<Vec<M>, Error> {
        let mut rows = target.fetch_sql(false, sql, values, self.reader()).await?;
        self.prefetch_into(&mut rows, target).await?;
        Ok(rows)
    }

    /// Runs the prefetches for `rows`.
    async fn prefetch_into(&self, rows: &mut [M], target: Target<'_>) -> Result<(), Error> {
        for (what, run) in &self.prefetch {
            run(rows, *what, target).await?;
        }
        Ok(())
    }

    /// The SQL and values of a query, from the shape cache when the query is simple (filters
    /// that compare the model's own columns with values, plain orders): see [`crate::shape`].
    fn shaped(
        &self,
        dialect: Dialect,
        what: &str,
        limit: Option<u64>,
        orders: &[Order<M>],
        build: impl FnOnce() -> (String, Vec<Value>),
    ) -> (Sql, Params<'static>) {
        let (sql, values) =
            crate::shape::sql(|key, values| self.shape(key, values, dialect, what, limit, orders), build);
        (sql, values.into())
    }

    /// True when a top-level filter says `pk = value` (and the query is not sliced).
    fn pins_primary_key(&self) -> bool {
        let pk = M::META.primary_key().column;
        self.limit.is_none()
            && self.offset.is_none()
            && self.filters.iter().any(|n| {
                matches!(n, Node::Cmp { lhs: Operand::Column { column, path, .. }, op: crate::condition::CmpOp::Eq, rhs: Operand::Value(_), .. }
                    if *column == pk && path.len() == 0)
            })
    }

    /// The value and kind of the primary key when this QuerySet is `filter(pk = value)` and
    /// nothing else: `get` finds that query's SQL by the model alone.
    fn only_primary_key(&self) -> Option<(&Value, ColumnKind)> {
        if self.limit.is_some()
            || self.offset.is_some()
            || !self.related.is_empty()
            || !self.prefetch.is_empty()
        {
            return None;
        }
        match self.filters.as_slice() {
            [Node::Cmp {
                lhs: Operand::Column { column, path, .. },
                op: crate::condition::CmpOp::Eq,
                rhs: Operand::Value(value),
                kind,
            }] if *column == M::META.primary_key().column && path.len() == 0 => Some((value, *kind)),
            _ => None,
        }
    }

    /// Writes the shape key of a simple query and collects its values in binding order, or
    /// returns `None` (not simple). The key holds everything the SQL depends on: the model
    /// (its type's name: the table alone would let two models of one table share their SQL,
    /// with their different columns), the dialect, what runs, each filter's column, operator
    /// and column kind, the orders, and how LIMIT and OFFSET are written.
    fn shape(
        &self,
        key: &mut Key<'_>,
        values: &mut Vec<Value>,
        dialect: Dialect,
        what: &str,
        limit: Option<u64>,
        orders: &[Order<M>],
    ) -> Option<()> {
        let fixed = matches!(what, "get" | "first");
        if !self.related.is_empty() {
            return None;
        }
        key.name(std::any::type_name::<M>()).tag(dialect as u8).name(what);
        let direct = |o: &Operand| match o {
            Operand::Column { column, path, .. } if path.len() == 0 => Some(*column),
            _ => None,
        };
        for node in &self.filters {
            match node {
                Node::Cmp { lhs, op, rhs: Operand::Value(v), kind } => {
                    key.tag(b'c').name(direct(lhs)?).tag(*op as u8).tag(*kind as u8);
                    values.push(v.clone());
                }
                Node::IsNull { lhs, is_null } => {
                    key.tag(b'n').name(direct(lhs)?).tag(u8::from(*is_null));
                }
                Node::In { lhs, values: list, kind } => {
                    key.tag(b'i').name(direct(lhs)?).number(Some(list.len() as u64)).tag(*kind as u8);
                    for v in list {
                        match v {
                            Operand::Value(v) => values.push(v.clone()),
                            _ => return None,
                        }
                    }
                }
                _ => return None,
            }
        }
        for o in orders {
            let nulls = match o.nulls_first {
                None => 0,
                Some(false) => 1,
                Some(true) => 2,
            };
            key.tag(b'o').name(direct(&o.operand)?);
            key.tag(u8::from(o.desc)).tag(nulls).tag(u8::from(o.nullable)).tag(o.kind as u8);
        }
        key.tag(b'l');
        match dialect {
            // SQLite's LIMIT and OFFSET are written into the SQL (build_select).
            Dialect::Sqlite => {
                key.number(limit).number(self.offset);
            }
            // A fixed limit (get, first) without an offset is written into the SQL there too.
            Dialect::Postgres if fixed && self.offset.is_none() => {
                key.tag(0).number(limit);
            }
            Dialect::Postgres => {
                key.tag(1).tag(u8::from(limit.is_some())).tag(u8::from(self.offset.is_some()));
                match (limit, self.offset) {
                    (Some(limit), offset) => {
                        values.push(Value::BigUnsigned(Some(limit)));
                        values.extend(offset.map(|o| Value::BigUnsigned(Some(o))));
                    }
                    (None, Some(offset)) => {
                        values.push(Value::BigUnsigned(Some(i64::MAX as u64)));
                        values.push(Value::BigUnsigned(Some(offset)));
                    }
                    (None, None) => {}
                }
            }
        }
        Some(())
    }

    /// Reads a row of [`Self::columns_with_related`]: the model, then each JOINed target.
    fn reader(&self) -> impl Fn(&RowRef<'_>) -> Result<M, Error> + Send + Sync + 'static {
        let mut fills = Vec::new();
        let mut offset = M::META.fields.len();
        for hop in &self.related {
            fills.push((hop.column, offset));
            offset += (hop.target)().fields.len();
        }
        move |row: &RowRef<'_>| {
            let mut model = M::from_row(row)?;
            for (column, offset) in &fills {
                model.fill_related(column, &row.shifted(*offset))?;
            }
            Ok(model)
        }
    }

    /// Every matching row as a stream, each read as the database sends it, so outside a
    /// transaction memory stays bounded however large the result (`select_related` applies;
    /// `prefetch_related` needs every row at once and does not).
    ///
    /// A consumer that stops reading holds up nobody else's queries. On SQLite a reader
    /// thread is busy until the stream ends or is dropped, and waits while the consumer is
    /// slow. On PostgreSQL the rows come on a connection of the transaction pool's (see
    /// [`DbOptions::transactions`](crate::DbOptions::transactions)), not the shared one, given
    /// back once the stream has yielded its last row or the server's error (dropped before,
    /// its query is cancelled and the connection closed). An error of the database ends the
    /// stream (it is the last item); a row that does not read into the model is an error item
    /// and the rows after it still come. Inside a transaction, and on an in-memory SQLite database (whose one thread
    /// is the writer), the rows are read as they come and those not consumed yet wait in
    /// memory, so the next statement never waits behind them. A stream first read after its
    /// transaction ended yields one [`Error::Database`] ("the transaction has already
    /// ended") and runs nothing.
    ///
    /// ```ignore
    /// use futures_util::StreamExt;
    /// let mut rows = Post::objects().stream(&db);
    /// while let Some(post) = rows.next().await {
    ///     let post = post?;
    /// }
    /// ```
    pub fn stream(&self, ex: &impl Executor) -> futures_util::stream::BoxStream<'static, Result<M, Error>> {
        let target = ex.target();
        let (sql, values) = target.dialect().build_select(&self.select(target.dialect()));
        target.stream_with(sql, values, self.reader())
    }

    fn select(&self, dialect: Dialect) -> SelectStatement {
        self.select_with(dialect, self.columns_with_related(), &self.orders())
    }

    /// The SELECT this QuerySet runs, with its values written in (for reading and logs; the
    /// query itself always binds them).
    pub fn sql(&self, dialect: Dialect) -> String {
        match dialect {
            Dialect::Sqlite => self.select(dialect).to_string(sea_query::SqliteQueryBuilder),
            Dialect::Postgres => self.select(dialect).to_string(sea_query::PostgresQueryBuilder),
        }
    }

    /// Every matching row.
    pub async fn all(&self, ex: &impl Executor) -> Result<Vec<M>, Error> {
        self.all_on(ex.target()).await
    }

    pub(crate) async fn all_on(&self, target: Target<'_>) -> Result<Vec<M>, Error> {
        let dialect = target.dialect();
        let orders = self.orders();
        let query = self.shaped(dialect, "all", self.limit, &orders, || {
            dialect.build_select(&self.select_with(dialect, self.columns_with_related(), &orders))
        });
        self.fetch_models(target, query).await
    }

    /// Only these columns of every matching row, as tuples (Django's `values_list`).
    ///
    /// ```ignore
    /// let names: Vec<(i64, String)> = Item::objects().values_list((Item::id(), Item::name()), &db).await?;
    /// ```
    pub async fn values_list<C: Columns<M>>(
        &self,
        columns: C,
        ex: &impl Executor,
    ) -> Result<Vec<C::Row>, Error> {
        let target = ex.target();
        let operands = columns.operands().0.into_iter().map(|(o, _, _)| o).collect();
        let select = self.select_with(target.dialect(), operands, &self.orders());
        let (sql, values) = target.dialect().build_select(&select);
        target.fetch(false, sql, values).await
    }

    /// Only the fields of the struct `V` (see [`Values`]) of every matching row.
    ///
    /// ```ignore
    /// let titles: Vec<PostTitle> = Post::objects().filter(Post::published().eq(true)).values(&db).await?;
    /// ```
    pub async fn values<V: Values<M>>(&self, ex: &impl Executor) -> Result<Vec<V>, Error> {
        let target = ex.target();
        let operands = V::columns().0.into_iter().map(|(o, _, _)| o).collect();
        let select = self.select_with(target.dialect(), operands, &self.orders());
        let (sql, values) = target.dialect().build_select(&select);
        target.fetch(false, sql, values).await
    }

    /// Aggregates over every matching row, in one row (Django's `aggregate`).
    ///
    /// ```ignore
    /// use brisk_orm::aggregate::count;
    /// let (n, total, mean): (i64, Option<i64>, Option<f64>) =
    ///     Post::objects().aggregate((count(), Post::views().sum(), Post::views().avg()), &db).await?;
    /// ```
    ///
    /// A sliced QuerySet (`limit`, `offset`) is refused: say which rows with a filter.
    pub async fn aggregate<A: Aggregates<M>>(
        &self,
        aggregates: A,
        ex: &impl Executor,
    ) -> Result<A::Row, Error> {
        if self.limit.is_some() || self.offset.is_some() {
            return Err(Error::Config("aggregate() over a sliced QuerySet: filter the rows instead".into()));
        }
        let target = ex.target();
        let dialect = target.dialect();
        let parts = aggregates.parts(dialect);
        let mut select = Query::select();
        select.from(table::<M>());
        self.add_joins(&mut select, &parts.operands, &[]);
        select.exprs(parts.exprs);
        if let Some(cond) = self.condition(dialect) {
            select.and_where(cond);
        }
        let (sql, values) = dialect.build_select(&select);
        let mut rows: Vec<A::Row> = target.fetch(false, sql, values).await?;
        rows.pop().ok_or(Error::DoesNotExist { model: M::META.name })
    }

    /// Aggregates per group of `columns` (Django's `values(...).annotate(...)`): one row per
    /// distinct value of the columns, ordered by them unless `order_by` says otherwise;
    /// `limit` and `offset` apply to the groups.
    ///
    /// ```ignore
    /// let per_author: Vec<((i64,), (i64,))> =
    ///     Post::objects().group_by((Post::author(),), (count(),), &db).await?;
    /// ```
    pub async fn group_by<C: Columns<M>, A: Aggregates<M>>(
        &self,
        columns: C,
        aggregates: A,
        ex: &impl Executor,
    ) -> Result<Vec<(C::Row, A::Row)>, Error> {
        let target = ex.target();
        let dialect = target.dialect();
        let group = columns.operands().0;
        let width = group.len();
        let orders: Vec<Order<M>> = match &self.order {
            Some(order) => order.clone(),
            None => group
                .iter()
                .map(|(o, nullable, kind)| Order::new(o.clone(), false, *nullable, *kind))
                .collect(),
        };
        let parts = aggregates.parts(dialect);
        let group: Vec<Operand> = group.into_iter().map(|(o, _, _)| o).collect();
        let mut select = self.select_exprs(dialect, group.clone(), &parts.operands, &orders);
        select.exprs(parts.exprs);
        select.add_group_by(group.iter().map(|o| o.to_expr(dialect)));
        let (sql, values) = dialect.build_select(&select);
        let read =
            move |row: &RowRef<'_>| Ok((C::Row::from_row(row)?, A::Row::from_row(&row.shifted(width))?));
        target.fetch_with(false, sql, values, read).await
    }

    /// The first row in order (by primary key when no order is set), if any.
    pub async fn first(&self, ex: &impl Executor) -> Result<Option<M>, Error> {
        let target = ex.target();
        let dialect = target.dialect();
        let orders = self.orders_or_pk();
        let query = self.shaped(dialect, "first", Some(1), &orders, || {
            let mut one = self.clone();
            one.limit = Some(1);
            dialect.build_select_fixed_limit(&one.select_with(dialect, self.columns_with_related(), &orders))
        });
        Ok(self.fetch_models(target, query).await?.into_iter().next())
    }

    /// The last row in order (by primary key when no order is set), if any.
    pub async fn last(&self, ex: &impl Executor) -> Result<Option<M>, Error> {
        let reversed: Vec<Order<M>> = self.orders_or_pk().into_iter().map(Order::reversed).collect();
        self.clone().order_by(reversed).first(ex).await
    }

    /// The one matching row: [`Error::DoesNotExist`] when there is none,
    /// [`Error::MultipleObjectsReturned`] when there are more.
    pub async fn get(&self, ex: &impl Executor) -> Result<M, Error> {
        let target = ex.target();
        let dialect = target.dialect();
        // A filter on the primary key's value finds one row at most: no LIMIT to plan then.
        // `only_primary_key` implies `pins_primary_key`; asked first, it spares the scan.
        let only_primary_key = self.only_primary_key();
        let limit = if only_primary_key.is_some() || self.pins_primary_key() { self.limit } else { Some(2) };
        let build = || {
            let mut two = self.clone();
            two.limit = limit;
            dialect.build_select_fixed_limit(&two.select_with(dialect, self.columns_with_related(), &[]))
        };
        let query = match only_primary_key {
            Some((value, kind)) => crate::shape::by_primary_key::<M>(dialect as u8, kind as u8, value, build),
            None => self.shaped(dialect, "get", limit, &[], build),
        };
        let (sql, values) = query;
        // By its primary key and nothing else, a second row cannot come (unless it is a
        // decimal: SQLite's unique index tells 1.1 from 1.10, its comparison here does not).
        let unique = only_primary_key.is_some_and(|(_, kind)| kind != ColumnKind::Decimal);
        let out = AtMostOne::new(unique);
        match target.collect_sql(false, sql, values, self.reader(), out).await?.found {
            Found::One(mut row) => {
                self.prefetch_into(std::slice::from_mut(&mut row), target).await?;
                Ok(row)
            }
            Found::Zero => Err(Error::DoesNotExist { model: M::META.name }),
            Found::Many => Err(Error::MultipleObjectsReturned { model: M::META.name }),
        }
    }

    /// The one matching row, or FastAPI's 404 (`{"detail": "Post not found"}`).
    pub async fn get_or_404(&self, ex: &impl Executor) -> Result<M, brisk::Error> {
        self.get(ex).await.map_err(Error::into_http)
    }

    /// How many rows match (after `offset` and `limit`).
    pub async fn count(&self, ex: &impl Executor) -> Result<i64, Error> {
        let target = ex.target();
        let dialect = target.dialect();
        let select = if self.limit.is_some() || self.offset.is_some() {
            let inner = self.select_with(dialect, vec![Operand::Literal("1")], &[]);
            let mut outer = Query::select();
            outer.expr(sea_query::Expr::col(Asterisk).count()).from_subquery(inner, "brisk_counted");
            outer
        } else {
            let build = || {
                let mut select = Query::select();
                select.expr(sea_query::Expr::col(Asterisk).count()).from(table::<M>());
                self.add_joins(&mut select, &[], &[]);
                if let Some(cond) = self.condition(dialect) {
                    select.and_where(cond);
                }
                dialect.build_select(&select)
            };
            let (sql, values) = self.shaped(dialect, "count", None, &[], build);
            let rows = target.fetch_sql(false, sql, values, <(i64,)>::from_row).await?;
            return Ok(rows.first().map_or(0, |r| r.0));
        };
        let (sql, values) = dialect.build_select(&select);
        let rows: Vec<(i64,)> = target.fetch(false, sql, values).await?;
        Ok(rows.first().map_or(0, |r| r.0))
    }

    /// Whether any row matches.
    pub async fn exists(&self, ex: &impl Executor) -> Result<bool, Error> {
        let target = ex.target();
        let mut one = self.clone();
        one.limit = Some(1);
        let select = one.select_with(target.dialect(), vec![Operand::Literal("1")], &[]);
        let (sql, values) = target.dialect().build_select_fixed_limit(&select);
        let rows: Vec<(i32,)> = target.fetch(false, sql, values).await?;
        Ok(!rows.is_empty())
    }

    /// The condition that picks this QuerySet's rows for an UPDATE or DELETE: its filters, or
    /// (when sliced, or following relations) `pk IN (the SELECT)`.
    fn write_condition(&self, dialect: Dialect) -> Option<sea_query::Expr> {
        let mut paths = Vec::new();
        self.filters.iter().for_each(|n| n.paths(&mut paths));
        if self.limit.is_none() && self.offset.is_none() && paths.is_empty() {
            return self.condition(dialect);
        }
        let pk = M::META.primary_key().column;
        let inner = self.select_with(dialect, vec![Self::pk_operand()], &self.orders());
        Some(sea_query::Expr::col((table::<M>(), pk)).in_subquery(inner))
    }

    /// Deletes every matching row; returns how many.
    pub async fn delete(&self, ex: &impl Executor) -> Result<u64, Error> {
        let target = ex.target();
        let dialect = target.dialect();
        let mut delete = Query::delete();
        delete.from_table(table::<M>());
        if let Some(cond) = self.write_condition(dialect) {
            delete.and_where(cond);
        }
        let (sql, values) = dialect.build(&delete);
        target.execute(sql, values).await
    }

    /// Sets fields on every matching row in one statement; returns how many rows.
    ///
    /// ```ignore
    /// Post::objects().filter(Post::id().eq(7)).update([Post::views().set(Post::views() + 1)], &db).await?;
    /// ```
    pub async fn update(
        &self,
        assignments: impl IntoIterator<Item = Assignment<M>>,
        ex: &impl Executor,
    ) -> Result<u64, Error> {
        let target = ex.target();
        let dialect = target.dialect();
        let mut update = Query::update();
        update.table(table::<M>());
        let mut any = false;
        for a in assignments {
            update.value(a.column, a.value.to_expr(dialect));
            any = true;
        }
        if !any {
            return self.count(ex).await.map(|n| n as u64);
        }
        if let Some(cond) = self.write_condition(dialect) {
            update.and_where(cond);
        }
        let (sql, values) = dialect.build(&update);
        target.execute(sql, values).await
    }

    /// Inserts `row` and returns it as stored (with its id and database-filled fields). An
    /// [`AutoId`](crate::AutoId) is always assigned by the database, even when the row (a
    /// request body, say) carried one; to insert a row with a chosen id, `save` it.
    pub async fn create(&self, mut row: M, ex: &impl Executor) -> Result<M, Error> {
        row.unset_pk();
        row.touch(true);
        let target = ex.target();
        let (sql, values) = target.dialect().build(&insert_statement(std::slice::from_ref(&row)));
        let rows: Vec<M> = target.fetch(true, sql, values).await?;
        rows.into_iter().next().ok_or(Error::DoesNotExist { model: M::META.name })
    }

    /// Inserts many rows in as few statements as the parameter limits allow; returns them as
    /// stored, in the same order. As with [`QuerySet::create`], the database assigns every
    /// [`AutoId`](crate::AutoId).
    pub async fn bulk_create(&self, rows: Vec<M>, ex: &impl Executor) -> Result<Vec<M>, Error> {
        let target = ex.target();
        let dialect = target.dialect();
        let chunk = rows_per_insert(M::META.fields.len());
        let mut stored = Vec::with_capacity(rows.len());
        let mut rows = rows;
        for row in &mut rows {
            row.unset_pk();
            row.touch(true);
        }
        for batch in rows.chunks(chunk) {
            let (sql, values) = dialect.build(&insert_statement(batch));
            stored.extend(target.fetch::<M>(true, sql, values).await?);
        }
        Ok(stored)
    }

    /// The one matching row, or `make()` inserted; `true` when it was inserted. When another
    /// request inserts the same unique row at the same moment, its row is returned. In a
    /// transaction the insert runs in a savepoint (as Django's does): on PostgreSQL a unique
    /// violation fails the transaction, and neither that other row nor anything after could
    /// be read; the savepoint takes the failure with it.
    pub async fn get_or_create(
        &self,
        make: impl FnOnce() -> M,
        ex: &impl Executor,
    ) -> Result<(M, bool), Error> {
        match self.get(ex).await {
            Ok(row) => Ok((row, false)),
            Err(Error::DoesNotExist { .. }) => {
                let row = make();
                let created = match ex.target() {
                    Target::Tx(tx) => tx.atomic(|sp| async move { self.create(row, &sp).await }).await,
                    Target::Db(_) => self.create(row, ex).await,
                };
                match created {
                    Ok(row) => Ok((row, true)),
                    Err(Error::UniqueViolation { .. }) => Ok((self.get(ex).await?, false)),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Updates the matching row with `assignments`, or inserts `make()` when there is none;
    /// returns the row and `true` when it was inserted.
    pub async fn update_or_create(
        &self,
        assignments: impl IntoIterator<Item = Assignment<M>>,
        make: impl FnOnce() -> M,
        ex: &impl Executor,
    ) -> Result<(M, bool), Error> {
        if self.update(assignments, ex).await? > 0 {
            return Ok((self.get(ex).await?, false));
        }
        self.get_or_create(make, ex).await
    }
}
