//! `Raw::pipeline`: a statement written inside a transaction without waiting for its answer,
//! which is read with the next statement, at a savepoint's edge or with the commit — on both
//! backends: what commits, what a failure undoes, and where the failure is reported.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use brisk_orm::prelude::*;
use brisk_orm::{Dialect, Error, Raw};
use support::{each_backend, name, postgres_only};

#[derive(Debug, Clone, Model)]
struct Entry {
    #[model(primary_key)]
    id: AutoId,
    #[model(unique)]
    key: String,
}

fn insert(key: &str) -> Raw {
    Raw::new(format!("INSERT INTO {} (key) VALUES (?)", Entry::META.table)).bind(key.to_owned())
}

async fn keys(db: &Database) -> Vec<String> {
    let mut keys: Vec<String> = Entry::objects().all(db).await.unwrap().into_iter().map(|e| e.key).collect();
    keys.sort();
    keys
}

/// The key `taken`, committed: a later insert of it fails.
async fn take_key(db: &Database) {
    Entry::objects().create(Entry { id: AutoId::default(), key: "taken".into() }, db).await.unwrap();
}

fn is_unique_violation(e: &Error) -> bool {
    matches!(e, Error::UniqueViolation { .. })
}

#[tokio::test]
async fn pipelined_writes_commit_with_the_transaction_and_are_seen_inside_it() {
    each_backend(|db| async move {
        let seen = db
            .atomic(|tx| async move {
                for key in ["a", "b", "c"] {
                    insert(key).pipeline(&tx).await?;
                }
                // A statement behind them sees them (it reads their answers first).
                Entry::objects().count(&tx).await
            })
            .await
            .unwrap();
        assert_eq!(seen, 3, "{}", name(&db));
        assert_eq!(keys(&db).await, ["a", "b", "c"], "{}", name(&db));

        // The last statement of a transaction, its answer read with the COMMIT.
        db.atomic(|tx| async move { insert("d").pipeline(&tx).await }).await.unwrap();
        assert_eq!(keys(&db).await, ["a", "b", "c", "d"], "{}", name(&db));
    })
    .await;
}

#[tokio::test]
async fn a_pipelined_write_that_fails_fails_the_commit_and_nothing_is_kept() {
    each_backend(|db| async move {
        take_key(&db).await;
        let hook_ran = Arc::new(AtomicBool::new(false));
        let ran = hook_ran.clone();
        let failed = db
            .atomic(|tx| async move {
                insert("kept-only-if-committed").execute(&tx).await?;
                insert("taken").pipeline(&tx).await?; // answered with the COMMIT
                tx.on_commit(move || ran.store(true, Ordering::SeqCst));
                Ok::<_, Error>(())
            })
            .await;
        let e = failed.expect_err("the commit reports the pipelined failure");
        assert!(is_unique_violation(&e), "{}: {e:?}", name(&db));
        assert_eq!(keys(&db).await, ["taken"], "{}: nothing of the transaction is kept", name(&db));
        assert!(!hook_ran.load(Ordering::SeqCst), "{}: on_commit ran without a commit", name(&db));

        // By hand: `commit` answers the same.
        let tx = db.begin().await.unwrap();
        insert("taken").pipeline(&tx).await.unwrap();
        insert("fresh").pipeline(&tx).await.unwrap();
        let e = tx.commit().await.expect_err("the commit reports the pipelined failure");
        assert!(is_unique_violation(&e), "{}: {e:?}", name(&db));
        assert_eq!(keys(&db).await, ["taken"], "{}", name(&db));
    })
    .await;
}

#[tokio::test]
async fn a_statement_behind_a_failed_pipelined_one_reports_that_failure() {
    each_backend(|db| async move {
        take_key(&db).await;
        let failed = db
            .atomic(|tx| async move {
                insert("taken").pipeline(&tx).await?;
                // PostgreSQL refuses it in the failed transaction; the cause is reported.
                insert("after").execute(&tx).await?;
                Ok::<_, Error>(())
            })
            .await;
        let e = failed.expect_err("the transaction fails");
        assert!(is_unique_violation(&e), "{}: {e:?}", name(&db));
        assert_eq!(keys(&db).await, ["taken"], "{}", name(&db));
    })
    .await;
}

