//! Aggregates, groups, date parts and arithmetic errors: the same answers on both backends.

mod support;

use brisk_orm::aggregate::count;
use brisk_orm::prelude::*;
use brisk_orm::Error;
use support::{each_backend, name};

#[derive(Debug, Clone, Model)]
struct Sale {
    #[model(primary_key)]
    id: AutoId,
    shop: String,
    units: i32,
    price: f64,
    note: Option<String>,
    at: DateTime,
    day: Date,
}

fn sale(shop: &str, units: i32, price: f64, note: Option<&str>, micros: i64) -> Sale {
    let at = DateTime::from_micros(micros);
    Sale {
        id: AutoId::default(),
        shop: shop.into(),
        units,
        price,
        note: note.map(Into::into),
        at,
        day: Date(at.0.date_naive()),
    }
}

// 2024-02-29 23:30:00 UTC and 2025-07-04 08:00:00 UTC.
const LEAP: i64 = 1_709_249_400_000_000;
const JULY: i64 = 1_751_616_000_000_000;

async fn seed(db: &Database) {
    Sale::objects()
        .bulk_create(
            vec![
                sale("Zürich", 3, 2.5, Some("a"), LEAP),
                sale("berlin", 1, 10.0, None, JULY),
                sale("Berlin", 4, 0.25, Some("b"), JULY),
                sale("Zürich", 2, 1.0, None, JULY),
            ],
            db,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn aggregates_over_all_rows() {
    each_backend(|db| async move {
        seed(&db).await;
        let (n, units, mean, low, high) = Sale::objects()
            .aggregate(
                (count(), Sale::units().sum(), Sale::units().avg(), Sale::price().min(), Sale::shop().max()),
                &db,
            )
            .await
            .unwrap();
        assert_eq!((n, units, mean), (4, Some(10), Some(2.5)), "{}", name(&db));
        assert_eq!(low, Some(0.25));
        assert_eq!(high.as_deref(), Some("berlin"), "max by code point: lower case sorts after upper");
        let (notes, shops, total) = Sale::objects()
            .aggregate((Sale::note().count(), Sale::shop().count_distinct(), Sale::price().sum()), &db)
            .await
            .unwrap();
        assert_eq!((notes, shops, total), (2, 3, Some(13.75)));
        // Over no rows: a count of 0 and NULL (None) for the rest.
        let (n, sum, max) = Sale::objects()
            .filter(Sale::units().gt(100))
            .aggregate((count(), Sale::units().sum(), Sale::at().max()), &db)
            .await
            .unwrap();
        assert_eq!((n, sum, max), (0, None, None));
        assert!(matches!(Sale::objects().limit(1).aggregate((count(),), &db).await, Err(Error::Config(_))));
    })
    .await;
}

#[tokio::test]
async fn groups_with_their_aggregates() {
    each_backend(|db| async move {
        seed(&db).await;
        let per_shop =
            Sale::objects().group_by((Sale::shop(),), (count(), Sale::units().sum()), &db).await.unwrap();
        let per_shop: Vec<(String, i64, Option<i64>)> =
            per_shop.into_iter().map(|((s,), (n, u))| (s, n, u)).collect();
        assert_eq!(
            per_shop,
            [("Berlin".into(), 1, Some(4)), ("Zürich".into(), 2, Some(5)), ("berlin".into(), 1, Some(1))],
            "{}",
            name(&db)
        );
        // Grouped by a date part, filtered, ordered by the group descending, sliced.
        let per_year = Sale::objects()
            .filter(Sale::units().gte(2))
            .order_by([Sale::at().year().desc()])
            .limit(1)
            .group_by((Sale::at().year(),), (count(),), &db)
            .await
            .unwrap();
        assert_eq!(per_year, [((2025,), (2,))]);
    })
    .await;
}

#[tokio::test]
async fn date_parts_are_taken_in_utc() {
    each_backend(|db| async move {
        seed(&db).await;
        let leap = |q| {
            let db = db.clone();
            async move { Sale::objects().filter(q).count(&db).await.unwrap() }
        };
        assert_eq!(leap(Sale::at().year().eq(2024)).await, 1, "{}", name(&db));
        assert_eq!(leap(Sale::at().month().eq(2) & Sale::at().day().eq(29)).await, 1);
        assert_eq!(leap(Sale::at().hour().eq(23)).await, 1);
        assert_eq!(leap(Sale::day().month().eq(7)).await, 3);
        assert_eq!(leap(Sale::at().year().range(2025, 2030)).await, 3);
    })
    .await;
}

#[tokio::test]
async fn division_by_zero_is_the_same_error() {
    each_backend(|db| async move {
        seed(&db).await;
        let err = Sale::objects().update([Sale::units().set(Sale::units() / 0)], &db).await.unwrap_err();
        match &err {
            Error::Database { code, .. } => assert_eq!(code.as_deref(), Some("22012"), "{} {err}", name(&db)),
            other => panic!("{other:?}"),
        }
        let err = Sale::objects().filter(Sale::price().gt(Sale::price() / 0.0)).count(&db).await.unwrap_err();
        assert!(
            matches!(err, Error::Database { ref code, .. } if code.as_deref() == Some("22012")),
            "{err:?}"
        );
        // Nothing changed, and integer division truncates the same way.
        let (sum,) = Sale::objects().aggregate((Sale::units().sum(),), &db).await.unwrap();
        assert_eq!(sum, Some(10));
        Sale::objects().update([Sale::units().set(Sale::units() / 2)], &db).await.unwrap();
        let (sum,) = Sale::objects().aggregate((Sale::units().sum(),), &db).await.unwrap();
        assert_eq!(sum, Some(4), "3/2 + 1/2 + 4/2 + 2/2 truncate to 1 + 0 + 2 + 1");
    })
    .await;
}
