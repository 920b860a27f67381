//! [`Q`]: a condition on a model's rows, combined with `&`, `|` and `!` (or `.and`, `.or`,
//! `.not()`), and how each lookup is written in each dialect so that both answer the same.

use std::collections::HashMap;
use std::marker::PhantomData;

use sea_query::{Alias, ExprTrait, Func};

use crate::backend::Dialect;
use crate::value::{ColumnKind, Value};

/// The most relations a lookup may follow (`Post::author().join(User::team()).join(...)`).
pub(crate) const MAX_HOPS: usize = 4;

/// One foreign key followed: the column holding it, and the model it points at.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hop {
    pub column: &'static str,
    pub target: fn() -> &'static crate::meta::ModelMeta,
}

/// The relations followed from a query's model to a column's table.
///
/// Two words: the hops live in a list kept once for the whole program ([`intern`]), so a
/// column, a condition and a QuerySet stay small to build and move (with the hops inline a
/// `Path` was 96 bytes, and a QuerySet of one filter 400).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Path {
    hops: &'static [Hop],
}

impl Path {
    pub(crate) const fn new_empty() -> Path {
        Path { hops: &[] }
    }

    pub(crate) fn len(&self) -> usize {
        self.hops.len()
    }

    pub(crate) fn hops(&self) -> impl Iterator<Item = Hop> + '_ {
        self.hops.iter().copied()
    }

    /// This path, then `hop`, then `rest`. Following more than [`MAX_HOPS`] relations is a
    /// mistake in the program's own code (never input), so it panics with a sentence.
    pub(crate) fn then(self, hop: Hop, rest: Path) -> Path {
        let len = self.len() + 1 + rest.len();
        assert!(len <= MAX_HOPS, "a lookup may follow at most {MAX_HOPS} relations");
        let mut hops = [hop; MAX_HOPS];
        for (at, h) in hops.iter_mut().zip(self.hops().chain(std::iter::once(hop)).chain(rest.hops())) {
            *at = h;
        }
        Path { hops: intern(&hops[..len]) }
    }

    /// The table alias of the first `n` hops: `j__author__team`.
    pub(crate) fn alias(&self, n: usize) -> String {
        let mut alias = String::from("j");
        for hop in self.hops().take(n) {
            alias.push_str("__");
            alias.push_str(hop.column);
        }
        alias
    }
}

/// The one kept copy of `hops`. A program follows a fixed set of relation paths (they are
/// written in its code: `Post::author().team()`, never read from input), each at most
/// [`MAX_HOPS`] long, so the copies are made once and live as long as the program. Each
/// thread remembers the ones it used, so a query that follows a relation takes no lock and
/// makes no allocation to find its path.
fn intern(hops: &[Hop]) -> &'static [Hop] {
    type Known = HashMap<PathKey, &'static [Hop], std::hash::BuildHasherDefault<crate::backend::TextHasher>>;
    static PATHS: std::sync::LazyLock<std::sync::Mutex<Known>> = std::sync::LazyLock::new(Default::default);
    thread_local! {
        static SEEN: std::cell::RefCell<Known> = std::cell::RefCell::new(Known::default());
    }
    let key = PathKey::of(hops);
    if let Some(kept) = SEEN.with(|seen| seen.borrow().get(&key).copied()) {
        return kept;
    }
    let kept: &'static [Hop] = PATHS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(key)
        .or_insert_with(|| Box::leak(hops.to_vec().into_boxed_slice()));
    SEEN.with(|seen| seen.borrow_mut().insert(key, kept));
    kept
}

/// A path's hops as numbers: each column's text (address and length) and the address of the
/// function naming its target model. Two keys are equal only for the same hops; the same
/// hops may give two keys (a string or a function kept twice by the compiler), which only
/// keeps a second copy of that path.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct PathKey([(usize, usize, usize); MAX_HOPS]);

impl PathKey {
    fn of(hops: &[Hop]) -> PathKey {
        let mut key = [(0, 0, 0); MAX_HOPS];
        for (at, hop) in key.iter_mut().zip(hops) {
            *at = (hop.column.as_ptr() as usize, hop.column.len(), hop.target as usize);
        }
        PathKey(key)
    }
}

