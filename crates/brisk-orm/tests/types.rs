//! Every field type round-trips the same on both backends: NULLs, unicode, extremes.

mod support;

use brisk_orm::prelude::*;
use support::{each_backend, name};

#[derive(Debug, Clone, PartialEq, Model)]
struct Sample {
    #[model(primary_key)]
    id: AutoId,
    flag: bool,
    small: i16,
    int: i32,
    big: i64,
    real: f64,
    text: String,
    bytes: Vec<u8>,
    at: DateTime,
    day: Date,
    uid: Uuid,
    doc: brisk::Json<serde_json::Value>,
    maybe_text: Option<String>,
    maybe_big: Option<i64>,
    maybe_at: Option<DateTime>,
}

#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "uuid_keyed")]
struct UuidKeyed {
    #[model(primary_key)]
    id: Uuid,
    label: String,
}

fn extreme(big: i64, real: f64) -> Sample {
    Sample {
        id: AutoId::default(),
        flag: true,
        small: i16::MIN,
        int: i32::MAX,
        big,
        real,
        text: "naïve café – 日本語 – 🦀 – 'quoted' \"double\"".into(),
        bytes: vec![0, 1, 254, 255],
        at: DateTime::from_micros(1_733_000_000_123_456),
        day: Date::from_ymd(1999, 12, 31).unwrap(),
        uid: Uuid::new_v4(),
        doc: brisk::Json(serde_json::json!({"a": [1, 2.5, null, "ü"], "b": {"c": true}})),
        maybe_text: None,
        maybe_big: Some(-1),
        maybe_at: None,
    }
}

#[tokio::test]
async fn every_type_round_trips_on_both_backends() {
    each_backend(|db| async move {
        for (big, real) in [(i64::MIN, 1e308), (i64::MAX, -1e-308), (0, 0.1 + 0.2)] {
            let stored = Sample::objects().create(extreme(big, real), &db).await.unwrap();
            let read = Sample::objects().filter(Sample::id().eq(stored.id.value())).get(&db).await.unwrap();
            let mut expected = extreme(big, real);
            expected.id = stored.id;
            expected.uid = stored.uid;
            assert_eq!(read, expected, "{}", name(&db));
            assert_eq!(read, stored);
        }
        // NULLs, and lookups on each type.
        assert_eq!(Sample::objects().filter(Sample::maybe_text().isnull(true)).count(&db).await.unwrap(), 3);
        assert_eq!(Sample::objects().filter(Sample::big().eq(i64::MIN)).count(&db).await.unwrap(), 1);
        let day = Date::from_ymd(2000, 1, 1).unwrap();
        assert_eq!(Sample::objects().filter(Sample::day().lt(day)).count(&db).await.unwrap(), 3);
        let later = DateTime::from_micros(1_733_000_000_123_457);
        assert_eq!(Sample::objects().filter(Sample::at().lt(later)).count(&db).await.unwrap(), 3);
        assert_eq!(Sample::objects().filter(Sample::at().gte(later)).count(&db).await.unwrap(), 0);
        assert_eq!(
            Sample::objects().filter(Sample::bytes().eq(vec![0, 1, 254, 255])).count(&db).await.unwrap(),
            3
        );
    })
    .await;
}

#[tokio::test]
async fn datetimes_keep_microseconds_and_sort_in_time_order() {
    each_backend(|db| async move {
        let base = 1_600_000_000_000_000i64;
        for offset in [999_999, 1, 10, 0] {
            let mut s = extreme(offset, 0.0);
            s.at = DateTime::from_micros(base + offset);
            s.save(&db).await.unwrap();
        }
        let order: Vec<(i64,)> = Sample::objects()
            .order_by([Sample::at().asc()])
            .values_list((Sample::big(),), &db)
            .await
            .unwrap();
        assert_eq!(order, [(0,), (1,), (10,), (999_999,)], "{}", name(&db));
    })
    .await;
}

#[tokio::test]
async fn a_uuid_primary_key_is_set_by_the_app() {
    each_backend(|db| async move {
        let id = Uuid::new_v4();
        let mut row = UuidKeyed { id, label: "first".into() };
        row.save(&db).await.unwrap(); // no such row yet: inserted
        row.label = "second".into();
        row.save(&db).await.unwrap(); // updated in place
        let all = UuidKeyed::objects().all(&db).await.unwrap();
        assert_eq!(all, [UuidKeyed { id, label: "second".into() }], "{}", name(&db));
    })
    .await;
}
