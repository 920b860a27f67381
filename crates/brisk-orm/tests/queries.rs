//! QuerySets on both backends: lookups, combinators, ordering, slicing, get, count, update,
//! delete, bulk and get-or-create, values_list, SQL metacharacters as data.

mod support;

use brisk::prelude::*;
use brisk_orm::prelude::*;
use brisk_orm::{Dialect, Error};
use support::{each_backend, name};

#[derive(Debug, Clone, PartialEq, Model, Serialize, Deserialize, JsonSchema, Validate)]
#[model(ordering = ["name"], indexes(["kind", "views"]), check(views_not_negative = "views >= 0"))]
struct Thing {
    #[model(primary_key)]
    id: AutoId,
    #[model(unique)]
    #[validate(min_length = 1, max_length = 50)]
    name: String,
    note: Option<String>,
    #[model(default = 0, renamed_from = "hits")]
    views: i64,
    score: Option<f64>,
    kind: Kind,
    #[model(auto_now_add)]
    created_at: DateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Choice, Serialize, Deserialize, JsonSchema)]
enum Kind {
    #[choice(rename = "tool")]
    Tool,
    #[choice(rename = "toy")]
    Toy,
}

impl brisk::Validate for Kind {}

fn thing(name: &str, views: i64, note: Option<&str>, score: Option<f64>, kind: Kind) -> Thing {
    Thing {
        id: AutoId::default(),
        name: name.to_owned(),
        note: note.map(str::to_owned),
        views,
        score,
        kind,
        created_at: DateTime::now(),
    }
}

async fn seed(db: &Database) -> Vec<Thing> {
    Thing::objects()
        .bulk_create(
            vec![
                thing("Hammer", 10, Some("Heavy"), Some(1.5), Kind::Tool),
                thing("hammock", 3, None, None, Kind::Toy),
                thing("Saw", 7, Some("sharp 100%"), Some(0.5), Kind::Tool),
                thing("École", 1, Some("ÉTÉ"), None, Kind::Toy),
                thing("kite_1", 5, Some("a\\b;--'"), Some(2.0), Kind::Toy),
            ],
            db,
        )
        .await
        .expect("seed")
}

fn names(rows: &[Thing]) -> Vec<&str> {
    rows.iter().map(|t| t.name.as_str()).collect()
}

#[tokio::test]
async fn create_assigns_ids_and_get_reads_them_back() {
    each_backend(|db| async move {
        let rows = seed(&db).await;
        let ids: Vec<i64> = rows.iter().map(|t| t.id.value()).collect();
        assert_eq!(ids, [1, 2, 3, 4, 5], "{}", name(&db));
        let saw = Thing::objects().filter(Thing::name().eq("Saw")).get(&db).await.unwrap();
        assert_eq!(saw, rows[2]);
        assert!(matches!(
            Thing::objects().filter(Thing::name().eq("nope")).get(&db).await,
            Err(Error::DoesNotExist { model: "Thing" })
        ));
        assert!(matches!(
            Thing::objects().filter(Thing::kind().eq(Kind::Tool)).get(&db).await,
            Err(Error::MultipleObjectsReturned { .. })
        ));
    })
    .await;
}

#[tokio::test]
async fn text_lookups_answer_the_same_on_both_backends() {
    each_backend(|db| async move {
        seed(&db).await;
        let q = |q| {
            let db = db.clone();
            async move { names(&Thing::objects().filter(q).all(&db).await.unwrap()).join(",") }
        };
        // Case-sensitive on SQLite too, whose LIKE is not.
        assert_eq!(q(Thing::name().contains("amm")).await, "Hammer,hammock");
        assert_eq!(q(Thing::name().contains("Ham")).await, "Hammer");
        assert_eq!(q(Thing::name().icontains("HAM")).await, "Hammer,hammock");
        assert_eq!(q(Thing::name().startswith("h")).await, "hammock");
        assert_eq!(q(Thing::name().istartswith("h")).await, "Hammer,hammock");
        assert_eq!(q(Thing::name().endswith("mer")).await, "Hammer");
        assert_eq!(q(Thing::name().iendswith("MOCK")).await, "hammock");
        assert_eq!(q(Thing::name().iexact("saw")).await, "Saw");
        // Non-ASCII letters fold on SQLite too.
        assert_eq!(q(Thing::name().icontains("éc")).await, "École");
        assert_eq!(q(Thing::note().iexact("été")).await, "École");
        // An empty needle matches every non-NULL value.
        assert_eq!(q(Thing::note().contains("")).await, "Hammer,Saw,kite_1,École");
    })
    .await;
}

