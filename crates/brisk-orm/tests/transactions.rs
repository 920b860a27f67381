//! Transactions on both backends: commit, rollback on error, nested savepoints, on_commit
//! hooks, a transaction dropped mid-way, and queries inside a transaction seeing its writes.

mod support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use brisk_orm::prelude::*;
use brisk_orm::{Dialect, Error, Raw};
use support::{each_backend, name, postgres_only};

#[derive(Debug, Clone, Model)]
struct Account {
    #[model(primary_key)]
    id: AutoId,
    #[model(unique)]
    owner: String,
    balance: i64,
}

fn account(owner: &str, balance: i64) -> Account {
    Account { id: AutoId::default(), owner: owner.into(), balance }
}

/// Every account's owner, sorted.
async fn owners(db: &Database) -> Vec<String> {
    let mut owners: Vec<String> =
        Account::objects().all(db).await.unwrap().into_iter().map(|a| a.owner).collect();
    owners.sort();
    owners
}

async fn balance(db: &Database, owner: &str) -> i64 {
    Account::objects().filter(Account::owner().eq(owner)).get(db).await.unwrap().balance
}

#[tokio::test]
async fn atomic_commits_on_ok_and_rolls_back_on_err() {
    each_backend(|db| async move {
        Account::objects().bulk_create(vec![account("a", 100), account("b", 0)], &db).await.unwrap();
        db.atomic(|tx| async move {
            Account::objects()
                .filter(Account::owner().eq("a"))
                .update([Account::balance().set(Account::balance() - 30)], &tx)
                .await?;
            Account::objects()
                .filter(Account::owner().eq("b"))
                .update([Account::balance().set(Account::balance() + 30)], &tx)
                .await?;
            // Reads inside the transaction see its own writes.
            assert_eq!(Account::objects().filter(Account::owner().eq("b")).get(&tx).await?.balance, 30);
            Ok::<_, Error>(())
        })
        .await
        .unwrap();
        assert_eq!((balance(&db, "a").await, balance(&db, "b").await), (70, 30), "{}", name(&db));

        let failed: Result<(), Error> = db
            .atomic(|tx| async move {
                Account::objects()
                    .filter(Account::owner().eq("a"))
                    .update([Account::balance().set(0)], &tx)
                    .await?;
                // A unique violation half-way: everything before it is undone.
                Account::objects().create(account("b", 1), &tx).await?;
                Ok(())
            })
            .await;
        assert!(matches!(failed, Err(Error::UniqueViolation { .. })), "{failed:?}");
        assert_eq!(balance(&db, "a").await, 70, "{}", name(&db));
    })
    .await;
}

#[tokio::test]
async fn nested_savepoints_roll_back_alone() {
    each_backend(|db| async move {
        db.atomic(|tx| async move {
            Account::objects().create(account("outer", 1), &tx).await?;
            let inner: Result<(), Error> = tx
                .atomic(|tx| async move {
                    Account::objects().create(account("inner", 2), &tx).await?;
                    Account::objects().create(account("outer", 3), &tx).await?; // duplicate: fails
                    Ok(())
                })
                .await;
            assert!(inner.is_err());
            tx.atomic(|tx| async move {
                Account::objects().create(account("second", 4), &tx).await?;
                tx.atomic(
                    |tx| async move { Account::objects().create(account("deep", 5), &tx).await.map(drop) },
                )
                .await
            })
            .await?;
            Ok::<_, Error>(())
        })
        .await
        .unwrap();
        let mut owners: Vec<(String,)> =
            Account::objects().values_list((Account::owner(),), &db).await.unwrap();
        owners.sort();
        let owners: Vec<String> = owners.into_iter().map(|o| o.0).collect();
        assert_eq!(owners, ["deep", "outer", "second"], "{}", name(&db));
    })
    .await;
}

/// Transaction control written by hand is refused before anything is sent, on both backends,
/// by `execute_raw` (any statement of a batch) and by `Raw`, in a transaction (it would end the
/// transaction under brisk-orm, committing part of the work) and outside one (it would leave a
/// shared connection inside a transaction). The transaction goes on, and savepoints, trigger
/// bodies and blocks that only mention the keywords still run.
#[tokio::test]
async fn transaction_control_written_by_hand_is_refused() {
    each_backend(|db| async move {
        let table = <Account as Model>::META.table;
        let refused = |e: Error, sql: &str| {
            assert!(
                matches!(e, Error::Config(_)) && e.to_string().contains("in SQL written by hand"),
                "{sql}: {e}"
            );
        };
        let outcome = db
            .atomic(|tx| async move {
                Account::objects().create(account("kept", 1), &tx).await?;
                let half = format!("INSERT INTO {table} (owner, balance) VALUES ('half', 2); COMMIT");
                for sql in ["COMMIT", "rollback", "END", "BEGIN", half.as_str()] {
                    refused(tx.execute_raw(sql).await.expect_err(sql), sql);
                }
                refused(Raw::new("COMMIT").execute(&tx).await.expect_err("Raw COMMIT"), "Raw COMMIT");
                // Savepoints nest: allowed.
                tx.execute_raw("SAVEPOINT by_hand").await?;
                Account::objects().create(account("undone", 3), &tx).await?;
                tx.execute_raw("ROLLBACK TO SAVEPOINT by_hand; RELEASE SAVEPOINT by_hand").await?;
                tx.execute_raw("SELECT 'COMMIT' -- ; COMMIT").await?;
                // Bodies whose own `;` and `END` are not statements of the batch.
                let body = match tx.database().dialect() {
                    Dialect::Sqlite => format!(
                        "CREATE TEMP TRIGGER by_hand_t AFTER UPDATE ON {table} BEGIN \
                         UPDATE {table} SET balance = CASE WHEN new.balance < 0 THEN 0 ELSE new.balance END \
                         WHERE id = new.id; END; DROP TRIGGER by_hand_t"
                    ),
                    _ => "DO $$ BEGIN /* COMMIT; */ PERFORM 1; END $$; SELECT 1".to_owned(),
                };
                tx.execute_raw(&body).await?;
                Account::objects().create(account("after", 4), &tx).await?;
                Ok::<_, Error>(())
            })
            .await;
        assert!(outcome.is_ok(), "{outcome:?} ({})", name(&db));
        let mut owners: Vec<(String,)> =
            Account::objects().values_list((Account::owner(),), &db).await.unwrap();
        owners.sort();
        assert_eq!(owners, [("after".to_owned(),), ("kept".to_owned(),)], "{}", name(&db));
        // Outside a transaction too: a connection others share would be left inside one.
        let script = format!("BEGIN; INSERT INTO {table} (owner, balance) VALUES ('script', 5); COMMIT");
        refused(db.execute_raw(&script).await.expect_err("a script"), &script);
        refused(Raw::new("BEGIN").execute(&db).await.expect_err("Raw BEGIN"), "Raw BEGIN");
        assert_eq!(
            Account::objects().count(&db).await.unwrap(),
            2,
            "nothing of the script ran ({})",
            name(&db)
        );
    })
    .await;
}