/// The statement that reads a failed pipelined answer is cancelled before it has: the failure
/// is still the commit's (PostgreSQL answers the COMMIT of a failed transaction as a rollback,
/// without an error, so a lost failure would look like a commit).
#[tokio::test]
async fn a_failure_read_by_a_cancelled_statement_still_fails_the_commit() {
    each_backend(|db| async move {
        take_key(&db).await;
        let tx = db.begin().await.unwrap();
        insert("taken").pipeline(&tx).await.unwrap();
        // Polled once (written, and reading the answers before its own), then dropped. (On
        // SQLite the writer thread may have answered by then: the commit reads the failure
        // either way.)
        let polled_once = futures_util::FutureExt::now_or_never(Entry::objects().count(&tx));
        if db.dialect() == brisk_orm::Dialect::Postgres {
            assert!(polled_once.is_none(), "cancelled while waiting: {polled_once:?}");
        }
        let e = tx.commit().await.expect_err("the failure is kept for the commit");
        assert!(is_unique_violation(&e), "{}: {e:?}", name(&db));
        assert_eq!(keys(&db).await, ["taken"], "{}", name(&db));
    })
    .await;
}

#[tokio::test]
async fn a_pipelined_failure_inside_a_savepoint_is_that_blocks_alone() {
    each_backend(|db| async move {
        take_key(&db).await;
        db.atomic(|tx| async move {
            insert("outer").pipeline(&tx).await?;
            let inner = tx
                .atomic(|sp| async move {
                    insert("inner").pipeline(&sp).await?;
                    insert("taken").pipeline(&sp).await?;
                    Ok::<_, Error>(())
                })
                .await;
            let e = inner.expect_err("the block fails at its end");
            assert!(is_unique_violation(&e), "{e:?}");
            // The outer transaction goes on: its own pipelined write and a new one commit.
            insert("later").pipeline(&tx).await?;
            Ok::<_, Error>(())
        })
        .await
        .unwrap();
        assert_eq!(keys(&db).await, ["later", "outer", "taken"], "{}", name(&db));

        // A failure written before a savepoint is the enclosing block's, not the savepoint's.
        let failed = db
            .atomic(|tx| async move {
                insert("taken").pipeline(&tx).await?;
                let inner = tx.atomic(|_| async { Ok::<_, Error>(()) }).await;
                assert!(inner.as_ref().is_err_and(is_unique_violation), "{}: {inner:?}", name(tx.database()));
                inner
            })
            .await;
        assert!(failed.is_err_and(|e| is_unique_violation(&e)), "{}", name(&db));
        assert_eq!(keys(&db).await, ["later", "outer", "taken"], "{}", name(&db));
    })
    .await;
}

#[tokio::test]
async fn a_rollback_drops_pipelined_writes_and_the_connection_serves_the_next() {
    each_backend(|db| async move {
        let failed = db
            .atomic(|tx| async move {
                insert("x").pipeline(&tx).await?;
                Err::<(), _>(Error::Config("the handler failed".into()))
            })
            .await;
        assert!(matches!(failed, Err(Error::Config(_))), "{}: {failed:?}", name(&db));
        assert!(keys(&db).await.is_empty(), "{}", name(&db));
        // Transactions after it (on the connection it gave back) start clean.
        for key in ["y", "z"] {
            db.atomic(|tx| async move { insert(key).pipeline(&tx).await }).await.unwrap();
        }
        assert_eq!(keys(&db).await, ["y", "z"], "{}", name(&db));
    })
    .await;
}

/// Thousands of answers unread behind a statement: the connection answers in order, so the
/// statement's answer is reached only once theirs have been read (a read that waited for its
/// own first would wait forever).
#[tokio::test]
async fn thousands_of_pipelined_writes_then_a_statement_and_a_commit() {
    each_backend(|db| async move {
        let n = db
            .atomic(|tx| async move {
                for i in 0..3000 {
                    insert(&format!("k{i:04}")).pipeline(&tx).await?;
                }
                let n = Entry::objects().count(&tx).await?;
                for i in 3000..6000 {
                    insert(&format!("k{i:04}")).pipeline(&tx).await?;
                }
                Ok::<_, Error>(n)
            })
            .await;
        assert_eq!(n.unwrap(), 3000, "{}", name(&db));
        assert_eq!(Entry::objects().count(&db).await.unwrap(), 6000, "{}", name(&db));
    })
    .await;
}

