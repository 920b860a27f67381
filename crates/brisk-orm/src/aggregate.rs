//! Aggregates: `count`, `sum`, `avg`, `min`, `max` over a QuerySet
//! ([`QuerySet::aggregate`](crate::QuerySet::aggregate)) or per group
//! ([`QuerySet::group_by`](crate::QuerySet::group_by)), typed, and answering the same on
//! both backends: PostgreSQL's `SUM` of integers (a `NUMERIC`) and `AVG` are cast back to
//! `BIGINT` and `DOUBLE PRECISION`; `MIN`/`MAX` of text compare by code point on both.

use std::marker::PhantomData;

use sea_query::Func;

use crate::backend::Dialect;
use crate::condition::Operand;
use crate::field::Field;
use crate::model::FromRow;
use crate::value::{ColumnKind, Ordered, SqlType};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AggFunc {
    Count,
    CountDistinct,
    Sum,
    Avg,
    Min,
    Max,
}

/// An aggregate over rows of `M` whose result reads as `T`.
pub struct Aggregate<M, T> {
    func: AggFunc,
    operand: Option<Operand>,
    kind: ColumnKind,
    _types: PhantomData<fn() -> (M, T)>,
}

impl<M, T> Aggregate<M, T> {
    fn new(func: AggFunc, operand: Option<Operand>, kind: ColumnKind) -> Self {
        Aggregate { func, operand, kind, _types: PhantomData }
    }

    pub(crate) fn to_expr(&self, dialect: Dialect) -> sea_query::Expr {
        let arg = match &self.operand {
            Some(o) => o.to_expr(dialect),
            None => sea_query::Expr::cust("*"),
        };
        let integer = matches!(
            self.kind,
            ColumnKind::SmallInt
                | ColumnKind::Int
                | ColumnKind::BigInt
                | ColumnKind::AutoBigInt
                | ColumnKind::Duration
        );
        if self.kind == ColumnKind::Decimal && dialect == Dialect::Sqlite {
            // SQLite keeps decimals as exact text: brisk's aggregates add and compare them.
            let name = match self.func {
                AggFunc::Sum => Some("brisk_dec_sum"),
                AggFunc::Avg => Some("brisk_dec_avg"),
                AggFunc::Min => Some("brisk_dec_min"),
                AggFunc::Max => Some("brisk_dec_max"),
                AggFunc::Count | AggFunc::CountDistinct => None,
            };
            if let Some(name) = name {
                return sea_query::Expr::from(Func::cust(name).arg(arg));
            }
        }
        let min_max = matches!(self.func, AggFunc::Min | AggFunc::Max);
        let arg = if self.kind == ColumnKind::Text && dialect == Dialect::Postgres && min_max {
            sea_query::Expr::cust_with_exprs(r#"($1 COLLATE "C")"#, [arg])
        } else {
            arg
        };
        let call = |name: &'static str, a| sea_query::Expr::from(Func::cust(name).arg(a));
        let e = match self.func {
            AggFunc::Count => call("COUNT", arg),
            AggFunc::CountDistinct => sea_query::Expr::cust_with_exprs(
                if dialect == Dialect::Postgres { "COUNT(DISTINCT $1)" } else { "COUNT(DISTINCT ?)" },
                [arg],
            ),
            AggFunc::Sum => call("SUM", arg),
            AggFunc::Avg => call("AVG", arg),
            AggFunc::Min => call("MIN", arg),
            AggFunc::Max => call("MAX", arg),
        };
        match (dialect, self.func) {
            (Dialect::Postgres, AggFunc::Sum) if integer => {
                sea_query::Expr::cust_with_exprs("CAST($1 AS BIGINT)", [e])
            }
            (Dialect::Postgres, AggFunc::Avg) if self.kind != ColumnKind::Decimal => {
                sea_query::Expr::cust_with_exprs("CAST($1 AS DOUBLE PRECISION)", [e])
            }
            (Dialect::Sqlite, AggFunc::Sum) if !integer && self.kind != ColumnKind::Decimal => {
                // A float column's sum reads as a float even if every value was whole.
                sea_query::Expr::cust_with_exprs("CAST(? AS REAL)", [e])
            }
            _ => e,
        }
    }
}

/// `COUNT(*)`: the number of rows.
pub fn count<M>() -> Aggregate<M, i64> {
    Aggregate::new(AggFunc::Count, None, ColumnKind::BigInt)
}

/// Numbers a `SUM` adds: integers sum to `i64` and average to `f64`, floats to `f64`,
/// decimals to exact decimals.
pub trait Summable: SqlType {
    /// The sum's type.
    type Sum: SqlType;
    /// The average's type.
    type Avg: SqlType;
}

macro_rules! summable {
    ($($t:ty => $sum:ty, $avg:ty);* $(;)?) => {$(
        impl Summable for $t {
            type Sum = $sum;
            type Avg = $avg;
        }
    )*};
}

summable!(
    i16 => i64, f64;
    i32 => i64, f64;
    i64 => i64, f64;
    f64 => f64, f64;
    crate::Decimal => crate::Decimal, crate::Decimal;
    crate::Duration => crate::Duration, f64;
);

impl<M, T: SqlType> Field<M, T> {
    /// `COUNT(field)`: the rows where the field is not NULL.
    pub fn count(self) -> Aggregate<M, i64> {
        Aggregate::new(AggFunc::Count, Some(self.operand()), T::KIND)
    }

