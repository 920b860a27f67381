//! [`Field`]: a typed path to a column (`Post::title()`), whose methods are Django's lookups,
//! and [`Expr`], a value or a column expression of the same type (Django's `F`).
//!
//! A lookup's argument must have the field's type:
//!
//! ```compile_fail
//! use brisk_orm::prelude::*;
//!
//! #[derive(Model)]
//! struct Post {
//!     #[model(primary_key)]
//!     id: AutoId,
//!     views: i64,
//! }
//!
//! let q = Post::views().gt("ten"); // a string for an integer field: refused at compile time
//! ```
//!
//! and a field of another model does not filter this one:
//!
//! ```compile_fail
//! use brisk_orm::prelude::*;
//!
//! #[derive(Model)]
//! struct Post {
//!     #[model(primary_key)]
//!     id: AutoId,
//! }
//! #[derive(Model)]
//! struct Tag {
//!     #[model(primary_key)]
//!     id: AutoId,
//! }
//!
//! let posts = Post::objects().filter(Tag::id().eq(1));
//! ```
//!
//! while the right types compile:
//!
//! ```
//! use brisk_orm::prelude::*;
//!
//! #[derive(Model)]
//! struct Post {
//!     #[model(primary_key)]
//!     id: AutoId,
//!     views: i64,
//! }
//!
//! let posts = Post::objects().filter(Post::views().gt(10) & Post::id().eq(1));
//! ```

use std::marker::PhantomData;

use crate::condition::{CmpOp, DatePart, Hop, Node, Operand, Path, TextOp, Q};
use crate::queryset::{Assignment, Order};
use crate::relation::Relates;
use crate::value::{ColumnKind, Ordered, SqlType, Value};

/// A column of model `M` holding `T`. Made by `#[derive(Model)]`: `Post::title()`.
pub struct Field<M, T> {
    table: &'static str,
    column: &'static str,
    path: Path,
    part: Option<DatePart>,
    _types: PhantomData<fn() -> (M, T)>,
}

impl<M, T> Clone for Field<M, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<M, T> Copy for Field<M, T> {}

impl<M, T> std::fmt::Debug for Field<M, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.table, self.column)
    }
}

/// A typed SQL expression over model `M`'s columns: a value, a column, or arithmetic on
/// them (`Post::views() + 1`). Lookups and updates take `impl Into<Expr<M, T>>`, so a plain
/// value of the field's type works wherever an expression does.
pub struct Expr<M, T> {
    pub(crate) operand: Operand,
    _types: PhantomData<fn() -> (M, T)>,
}

impl<M, T> Expr<M, T> {
    fn new(operand: Operand) -> Self {
        Expr { operand, _types: PhantomData }
    }
}

impl<M, T: SqlType> Expr<M, T> {
    /// The expression of a value (what `#[derive(Choice)]` calls).
    #[doc(hidden)]
    pub fn value_of(v: &T) -> Self {
        Expr::new(Operand::Value(v.to_value()))
    }
}

impl<M, T> Clone for Expr<M, T> {
    fn clone(&self) -> Self {
        Expr::new(self.operand.clone())
    }
}

impl<M, T: SqlType> From<Field<M, T>> for Expr<M, T::Inner> {
    fn from(field: Field<M, T>) -> Self {
        Expr::new(field.operand())
    }
}

macro_rules! value_into_expr {
    ($($from:ty => $to:ty),* $(,)?) => {$(
        impl<M> From<$from> for Expr<M, $to> {
            fn from(v: $from) -> Self {
                let v: $to = v.into();
                Expr::new(Operand::Value(v.to_value()))
            }
        }
    )*};
}

value_into_expr!(
    bool => bool,
    i16 => i16,
    i16 => i32,
    i32 => i32,
    i16 => i64,
    i32 => i64,
    i64 => i64,
    f64 => f64,
    f32 => f64,
    i32 => f64,
    String => String,
    &str => String,
    Vec<u8> => Vec<u8>,
    crate::DateTime => crate::DateTime,
    crate::Date => crate::Date,
    crate::Uuid => crate::Uuid,
    crate::Time => crate::Time,
    crate::Duration => crate::Duration,
    crate::Decimal => crate::Decimal,
);

impl<M, T: SqlType> From<&T> for Expr<M, T> {
    fn from(v: &T) -> Self {
        Expr::new(Operand::Value(v.to_value()))
    }
}

macro_rules! arithmetic {
    ($($trait:ident $method:ident $op:literal),*) => {$(
        impl<M, T: SqlType, R: Into<Expr<M, T>>> std::ops::$trait<R> for Expr<M, T> {
            type Output = Expr<M, T>;
            fn $method(self, rhs: R) -> Expr<M, T> {
                Expr::new(Operand::Binary(Box::new(self.operand), $op, Box::new(rhs.into().operand), T::KIND))
            }
        }
        impl<M, T: SqlType, R: Into<Expr<M, T::Inner>>> std::ops::$trait<R> for Field<M, T> {
            type Output = Expr<M, T::Inner>;
            fn $method(self, rhs: R) -> Expr<M, T::Inner> {
                let kind = self.kind();
                Expr::new(Operand::Binary(Box::new(self.operand()), $op, Box::new(rhs.into().operand), kind))
            }
        }
    )*};
}