/// The app handles a pipelined failure and goes on (the error came out of a nested `atomic`,
/// or out of a statement behind it): the transaction still does not commit, and the commit
/// answers that failure. (PostgreSQL would answer the COMMIT of its failed transaction as a
/// rollback, without an error; SQLite would commit everything but the failed statement.)
#[tokio::test]
async fn a_failure_the_app_handled_still_fails_the_commit() {
    each_backend(|db| async move {
        take_key(&db).await;
        let failed = db
            .atomic(|tx| async move {
                insert("before").execute(&tx).await?;
                insert("taken").pipeline(&tx).await?;
                // Read at the savepoint's start: the enclosing block's failure, which the
                // savepoint does not take away.
                let inner = tx.atomic(|sp| async move { insert("inner").execute(&sp).await }).await;
                assert!(inner.as_ref().is_err_and(is_unique_violation), "{}: {inner:?}", name(tx.database()));
                Ok::<_, Error>(()) // handled: the app goes on
            })
            .await;
        assert!(failed.as_ref().is_err_and(is_unique_violation), "{}: {failed:?}", name(&db));
        assert_eq!(keys(&db).await, ["taken"], "{}", name(&db));

        // Read by a statement behind it, whose error the app drops.
        let failed = db
            .atomic(|tx| async move {
                insert("taken").pipeline(&tx).await?;
                let _ = Entry::objects().count(&tx).await;
                insert("after").pipeline(&tx).await?;
                Ok::<_, Error>(())
            })
            .await;
        assert!(failed.as_ref().is_err_and(is_unique_violation), "{}: {failed:?}", name(&db));
        assert_eq!(keys(&db).await, ["taken"], "{}", name(&db));

        // A failure inside a savepoint that rolled back is gone with it: the rest commits.
        db.atomic(|tx| async move {
            let inner = tx.atomic(|sp| async move { insert("taken").pipeline(&sp).await }).await;
            assert!(inner.is_err());
            insert("kept").pipeline(&tx).await
        })
        .await
        .unwrap();
        assert_eq!(keys(&db).await, ["kept", "taken"], "{}", name(&db));
    })
    .await;
}

/// A pipelined statement the database cannot even prepare (no such table) fails the
/// transaction like one that fails when it runs: on PostgreSQL the call answers it (the
/// prepare is awaited), on SQLite the commit; swallowed, it still fails the commit.
#[tokio::test]
async fn a_statement_that_does_not_prepare_fails_the_commit_too() {
    each_backend(|db| async move {
        let failed = db
            .atomic(|tx| async move {
                insert("before").execute(&tx).await?;
                let _ = Raw::new("INSERT INTO no_such_table (x) VALUES (1)").pipeline(&tx).await;
                Ok::<_, Error>(())
            })
            .await;
        assert!(failed.is_err(), "{}: {failed:?}", name(&db));
        assert!(keys(&db).await.is_empty(), "{}", name(&db));
    })
    .await;
}

/// A value that cannot be sent (here an integer for a text column) fails the call itself:
/// nothing was written, and the transaction goes on and commits.
#[tokio::test]
async fn a_value_that_does_not_encode_fails_at_once_and_the_transaction_goes_on() {
    postgres_only(|db| async move {
        db.atomic(|tx| async move {
            insert("first").pipeline(&tx).await?;
            let refused = Raw::new(format!("INSERT INTO {} (key) VALUES (?)", Entry::META.table))
                .bind(5i64)
                .pipeline(&tx)
                .await;
            assert!(refused.is_err(), "{refused:?}");
            insert("second").pipeline(&tx).await
        })
        .await
        .unwrap();
        assert_eq!(keys(&db).await, ["first", "second"]);
    })
    .await;
}

/// A pipelined statement whose answer is long (here 2 MB of rows, which it does not keep)
/// comes from the server in many reads; the connection hands each statement's answer over
/// only once the one before it has been read, so the statement behind must read it.
#[tokio::test]
async fn a_long_pipelined_answer_is_read_before_the_statement_behind_it() {
    postgres_only(|db| async move {
        let count = tokio::time::timeout(
            Duration::from_secs(20),
            db.atomic(|tx| async move {
                Raw::new("SELECT repeat('x', 1000) FROM generate_series(1, 2000)").pipeline(&tx).await?;
                insert("after").pipeline(&tx).await?;
                Entry::objects().count(&tx).await
            }),
        )
        .await;
        assert!(matches!(count, Ok(Ok(1))), "{count:?}");
    })
    .await;
}

