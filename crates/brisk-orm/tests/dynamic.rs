//! Models by field name at run time (what the admin uses), on SQLite and PostgreSQL: rows as
//! JSON, filters, search, ordering, updates and inserts from JSON values bound by kind, and
//! the validation rules a field declares.

use brisk::validation::{Bound, Rule};
use brisk_orm::dynamic::DynField;
use brisk_orm::migrations::DynRow;
use brisk_orm::prelude::*;
use brisk_orm::testing::TestDatabase;
use serde_json::json;

#[derive(Debug, Clone, Model)]
struct Gadget {
    #[model(primary_key)]
    id: AutoId,
    #[validate(min_length = 2, max_length = 40)]
    name: String,
    #[validate(ge = 0, le = 1000)]
    stock: i32,
    #[model(default = true)]
    active: bool,
    released: Option<DateTime>,
}

#[tokio::test]
async fn rows_filters_orders_updates_and_inserts_by_name() {
    for test in [TestDatabase::sqlite().await.expect("sqlite"), TestDatabase::postgres().await.expect("pg")] {
        let db = test.database();
        let name = DynField::<Gadget>::named("name").expect("name");
        let stock = DynField::<Gadget>::named("stock").expect("stock");
        let released = DynField::<Gadget>::named("released").expect("released");
        assert!(DynField::<Gadget>::named("nope").is_none(), "only declared fields");
        assert_eq!(name.meta().rules, &[Rule::MinLength(2), Rule::MaxLength(40)]);
        assert_eq!(stock.meta().rules, &[Rule::Ge(Bound::Int(0)), Rule::Le(Bound::Int(1000))]);

        for (n, s) in [("Sprocket", 5), ("sprinkler", 50), ("Wrench", 500)] {
            let mut row = DynRow::new();
            row.set("name", n);
            row.set("stock", s);
            let stored = Gadget::objects().insert_json(&row, &db).await.expect("inserted");
            assert_eq!(stored.get("active"), Some(&json!(true)), "the database default");
            assert!(stored.get_i64("id").is_some());
        }
        let rows = Gadget::objects()
            .filter(name.icontains("SPR").expect("text"))
            .order_by([stock.desc()])
            .rows_json(&db)
            .await
            .expect("rows");
        let names: Vec<_> = rows.iter().filter_map(|r| r.get_str("name")).collect();
        assert_eq!(names, ["sprinkler", "Sprocket"]);
        assert!(stock.icontains("5").is_none(), "no text search on a number");

        let q = stock.gte(&json!(50)).expect("bound");
        assert_eq!(Gadget::objects().filter(q).count(&db).await.expect("count"), 2);
        assert_eq!(Gadget::objects().filter(released.isnull(true)).count(&db).await.expect("count"), 3);

        let wrench = Gadget::objects().filter(name.eq(&json!("Wrench")).expect("bound"));
        wrench
            .update(
                [
                    released.set(&json!("2026-12-06T10:00:00Z")).expect("bound"),
                    stock.set(&json!(7)).expect("bound"),
                ],
                &db,
            )
            .await
            .expect("updated");
        let row = &wrench.rows_json(&db).await.expect("row")[0];
        assert_eq!(row.get("stock"), Some(&json!(7)));
        assert_eq!(row.get_str("released").map(|s| &s[..19]), Some("2026-12-06T10:00:00"));

        // A value of the wrong kind is an error naming the field, never SQL.
        let err = stock.bind(&json!("7; DROP TABLE x")).expect_err("not an integer");
        assert!(err.to_string().contains("Gadget.stock"), "{err}");
        assert!(stock.bind(&json!(3_000_000_000_i64)).is_err(), "out of i32 range");
        let mut bad = DynRow::new();
        bad.set("colour", "red");
        assert!(Gadget::objects().insert_json(&bad, &db).await.is_err());
    }
}
