//! The jobs in brisk-admin (feature `admin`), on SQLite and PostgreSQL: a staff user sees
//! each job's state, attempts and last error, and retries or cancels jobs with the actions.
#![cfg(feature = "admin")]

mod common;

use std::time::Duration;

use brisk::prelude::*;
use brisk::secret_key::SecretKey;
use brisk::sessions::SessionConfig;
use brisk::testing::{TestClient, TestResponse};
use brisk_admin::Admin;
use brisk_auth::{Argon2Cost, Auth, User};
use brisk_jobs::{JobExt, JobState, Jobs};
use brisk_orm::prelude::*;
use common::*;

fn quick() -> Auth {
    Auth::default().argon2(Argon2Cost { memory_kib: 256, iterations: 1, parallelism: 1 })
}

fn app(db: &Database) -> App {
    App::new()
        .install(db.clone())
        .install(quick())
        .install(Admin::new().register::<brisk_jobs::JobRecord>(brisk_jobs::admin::job_admin()))
        .install(
            Jobs::new()
                .task::<Flaky>()
                .task::<Record>()
                .poll_interval(Duration::from_millis(50))
                .backoff(Duration::from_millis(10), Duration::from_millis(10)),
        )
        .sessions(SessionConfig::new(
            SecretKey::new("a jobs admin test key that is long enough 0123456789").expect("key"),
        ))
}

struct Browser {
    client: TestClient,
    cookie: String,
}

impl Browser {
    fn keep(&mut self, res: &TestResponse) {
        for value in res.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap_or_default();
            let pair = text.split(';').next().unwrap_or_default();
            if !(text.contains("Max-Age=0") || pair.ends_with('=')) {
                self.cookie = pair.to_owned();
            }
        }
    }

    async fn get(&mut self, path: &str) -> TestResponse {
        let res =
            self.client.get(path).header("accept", "text/html").header("cookie", &self.cookie).send().await;
        self.keep(&res);
        res
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let res = self
            .client
            .post(path)
            .header("accept", "text/html")
            .header("cookie", &self.cookie)
            .header("sec-fetch-site", "same-origin")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await;
        self.keep(&res);
        res
    }
}

fn csrf(page: &str) -> String {
    let at = page.find("name=\"csrf_token\" value=\"").expect("a csrf token in the page") + 25;
    page[at..].split('"').next().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_are_listed_and_retried_or_cancelled_in_the_admin() {
    for test in backends().await {
        let db = test.database();
        let user = quick()
            .accounts()
            .create_user(&db, "boss", "", Some("a long enough passphrase"), true)
            .await
            .expect("user");
        User::objects()
            .filter(User::id().eq(user.id.value()))
            .update([User::is_staff().set(true)], &db)
            .await
            .expect("staff");

        let dead = Flaky { k: "dead".into(), succeed_on: 0, permanent: true }
            .enqueue(&db)
            .await
            .expect("e")
            .expect("id");
        let waiting = Record { k: "waiting".into() }
            .schedule()
            .delay(Duration::from_secs(3600))
            .enqueue(&db)
            .await
            .expect("e")
            .expect("id");

        let mut browser = Browser { client: TestClient::serve(app(&db)).await, cookie: String::new() };
        eventually("dead", || async { job(&db, dead).await.state == JobState::Dead }).await;
        let res = browser
            .client
            .post("/auth/login")
            .header("sec-fetch-site", "same-origin")
            .json(&serde_json::json!({"username": "boss", "password": "a long enough passphrase"}))
            .send()
            .await;
        assert_eq!(res.status(), 200, "{}", res.text());
        browser.keep(&res);

        let list = browser.get("/admin/jobs/jobrecord").await;
        assert_eq!(list.status(), 200, "{}", list.text());
        let html = list.text();
        assert!(html.contains("flaky failure on attempt 1"), "the last error is shown: {html}");
        assert!(html.contains("dead") && html.contains("available"), "states are shown");
        assert!(html.contains("retry_jobs") && html.contains("cancel_jobs"), "the actions are offered");

        // Cancel the waiting job, retry the dead one.
        let res = browser
            .post(
                "/admin/jobs/jobrecord",
                &[
                    ("csrf_token", &csrf(&html)),
                    ("action", "cancel_jobs"),
                    ("_selected_action", &waiting.to_string()),
                ],
            )
            .await;
        assert!(res.status() == 303 || res.status() == 200, "{}", res.status());
        assert_eq!(job(&db, waiting).await.state, JobState::Cancelled);

        let html = browser.get("/admin/jobs/jobrecord").await.text();
        let res = browser
            .post(
                "/admin/jobs/jobrecord",
                &[
                    ("csrf_token", &csrf(&html)),
                    ("action", "retry_jobs"),
                    ("_selected_action", &dead.to_string()),
                ],
            )
            .await;
        assert!(res.status() == 303 || res.status() == 200, "{}", res.status());
        eventually("ran again", || async { runs(&db).await.iter().filter(|k| *k == "dead").count() == 2 })
            .await;
        browser.client.shutdown().await;
        assert_eq!(runs(&db).await.iter().filter(|k| *k == "waiting").count(), 0, "cancelled: never ran");
    }
}