/// An error PostgreSQL raised inside a transaction fails it on the server, and PostgreSQL
/// answers its COMMIT as a rollback, without an error: an app that handled the error and went
/// on gets the error from the commit, not Ok for work that was not kept. A savepoint block
/// that failed takes its error with it. (SQLite does not fail a transaction for a failed
/// statement: there the rest commits.)
#[tokio::test]
async fn a_postgresql_error_the_app_handled_still_fails_the_commit() {
    postgres_only(|db| async move {
        Account::objects().create(account("taken", 1), &db).await.unwrap();
        let committed = db
            .atomic(|tx| async move {
                Account::objects().create(account("first", 1), &tx).await?;
                let e = Account::objects().create(account("taken", 2), &tx).await.expect_err("unique");
                assert!(matches!(e, Error::UniqueViolation { .. }), "{e:?}");
                // Refused by the server now, and answered as the first failure.
                let again = Account::objects().count(&tx).await.expect_err("the transaction failed");
                assert!(matches!(again, Error::UniqueViolation { .. }), "{again:?}");
                Ok::<_, Error>(()) // handled: the app goes on
            })
            .await;
        assert!(matches!(committed, Err(Error::UniqueViolation { .. })), "{committed:?}");
        assert_eq!(owners(&db).await, ["taken"]);

        // Inside a savepoint, the failure is the block's, and the rest commits.
        db.atomic(|tx| async move {
            let inner = tx
                .atomic(|sp| async move { Account::objects().create(account("taken", 3), &sp).await })
                .await;
            assert!(inner.is_err());
            Account::objects().create(account("second", 1), &tx).await
        })
        .await
        .unwrap();
        assert_eq!(owners(&db).await, ["second", "taken"]);
    })
    .await;
}

/// A savepoint written by hand still recovers from a failed statement: after `ROLLBACK TO`
/// the transaction goes on and commits what was before and after it (on PostgreSQL the
/// failure the server raised is forgotten with the rollback to the savepoint).
#[tokio::test]
async fn a_savepoint_written_by_hand_recovers_from_a_failed_statement() {
    each_backend(|db| async move {
        Account::objects().create(account("taken", 1), &db).await.unwrap();
        db.atomic(|tx| async move {
            Account::objects().create(account("before", 1), &tx).await?;
            tx.execute_raw("SAVEPOINT by_hand").await?;
            assert!(Account::objects().create(account("taken", 2), &tx).await.is_err());
            tx.execute_raw("ROLLBACK TO SAVEPOINT by_hand").await?;
            Account::objects().create(account("middle", 1), &tx).await?;
            // The same through Raw.
            Raw::new("SAVEPOINT again").execute(&tx).await?;
            assert!(Account::objects().create(account("taken", 3), &tx).await.is_err());
            Raw::new("ROLLBACK TO SAVEPOINT again").execute(&tx).await?;
            Account::objects().create(account("after", 1), &tx).await
        })
        .await
        .unwrap();
        assert_eq!(owners(&db).await, ["after", "before", "middle", "taken"], "{}", name(&db));
    })
    .await;
}

/// `get_or_create` in a transaction whose insert hits a unique row its filter did not find:
/// the error is the call's, and the transaction goes on (its insert ran in a savepoint; on
/// PostgreSQL the violation would otherwise have failed the whole transaction).
#[tokio::test]
async fn get_or_create_in_a_transaction_leaves_it_usable_after_a_unique_violation() {
    each_backend(|db| async move {
        Account::objects().create(account("taken", 1), &db).await.unwrap();
        db.atomic(|tx| async move {
            Account::objects().create(account("before", 1), &tx).await?;
            let other = Account::objects()
                .filter(Account::owner().eq("taken").and(Account::balance().eq(5)))
                .get_or_create(|| account("taken", 5), &tx)
                .await;
            assert!(matches!(other, Err(Error::DoesNotExist { .. })), "{other:?}");
            let (found, created) = Account::objects()
                .filter(Account::owner().eq("taken"))
                .get_or_create(|| account("x", 0), &tx)
                .await?;
            assert_eq!((found.balance, created), (1, false));
            Account::objects().create(account("after", 1), &tx).await
        })
        .await
        .unwrap();
        assert_eq!(owners(&db).await, ["after", "before", "taken"], "{}", name(&db));
    })
    .await;
}

/// The commit's check found the transaction failed on the server.
fn nothing_committed(result: Result<(), Error>) {
    let e = result.expect_err("the check before the COMMIT fails");
    assert!(e.to_string().contains("nothing was committed"), "{e}");
}

/// Replaces `table` by a view of 200,000 rows whose `id` is `id` (of `n`), failing with a
/// division by zero at the 100,000th.
async fn failing_view(db: &Database, table: &str, id: &str) {
    db.execute_raw(&format!(
        "DROP TABLE {table}; CREATE VIEW {table} AS SELECT ({id})::bigint AS id \
         FROM generate_series(1, 200000) n WHERE 1 / (100000 - n) IS NOT NULL"
    ))
    .await
    .unwrap();
}