/// A column, a value, or arithmetic on them.
#[derive(Debug, Clone)]
pub(crate) enum Operand {
    Column {
        table: &'static str,
        column: &'static str,
        path: Path,
    },
    Value(Value),
    Binary(Box<Operand>, &'static str, Box<Operand>, ColumnKind),
    Fold {
        operand: Box<Operand>,
        upper: bool,
    },
    /// SQL written by brisk-orm itself (`1`), never from a user.
    Literal(&'static str),
    /// A part of a date or timestamp, as an integer (UTC).
    Part(Box<Operand>, DatePart),
}

/// A part of a date or a timestamp (in UTC): `Post::created_at().year()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatePart {
    /// The year.
    Year,
    /// The month, 1 to 12.
    Month,
    /// The day of the month, 1 to 31.
    Day,
    /// The hour, 0 to 23.
    Hour,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum TextOp {
    Exact,
    Contains,
    StartsWith,
    EndsWith,
}

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Cmp {
        lhs: Operand,
        op: CmpOp,
        rhs: Operand,
        kind: ColumnKind,
    },
    In {
        lhs: Operand,
        values: Vec<Operand>,
        kind: ColumnKind,
    },
    IsNull {
        lhs: Operand,
        is_null: bool,
    },
    Text {
        lhs: Operand,
        op: TextOp,
        fold: bool,
        rhs: Operand,
    },
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    /// `lhs IN (SELECT through.select FROM through [JOIN target ON ...] WHERE filter)`: a
    /// many-to-many link.
    Through {
        lhs: Operand,
        through: &'static str,
        select: &'static str,
        /// The target's table, its key column, and the through column pointing at it.
        join: Option<(&'static str, &'static str, &'static str)>,
        filter: Box<Node>,
    },
    /// `through.column = key`, inside a [`Node::Through`].
    Link {
        through: &'static str,
        column: &'static str,
        key: Value,
    },
}

/// A condition on rows of model `M` (Django's `Q`). Lookups on fields make them:
///
/// ```ignore
/// let q = Post::title().icontains("rust") & !Post::published().eq(false);
/// let q = Post::views().gt(10) | Post::pinned().eq(true);
/// ```
pub struct Q<M> {
    pub(crate) node: Node,
    _model: PhantomData<fn() -> M>,
}

impl<M> Clone for Q<M> {
    fn clone(&self) -> Self {
        Q::new(self.node.clone())
    }
}

impl<M> std::fmt::Debug for Q<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.node.fmt(f)
    }
}

impl<M> Q<M> {
    pub(crate) fn new(node: Node) -> Self {
        Q { node, _model: PhantomData }
    }

    /// Both conditions.
    pub fn and(self, other: Q<M>) -> Q<M> {
        Q::new(Node::And(vec![self.node, other.node]))
    }

    /// Either condition.
    pub fn or(self, other: Q<M>) -> Q<M> {
        Q::new(Node::Or(vec![self.node, other.node]))
    }

    /// The opposite condition. Like Django's `~Q`, a row whose column is NULL matches neither
    /// `eq(x)` nor `eq(x).not()`.
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Q<M> {
        Q::new(Node::Not(Box::new(self.node)))
    }
}

impl<M> std::ops::BitAnd for Q<M> {
    type Output = Q<M>;
    fn bitand(self, rhs: Q<M>) -> Q<M> {
        self.and(rhs)
    }
}

impl<M> std::ops::BitOr for Q<M> {
    type Output = Q<M>;
    fn bitor(self, rhs: Q<M>) -> Q<M> {
        self.or(rhs)
    }
}

impl<M> std::ops::Not for Q<M> {
    type Output = Q<M>;
    fn not(self) -> Q<M> {
        Q::not(self)
    }
}

type SqlExpr = sea_query::Expr;