    /// `COUNT(DISTINCT field)`.
    pub fn count_distinct(self) -> Aggregate<M, i64> {
        Aggregate::new(AggFunc::CountDistinct, Some(self.operand()), T::KIND)
    }
}

impl<M, T: SqlType> Field<M, T>
where
    T::Inner: Summable,
{
    /// `SUM(field)`; `None` over no rows.
    pub fn sum(self) -> Aggregate<M, Option<<T::Inner as Summable>::Sum>> {
        Aggregate::new(AggFunc::Sum, Some(self.operand()), T::KIND)
    }

    /// `AVG(field)`; `None` over no rows.
    pub fn avg(self) -> Aggregate<M, Option<<T::Inner as Summable>::Avg>> {
        Aggregate::new(AggFunc::Avg, Some(self.operand()), T::KIND)
    }
}

impl<M, T: SqlType> Field<M, T>
where
    T::Inner: Ordered,
{
    /// `MIN(field)`; `None` over no rows.
    pub fn min(self) -> Aggregate<M, Option<T::Inner>> {
        Aggregate::new(AggFunc::Min, Some(self.operand()), T::KIND)
    }

    /// `MAX(field)`; `None` over no rows.
    pub fn max(self) -> Aggregate<M, Option<T::Inner>> {
        Aggregate::new(AggFunc::Max, Some(self.operand()), T::KIND)
    }
}

/// A tuple of aggregates, read as a tuple of their results.
pub trait Aggregates<M> {
    /// What one row reads as.
    type Row: FromRow;
    #[doc(hidden)]
    fn parts(&self, dialect: Dialect) -> AggregateParts;
}

/// The SQL of a tuple of aggregates, and the columns they read; not public API.
#[doc(hidden)]
pub struct AggregateParts {
    pub(crate) exprs: Vec<sea_query::Expr>,
    pub(crate) operands: Vec<Operand>,
}

macro_rules! aggregates {
    ($($name:ident $idx:tt),+) => {
        impl<M, $($name: SqlType),+> Aggregates<M> for ($(Aggregate<M, $name>,)+) {
            type Row = ($($name,)+);
            fn parts(&self, dialect: Dialect) -> AggregateParts {
                AggregateParts {
                    exprs: vec![$(self.$idx.to_expr(dialect)),+],
                    operands: [$(self.$idx.operand.clone()),+].into_iter().flatten().collect(),
                }
            }
        }
    };
}

aggregates!(A 0);
aggregates!(A 0, B 1);
aggregates!(A 0, B 1, C 2);
aggregates!(A 0, B 1, C 2, D 3);
aggregates!(A 0, B 1, C 2, D 3, E 4);