arithmetic!(Add add "+", Sub sub "-", Mul mul "*", Div div "/");

impl<M, T: SqlType> Field<M, T> {
    /// The field of `table` stored in `column` (what the derive calls).
    #[doc(hidden)]
    pub const fn new(table: &'static str, column: &'static str) -> Self {
        Field { table, column, path: Path::new_empty(), part: None, _types: PhantomData }
    }

    /// The column's name.
    pub fn column(&self) -> &'static str {
        self.column
    }

    /// True for a column of the model itself, not reached through a relation.
    pub(crate) fn is_direct(&self) -> bool {
        self.path.len() == 0 && self.part.is_none()
    }

    /// This column as an expression, to call [`Expr::lower`] on, say.
    pub fn expr(self) -> Expr<M, T::Inner> {
        self.into()
    }

    pub(crate) fn operand(&self) -> Operand {
        let column = Operand::Column { table: self.table, column: self.column, path: self.path };
        match self.part {
            Some(part) => Operand::Part(Box::new(column), part),
            None => column,
        }
    }

    /// The kind of what this field yields (a date part is an integer).
    pub(crate) fn kind(&self) -> ColumnKind {
        match self.part {
            Some(_) => ColumnKind::Int,
            None => T::KIND,
        }
    }

    fn cmp(self, op: CmpOp, rhs: impl Into<Expr<M, T::Inner>>) -> Q<M> {
        Q::new(Node::Cmp { lhs: self.operand(), op, rhs: rhs.into().operand, kind: self.kind() })
    }

    /// `= value` (Django's `exact`).
    pub fn eq(self, value: impl Into<Expr<M, T::Inner>>) -> Q<M> {
        self.cmp(CmpOp::Eq, value)
    }

    /// `<> value`; a NULL column matches neither `eq` nor `ne`, as in SQL.
    pub fn ne(self, value: impl Into<Expr<M, T::Inner>>) -> Q<M> {
        self.cmp(CmpOp::Ne, value)
    }

    /// One of `values` (Django's `in`); an empty list matches nothing.
    pub fn is_in<V: Into<Expr<M, T::Inner>>>(self, values: impl IntoIterator<Item = V>) -> Q<M> {
        let values = values.into_iter().map(|v| v.into().operand).collect();
        Q::new(Node::In { lhs: self.operand(), values, kind: self.kind() })
    }

    /// `IS NULL` when `true`, `IS NOT NULL` when `false`.
    pub fn isnull(self, is_null: bool) -> Q<M> {
        Q::new(Node::IsNull { lhs: self.operand(), is_null })
    }

    /// Sets this field in [`QuerySet::update`](crate::QuerySet::update): a value, or an
    /// expression (`Post::views().set(Post::views() + 1)`).
    pub fn set(self, value: impl Into<Expr<M, T::Inner>>) -> Assignment<M> {
        Assignment::new(self.column, value.into().operand)
    }

    /// Sets this nullable field to NULL in an update.
    pub fn set_null(self) -> Assignment<M> {
        Assignment::new(self.column, Operand::Value(T::null()))
    }

    /// Ascending order; NULLs last, as PostgreSQL orders them, on both backends.
    pub fn asc(self) -> Order<M> {
        Order::new(self.operand(), false, T::NULLABLE, self.kind())
    }

    /// Descending order; NULLs first, as PostgreSQL orders them, on both backends.
    pub fn desc(self) -> Order<M> {
        Order::new(self.operand(), true, T::NULLABLE, self.kind())
    }
}

impl<M, T: SqlType> Field<M, T>
where
    T::Inner: Ordered,
{
    /// `> value`.
    pub fn gt(self, value: impl Into<Expr<M, T::Inner>>) -> Q<M> {
        self.cmp(CmpOp::Gt, value)
    }
    /// `>= value`.
    pub fn gte(self, value: impl Into<Expr<M, T::Inner>>) -> Q<M> {
        self.cmp(CmpOp::Gte, value)
    }
    /// `< value`.
    pub fn lt(self, value: impl Into<Expr<M, T::Inner>>) -> Q<M> {
        self.cmp(CmpOp::Lt, value)
    }
    /// `<= value`.
    pub fn lte(self, value: impl Into<Expr<M, T::Inner>>) -> Q<M> {
        self.cmp(CmpOp::Lte, value)
    }
    /// `BETWEEN low AND high`, both ends included.
    pub fn range(self, low: impl Into<Expr<M, T::Inner>>, high: impl Into<Expr<M, T::Inner>>) -> Q<M> {
        self.gte(low) & self.lte(high)
    }
}

