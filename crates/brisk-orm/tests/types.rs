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
        // bulk_update writes every type back the same (typed VALUES on PostgreSQL).
        let mut all = Sample::objects().order_by([Sample::id().asc()]).all(&db).await.unwrap();
        let mut changed = extreme(7, -2.5);
        changed.maybe_text = Some("ß".into());
        changed.maybe_at = Some(DateTime::from_micros(1));
        for row in &mut all {
            let id = row.id;
            *row = changed.clone();
            row.id = id;
        }
        let fields =
            (Sample::flag(), Sample::big(), Sample::real(), Sample::text(), Sample::bytes(), Sample::at());
        assert_eq!(Sample::objects().bulk_update(&all, fields, &db).await.unwrap(), 3, "{}", name(&db));
        let fields = (
            Sample::day(),
            Sample::uid(),
            Sample::doc(),
            Sample::maybe_text(),
            Sample::maybe_at(),
            Sample::small(),
        );
        assert_eq!(Sample::objects().bulk_update(&all, fields, &db).await.unwrap(), 3, "{}", name(&db));
        let read = Sample::objects().order_by([Sample::id().asc()]).all(&db).await.unwrap();
        assert_eq!(read, all, "{}", name(&db));
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

#[derive(Debug, Clone, PartialEq, Model)]
struct Ledger {
    #[model(primary_key)]
    id: AutoId,
    amount: brisk_orm::Decimal,
    fee: Option<brisk_orm::Decimal>,
    at: brisk_orm::Time,
    took: brisk_orm::Duration,
}

fn dec(s: &str) -> brisk_orm::Decimal {
    s.parse().unwrap()
}

#[tokio::test]
async fn decimals_are_exact_and_compare_as_numbers_on_both_backends() {
    use brisk_orm::aggregate::count;
    each_backend(|db| async move {
        let rows = [
            ("0.1", Some("0.10")),
            ("0.2", None),
            ("-2.5", Some("1")),
            ("1234567890123456789.012345678", None), // 28 significant digits
            ("-0.0000000000000000000000000001", None),
        ];
        for (i, (amount, fee)) in rows.iter().enumerate() {
            let row = Ledger {
                id: AutoId::default(),
                amount: dec(amount),
                fee: fee.map(dec),
                at: brisk_orm::Time::from_hms_micro(23, 59, 59, 999_999 - i as u32).unwrap(),
                took: brisk_orm::Duration::from_micros(1_500_000 * i as i64 - 1),
            };
            let stored = Ledger::objects().create(row.clone(), &db).await.unwrap();
            let read = Ledger::objects().filter(Ledger::id().eq(stored.id.value())).get(&db).await.unwrap();
            assert_eq!(read.amount.to_string(), *amount, "digits and scale kept on {}", name(&db));
            assert_eq!(read.fee.map(|f| f.to_string()), fee.map(str::to_owned));
            assert_eq!((read.at, read.took), (row.at, row.took));
        }
        // Exact sums: 0.1 + 0.2 is 0.3, not 0.30000000000000004.
        let (sum,) = Ledger::objects()
            .filter(Ledger::amount().lt(dec("1")))
            .filter(Ledger::amount().gt(dec("0")))
            .aggregate((Ledger::amount().sum(),), &db)
            .await
            .unwrap();
        assert_eq!(sum, Some(dec("0.3")), "{}", name(&db));
        // Compared as numbers: 0.10 equals 0.1; -2.5 < -0.000...1 < 0.1.
        assert_eq!(Ledger::objects().filter(Ledger::fee().eq(dec("0.1"))).count(&db).await.unwrap(), 1);
        let order: Vec<(brisk_orm::Decimal,)> = Ledger::objects()
            .order_by([Ledger::amount().asc()])
            .values_list((Ledger::amount(),), &db)
            .await
            .unwrap();
        let order: Vec<String> = order.into_iter().map(|(d,)| d.to_string()).collect();
        assert_eq!(
            order,
            ["-2.5", "-0.0000000000000000000000000001", "0.1", "0.2", "1234567890123456789.012345678"]
        );
        let (n, low, high) = Ledger::objects()
            .aggregate((count(), Ledger::amount().min(), Ledger::amount().max()), &db)
            .await
            .unwrap();
        assert_eq!((n, low, high), (5, Some(dec("-2.5")), Some(dec("1234567890123456789.012345678"))));
        assert_eq!(
            Ledger::objects()
                .filter(Ledger::amount().is_in([dec("0.20"), dec("7")]))
                .count(&db)
                .await
                .unwrap(),
            1
        );
        // F expressions stay exact: amount + fee.
        Ledger::objects()
            .filter(Ledger::fee().isnull(false))
            .update([Ledger::amount().set(Ledger::amount() + Ledger::fee())], &db)
            .await
            .unwrap();
        let mut sums: Vec<String> = Ledger::objects()
            .filter(Ledger::fee().isnull(false))
            .values_list((Ledger::amount(),), &db)
            .await
            .unwrap()
            .into_iter()
            .map(|(d,)| d.to_string())
            .collect();
        sums.sort();
        assert_eq!(
            sums.iter().map(|s| s.parse::<brisk_orm::Decimal>().unwrap()).collect::<Vec<_>>(),
            [dec("-1.5"), dec("0.2")]
        );
        // Dividing by a zero decimal is the same error on both.
        let err = Ledger::objects()
            .update([Ledger::amount().set(Ledger::amount() / dec("0"))], &db)
            .await
            .unwrap_err();
        assert!(
            matches!(err, brisk_orm::Error::Database { ref code, .. } if code.as_deref() == Some("22012")),
            "{err:?}"
        );
        // Durations and times compare and sum.
        let (total,) = Ledger::objects().aggregate((Ledger::took().sum(),), &db).await.unwrap();
        assert_eq!(total, Some(brisk_orm::Duration::from_micros(1_500_000 * 10 - 5)));
        let late = brisk_orm::Time::from_hms_micro(23, 59, 59, 999_997).unwrap();
        assert_eq!(Ledger::objects().filter(Ledger::at().gt(late)).count(&db).await.unwrap(), 2);
    })
    .await;
}

#[test]
fn datetimes_with_an_offset_are_read_as_utc() {
    let local: DateTime = serde_json::from_str(r#""2024-01-01T12:00:00.000001+02:00""#).unwrap();
    let utc: DateTime = serde_json::from_str(r#""2024-01-01T10:00:00.000001Z""#).unwrap();
    assert_eq!(local, utc);
    assert_eq!(serde_json::to_string(&local).unwrap(), r#""2024-01-01T10:00:00.000001Z""#);
    assert!(serde_json::from_str::<DateTime>(r#""yesterday""#).is_err());
}

/// `value_at(i)` is `values()[i]` for every field (`bulk_update` reads a row's fields one by
/// one with it), and nothing past the last.
#[test]
fn each_fields_value_is_read_alone_as_in_the_list_of_all() {
    let sample = extreme(7, 0.5);
    let all = sample.values();
    assert_eq!(all.len(), Sample::META.fields.len());
    for (i, value) in all.iter().enumerate() {
        assert_eq!(sample.value_at(i).as_ref(), Some(value), "field {i}");
    }
    assert_eq!(sample.value_at(all.len()), None);
}