/// `pipeline` returns once the statement is written, not once it has run: here it runs only
/// after another transaction lets go of a lock, which happens after `pipeline` returned.
#[tokio::test]
async fn pipeline_returns_before_the_statement_has_run() {
    postgres_only(|db| async move {
        let holder = db.begin().await.unwrap();
        Raw::new("SELECT pg_advisory_xact_lock(4242)").execute(&holder).await.unwrap();
        let tx = db.begin().await.unwrap();
        let written = tokio::time::timeout(Duration::from_secs(20), async {
            insert("in-the-waiting-transaction").pipeline(&tx).await?;
            // Prepared (that waits: the first time on a connection) and then written.
            Raw::new("SELECT pg_advisory_xact_lock(4242)").pipeline(&tx).await
        })
        .await;
        assert!(matches!(written, Ok(Ok(()))), "pipeline waited for the statement: {written:?}");
        let commit = tokio::spawn(tx.commit());
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!commit.is_finished(), "the commit is answered only after the statements");
        holder.rollback().await.unwrap();
        commit.await.unwrap().unwrap();
        assert_eq!(keys(&db).await, ["in-the-waiting-transaction"]);
    })
    .await;
}

#[tokio::test]
async fn transaction_control_and_placeholder_mistakes_are_refused_before_sending() {
    each_backend(|db| async move {
        let tx = db.begin().await.unwrap();
        let e = Raw::new("COMMIT").pipeline(&tx).await.expect_err("refused");
        assert!(matches!(e, Error::Config(_)), "{e:?}");
        let e = Raw::new(format!("INSERT INTO {} (key) VALUES (?)", Entry::META.table))
            .pipeline(&tx)
            .await
            .expect_err("a placeholder without a value");
        assert!(matches!(e, Error::Config(_)), "{e:?}");
        insert("fine").pipeline(&tx).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(keys(&db).await, ["fine"], "{}", name(&db));
        // A transaction that has ended takes nothing more.
        let tx = db.begin().await.unwrap();
        let clone = tx.clone();
        tx.commit().await.unwrap();
        assert!(insert("late").pipeline(&clone).await.is_err(), "{}", name(&db));
    })
    .await;
}

/// On the database, outside a transaction, there is no commit to read the answer with: the
/// statement runs at once and its failure is the call's.
#[tokio::test]
async fn outside_a_transaction_it_runs_at_once_and_answers() {
    each_backend(|db| async move {
        insert("now").pipeline(&db).await.unwrap();
        assert_eq!(keys(&db).await, ["now"], "{}", name(&db));
        let e = insert("now").pipeline(&db).await.expect_err("the key is taken");
        assert!(is_unique_violation(&e), "{}: {e:?}", name(&db));
    })
    .await;
}

#[tokio::test]
async fn a_connection_killed_behind_pipelined_writes_fails_the_commit_and_the_next_transaction_works() {
    postgres_only(|db| async move {
        let killer = db.clone();
        let failed = db
            .atomic(|tx| async move {
                let pid: Vec<(i32,)> = Raw::new("SELECT pg_backend_pid()").fetch(&tx).await?;
                insert("written").execute(&tx).await?;
                insert("pipelined").pipeline(&tx).await?;
                // The server ends this transaction's connection before the commit goes out.
                let killed: Vec<(bool,)> =
                    Raw::new("SELECT pg_terminate_backend(?)").bind(pid[0].0).fetch(&killer).await?;
                assert_eq!(killed, [(true,)]);
                insert("pipelined-after").pipeline(&tx).await
            })
            .await;
        let e = failed.expect_err("nothing can commit on a connection the server closed");
        assert!(matches!(e, Error::Unavailable { .. }), "a lost connection: {e:?}");
        assert_eq!(keys(&db).await, Vec::<String>::new(), "nothing was kept");
        // The pool hands out a new connection: the next transaction commits.
        db.atomic(|tx| async move { insert("next").pipeline(&tx).await }).await.unwrap();
        assert_eq!(keys(&db).await, ["next"]);
    })
    .await;
}

#[tokio::test]
async fn a_pipelined_statement_that_returns_rows_runs_on_postgresql_and_fails_the_commit_on_sqlite() {
    each_backend(|db| async move {
        let outcome = db
            .atomic(|tx| async move {
                insert("a").pipeline(&tx).await?;
                Raw::new(format!("SELECT id FROM {}", Entry::META.table)).pipeline(&tx).await
            })
            .await;
        match db.dialect() {
            Dialect::Postgres => {
                outcome.unwrap();
                assert_eq!(keys(&db).await, ["a"]);
            }
            Dialect::Sqlite => {
                // As `Raw::execute` there: a statement that returns rows is refused, and being
                // pipelined, the refusal comes with the commit, which rolls back.
                let e = outcome.expect_err("refused");
                assert!(e.to_string().contains("returns rows") || e.to_string().contains("results"), "{e}");
                assert_eq!(keys(&db).await, Vec::<String>::new());
            }
        }
    })
    .await;
}