impl Operand {
    pub(crate) fn to_expr(&self, dialect: Dialect) -> SqlExpr {
        match self {
            Operand::Column { table, column, path } => match path.len() {
                0 => SqlExpr::col((*table, *column)),
                n => SqlExpr::col((Alias::new(path.alias(n)), *column)),
            },
            Operand::Value(v) => SqlExpr::val(v.clone()),
            Operand::Binary(l, op, r, kind) => {
                let (l, r) = (l.to_expr(dialect), r.to_expr(dialect));
                if *kind == ColumnKind::Decimal && dialect == Dialect::Sqlite {
                    // Exact decimal arithmetic on SQLite's text decimals.
                    let name = match *op {
                        "+" => "brisk_dec_add",
                        "-" => "brisk_dec_sub",
                        "*" => "brisk_dec_mul",
                        _ => "brisk_dec_div",
                    };
                    return SqlExpr::from(Func::cust(name).args([l, r]));
                }
                match *op {
                    "+" => l.add(r),
                    "-" => l.sub(r),
                    "*" => l.mul(r),
                    // SQLite's `/` answers NULL for a division by zero; brisk_div fails as
                    // PostgreSQL's does.
                    _ if dialect == Dialect::Sqlite => SqlExpr::from(Func::cust("brisk_div").args([l, r])),
                    _ => l.div(r),
                }
            }
            Operand::Part(operand, part) => {
                let e = operand.to_expr(dialect);
                let sql = match (dialect, part) {
                    (Dialect::Sqlite, DatePart::Year) => "CAST(strftime('%Y', ?) AS INTEGER)",
                    (Dialect::Sqlite, DatePart::Month) => "CAST(strftime('%m', ?) AS INTEGER)",
                    (Dialect::Sqlite, DatePart::Day) => "CAST(strftime('%d', ?) AS INTEGER)",
                    (Dialect::Sqlite, DatePart::Hour) => "CAST(strftime('%H', ?) AS INTEGER)",
                    (Dialect::Postgres, DatePart::Year) => "CAST(EXTRACT(YEAR FROM $1) AS INTEGER)",
                    (Dialect::Postgres, DatePart::Month) => "CAST(EXTRACT(MONTH FROM $1) AS INTEGER)",
                    (Dialect::Postgres, DatePart::Day) => "CAST(EXTRACT(DAY FROM $1) AS INTEGER)",
                    (Dialect::Postgres, DatePart::Hour) => "CAST(EXTRACT(HOUR FROM $1) AS INTEGER)",
                };
                SqlExpr::cust_with_exprs(sql, [e])
            }
            Operand::Fold { operand, upper } => fold(dialect, operand.to_expr(dialect), *upper),
            Operand::Literal(sql) => SqlExpr::cust(*sql),
        }
    }

    /// A text operand whose type PostgreSQL must know (a bare `$1` in `length($1)` is
    /// ambiguous there).
    fn text_expr(&self, dialect: Dialect) -> SqlExpr {
        let e = self.to_expr(dialect);
        match (dialect, self) {
            (Dialect::Postgres, Operand::Value(_)) => SqlExpr::cust_with_exprs("CAST($1 AS TEXT)", [e]),
            _ => e,
        }
    }
}

/// Lower or upper case on every letter: PostgreSQL's own functions; on SQLite brisk's, whose
/// built-ins fold ASCII only.
fn fold(dialect: Dialect, e: SqlExpr, upper: bool) -> SqlExpr {
    let name = match (dialect, upper) {
        (Dialect::Sqlite, false) => "brisk_lower",
        (Dialect::Sqlite, true) => "brisk_upper",
        (Dialect::Postgres, false) => "lower",
        (Dialect::Postgres, true) => "upper",
    };
    SqlExpr::from(Func::cust(name).arg(e))
}

