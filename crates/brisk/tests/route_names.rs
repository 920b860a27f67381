//! Route names: URLs built from them in handlers (`UrlFor`, `UrlTo<N>`), percent-encoded, with
//! extra params in the query; a name on two paths, or a `UrlTo` name no route has, fails the
//! build.

use brisk::prelude::*;
use brisk::routing::{UrlFor, UrlTo};
use brisk::testing::TestClient;

brisk::route_name!(NoteDetail = "notes.detail");

async fn show(Path(id): Path<String>) -> String {
    id
}

#[derive(Deserialize, JsonSchema, Validate)]
struct Id {
    #[serde(default)]
    id: String,
}

async fn to_note(url: UrlFor, Query(Id { id }): Query<Id>) -> Result<Redirect> {
    Ok(Redirect::to(url.path("notes.detail", [("id", id.as_str()), ("from", "list")])?))
}

async fn typed(to: UrlTo<NoteDetail>) -> Result<String> {
    to.path([("id", 3)])
}

async fn unknown(url: UrlFor) -> Result<String> {
    url.path("nope", ())
}

#[tokio::test]
async fn handlers_build_urls_of_named_routes() {
    let app = App::new()
        .route("/notes/{id}", get(show).name("notes.detail"))
        .route("/to", get(to_note))
        .route("/typed", get(typed))
        .route("/unknown", get(unknown));
    let client = TestClient::serve(app).await;
    let res = client.get("/to?id=a%20b%2Fc").send().await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.header("location"), Some("/notes/a%20b%2Fc?from=list"));
    // The encoded URL leads back to the value.
    assert_eq!(client.get("/notes/a%20b%2Fc").send().await.text(), "a b/c");
    assert_eq!(client.get("/typed").send().await.text(), "/notes/3");
    let res = client.get("/to").send().await;
    assert_eq!(res.status(), 500, "an empty param is a bug in the app");
    assert_eq!(client.get("/unknown").send().await.status(), 500);
}

#[test]
fn names_survive_nesting_and_merging() {
    let admin = Router::new().route("/users/{id}", get(show).name("admin.user"));
    let app =
        App::new().nest("/admin", admin).route("/notes/{id}", get(show).post(show).name("notes.detail"));
    assert!(app.build().is_ok());
}

#[test]
fn a_name_on_two_paths_or_an_unknown_typed_name_fails_the_build() {
    let app = App::new().route("/a", get(show).name("x")).route("/b/{id}", get(show).name("x"));
    let Err(e) = app.build() else { panic!("built") };
    assert!(e.0.iter().any(|p| p.contains("route name `x` is given to both")), "{e}");

    let app = App::new().route("/typed", get(typed));
    let Err(e) = app.build() else { panic!("built") };
    assert_eq!(e.0, ["GET /typed: links to the route named `notes.detail`, but no route has that name"]);
}