#[tokio::test]
async fn sql_metacharacters_are_data() {
    each_backend(|db| async move {
        seed(&db).await;
        for needle in ["%", "_", "\\", ";--", "'", "\0", "100%", "e_1"] {
            let found = Thing::objects().filter(Thing::note().contains(needle)).all(&db).await;
            let found = match (needle, found) {
                // PostgreSQL text cannot hold NUL: the value is refused, never run as SQL.
                ("\0", Err(_)) if db.dialect() == Dialect::Postgres => continue,
                (_, found) => found.unwrap(),
            };
            let expected: Vec<&str> = match needle {
                "%" | "100%" => vec!["Saw"],
                "\\" | ";--" | "'" => vec!["kite_1"],
                _ => vec![],
            };
            assert_eq!(names(&found), expected, "{needle:?} on {}", name(&db));
            let by_name = Thing::objects().filter(Thing::name().contains(needle)).count(&db).await.unwrap();
            assert_eq!(by_name, i64::from(needle == "_" || needle == "e_1"), "{needle:?} in names");
        }
        assert_eq!(Thing::objects().count(&db).await.unwrap(), 5, "the table is still whole");
    })
    .await;
}

#[tokio::test]
async fn comparisons_ranges_in_and_null() {
    each_backend(|db| async move {
        seed(&db).await;
        let all = |q| {
            let db = db.clone();
            async move { names(&Thing::objects().filter(q).all(&db).await.unwrap()).join(",") }
        };
        assert_eq!(all(Thing::views().gt(5)).await, "Hammer,Saw");
        assert_eq!(all(Thing::views().gte(5)).await, "Hammer,Saw,kite_1");
        assert_eq!(all(Thing::views().lt(3)).await, "École");
        assert_eq!(all(Thing::views().range(3, 7)).await, "Saw,hammock,kite_1");
        assert_eq!(all(Thing::views().is_in([1, 10])).await, "Hammer,École");
        assert_eq!(all(Thing::views().is_in(Vec::<i64>::new())).await, "");
        assert_eq!(all(Thing::score().isnull(true)).await, "hammock,École");
        assert_eq!(all(Thing::score().gt(1.0)).await, "Hammer,kite_1");
        // Text order is code point order on both backends ("S" < "h" < "k" < "É").
        assert_eq!(all(Thing::name().gt("Saw")).await, "hammock,kite_1,École");
        // F expressions: a column against a column.
        assert_eq!(all(Thing::score().lt(Thing::score() * 0.5 + 0.5)).await, "Saw");
        assert_eq!(all(Thing::views().gt(Thing::views() - 1)).await, "Hammer,Saw,hammock,kite_1,École");
    })
    .await;
}

#[tokio::test]
async fn and_or_not_and_exclude() {
    each_backend(|db| async move {
        seed(&db).await;
        let run = |qs: QuerySet<Thing>| {
            let db = db.clone();
            async move { names(&qs.all(&db).await.unwrap()).join(",") }
        };
        assert_eq!(
            run(Thing::objects().filter(Thing::kind().eq(Kind::Toy) & Thing::views().gt(2))).await,
            "hammock,kite_1"
        );
        assert_eq!(
            run(Thing::objects().filter(Thing::views().eq(1) | Thing::views().eq(7))).await,
            "Saw,École"
        );
        assert_eq!(run(Thing::objects().filter(!Thing::kind().eq(Kind::Toy))).await, "Hammer,Saw");
        assert_eq!(
            run(Thing::objects().filter(Thing::kind().eq(Kind::Toy)).exclude(Thing::name().startswith("k")))
                .await,
            "hammock,École"
        );
        // Like SQL (and Django), a NULL matches neither a condition nor its negation.
        assert_eq!(run(Thing::objects().exclude(Thing::score().gt(1.0))).await, "Saw");
    })
    .await;
}