/// An expression as it compares and sorts the same on both backends: text on PostgreSQL in
/// the "C" collation (code point order, as SQLite's), whatever the database's locale; a
/// decimal on SQLite as its sortable key (SQLite stores decimals as exact text).
pub(crate) fn comparable(dialect: Dialect, kind: ColumnKind, e: SqlExpr) -> SqlExpr {
    match (dialect, kind) {
        (Dialect::Postgres, ColumnKind::Text) => SqlExpr::cust_with_exprs(r#"($1 COLLATE "C")"#, [e]),
        (Dialect::Sqlite, ColumnKind::Decimal) => SqlExpr::from(Func::cust("brisk_dec_key").arg(e)),
        _ => e,
    }
}

impl Operand {
    /// The relation paths this operand follows.
    pub(crate) fn paths(&self, out: &mut Vec<Path>) {
        match self {
            Operand::Column { path, .. } if path.len() > 0 => out.push(*path),
            Operand::Binary(l, _, r, _) => {
                l.paths(out);
                r.paths(out);
            }
            Operand::Fold { operand, .. } | Operand::Part(operand, _) => operand.paths(out),
            _ => {}
        }
    }
}

impl Node {
    /// The relation paths this condition follows.
    pub(crate) fn paths(&self, out: &mut Vec<Path>) {
        match self {
            Node::Cmp { lhs, rhs, .. } | Node::Text { lhs, rhs, .. } => {
                lhs.paths(out);
                rhs.paths(out);
            }
            Node::In { lhs, values, .. } => {
                lhs.paths(out);
                values.iter().for_each(|v| v.paths(out));
            }
            Node::IsNull { lhs, .. } => lhs.paths(out),
            Node::And(nodes) | Node::Or(nodes) => nodes.iter().for_each(|n| n.paths(out)),
            Node::Not(node) => node.paths(out),
            // A subquery of its own: the outer query joins nothing for it.
            Node::Through { lhs, .. } => lhs.paths(out),
            Node::Link { .. } => {}
        }
    }

    pub(crate) fn to_expr(&self, dialect: Dialect) -> SqlExpr {
        match self {
            Node::Cmp { lhs, op, rhs, kind } => {
                let (mut l, mut r) = (lhs.to_expr(dialect), rhs.to_expr(dialect));
                // Equal text is equal in any collation; an equal decimal may be written
                // differently (1.1, 1.10).
                if *kind == ColumnKind::Decimal || !matches!(op, CmpOp::Eq | CmpOp::Ne) {
                    (l, r) = (comparable(dialect, *kind, l), comparable(dialect, *kind, r));
                }
                match op {
                    CmpOp::Eq => l.eq(r),
                    CmpOp::Ne => l.ne(r),
                    CmpOp::Gt => l.gt(r),
                    CmpOp::Gte => l.gte(r),
                    CmpOp::Lt => l.lt(r),
                    CmpOp::Lte => l.lte(r),
                }
            }
            Node::In { values, .. } if values.is_empty() => SqlExpr::cust("1 = 0"),
            Node::In { lhs, values, kind } => {
                let key = |o: &Operand| match kind {
                    ColumnKind::Decimal => comparable(dialect, *kind, o.to_expr(dialect)),
                    _ => o.to_expr(dialect),
                };
                key(lhs).is_in(values.iter().map(key))
            }
            Node::IsNull { lhs, is_null: true } => lhs.to_expr(dialect).is_null(),
            Node::IsNull { lhs, is_null: false } => lhs.to_expr(dialect).is_not_null(),
            Node::Text { lhs, op, fold: folded, rhs } => {
                let (mut l, mut r) = (lhs.to_expr(dialect), rhs.text_expr(dialect));
                if *folded {
                    (l, r) = (fold(dialect, l, false), fold(dialect, r, false));
                }
                text_lookup(dialect, *op, l, r)
            }
            Node::And(nodes) => nodes
                .iter()
                .map(|n| n.to_expr(dialect))
                .reduce(|a, b| a.and(b))
                .unwrap_or(SqlExpr::cust("1 = 1")),
            Node::Or(nodes) => nodes
                .iter()
                .map(|n| n.to_expr(dialect))
                .reduce(|a, b| a.or(b))
                .unwrap_or(SqlExpr::cust("1 = 0")),
            Node::Not(node) => node.to_expr(dialect).not(),
            Node::Through { lhs, through, select, join, filter } => {
                let mut sub = sea_query::Query::select();
                sub.column((*through, *select)).from(*through);
                if let Some((table, key, to)) = join {
                    sub.inner_join(*table, SqlExpr::col((*table, *key)).equals((*through, *to)));
                }
                sub.and_where(filter.to_expr(dialect));
                lhs.to_expr(dialect).in_subquery(sub)
            }
            Node::Link { through, column, key } => {
                SqlExpr::col((*through, *column)).eq(SqlExpr::val(key.clone()))
            }
        }
    }
}

/// `contains`, `startswith`, `endswith` without `LIKE`: the value is never a pattern, so `%`,
/// `_` and `\` need no escaping, and the match is case-sensitive on SQLite too (its `LIKE`
/// ignores ASCII case). A NULL column matches nothing.
fn text_lookup(dialect: Dialect, op: TextOp, l: SqlExpr, r: SqlExpr) -> SqlExpr {
    // SQLite's placeholders are positional (`?`), PostgreSQL's numbered (`$1`).
    match (op, dialect) {
        (TextOp::Exact, _) => l.eq(r),
        (TextOp::Contains, Dialect::Sqlite) => SqlExpr::cust_with_exprs("instr(?, ?) > 0", [l, r]),
        (TextOp::Contains, Dialect::Postgres) => SqlExpr::cust_with_exprs("strpos($1, $2) > 0", [l, r]),
        (TextOp::StartsWith, Dialect::Sqlite) => {
            SqlExpr::cust_with_exprs("substr(?, 1, length(?)) = ?", [l, r.clone(), r])
        }
        (TextOp::StartsWith, Dialect::Postgres) => {
            SqlExpr::cust_with_exprs("left($1, length($2)) = $2", [l, r])
        }
        (TextOp::EndsWith, Dialect::Sqlite) => {
            SqlExpr::cust_with_exprs("substr(?, length(?) - length(?) + 1) = ?", [l.clone(), l, r.clone(), r])
        }
        (TextOp::EndsWith, Dialect::Postgres) => {
            SqlExpr::cust_with_exprs("right($1, length($2)) = $2", [l, r])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Two functions with different bodies, so never merged into one address.
    fn meta_a() -> &'static crate::meta::ModelMeta {
        unreachable!("model a: only the address is used")
    }

    fn meta_b() -> &'static crate::meta::ModelMeta {
        unreachable!("model b: only the address is used")
    }

    fn hop(column: &'static str, target: fn() -> &'static crate::meta::ModelMeta) -> Hop {
        Hop { column, target }
    }

    fn columns(path: Path) -> Vec<&'static str> {
        path.hops().map(|h| h.column).collect()
    }

    // Statics: one address each, as a model's column names are (the key compares addresses).
    static AUTHOR: &str = "author";
    static TEAM: &str = "team";

    /// A path is kept once however often it is made, and its hops stay in order.
    #[test]
    fn paths_are_kept_once_and_in_order() {
        let empty = Path::new_empty();
        let author = empty.then(hop(AUTHOR, meta_a), empty);
        let again = empty.then(hop(AUTHOR, meta_a), empty);
        assert!(std::ptr::eq(author.hops, again.hops));
        let team = author.then(hop(TEAM, meta_b), empty);
        assert_eq!(columns(team), ["author", "team"]);
        assert_eq!(team.alias(2), "j__author__team");
        let joined = empty.then(hop(AUTHOR, meta_a), empty.then(hop(TEAM, meta_b), empty));
        assert!(std::ptr::eq(team.hops, joined.hops), "the same hops made another way");
        let other_target = empty.then(hop(AUTHOR, meta_b), empty);
        assert!(!std::ptr::eq(author.hops, other_target.hops), "another model is another path");
        assert_eq!(columns(other_target), ["author"]);
        let reversed = empty.then(hop(TEAM, meta_b), empty.then(hop(AUTHOR, meta_a), empty));
        assert_eq!(columns(reversed), ["team", "author"]);
        // Another thread finds the copy this one made.
        let elsewhere =
            std::thread::spawn(move || empty.then(hop(AUTHOR, meta_a), empty).hops.as_ptr() as usize);
        assert_eq!(elsewhere.join().expect("the thread"), author.hops.as_ptr() as usize);
        assert_eq!(empty.len(), 0);
    }

    #[test]
    #[should_panic(expected = "at most 4 relations")]
    fn a_fifth_relation_is_refused() {
        let empty = Path::new_empty();
        let mut path = empty;
        for column in ["a", "b", "c", "d", "e"] {
            path = path.then(hop(column, meta_a), empty);
        }
    }
}