/// A statement written and then dropped before its answer (a timeout, a cancelled request)
/// fails on the server: the commit says so, where PostgreSQL answers the COMMIT of the failed
/// transaction as a rollback without an error.
#[tokio::test]
async fn a_failure_nobody_read_still_fails_the_commit() {
    postgres_only(|db| async move {
        use futures_util::{FutureExt, StreamExt};
        Account::objects().create(account("taken", 1), &db).await.unwrap();
        let tx = db.begin().await.unwrap();
        Account::objects().create(account("first", 1), &tx).await.unwrap(); // prepares the INSERT
        let objects = Account::objects();
        let polled_once = objects.create(account("taken", 2), &tx).now_or_never();
        assert!(polled_once.is_none(), "written, then dropped");
        nothing_committed(tx.commit().await);
        assert_eq!(owners(&db).await, ["taken"]);

        // A stream left early, its query failing after the rows it read.
        failing_view(&db, FailingNumber::META.table, "n").await;
        let failed = db
            .atomic(|tx| async move {
                Account::objects().create(account("second", 1), &tx).await?;
                let mut rows = FailingNumber::objects().stream(&tx);
                assert!(rows.next().await.is_some_and(|r| r.is_ok()), "a row before the failure");
                drop(rows);
                Ok::<_, Error>(())
            })
            .await;
        nothing_committed(failed);
        assert_eq!(owners(&db).await, ["taken"]);

        // A row that does not decode (a NULL for a number) leaves the rest of the answer
        // unread, and the query fails after it on the server.
        failing_view(&db, UnreadableNumber::META.table, "CASE WHEN n = 1 THEN NULL ELSE n END").await;
        let failed = db
            .atomic(|tx| async move {
                Account::objects().create(account("third", 1), &tx).await?;
                let read = UnreadableNumber::objects().all(&tx).await;
                assert!(matches!(read, Err(Error::Decode { .. })), "{read:?}");
                Ok::<_, Error>(()) // ignored
            })
            .await;
        nothing_committed(failed);

        // A statement still running on a clone while the transaction commits.
        let tx = db.begin().await.unwrap();
        Account::objects().create(account("fourth", 1), &tx).await.unwrap();
        let clone = tx.clone();
        let objects = Account::objects();
        let mut running = Box::pin(objects.create(account("taken", 4), &clone));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let polled = std::future::Future::poll(running.as_mut(), &mut cx);
        assert!(polled.is_pending(), "written, its answer to come");
        nothing_committed(tx.commit().await);
        drop(running);
        assert_eq!(owners(&db).await, ["taken"]);

        // A transaction that streamed to the end commits.
        db.atomic(|tx| async move {
            Account::objects().create(account("fifth", 1), &tx).await?;
            Account::objects().stream(&tx).count().await;
            Ok::<_, Error>(())
        })
        .await
        .unwrap();
        assert_eq!(Account::objects().count(&db).await.unwrap(), 2);
    })
    .await;
}

/// A view whose first row does not decode and whose query fails later (see
/// [`a_failure_nobody_read_still_fails_the_commit`]).
#[derive(Debug, Clone, Model)]
#[model(table = "unreadable_numbers")]
struct UnreadableNumber {
    #[model(primary_key)]
    id: i64,
}

/// A view whose rows fail part-way (see [`a_failure_nobody_read_still_fails_the_commit`]).
#[derive(Debug, Clone, Model)]
#[model(table = "failing_numbers")]
struct FailingNumber {
    #[model(primary_key)]
    id: i64,
}

#[tokio::test]
async fn on_commit_runs_after_commit_only() {
    each_backend(|db| async move {
        let ran = Arc::new(AtomicU32::new(0));
        let hook = |n: u32| {
            let ran = ran.clone();
            move || {
                ran.fetch_add(n, Ordering::SeqCst);
            }
        };
        db.atomic(|tx| {
            let (one, ten, hundred) = (hook(1), hook(10), hook(100));
            async move {
                tx.on_commit(one);
                let _ = tx
                    .atomic(|tx| async move {
                        tx.on_commit(ten); // dropped with its savepoint
                        Err::<(), Error>(Error::Config("undo".into()))
                    })
                    .await;
                tx.atomic(|tx| async move {
                    tx.on_commit(hundred);
                    Ok::<_, Error>(())
                })
                .await?;
                Ok::<_, Error>(())
            }
        })
        .await
        .unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 101);
        let _ = db
            .atomic(|tx| {
                let one = hook(1000);
                async move {
                    tx.on_commit(one);
                    Err::<(), Error>(Error::Config("rolled back".into()))
                }
            })
            .await;
        assert_eq!(ran.load(Ordering::SeqCst), 101, "{}", name(&db));
    })
    .await;
}

#[tokio::test]
async fn a_dropped_transaction_rolls_back_and_frees_its_connection() {
    each_backend(|db| async move {
        {
            let tx = db.begin().await.unwrap();
            Account::objects().create(account("ghost", 1), &tx).await.unwrap();
            // Dropped here without a commit: a cancelled request.
        }
        // The writer (SQLite) or the connection (PostgreSQL) is free again, and nothing stayed.
        for _ in 0..3 {
            db.atomic(|tx| async move { Account::objects().create(account("real", 1), &tx).await.map(drop) })
                .await
                .unwrap();
            Account::objects().delete(&db).await.unwrap();
        }
        assert_eq!(Account::objects().filter(Account::owner().eq("ghost")).count(&db).await.unwrap(), 0);
        // A finished transaction refuses further queries instead of running them outside it.
        let tx = db.begin().await.unwrap();
        let kept = tx.clone();
        tx.commit().await.unwrap();
        assert!(Account::objects().count(&kept).await.is_err());
    })
    .await;
}