#[tokio::test]
async fn ordering_nulls_slicing_first_last() {
    each_backend(|db| async move {
        seed(&db).await;
        // Meta ordering: by name.
        assert_eq!(
            names(&Thing::objects().all(&db).await.unwrap()),
            ["Hammer", "Saw", "hammock", "kite_1", "École"]
        );
        // NULLs last ascending and first descending, on both backends.
        let asc =
            Thing::objects().order_by([Thing::score().asc(), Thing::name().asc()]).all(&db).await.unwrap();
        assert_eq!(names(&asc), ["Saw", "Hammer", "kite_1", "hammock", "École"], "{}", name(&db));
        let desc =
            Thing::objects().order_by([Thing::score().desc(), Thing::name().asc()]).all(&db).await.unwrap();
        assert_eq!(names(&desc), ["hammock", "École", "kite_1", "Hammer", "Saw"], "{}", name(&db));
        let first = Thing::objects()
            .order_by([Thing::score().asc().nulls_first(), Thing::name().asc()])
            .all(&db)
            .await
            .unwrap();
        assert_eq!(names(&first)[..2], ["hammock", "École"]);
        // Slicing.
        let page =
            Thing::objects().order_by([Thing::views().desc()]).offset(1).limit(2).all(&db).await.unwrap();
        assert_eq!(names(&page), ["Saw", "kite_1"]);
        let tail = Thing::objects().order_by([Thing::views().desc()]).offset(3).all(&db).await.unwrap();
        assert_eq!(names(&tail), ["hammock", "École"]);
        assert_eq!(Thing::objects().offset(3).limit(10).count(&db).await.unwrap(), 2);
        // first/last.
        assert_eq!(Thing::objects().first(&db).await.unwrap().map(|t| t.name), Some("Hammer".into()));
        assert_eq!(Thing::objects().last(&db).await.unwrap().map(|t| t.name), Some("École".into()));
        let by_pk = Thing::objects().order_by([]).last(&db).await.unwrap();
        assert_eq!(by_pk.map(|t| t.id.value()), Some(5));
        assert!(Thing::objects().filter(Thing::views().gt(100)).first(&db).await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn count_exists_values_list() {
    each_backend(|db| async move {
        seed(&db).await;
        assert_eq!(Thing::objects().count(&db).await.unwrap(), 5);
        assert!(Thing::objects().filter(Thing::name().eq("Saw")).exists(&db).await.unwrap());
        assert!(!Thing::objects().filter(Thing::name().eq("saw")).exists(&db).await.unwrap());
        let pairs: Vec<(i64, String)> = Thing::objects()
            .filter(Thing::kind().eq(Kind::Tool))
            .values_list((Thing::views(), Thing::name()), &db)
            .await
            .unwrap();
        assert_eq!(pairs, [(10, "Hammer".to_owned()), (7, "Saw".to_owned())]);
    })
    .await;
}

#[tokio::test]
async fn update_with_f_expressions_and_delete() {
    each_backend(|db| async move {
        seed(&db).await;
        let n = Thing::objects()
            .filter(Thing::kind().eq(Kind::Tool))
            .update([Thing::views().set(Thing::views() * 2 + 1), Thing::note().set_null()], &db)
            .await
            .unwrap();
        assert_eq!(n, 2);
        let tools: Vec<(i64, Option<String>)> = Thing::objects()
            .filter(Thing::kind().eq(Kind::Tool))
            .values_list((Thing::views(), Thing::note()), &db)
            .await
            .unwrap();
        assert_eq!(tools, [(21, None), (15, None)]);
        // A sliced update touches only the slice.
        let n = Thing::objects()
            .order_by([Thing::views().asc()])
            .limit(2)
            .update([Thing::views().set(0)], &db)
            .await
            .unwrap();
        assert_eq!(n, 2);
        assert_eq!(Thing::objects().filter(Thing::views().eq(0)).count(&db).await.unwrap(), 2);
        let gone = Thing::objects().filter(Thing::views().eq(0)).delete(&db).await.unwrap();
        assert_eq!(gone, 2);
        assert_eq!(Thing::objects().count(&db).await.unwrap(), 3);
    })
    .await;
}

#[tokio::test]
async fn save_refresh_and_delete_an_instance() {
    each_backend(|db| async move {
        let mut t = thing("Drill", 1, None, None, Kind::Tool);
        t.save(&db).await.unwrap();
        assert_eq!(t.id.value(), 1);
        t.views = 42;
        t.save(&db).await.unwrap();
        let mut copy = Thing::objects().filter(Thing::id().eq(1)).get(&db).await.unwrap();
        assert_eq!(copy.views, 42);
        Thing::objects().update([Thing::views().set(Thing::views() + 1)], &db).await.unwrap();
        copy.refresh_from_db(&db).await.unwrap();
        assert_eq!(copy.views, 43);
        assert!(copy.delete(&db).await.unwrap());
        assert!(!copy.delete(&db).await.unwrap());
        assert!(matches!(copy.refresh_from_db(&db).await, Err(Error::DoesNotExist { .. })));
    })
    .await;
}

#[tokio::test]
async fn unique_violation_names_the_field_and_get_or_create_handles_it() {
    each_backend(|db| async move {
        seed(&db).await;
        let err = Thing::objects().create(thing("Saw", 0, None, None, Kind::Tool), &db).await.unwrap_err();
        match &err {
            Error::UniqueViolation { columns, .. } => assert_eq!(columns, &["name"], "{}", name(&db)),
            other => panic!("{other:?}"),
        }
        let http: brisk::Error = err.into();
        assert_eq!(http.status(), StatusCode::CONFLICT);
        let (saw, created) = Thing::objects()
            .filter(Thing::name().eq("Saw"))
            .get_or_create(|| unreachable!(), &db)
            .await
            .unwrap();
        assert!(!created);
        assert_eq!(saw.views, 7);
        let (axe, created) = Thing::objects()
            .filter(Thing::name().eq("Axe"))
            .get_or_create(|| thing("Axe", 2, None, None, Kind::Tool), &db)
            .await
            .unwrap();
        assert!(created);
        // PostgreSQL's sequence spent an id on the refused insert (sequences are not
        // transactional); SQLite's did not. Ids only grow.
        assert!(axe.id.value() >= 6);
        let (axe, created) = Thing::objects()
            .filter(Thing::name().eq("Axe"))
            .update_or_create([Thing::views().set(9)], || unreachable!(), &db)
            .await
            .unwrap();
        assert!(!created);
        assert_eq!(axe.views, 9);
    })
    .await;
}

#[tokio::test]
async fn a_value_breaking_a_column_rule_is_refused_on_both_backends() {
    each_backend(|db| async move {
        // max_length 50 comes from the validation rule: VARCHAR(50) on PostgreSQL, a CHECK on SQLite.
        let long = "x".repeat(51);
        let err = Thing::objects().create(thing(&long, 0, None, None, Kind::Tool), &db).await.unwrap_err();
        assert!(matches!(err, Error::ConstraintViolation { .. }), "{} {err:?}", name(&db));
        // A model's own check constraint.
        let err =
            Thing::objects().create(thing("negative", -1, None, None, Kind::Tool), &db).await.unwrap_err();
        assert!(matches!(err, Error::ConstraintViolation { .. }), "{} {err:?}", name(&db));
        let http: brisk::Error = err.into();
        assert_eq!(http.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(Thing::objects().count(&db).await.unwrap(), 0);
    })
    .await;
}

#[test]
fn the_sql_of_a_queryset_is_printable() {
    let qs =
        Thing::objects().filter(Thing::name().icontains("o'k")).order_by([Thing::views().desc()]).limit(3);
    let sqlite = qs.sql(Dialect::Sqlite);
    assert!(sqlite.contains("brisk_lower"), "{sqlite}");
    assert!(sqlite.contains("'o''k'"), "{sqlite}");
    assert!(sqlite.contains("LIMIT 3"), "{sqlite}");
    let pg = qs.sql(Dialect::Postgres);
    assert!(pg.contains("strpos(lower("), "{pg}");
}

#[test]
fn the_registry_describes_the_model() {
    let meta = brisk_orm::registry().into_iter().find(|m| m.name == "Thing").expect("registered");
    assert_eq!(meta.app_label, "queries");
    assert_eq!(meta.table, "queries_thing");
    let name = meta.field("name").unwrap();
    assert_eq!(name.max_length, Some(50));
    assert!(name.unique);
    assert!(meta.field("note").unwrap().nullable);
    assert_eq!(meta.field("kind").unwrap().choices, ["tool", "toy"]);
    assert!(meta.primary_key().primary_key);
    assert_eq!(meta.indexes, [["kind", "views"]]);
    assert_eq!(meta.checks, [("views_not_negative", "views >= 0")]);
    assert_eq!(meta.field("views").unwrap().default, Some(brisk_orm::DefaultValue::Int(0)));
    assert_eq!(meta.field("views").unwrap().renamed_from, "hits");
    let state = brisk_orm::migrations::ProjectState::from_registry(&[meta]);
    assert_eq!(
        state.renamed_from.get(&("queries.Thing".to_owned(), "views".to_owned())).map(String::as_str),
        Some("hits")
    );
    assert_eq!(meta.verbose_name, "thing");
}

#[tokio::test]
async fn streams_read_every_row_and_stop_when_dropped() {
    use futures_util::StreamExt;
    each_backend(|db| async move {
        let many: Vec<Thing> =
            (0..500).map(|i| thing(&format!("t{i:03}"), i, None, None, Kind::Tool)).collect();
        Thing::objects().bulk_create(many, &db).await.unwrap();
        let mut stream = Thing::objects().order_by([Thing::views().asc()]).stream(&db);
        let mut seen = 0;
        while let Some(row) = stream.next().await {
            assert_eq!(row.unwrap().views, seen);
            seen += 1;
        }
        assert_eq!(seen, 500, "{}", name(&db));
        // Dropped after a few rows: the database is free for the next queries.
        let first: Vec<Thing> =
            Thing::objects().stream(&db).take(3).map(|r| r.unwrap()).collect::<Vec<_>>().await;
        assert_eq!(first.len(), 3);
        for _ in 0..10 {
            assert_eq!(Thing::objects().count(&db).await.unwrap(), 500);
        }
        // An error arrives as an item.
        let bad: Vec<_> =
            Thing::objects().filter(Thing::views().gt(Thing::views() / 0)).stream(&db).collect().await;
        assert!(matches!(bad.as_slice(), [Err(Error::Database { .. })]), "{bad:?}");
        // In a transaction too.
        db.atomic(|tx| async move {
            let n = Thing::objects().stream(&tx).count().await;
            assert_eq!(n, 500);
            Ok::<_, Error>(())
        })
        .await
        .unwrap();
    })
    .await;
}

/// A stream whose consumer stops reading (holding it, not dropping it) holds up no other
/// query: not the pool's (on PostgreSQL a stream does not share the pipelined connection,
/// whose socket it would fill), and not its own transaction's next statement (there the
/// unread rows wait in memory, as the transaction's one connection must serve the next).
#[tokio::test]
async fn a_stream_left_unread_holds_up_no_other_query() {
    use futures_util::StreamExt;
    use std::time::Duration;
    const ROWS: usize = 3_000;
    each_backend(|db| async move {
        // ~6 MB of rows: more than any socket or channel buffer holds.
        let note = "n".repeat(2_000);
        let many: Vec<Thing> =
            (0..ROWS).map(|i| thing(&format!("t{i:04}"), i as i64, Some(&note), None, Kind::Tool)).collect();
        Thing::objects().bulk_create(many, &db).await.unwrap();
        let mut held = Thing::objects().order_by([Thing::views().asc()]).stream(&db);
        assert_eq!(held.next().await.unwrap().unwrap().views, 0);
        let others = async {
            for _ in 0..5 {
                assert_eq!(Thing::objects().count(&db).await.unwrap(), ROWS as i64);
                assert_eq!(Thing::objects().filter(Thing::views().eq(7)).get(&db).await.unwrap().views, 7);
            }
        };
        tokio::time::timeout(Duration::from_secs(20), others)
            .await
            .unwrap_or_else(|_| panic!("{}: queries waited for a stream nobody reads", name(&db)));
        assert_eq!(held.count().await, ROWS - 1, "the held stream still yields the rest");
        // Streams read to the end, dropped early or failed, more of each than the pool has
        // transaction connections (8): each gives its connection back or closes it.
        for _ in 0..12 {
            let all = Thing::objects().filter(Thing::views().lt(3)).stream(&db).count().await;
            assert_eq!(all, 3);
            let mut dropped = Thing::objects().stream(&db);
            assert!(dropped.next().await.unwrap().is_ok());
            // And streams that fail (a division by zero): each ends with its error, once.
            let failing = Thing::objects().filter(Thing::views().gt(Thing::views() / 0)).stream(&db);
            let items: Vec<_> = failing.collect().await;
            assert!(matches!(items.as_slice(), [Err(Error::Database { .. })]), "{items:?}");
        }
        let backend = name(&db);
        db.atomic(|tx| async move {
            let mut held = Thing::objects().order_by([Thing::views().asc()]).stream(&tx);
            assert_eq!(held.next().await.unwrap()?.views, 0);
            let first_ten = Thing::objects().filter(Thing::views().lt(10));
            let next_statement = first_ten.update([Thing::score().set(9.0)], &tx);
            let updated =
                tokio::time::timeout(Duration::from_secs(20), next_statement).await.unwrap_or_else(|_| {
                    panic!("{backend}: a statement waited for its transaction's unread stream")
                });
            assert_eq!(updated?, 10);
            let mut rest = 0;
            while let Some(row) = held.next().await {
                assert_eq!(row?.views, rest + 1);
                rest += 1;
            }
            assert_eq!(rest, ROWS as i64 - 1);
            Ok::<_, Error>(())
        })
        .await
        .unwrap();
        assert_eq!(Thing::objects().filter(Thing::score().eq(9.0)).count(&db).await.unwrap(), 10);
    })
    .await;
}

#[tokio::test]
async fn a_column_default_fills_rows_inserted_without_it() {
    each_backend(|db| async move {
        let n = brisk_orm::Raw::new("INSERT INTO queries_thing (name, kind, created_at) VALUES (?, ?, ?)")
            .bind("raw".to_owned())
            .bind(Kind::Toy)
            .bind(DateTime::now())
            .execute(&db)
            .await
            .unwrap();
        assert_eq!(n, 1);
        let row = Thing::objects().filter(Thing::name().eq("raw")).get(&db).await.unwrap();
        assert_eq!(row.views, 0, "{}", name(&db));
    })
    .await;
}

#[tokio::test]
async fn raw_sql_binds_values_and_reads_typed_rows() {
    each_backend(|db| async move {
        seed(&db).await;
        let rows: Vec<(String, i64)> = brisk_orm::Raw::new(
            "SELECT name, views FROM queries_thing WHERE views > ? AND name <> '?' ORDER BY views DESC",
        )
        .bind(4i64)
        .fetch(&db)
        .await
        .unwrap();
        assert_eq!(
            rows,
            [("Hammer".to_owned(), 10), ("Saw".to_owned(), 7), ("kite_1".to_owned(), 5)],
            "{}",
            name(&db)
        );
        let models: Vec<Thing> = brisk_orm::Raw::new("SELECT * FROM queries_thing WHERE name = ?")
            .bind("Saw".to_owned())
            .fetch(&db)
            .await
            .unwrap();
        assert_eq!(models.len(), 1);
        // Text by reference binds too (`&str`, `&String`, `Option<&str>`), a NULL as `None`.
        let saw = "Saw".to_owned();
        let named: Vec<(String,)> = brisk_orm::Raw::new(
            "SELECT name FROM queries_thing WHERE name IN (?, ?, ?) OR name = ? OR name = ?",
        )
        .bind("Saw")
        .bind(&saw)
        .bind(Some("Saw"))
        .bind(None::<&str>)
        .bind(None::<String>)
        .fetch(&db)
        .await
        .unwrap();
        assert_eq!(named, [("Saw".to_owned(),)], "{}", name(&db));
        let hostile = "x'; DROP TABLE queries_thing; --".to_owned();
        let n = brisk_orm::Raw::new("UPDATE queries_thing SET note = ? WHERE views = ?")
            .bind(hostile.clone())
            .bind(1i64)
            .execute(&db)
            .await
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(Thing::objects().filter(Thing::note().eq(hostile)).count(&db).await.unwrap(), 1);
        assert!(brisk_orm::Raw::new("SELECT ?").fetch::<(i64,)>(&db).await.is_err(), "missing value");
    })
    .await;
}

#[tokio::test]
async fn a_tracked_row_saves_only_what_changed() {
    each_backend(|db| async move {
        seed(&db).await;
        let mut hammer =
            Thing::objects().filter(Thing::name().eq("Hammer")).get(&db).await.unwrap().tracked();
        // Meanwhile another request changes another field of the same row.
        Thing::objects()
            .filter(Thing::name().eq("Hammer"))
            .update([Thing::views().set(99)], &db)
            .await
            .unwrap();
        hammer.note = Some("changed".into());
        assert_eq!(hammer.changed(), ["note"]);
        let before = db.queries_run();
        hammer.save(&db).await.unwrap();
        assert_eq!(db.queries_run() - before, 1);
        let stored = Thing::objects().filter(Thing::name().eq("Hammer")).get(&db).await.unwrap();
        assert_eq!(stored.note.as_deref(), Some("changed"), "{}", name(&db));
        assert_eq!(stored.views, 99, "the other request's change is kept ({})", name(&db));
        // Nothing changed since: no query at all.
        assert!(hammer.changed().is_empty());
        let before = db.queries_run();
        hammer.save(&db).await.unwrap();
        assert_eq!(db.queries_run(), before);
        // A changed primary key would write another row: refused, nothing written.
        let mut moved = Thing::objects().filter(Thing::name().eq("Saw")).get(&db).await.unwrap().tracked();
        moved.id = AutoId::from(9_999);
        moved.views = 1234;
        assert!(matches!(moved.save(&db).await, Err(Error::DoesNotExist { .. })));
        assert_eq!(Thing::objects().filter(Thing::views().eq(1234)).count(&db).await.unwrap(), 0);
        // A row deleted meanwhile is an error, not a row written back.
        Thing::objects().filter(Thing::name().eq("Hammer")).delete(&db).await.unwrap();
        hammer.views = 1;
        assert!(matches!(hammer.save(&db).await, Err(Error::DoesNotExist { .. })), "{}", name(&db));
        assert_eq!(Thing::objects().filter(Thing::name().eq("Hammer")).count(&db).await.unwrap(), 0);
        // A new row is inserted whole, then tracked from what was stored.
        let mut fresh = thing("Drill", 4, None, None, Kind::Tool).tracked();
        fresh.save(&db).await.unwrap();
        assert!(fresh.id.value() > 0);
        assert!(fresh.changed().is_empty());
        let json = serde_json::to_value(&fresh).unwrap();
        assert_eq!(json["name"], "Drill");
    })
    .await;
}

#[tokio::test]
async fn bulk_update_writes_each_rows_own_values_in_one_statement() {
    each_backend(|db| async move {
        let mut things = seed(&db).await;
        for (i, t) in things.iter_mut().enumerate() {
            t.views = 100 + i as i64;
            t.note = if i % 2 == 0 { None } else { Some(format!("it's 100% n°{i}")) };
            t.name = "not written".into(); // not listed: kept as stored
        }
        let before = db.queries_run();
        let n = Thing::objects().bulk_update(&things, (Thing::views(), Thing::note()), &db).await.unwrap();
        assert_eq!((n, db.queries_run() - before), (5, 1), "{}", name(&db));
        let stored: Vec<(i64, Option<String>, String)> = Thing::objects()
            .order_by([Thing::id().asc()])
            .values_list((Thing::views(), Thing::note(), Thing::name()), &db)
            .await
            .unwrap();
        assert_eq!(stored[0], (100, None, "Hammer".into()), "{}", name(&db));
        assert_eq!(stored[3], (103, Some("it's 100% n°3".into()), "École".into()), "{}", name(&db));
        // A value the table refuses (the check views >= 0) fails the whole statement.
        things[1].views = -1;
        let refused = Thing::objects().bulk_update(&things, (Thing::views(),), &db).await;
        assert!(matches!(refused, Err(Error::ConstraintViolation { .. })), "{refused:?} ({})", name(&db));
        assert_eq!(Thing::objects().filter(Thing::views().eq(100)).count(&db).await.unwrap(), 1);
        // By key only: a filtered QuerySet and the primary key are refused.
        let filtered =
            Thing::objects().filter(Thing::views().gt(0)).bulk_update(&things, (Thing::views(),), &db).await;
        assert!(matches!(filtered, Err(Error::Config(_))));
        assert!(matches!(
            Thing::objects().bulk_update(&things, (Thing::id(),), &db).await,
            Err(Error::Config(_))
        ));
        assert_eq!(Thing::objects().bulk_update(&[], (Thing::views(),), &db).await.unwrap(), 0);
    })
    .await;
}

/// Fields at the same places as [`Thing`]'s `note` and `views`: a `bulk_update` of these two
/// has the same shape, on another table.
#[derive(Debug, Clone, PartialEq, Model)]
struct Gauge {
    #[model(primary_key)]
    id: AutoId,
    label: String,
    memo: Option<String>,
    level: i64,
}

/// Two models whose updates have the same shape (field places, row count) each get their own
/// statement, and an update too large for one statement is cut in several, each right.
#[tokio::test]
async fn bulk_update_statements_belong_to_their_model_and_size() {
    each_backend(|db| async move {
        let mut things = seed(&db).await;
        let gauges: Vec<Gauge> = (0..5)
            .map(|i| Gauge { id: AutoId::default(), label: format!("g{i}"), memo: None, level: 0 })
            .collect();
        let mut gauges = Gauge::objects().bulk_create(gauges, &db).await.unwrap();
        for (i, (t, g)) in things.iter_mut().zip(gauges.iter_mut()).enumerate() {
            t.views = 200 + i as i64;
            g.level = 300 + i as i64;
            g.memo = Some(format!("m{i}"));
        }
        Thing::objects().bulk_update(&things, (Thing::views(), Thing::note()), &db).await.unwrap();
        Gauge::objects().bulk_update(&gauges, (Gauge::level(), Gauge::memo()), &db).await.unwrap();
        let levels: Vec<(i64, Option<String>)> = Gauge::objects()
            .order_by([Gauge::id().asc()])
            .values_list((Gauge::level(), Gauge::memo()), &db)
            .await
            .unwrap();
        assert_eq!(levels[4], (304, Some("m4".into())), "{}", name(&db));
        let views: Vec<(i64,)> =
            Thing::objects().order_by([Thing::id().asc()]).values_list((Thing::views(),), &db).await.unwrap();
        assert_eq!(views.iter().map(|v| v.0).collect::<Vec<_>>(), [200, 201, 202, 203, 204], "{}", name(&db));
        // 15,003 rows of two values: a statement of 15,000 rows (30,000 values), then one of 3.
        let many: Vec<Gauge> = (0..15_003)
            .map(|i| Gauge { id: AutoId::default(), label: format!("n{i}"), memo: None, level: 0 })
            .collect();
        let mut many = Gauge::objects().bulk_create(many, &db).await.unwrap();
        for (i, g) in many.iter_mut().enumerate() {
            g.level = i as i64;
        }
        let before = db.queries_run();
        assert_eq!(Gauge::objects().bulk_update(&many, (Gauge::level(),), &db).await.unwrap(), 15_003);
        assert_eq!(db.queries_run() - before, 2, "{}", name(&db));
        let last: Vec<(String, i64)> = Gauge::objects()
            .filter(Gauge::label().startswith("n"))
            .order_by([Gauge::id().desc()])
            .limit(4)
            .values_list((Gauge::label(), Gauge::level()), &db)
            .await
            .unwrap();
        assert_eq!(
            last,
            [
                ("n15002".into(), 15_002),
                ("n15001".into(), 15_001),
                ("n15000".into(), 15_000),
                ("n14999".into(), 14_999)
            ]
        );
    })
    .await;
}

/// `get` by primary key stops reading at its row (PostgreSQL: the rest of the answer is left
/// to the driver to discard; SQLite: no further step). Many at once on the shared pipelined
/// connection, between lists, counts, misses and failing queries, each gets its own answer;
/// and so do a transaction's statements after one.
#[tokio::test]
async fn gets_by_primary_key_among_other_queries_each_get_their_own_answer() {
    use futures_util::future::join_all;
    each_backend(|db| async move {
        let many: Vec<Thing> =
            (0..40).map(|i| thing(&format!("p{i:02}"), i, None, None, Kind::Tool)).collect();
        let made = Thing::objects().bulk_create(many, &db).await.unwrap();
        let ids: Vec<i64> = made.iter().map(|t| t.id.value()).collect();
        let (db, ids) = (&db, &ids);
        join_all((0..200usize).map(|n| async move {
            let id = ids[n % ids.len()];
            match n % 5 {
                0 | 1 => {
                    let got = Thing::objects().filter(Thing::id().eq(id)).get(db).await.unwrap();
                    assert_eq!((got.id.value(), got.views), (id, (n % ids.len()) as i64));
                }
                2 => {
                    let below =
                        Thing::objects().filter(Thing::views().lt((n % 40) as i64)).all(db).await.unwrap();
                    assert_eq!(below.len(), n % 40);
                }
                3 => {
                    let missing = Thing::objects().filter(Thing::id().eq(id + 1_000)).get(db).await;
                    assert!(matches!(missing, Err(Error::DoesNotExist { .. })), "{missing:?}");
                }
                _ => {
                    let failing =
                        Thing::objects().filter(Thing::views().gt(Thing::views() / 0)).count(db).await;
                    assert!(matches!(failing, Err(Error::Database { .. })), "{failing:?}");
                }
            }
        }))
        .await;
        let first = ids[0];
        db.atomic(|tx| async move {
            let got = Thing::objects().filter(Thing::id().eq(first)).get(&tx).await?;
            assert_eq!(got.views, 0);
            Thing::objects().filter(Thing::id().eq(first)).update([Thing::views().set(77)], &tx).await?;
            assert_eq!(Thing::objects().filter(Thing::id().eq(first)).get(&tx).await?.views, 77);
            assert_eq!(Thing::objects().count(&tx).await?, 40);
            Ok::<_, Error>(())
        })
        .await
        .unwrap();
        assert_eq!(Thing::objects().filter(Thing::id().eq(first)).get(db).await.unwrap().views, 77);
    })
    .await;
}
