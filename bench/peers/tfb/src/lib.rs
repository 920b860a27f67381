//! TechEmpower's database tests as rules every server of `bench/run --db` shares: which row to
//! read (a random id of 10,000), how many (`q`, clamped to 1..=500, anything unparsable 1),
//! the JSON shape of a World row and the fortunes page (one fortune added at request time,
//! sorted by message, HTML-escaped). Keeping them here means the servers differ only in the
//! framework and the database layer around them.

use std::cell::Cell;
use std::fmt::Write;

use schemars::JsonSchema;
use serde::Serialize;

/// Rows in the World table.
pub const WORLD_ROWS: i32 = 10_000;

/// The fortune every `/fortunes` answer adds before sorting (id 0).
pub const ADDED_FORTUNE: &str = "Additional fortune added at request time.";

/// A World row as the tests answer it: `{"id":..,"randomNumber":..}`.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
pub struct World {
    pub id: i32,
    #[serde(rename = "randomNumber")]
    pub random_number: i32,
}

thread_local! {
    static STATE: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let local = 0u8;
    (time ^ (&local as *const u8 as u64).rotate_left(32)) | 1
}

/// The next number of the thread's generator (xorshift64*: cheap, plenty for picking rows).
fn next() -> u64 {
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        s.set(x);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    })
}

/// A random id (or random number) in 1..=10,000.
pub fn random_id() -> i32 {
    ((next() >> 32) % WORLD_ROWS as u64) as i32 + 1
}

/// `n` different random ids in ascending order, for `/updates`. Different: with a repeated id,
/// one batched UPDATE would set the row to either of two numbers while the answer reports both.
/// Ascending: concurrent batches then lock their rows in one order, where random orders
/// deadlock now and then (PostgreSQL aborts one of them: a failed request).
pub fn distinct_ids(n: usize) -> Vec<i32> {
    let mut ids = Vec::with_capacity(n);
    while ids.len() < n {
        let id = random_id();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids.sort_unstable();
    ids
}

/// The `q` of a query string: 1 when absent or not a number, else clamped to 1..=500.
pub fn queries(query: Option<&str>) -> usize {
    let q = query
        .unwrap_or("")
        .split('&')
        .find_map(|pair| pair.strip_prefix("q="))
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(1);
    q.clamp(1, 500) as usize
}

/// Appends `text` HTML-escaped (`& < > " '`).
pub fn escape_into(out: &mut String, text: &str) {
    let mut last = 0;
    for (i, b) in text.bytes().enumerate() {
        let rep = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#x27;",
            _ => continue,
        };
        out.push_str(&text[last..i]);
        out.push_str(rep);
        last = i + 1;
    }
    out.push_str(&text[last..]);
}

/// The fortunes page: `rows` (id, message) plus the fortune added at request time, sorted by
/// message, as TechEmpower's HTML table.
pub fn fortunes_page(mut rows: Vec<(i32, String)>) -> String {
    rows.push((0, ADDED_FORTUNE.to_owned()));
    rows.sort_unstable_by(|a, b| a.1.cmp(&b.1));
    let mut out = String::with_capacity(1200);
    out.push_str(
        "<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table><tr><th>id</th><th>message</th></tr>",
    );
    for (id, message) in &rows {
        let _ = write!(out, "<tr><td>{id}</td><td>");
        escape_into(&mut out, message);
        out.push_str("</td></tr>");
    }
    out.push_str("</table></body></html>");
    out
}

/// PostgreSQL's one-statement batch update of `/updates`, as TechEmpower's leaders write it:
/// `UPDATE world SET randomnumber = v.r FROM (VALUES ($1::int, $2::int), ...) ...` with
/// placeholders `$1..$2n` (ids and numbers interleaved).
pub fn update_sql_prepared(n: usize) -> String {
    let mut sql = String::from("UPDATE world SET randomnumber = v.r FROM (VALUES ");
    for i in 0..n {
        let sep = if i == 0 { "" } else { ", " };
        let _ = write!(sql, "{sep}(${}::int, ${}::int)", 2 * i + 1, 2 * i + 2);
    }
    sql.push_str(") AS v(id, r) WHERE world.id = v.id");
    sql
}

/// The same statement with the numbers written in (integers the server chose: no user input).
pub fn update_sql_literal(rows: &[World]) -> String {
    let mut sql = String::from("UPDATE world SET randomnumber = v.r FROM (VALUES ");
    for (i, w) in rows.iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        let _ = write!(sql, "{sep}({}, {})", w.id, w.random_number);
    }
    sql.push_str(") AS v(id, r) WHERE world.id = v.id");
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q_is_clamped_and_defaults_to_one() {
        assert_eq!(queries(Some("q=20")), 20);
        assert_eq!(queries(Some("q=0")), 1);
        assert_eq!(queries(Some("q=foo")), 1);
        assert_eq!(queries(Some("q=")), 1);
        assert_eq!(queries(None), 1);
        assert_eq!(queries(Some("a=1&q=501")), 500);
    }

    #[test]
    fn ids_are_in_range() {
        for _ in 0..100_000 {
            assert!((1..=WORLD_ROWS).contains(&random_id()));
        }
        let ids = distinct_ids(500);
        let mut sorted = ids.clone();
        sorted.dedup();
        assert_eq!(sorted, ids);
        assert_eq!(sorted.len(), 500);
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn page_is_escaped_and_sorted() {
        let page = fortunes_page(vec![(11, "<script>\"x\" & 'y'</script>".into()), (1, "b".into())]);
        assert!(page.contains("<td>&lt;script&gt;&quot;x&quot; &amp; &#x27;y&#x27;&lt;/script&gt;</td>"));
        let added = page.find(ADDED_FORTUNE).unwrap();
        assert!(page.find("&lt;script").unwrap() < added && added < page.find("<td>b</td>").unwrap());
    }

    #[test]
    fn update_statements() {
        assert_eq!(
            update_sql_prepared(2),
            "UPDATE world SET randomnumber = v.r FROM (VALUES ($1::int, $2::int), ($3::int, $4::int)) AS v(id, r) WHERE world.id = v.id"
        );
        let rows = [World { id: 3, random_number: 7 }];
        assert_eq!(
            update_sql_literal(&rows),
            "UPDATE world SET randomnumber = v.r FROM (VALUES (3, 7)) AS v(id, r) WHERE world.id = v.id"
        );
    }
}