#[tokio::test]
async fn concurrent_transactions_all_commit() {
    each_backend(|db| async move {
        Account::objects().create(account("counter", 0), &db).await.unwrap();
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let db = db.clone();
                tokio::spawn(async move {
                    db.atomic(|tx| async move {
                        Account::objects()
                            .filter(Account::owner().eq("counter"))
                            .update([Account::balance().set(Account::balance() + 1)], &tx)
                            .await
                    })
                    .await
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert_eq!(balance(&db, "counter").await, 20, "{}", name(&db));
    })
    .await;
}

#[tokio::test]
async fn a_busy_pool_answers_pool_timeout_not_a_hang() {
    use brisk_orm::testing::TestDatabase;
    use brisk_orm::DbOptions;
    use std::time::{Duration, Instant};
    for test_db in [TestDatabase::sqlite().await.unwrap(), TestDatabase::postgres().await.unwrap()] {
        let options =
            DbOptions { acquire_timeout: Duration::from_millis(300), transactions: 1, ..Default::default() };
        let db = Database::open_with(test_db.url(), options).unwrap();
        // One transaction holds SQLite's writer (PostgreSQL: the one transaction connection).
        let held = db.begin().await.unwrap();
        let started = Instant::now();
        let waited = db
            .atomic(|tx| async move { Account::objects().create(account("x", 1), &tx).await.map(drop) })
            .await;
        assert!(matches!(waited, Err(Error::PoolTimeout)), "{waited:?} on {}", name(&db));
        assert!(started.elapsed() < Duration::from_secs(3), "bounded by the acquire timeout");
        // A stream outside a transaction: PostgreSQL's needs a connection of the same pool
        // (it times out the same way); SQLite's reads on a reader thread.
        let streamed: Vec<_> = futures_util::StreamExt::collect(Account::objects().stream(&db)).await;
        match db.dialect() {
            brisk_orm::Dialect::Postgres => {
                assert!(matches!(streamed.as_slice(), [Err(Error::PoolTimeout)]), "{streamed:?}")
            }
            brisk_orm::Dialect::Sqlite => assert!(streamed.iter().all(|r| r.is_ok()), "{streamed:?}"),
        }
        let http: brisk::Error = Error::PoolTimeout.into();
        assert_eq!(http.status(), 503);
        // Once it is free, the next one gets it, and the refused work never ran.
        drop(held);
        db.atomic(|tx| async move { Account::objects().create(account("y", 1), &tx).await.map(drop) })
            .await
            .unwrap();
        assert_eq!(Account::objects().count(&db).await.unwrap(), 1);
    }
}

/// A transaction's first statement goes out without waiting for the transaction to begin
/// (PostgreSQL: `BEGIN` is written with it; SQLite: it waits in the lease's channel while the
/// writer begins), and is inside the transaction all the same (PostgreSQL: one transaction id;
/// both: undone by a rollback), also when it is a streamed query or two statements are sent at
/// once on clones of the transaction.
#[tokio::test]
async fn the_first_statement_of_a_transaction_is_inside_it() {
    use futures_util::TryStreamExt;
    each_backend(|db| async move {
        if db.dialect() == brisk_orm::Dialect::Postgres {
            let ids: Vec<i64> = db
                .atomic(|tx| async move {
                    let mut ids = Vec::new();
                    for _ in 0..2 {
                        let rows: Vec<(i64,)> =
                            brisk_orm::Raw::new("SELECT txid_current()").fetch(&tx).await?;
                        ids.push(rows[0].0);
                    }
                    Ok::<_, Error>(ids)
                })
                .await
                .unwrap();
            assert_eq!(ids[0], ids[1], "both statements in one transaction");
        }

        // The first statement a write, then a rollback: nothing stays.
        let tx = db.begin().await.unwrap();
        Account::objects().create(account("first", 1), &tx).await.unwrap();
        tx.rollback().await.unwrap();
        // Two at once on clones of a new transaction, then a rollback.
        let tx = db.begin().await.unwrap();
        let (clone, objects) = (tx.clone(), Account::objects());
        let (a, b) =
            tokio::join!(objects.create(account("one", 1), &tx), objects.create(account("two", 1), &clone));
        a.unwrap();
        b.unwrap();
        tx.rollback().await.unwrap();
        // A streamed query first.
        let tx = db.begin().await.unwrap();
        let streamed: Vec<Account> = Account::objects().stream(&tx).try_collect().await.unwrap();
        assert!(streamed.is_empty());
        Account::objects().create(account("after-stream", 1), &tx).await.unwrap();
        tx.rollback().await.unwrap();
        assert_eq!(Account::objects().count(&db).await.unwrap(), 0, "{}", name(&db));
    })
    .await;
}

/// SQLite: a transaction whose writer was not free in time fails at its first statement
/// (the pool timeout), runs nothing, and then refuses its other statements and `COMMIT`
/// without waiting for the writer; `ROLLBACK` has nothing to do.
#[tokio::test]
async fn a_transaction_that_never_began_refuses_everything_at_once() {
    use brisk_orm::testing::TestDatabase;
    use brisk_orm::DbOptions;
    use futures_util::TryStreamExt;
    use std::time::{Duration, Instant};
    let test_db = TestDatabase::sqlite().await.unwrap();
    let options = DbOptions { acquire_timeout: Duration::from_millis(300), ..Default::default() };
    let db = Database::open_with(test_db.url(), options).unwrap();
    let held = db.begin().await.unwrap();
    Account::objects().create(account("holder", 1), &held).await.unwrap();
    let tx = db.begin().await.unwrap();
    let first = Account::objects().create(account("late", 1), &tx).await;
    assert!(matches!(first, Err(Error::PoolTimeout)), "{first:?}");
    let started = Instant::now();
    assert!(Account::objects().count(&tx).await.is_err());
    let commit = tx.commit().await;
    assert!(matches!(commit, Err(Error::PoolTimeout)), "nothing to commit, and why: {commit:?}");
    assert!(started.elapsed() < Duration::from_millis(250), "no waiting for the held writer");
    let failed: Result<(), Error> = db
        .atomic(|tx| async move { Account::objects().create(account("later", 1), &tx).await.map(drop) })
        .await;
    assert!(matches!(failed, Err(Error::PoolTimeout)), "{failed:?}: its rollback had nothing to do");

    // Two statements at once on clones of a transaction whose writer is not free: both fail
    // by the timeout (the second does not wait for the writer to reach a lease given up);
    // a stream on a clone then fails too instead of coming back empty.
    let limit = Duration::from_secs(2);
    let tx = db.begin().await.unwrap();
    let (clone, objects) = (tx.clone(), Account::objects());
    let (a, b) = tokio::time::timeout(limit, async {
        tokio::join!(objects.create(account("a", 1), &tx), objects.count(&clone))
    })
    .await
    .expect("neither waits for the held writer");
    assert!(matches!(a, Err(Error::PoolTimeout)) || matches!(b, Err(Error::PoolTimeout)), "{a:?} {b:?}");
    assert!(a.is_err() && b.is_err(), "{a:?} {b:?}");
    let streamed: Result<Vec<Account>, Error> =
        tokio::time::timeout(limit, Account::objects().stream(&clone).try_collect()).await.expect("no hang");
    assert!(streamed.is_err(), "an error, not an empty stream: {streamed:?}");
    drop((tx, clone));

    // A transaction that ran nothing ends at once, whoever holds the writer; so does an
    // `atomic` whose closure fails before its first query.
    let started = Instant::now();
    db.begin().await.unwrap().rollback().await.unwrap();
    db.begin().await.unwrap().commit().await.unwrap();
    let refused: Result<(), Error> =
        db.atomic(|_tx| async move { Err(Error::Config("refused before any query".into())) }).await;
    assert!(matches!(refused, Err(Error::Config(_))), "{refused:?}");
    assert!(started.elapsed() < Duration::from_millis(250), "no waiting for the held writer");
    held.commit().await.unwrap();
    let owners: Vec<String> =
        Account::objects().all(&db).await.unwrap().into_iter().map(|a| a.owner).collect();
    assert_eq!(owners, ["holder"], "the late transaction ran nothing");
}

/// SQLite: every statement of a transaction drives the one wait for the writer. A statement
/// cancelled while waiting, or a stream left unpolled while waiting, does not keep the others
/// waiting or make them fail; the cancelled statement's work, sent already, is part of the
/// transaction.
#[tokio::test]
async fn a_cancelled_or_idle_first_statement_leaves_the_others_working() {
    use brisk_orm::testing::TestDatabase;
    use futures_util::{FutureExt, StreamExt};
    use std::time::Duration;
    let test_db = TestDatabase::sqlite().await.unwrap();
    let db = test_db.database();
    let limit = Duration::from_secs(5);

    // Another transaction holds the writer, so the next one's lease waits.
    let hold = || async {
        let holder = db.begin().await.unwrap();
        Account::objects().count(&holder).await.unwrap();
        holder
    };
    // Cancelled right after it was sent (its first poll), before it heard the writer begin.
    let holder = hold().await;
    let tx = db.begin().await.unwrap();
    let objects = Account::objects();
    let cancelled = tokio::time::timeout(Duration::ZERO, objects.create(account("sent", 1), &tx)).await;
    assert!(cancelled.is_err(), "cancelled while waiting");
    holder.commit().await.unwrap();
    tokio::time::timeout(limit, objects.create(account("next", 1), &tx)).await.expect("no hang").unwrap();
    tx.commit().await.unwrap();
    let mut owners: Vec<String> = objects.all(&db).await.unwrap().into_iter().map(|a| a.owner).collect();
    owners.sort();
    assert_eq!(owners, ["next", "sent"]);

    // A stream polled once (waiting for the writer), then left alone.
    let holder = hold().await;
    let tx = db.begin().await.unwrap();
    let mut rows = Account::objects().stream(&tx);
    assert!(rows.next().now_or_never().is_none(), "waiting for the writer");
    holder.commit().await.unwrap();
    let counted = tokio::time::timeout(limit, Account::objects().count(&tx)).await.expect("no hang");
    assert_eq!(counted.unwrap(), 2);
    drop(rows);
    tx.rollback().await.unwrap();
}

/// A statement a clone sends once the transaction is committing finds it ended: it does not
/// run after the `COMMIT`, outside any transaction (nor after a `ROLLBACK`, where it would be
/// the only write that stays).
#[tokio::test]
async fn a_statement_sent_while_the_transaction_ends_does_not_run() {
    each_backend(|db| async move {
        for end in ["commit", "rollback"] {
            let tx = db.begin().await.unwrap();
            Account::objects().create(account(&format!("{end}-inside"), 1), &tx).await.unwrap();
            let (clone, objects) = (tx.clone(), Account::objects());
            let ending = async {
                match end {
                    "commit" => tx.commit().await,
                    _ => tx.rollback().await,
                }
            };
            let late = account(&format!("{end}-late"), 1);
            let (ended, late) = tokio::join!(ending, objects.create(late, &clone));
            ended.unwrap();
            assert!(late.is_err(), "{end}: {late:?} on {}", name(&db));
        }
        let owners: Vec<String> =
            Account::objects().all(&db).await.unwrap().into_iter().map(|a| a.owner).collect();
        assert_eq!(owners, ["commit-inside"], "{}", name(&db));
    })
    .await;
}

/// `turns` turns of the scheduler (and from 2 on, `turns - 1` ms: a round trip to the
/// server), then `f`: the two sides of a race start in a different order, and at a different
/// distance, from one iteration to the next.
async fn after_yields<T>(turns: usize, f: impl std::future::Future<Output = T>) -> T {
    for _ in 0..turns {
        tokio::task::yield_now().await;
    }
    if turns >= 2 {
        tokio::time::sleep(std::time::Duration::from_millis(turns as u64 - 1)).await;
    }
    f.await
}

/// A transaction's first statement racing a clone's rollback, in every order the scheduler
/// gives: it runs inside the transaction (and is rolled back with it) or finds the
/// transaction ended; it never runs after the rollback, outside any transaction, where its
/// write would stay.
#[tokio::test]
async fn a_first_statement_racing_a_rollback_never_writes() {
    each_backend(|db| async move {
        for i in 0..48 {
            let tx = db.begin().await.unwrap();
            let clone = tx.clone();
            let objects = Account::objects();
            let (created, rolled) = tokio::join!(
                after_yields(i % 4, objects.create(account(&format!("race-{i}"), 1), &tx)),
                after_yields(i / 4 % 4, clone.rollback()),
            );
            rolled.unwrap();
            if let Err(e) = &created {
                assert!(e.to_string().contains("ended"), "{}: {e}", name(&db));
            }
        }
        assert_eq!(Account::objects().count(&db).await.unwrap(), 0, "{}", name(&db));
    })
    .await;
}

/// A transaction's stream racing a clone's rollback: it reads inside the transaction (and so
/// sees the transaction's own row) or ends with the transaction's ended error; it never reads
/// after the rollback, outside the transaction (it would miss that row).
#[tokio::test]
async fn a_stream_racing_a_rollback_reads_inside_the_transaction_or_not_at_all() {
    use futures_util::TryStreamExt;
    each_backend(|db| async move {
        Account::objects().create(account("before", 1), &db).await.unwrap();
        let (mut inside, mut ended) = (0, 0);
        for i in 0..48 {
            let tx = db.begin().await.unwrap();
            Account::objects().create(account("inside", 1), &tx).await.unwrap();
            let clone = tx.clone();
            let (read, rolled) = tokio::join!(
                after_yields(i % 4, Account::objects().stream(&tx).try_collect::<Vec<Account>>()),
                after_yields(i / 4 % 4, clone.rollback()),
            );
            rolled.unwrap();
            match read {
                Ok(rows) => {
                    let mut owners: Vec<String> = rows.into_iter().map(|a| a.owner).collect();
                    owners.sort();
                    assert_eq!(owners, ["before", "inside"], "read outside the transaction on {}", name(&db));
                    inside += 1;
                }
                Err(e) => {
                    assert!(e.to_string().contains("ended"), "{}: {e}", name(&db));
                    ended += 1;
                }
            }
        }
        assert_eq!(inside + ended, 48);
        assert_eq!(Account::objects().count(&db).await.unwrap(), 1, "{}", name(&db));
    })
    .await;
}

/// SQLite: a stream whose query is sent behind a statement that ends the transaction under
/// it (SQLite rolls it back on its own: here a trigger's `RAISE(ROLLBACK)`, in life an
/// interrupt or a full disk) fails with "ended" — whether its query was still queued when the
/// writer's lease ended (dropped unrun) or came after (refused) — and never comes back empty
/// as if it had no rows. (`join!` polls the rolling-back statement first, so it always goes
/// out first; the yields vary when the stream follows.)
#[tokio::test]
async fn a_stream_behind_a_rollback_by_sqlite_fails_rather_than_ending_empty() {
    use futures_util::TryStreamExt;
    let sqlite = brisk_orm::testing::TestDatabase::sqlite().await.expect("a SQLite test database");
    let db = sqlite.database();
    db.execute_raw(
        "CREATE TABLE roll_back_now (x INTEGER); \
         CREATE TRIGGER roll_back_now_t BEFORE INSERT ON roll_back_now \
         BEGIN SELECT RAISE(ROLLBACK, 'rolled back by SQLite'); END",
    )
    .await
    .unwrap();
    Account::objects().create(account("before", 1), &db).await.unwrap();
    for i in 0..32 {
        let tx = db.begin().await.unwrap();
        Account::objects().create(account("inside", 1), &tx).await.unwrap();
        let clone = tx.clone();
        let (rolled, read) = tokio::join!(
            clone.execute_raw("INSERT INTO roll_back_now VALUES (1)"),
            after_yields(i % 4, Account::objects().stream(&tx).try_collect::<Vec<Account>>()),
        );
        let rolled = rolled.expect_err("the trigger rolls back");
        assert!(rolled.to_string().contains("rolled back by SQLite"), "{rolled}");
        let owners = read.map(|rows| rows.into_iter().map(|a| a.owner).collect::<Vec<_>>());
        assert!(
            owners.as_ref().is_err_and(|e| e.to_string().contains("ended")),
            "round {i}: {owners:?} (read outside the transaction, or nothing)"
        );
        drop(clone);
        // SQLite rolled it back already: a rollback finds it ended, and says so.
        let again = tx.rollback().await.expect_err("ended");
        assert!(again.to_string().contains("ended"), "{again}");
    }
    assert_eq!(Account::objects().count(&db).await.unwrap(), 1);
}

/// A statement sent just before a clone commits, whose SQL the connection has not prepared
/// yet: it is prepared first (a round trip), and the COMMIT goes out meanwhile. It then finds
/// the transaction ended, instead of being bound after the COMMIT, outside the transaction, on
/// a connection the pool may already have handed to another transaction.
#[tokio::test]
async fn a_statement_prepared_while_the_transaction_commits_does_not_run_after_it() {
    each_backend(|db| async move {
        let tx = db.begin().await.unwrap();
        Account::objects().create(account("first", 1), &tx).await.unwrap();
        let sql = format!("INSERT INTO \"{}\" (owner, balance) VALUES (?, 2)", Account::META.table);
        let racing = brisk_orm::Raw::new(&sql).bind("racer".to_owned()).execute(&tx);
        let (raced, committed) = tokio::join!(racing, tx.clone().commit());
        committed.unwrap();
        let racer = Account::objects().filter(Account::owner().eq("racer")).count(&db).await.unwrap();
        match db.dialect() {
            // PostgreSQL: the statement was still being prepared when the COMMIT went out.
            brisk_orm::Dialect::Postgres => {
                assert!(matches!(&raced, Err(e) if e.to_string().contains("ended")), "{raced:?}");
                assert_eq!(racer, 0);
            }
            // SQLite: statements run on the writer in the order sent, the insert before COMMIT.
            brisk_orm::Dialect::Sqlite => assert_eq!((raced.is_ok(), racer), (true, 1), "{raced:?}"),
        }
        assert_eq!(Account::objects().filter(Account::owner().eq("first")).count(&db).await.unwrap(), 1);
    })
    .await;
}

/// A statement whose prepare looks a type up (an enum of the database's own: tokio-postgres
/// asks the server about it at later polls of the prepare) runs inside a transaction as any
/// other: each of those polls goes through the open transaction's gate.
#[tokio::test]
async fn a_statement_needing_a_type_lookup_runs_in_a_transaction() {
    postgres_only(|db| async move {
        let rows = db
            .atomic(|tx| async move {
                tx.execute_raw("CREATE TYPE brisk_mood AS ENUM ('ok', 'sad')").await?;
                brisk_orm::Raw::new("SELECT 7::int4, 'ok'::brisk_mood").fetch::<(i32,)>(&tx).await
            })
            .await
            .unwrap();
        assert_eq!(rows, [(7,)]);
    })
    .await;
}

/// A PostgreSQL transaction that ran no statement sent nothing (no `BEGIN`, no `COMMIT`), so
/// dropping it leaves its connection outside any transaction: it goes back to the pool
/// instead of being closed.
#[tokio::test]
async fn a_transaction_that_ran_nothing_keeps_its_connection() {
    postgres_only(|db| async move {
        let pid = |tx: brisk_orm::Transaction| async move {
            let rows: Vec<(i32,)> = brisk_orm::Raw::new("SELECT pg_backend_pid()").fetch(&tx).await.unwrap();
            tx.commit().await.unwrap();
            rows[0].0
        };
        let first = pid(db.begin().await.unwrap()).await;
        drop(db.begin().await.unwrap());
        db.atomic(|_tx| async move { Ok::<_, Error>(()) }).await.unwrap();
        assert_eq!(pid(db.begin().await.unwrap()).await, first, "the same connection, not a new one");
    })
    .await;
}

/// Makes `endless_numbers` (PostgreSQL) a view of 1, 2, 3, … that never ends: a query of it
/// runs until it is cancelled, after sending its first rows.
async fn endless_numbers(db: &Database) {
    db.execute_raw(
        "DROP TABLE endless_numbers; CREATE VIEW endless_numbers AS \
         WITH RECURSIVE n(id) AS (SELECT 1::bigint UNION ALL SELECT id + 1 FROM n) SELECT id FROM n",
    )
    .await
    .expect("the view is made");
}

/// A model over numbers that never end (the view [`endless_numbers`] makes).
#[derive(Debug, Clone, Model)]
#[model(table = "endless_numbers")]
struct EndlessNumber {
    #[model(primary_key)]
    id: i64,
}

/// PostgreSQL sends a `get`'s row and then fails the statement (a statement timeout, while the
/// query goes on looking for more rows): inside a transaction `get` reads the answer to its
/// end and fails, instead of returning the row from a transaction the server has aborted (and
/// whose COMMIT the server would answer as a rollback, no error).
#[tokio::test]
async fn an_error_after_a_gets_row_fails_it_inside_a_transaction() {
    postgres_only(|db| async move {
        endless_numbers(&db).await;
        let outcome = db
            .atomic(|tx| async move {
                tx.execute_raw("SET LOCAL statement_timeout = '300ms'").await?;
                EndlessNumber::objects().filter(EndlessNumber::id().eq(1)).get(&tx).await
            })
            .await;
        assert!(matches!(&outcome, Err(Error::Database { .. })), "{outcome:?}");
    })
    .await;
}

/// The connection of a transaction killed while a stream of it is being read (its server
/// process terminated): the stream ends with one error after the rows that came, the
/// transaction's COMMIT fails, and the next transaction gets a new connection.
#[tokio::test]
async fn a_transactions_stream_on_a_killed_connection_ends_with_one_error() {
    use futures_util::StreamExt;
    use std::time::Duration;
    postgres_only(|db| async move {
        endless_numbers(&db).await;
        let backend = |rows: Vec<(i32,)>| rows[0].0;
        let tx = db.begin().await.unwrap();
        let pid = backend(brisk_orm::Raw::new("SELECT pg_backend_pid()").fetch(&tx).await.unwrap());
        let mut endless = EndlessNumber::objects().stream(&tx);
        for expected in 1..=10 {
            assert_eq!(endless.next().await.unwrap().unwrap().id, expected);
        }
        let killed: Vec<(bool,)> =
            brisk_orm::Raw::new("SELECT pg_terminate_backend(?)").bind(pid).fetch(&db).await.unwrap();
        assert!(killed[0].0);
        let rest = tokio::time::timeout(Duration::from_secs(20), endless.collect::<Vec<_>>())
            .await
            .expect("the stream ends once its connection is gone");
        assert!(matches!(rest.last(), Some(Err(_))), "{:?}", rest.last());
        assert_eq!(rest.iter().filter(|r| r.is_err()).count(), 1, "the error comes once");
        assert!(tx.commit().await.is_err(), "nothing was committed, and the COMMIT says so");
        let next = db.begin().await.unwrap();
        let other = backend(brisk_orm::Raw::new("SELECT pg_backend_pid()").fetch(&next).await.unwrap());
        assert_ne!(other, pid);
        next.commit().await.unwrap();
        // Outside a transaction: the stream's own connection (of a pool with one) killed.
        let options = brisk_orm::DbOptions {
            transactions: 1,
            acquire_timeout: Duration::from_secs(2),
            ..Default::default()
        };
        let one = Database::open_with(db.url(), options).unwrap();
        let mut endless = EndlessNumber::objects().stream(&one);
        assert_eq!(endless.next().await.unwrap().unwrap().id, 1);
        let killed: Vec<(bool,)> = brisk_orm::Raw::new(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() \
             AND state = 'active' AND query LIKE '%endless_numbers%' AND pid <> pg_backend_pid()",
        )
        .fetch(&db)
        .await
        .unwrap();
        assert!(killed.iter().any(|k| k.0), "{killed:?}");
        let rest = tokio::time::timeout(Duration::from_secs(20), endless.collect::<Vec<_>>())
            .await
            .expect("the stream ends once its connection is gone");
        assert!(matches!(rest.last(), Some(Err(_))), "{:?}", rest.last());
        assert_eq!(rest.iter().filter(|r| r.is_err()).count(), 1, "the error comes once");
        // Its place in the pool is free again: a transaction gets a (new) connection.
        let after = one.begin().await.expect("the killed stream's connection left the pool");
        brisk_orm::Raw::new("SELECT 1").execute(&after).await.unwrap();
        after.commit().await.unwrap();
    })
    .await;
}

/// A PostgreSQL stream outside a transaction runs on a connection of the transaction pool: a
/// stream whose query the server failed gives it back (the connection is ready for the next
/// query); one dropped before its end has its query cancelled and the connection closed, never
/// handed out again (a late cancel could stop the next query on it).
#[tokio::test]
async fn a_failed_stream_gives_its_connection_back_and_a_dropped_one_closes_it() {
    use futures_util::StreamExt;
    postgres_only(|db| async move {
        Account::objects().bulk_create(vec![account("a", 1), account("b", 2)], &db).await.unwrap();
        let pid = |tx: brisk_orm::Transaction| async move {
            let rows: Vec<(i32,)> = brisk_orm::Raw::new("SELECT pg_backend_pid()").fetch(&tx).await.unwrap();
            tx.commit().await.unwrap();
            rows[0].0
        };
        let first = pid(db.begin().await.unwrap()).await;
        let failing = Account::objects().filter(Account::balance().gt(Account::balance() / 0)).stream(&db);
        let items: Vec<_> = failing.collect().await;
        assert!(matches!(items.as_slice(), [Err(Error::Database { .. })]), "{items:?}");
        assert_eq!(pid(db.begin().await.unwrap()).await, first, "the failed stream's connection came back");
        let mut dropped = Account::objects().stream(&db);
        assert!(dropped.next().await.unwrap().is_ok());
        drop(dropped);
        assert_ne!(
            pid(db.begin().await.unwrap()).await,
            first,
            "a dropped stream's connection is not reused"
        );
    })
    .await;
}

/// How long `slow_numbers` sleeps before its one row (PostgreSQL).
#[derive(Debug, Clone, Model)]
#[model(table = "slow_config")]
struct SlowConfig {
    #[model(primary_key)]
    id: i64,
    seconds: f64,
}

/// A model over a view that sleeps as long as `slow_config` says, then sends one row: a
/// query that runs without sending anything meanwhile.
#[derive(Debug, Clone, Model)]
#[model(table = "slow_numbers")]
struct SlowNumber {
    #[model(primary_key)]
    id: i64,
}

/// PostgreSQL: a stream dropped while its query waits for the server's first answer (here
/// for a lock another transaction holds) has the query cancelled. Otherwise the server would
/// run it once the lock is gone, for nobody (it notices the closed connection only when it
/// sends a row): here a 30 s sleep, on a backend of its own.
#[tokio::test]
async fn a_stream_dropped_before_its_first_answer_cancels_its_query() {
    use futures_util::StreamExt;
    use std::time::Duration;
    postgres_only(|db| async move {
        SlowConfig::objects().create(SlowConfig { id: 1, seconds: 0.0 }, &db).await.unwrap();
        db.execute_raw(
            "DROP TABLE slow_numbers; CREATE VIEW slow_numbers AS \
             SELECT c.id FROM slow_config c, LATERAL pg_sleep(c.seconds) s",
        )
        .await
        .unwrap();
        // The lock holder's connection first, then the stream's: its statement prepared, the
        // connection idle again, so the next stream's query goes out whole (bound and run).
        let holder = db.begin().await.unwrap();
        brisk_orm::Raw::new("SELECT 1").execute(&holder).await.unwrap();
        let warm: Vec<_> = SlowNumber::objects().stream(&db).collect().await;
        assert!(matches!(warm.as_slice(), [Ok(_)]), "{warm:?}");
        holder.execute_raw("LOCK TABLE slow_config IN ACCESS EXCLUSIVE MODE").await.unwrap();
        brisk_orm::Raw::new("UPDATE slow_config SET seconds = 30").execute(&holder).await.unwrap();

        let mut waiting = SlowNumber::objects().stream(&db);
        assert!(
            tokio::time::timeout(Duration::from_millis(500), waiting.next()).await.is_err(),
            "the query waits for the lock"
        );
        drop(waiting);
        holder.commit().await.unwrap();

        let running = || async {
            let rows: Vec<(i64,)> = brisk_orm::Raw::new(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND state = 'active' AND query LIKE '%slow_numbers%' AND pid <> pg_backend_pid()",
            )
            .fetch(&db)
            .await
            .unwrap();
            rows[0].0
        };
        // A cancel is a connection of its own, for which the server forks a process: on a
        // loaded machine (CI's two cores) that has taken more than 3 s, and one that arrived
        // before the server began the query was ignored (the stream sends it again until the
        // query ends). Waited for as long as the stream's cleanup may take (10 s); the query
        // would sleep 30 s.
        let mut left = running().await;
        for _ in 0..100 {
            if left == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            left = running().await;
        }
        assert_eq!(left, 0, "the dropped stream's query still runs on the server");
    })
    .await;
}

/// A stream made in a transaction and first read after its COMMIT finds it ended (its query
/// never runs on the connection the transaction gave back); one whose query fails after some
/// rows ends with the error, once.
#[tokio::test]
async fn a_transactions_stream_ends_with_it() {
    use futures_util::StreamExt;
    use std::time::Duration;
    each_backend(|db| async move {
        let many: Vec<Account> = (0..2_000).map(|i| account(&format!("o{i}"), i)).collect();
        Account::objects().bulk_create(many, &db).await.unwrap();
        let tx = db.begin().await.unwrap();
        let late = Account::objects().stream(&tx);
        tx.commit().await.unwrap();
        let items: Vec<_> = late.collect().await;
        assert!(
            matches!(items.as_slice(), [Err(e)] if e.to_string().contains("ended")),
            "{}: {items:?}",
            name(&db)
        );
        if db.dialect() != brisk_orm::Dialect::Postgres {
            return;
        }
        // A stream not read yet does not keep its transaction open: dropped, the transaction
        // rolls back, and the stream finds it gone.
        let tx = db.begin().await.unwrap();
        Account::objects().create(account("dropped", 1), &tx).await.unwrap();
        let orphan = Account::objects().stream(&tx);
        drop(tx);
        let items: Vec<_> = orphan.collect().await;
        assert!(
            matches!(items.as_slice(), [Err(e)] if e.to_string().contains("ended")),
            "{}: {items:?}",
            name(&db)
        );
        assert_eq!(Account::objects().filter(Account::owner().eq("dropped")).count(&db).await.unwrap(), 0);
        // An error after some rows (a division by zero at the 1,501st): the rows before it,
        // then the error, once, then the end.
        let tx = db.begin().await.unwrap();
        let failing = Account::objects()
            .order_by([Account::balance().asc()])
            .filter(Account::balance().gt(Account::balance() / (Account::balance() - 1_500) - 1_000_000));
        let rows = tokio::time::timeout(Duration::from_secs(20), failing.stream(&tx).collect::<Vec<_>>())
            .await
            .expect("the stream ends after its error");
        assert!(matches!(rows.last(), Some(Err(Error::Database { .. }))), "{:?}", rows.last());
        assert_eq!(rows.iter().filter(|r| r.is_err()).count(), 1, "the error comes once");
        assert!(rows.len() <= 1_501, "{} items", rows.len());
        tx.rollback().await.unwrap();
    })
    .await;
}

/// An in-memory SQLite database has only its writer: a stream nobody reads must not hold it
/// (its rows wait in memory), so other reads and writes go on.
#[tokio::test]
async fn an_unread_stream_on_an_in_memory_database_holds_nothing_up() {
    use futures_util::StreamExt;
    use std::time::Duration;
    let db = Database::open("sqlite::memory:").unwrap();
    db.create_tables().await.unwrap();
    let many: Vec<Account> = (0..500).map(|i| account(&format!("m{i}"), i)).collect();
    Account::objects().bulk_create(many, &db).await.unwrap();
    let mut held = Account::objects().stream(&db);
    assert!(held.next().await.unwrap().is_ok());
    let others = async {
        Account::objects().create(account("late", 1), &db).await.unwrap();
        Account::objects().count(&db).await.unwrap()
    };
    let count =
        tokio::time::timeout(Duration::from_secs(10), others).await.expect("not held up by the stream");
    assert_eq!(count, 501);
    assert_eq!(held.count().await, 499, "the held stream still yields the rest");
}