impl<M, T: SqlType<Inner = String>> Field<M, T> {
    fn text(self, op: TextOp, fold: bool, value: impl Into<Expr<M, String>>) -> Q<M> {
        Q::new(Node::Text { lhs: self.operand(), op, fold, rhs: value.into().operand })
    }
    /// Equal ignoring case (every letter, `É` as `é`, on both backends).
    pub fn iexact(self, value: impl Into<Expr<M, String>>) -> Q<M> {
        self.text(TextOp::Exact, true, value)
    }
    /// Contains `value`, case-sensitive (also on SQLite, whose `LIKE` is not).
    /// `%`, `_` and `\` are plain characters.
    pub fn contains(self, value: impl Into<Expr<M, String>>) -> Q<M> {
        self.text(TextOp::Contains, false, value)
    }
    /// Contains `value` in any case.
    pub fn icontains(self, value: impl Into<Expr<M, String>>) -> Q<M> {
        self.text(TextOp::Contains, true, value)
    }
    /// Starts with `value`, case-sensitive.
    pub fn startswith(self, value: impl Into<Expr<M, String>>) -> Q<M> {
        self.text(TextOp::StartsWith, false, value)
    }
    /// Starts with `value` in any case.
    pub fn istartswith(self, value: impl Into<Expr<M, String>>) -> Q<M> {
        self.text(TextOp::StartsWith, true, value)
    }
    /// Ends with `value`, case-sensitive.
    pub fn endswith(self, value: impl Into<Expr<M, String>>) -> Q<M> {
        self.text(TextOp::EndsWith, false, value)
    }
    /// Ends with `value` in any case.
    pub fn iendswith(self, value: impl Into<Expr<M, String>>) -> Q<M> {
        self.text(TextOp::EndsWith, true, value)
    }
}

impl<M> Expr<M, String> {
    /// Lower case, every letter (`lower()`; on SQLite brisk's own, which folds `É` too).
    pub fn lower(self) -> Self {
        Expr::new(Operand::Fold { operand: Box::new(self.operand), upper: false })
    }
    /// Upper case, every letter, one letter for one (`ß` stays `ß`).
    pub fn upper(self) -> Self {
        Expr::new(Operand::Fold { operand: Box::new(self.operand), upper: true })
    }
}

impl<M> Expr<M, String> {
    /// An expression of a value (to call [`Expr::lower`] on it, say).
    pub fn value(v: impl Into<String>) -> Self {
        Expr::new(Operand::Value(Value::String(Some(v.into()))))
    }
}

impl<M: crate::model::Model, F: SqlType + Relates> Field<M, F> {
    /// The rows of `M` whose relation points at `target` (Django's reverse accessor,
    /// `ada.post_set`): `Post::author().of(&ada)?.count(&db)`. `Err` when `target` is unsaved.
    pub fn of(self, target: &F::Target) -> Result<crate::QuerySet<M>, crate::Error> {
        use crate::model::Model;
        use crate::relation::PrimaryKey;
        let key = target
            .pk()
            .key()
            .ok_or_else(|| crate::Error::Config("the target row is not saved: it has no key yet".into()))?;
        let q = Q::new(Node::Cmp {
            lhs: self.operand(),
            op: CmpOp::Eq,
            rhs: Operand::Value(key.to_value()),
            kind: self.kind(),
        });
        Ok(crate::QuerySet::new().filter(q))
    }
}

impl<M, F: SqlType + Relates> Field<M, F> {
    /// A field of the related model, reached through this foreign key: for lookups and
    /// ordering (`Post::author().join(User::username()).eq("ada")`). The query JOINs the
    /// related table (a LEFT JOIN, once however often it is used).
    pub fn join<U: SqlType>(self, field: Field<F::Target, U>) -> Field<M, U> {
        let hop = Hop { column: self.column, target: crate::relation::meta_of::<F::Target> };
        Field {
            table: self.table,
            column: field.column,
            path: self.path.then(hop, field.path),
            part: field.part,
            _types: PhantomData,
        }
    }
}

/// Date and timestamp fields: lookups on a part (`Post::created_at().year().eq(2025)`), in UTC
/// on both backends.
pub trait HasDate {}
impl HasDate for crate::DateTime {}
impl HasDate for crate::Date {}

impl<M, T: SqlType> Field<M, T>
where
    T::Inner: HasDate,
{
    fn part(self, part: DatePart) -> Field<M, i32> {
        Field {
            table: self.table,
            column: self.column,
            path: self.path,
            part: Some(part),
            _types: PhantomData,
        }
    }
    /// The year, for lookups and ordering.
    pub fn year(self) -> Field<M, i32> {
        self.part(DatePart::Year)
    }
    /// The month (1 to 12).
    pub fn month(self) -> Field<M, i32> {
        self.part(DatePart::Month)
    }
    /// The day of the month (1 to 31).
    pub fn day(self) -> Field<M, i32> {
        self.part(DatePart::Day)
    }
    /// The hour (0 to 23, UTC).
    pub fn hour(self) -> Field<M, i32> {
        self.part(DatePart::Hour)
    }
}
