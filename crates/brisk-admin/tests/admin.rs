//! The admin as a browser uses it, over a real socket, on SQLite and on PostgreSQL: login and
//! staff-only access, the index, adding with a validation error beside the field, search,
//! filters, sorting, pages without a count, changing with history, delete_selected through its
//! confirmation, protected rows, a view-only user refused everywhere it may not go (also when
//! posting directly), escaping, CSRF, and hostile query strings.

use brisk::prelude::*;
use brisk::secret_key::SecretKey;
use brisk::sessions::SessionConfig;
use brisk::testing::{TestClient, TestResponse};
use brisk_admin::{Admin, LogEntry, ModelAdmin};
use brisk_auth::models::Permission as PermissionRow;
use brisk_auth::{Argon2Cost, Auth, User};
use brisk_orm::migrations::{next_migration, Graph, Migrator, NonInteractive, ProjectState};
use brisk_orm::prelude::*;
use brisk_orm::testing::TestDatabase;

#[derive(Debug, Clone, Model)]
#[model(app_label = "shop", ordering = ["name"])]
pub struct Supplier {
    #[model(primary_key)]
    id: AutoId,
    #[validate(min_length = 1, max_length = 100)]
    name: String,
}

#[derive(Debug, Clone, Model)]
#[model(app_label = "shop")]
pub struct Item {
    #[model(primary_key)]
    id: AutoId,
    /// What the item is called.
    #[validate(min_length = 1, max_length = 100)]
    name: String,
    #[validate(ge = 0)]
    price: f64,
    #[model(default = true)]
    in_stock: bool,
    #[model(on_delete = Protect)]
    supplier: Option<ForeignKey<Supplier>>,
    #[model(auto_now_add)]
    created: DateTime,
}

fn admin() -> Admin {
    Admin::new()
        .register::<Item>(
            ModelAdmin::default()
                .list_display(["name", "price", "in_stock", "supplier"])
                .list_editable(["price"])
                .search_fields(["name"])
                .list_filter(["in_stock", "created"])
                .date_hierarchy("created")
                .ordering(["name"])
                .list_per_page(2),
        )
        .register::<Supplier>(ModelAdmin::default().search_fields(["name"]))
        .with_auth_models()
}

fn quick() -> Auth {
    Auth::default().argon2(Argon2Cost { memory_kib: 256, iterations: 1, parallelism: 1 })
}

fn app(db: &Database) -> App {
    // The app's own template for the suppliers' list only (Django's per-model override).
    const OWN: brisk::templates::EmbeddedTemplates = &[(
        "admin/shop/supplier/change_list.html",
        "Our suppliers: {% for r in rows %}{{ r.title }} {% endfor %}",
    )];
    App::new()
        .templates(brisk::templates::Templates::new().embedded(OWN))
        .install(db.clone())
        .install(quick())
        .install(admin())
        .sessions(SessionConfig::new(
            SecretKey::new("an admin test key that is long enough 0123456789").expect("key"),
        ))
}

async fn migrated(test: &TestDatabase) -> Database {
    let db = test.database();
    let graph = Graph::new(Vec::new()).expect("graph");
    let declared = ProjectState::from_registry(&brisk_orm::registry());
    let shop =
        next_migration(&graph, &declared, "shop", &mut NonInteractive).expect("detected").expect("new");
    Migrator::new(db.clone(), vec![shop]).expect("graph").migrate().await.expect("migrated");
    db
}

struct Browser {
    client: TestClient,
    cookie: String,
}

const HTML: &str = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8";

impl Browser {
    async fn new(db: &Database) -> Self {
        Browser { client: TestClient::serve(app(db)).await, cookie: String::new() }
    }

    fn keep(&mut self, res: &TestResponse) {
        for value in res.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap_or_default();
            let pair = text.split(';').next().unwrap_or_default();
            if text.contains("Max-Age=0") || pair.ends_with('=') {
                self.cookie.clear();
            } else {
                self.cookie = pair.to_owned();
            }
        }
    }

    async fn get(&mut self, path: &str) -> TestResponse {
        let res = self.client.get(path).header("accept", HTML).header("cookie", &self.cookie).send().await;
        self.keep(&res);
        res
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let res = self
            .client
            .post(path)
            .header("accept", HTML)
            .header("cookie", &self.cookie)
            .header("sec-fetch-site", "same-origin")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await;
        self.keep(&res);
        res
    }

    async fn login(&mut self, username: &str, password: &str) {
        let res = self
            .client
            .post("/auth/login")
            .header("sec-fetch-site", "same-origin")
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await;
        assert_eq!(res.status(), 200, "{}", res.text());
        self.keep(&res);
    }
}

async fn make_user(db: &Database, name: &str, staff: bool, superuser: bool) -> User {
    let accounts = quick().accounts();
    let user =
        accounts.create_user(db, name, "", Some("a long enough passphrase"), superuser).await.expect("user");
    User::objects()
        .filter(User::id().eq(user.id.value()))
        .update([User::is_staff().set(staff)], db)
        .await
        .expect("staff");
    user
}

fn count(page: &str, needle: &str) -> usize {
    page.matches(needle).count()
}

#[tokio::test]
async fn the_admin_journey() {
    for test in
        [TestDatabase::empty_sqlite().expect("sqlite"), TestDatabase::empty_postgres().await.expect("pg")]
    {
        let db = migrated(&test).await;
        make_user(&db, "boss", true, true).await;
        make_user(&db, "visitor", false, false).await;

        // Anonymous: sent to the login page, coming back after.
        let mut anon = Browser::new(&db).await;
        let res = anon.get("/admin").await;
        assert_eq!(res.status(), 303);
        assert_eq!(res.header("location"), Some("/auth/login?next=%2Fadmin"));
        let res = anon.get("/admin/shop/item").await;
        assert_eq!(res.status(), 303);

        // Logged in but not staff: refused, as an HTML page.
        let mut visitor = Browser::new(&db).await;
        visitor.login("visitor", "a long enough passphrase").await;
        let res = visitor.get("/admin").await;
        assert_eq!(res.status(), 403);
        assert!(res.header("content-type").unwrap_or_default().starts_with("text/html"));

        let mut boss = Browser::new(&db).await;
        boss.login("boss", "a long enough passphrase").await;
        let index = boss.get("/admin").await;
        assert_eq!(index.status(), 200);
        let html = index.text();
        assert!(
            html.contains("href=\"&#x2f;admin&#x2f;shop&#x2f;item\"") && html.contains("Items"),
            "{html}"
        );
        assert!(html.contains("Users") && html.contains("Groups"));

        // Add with an invalid price: the error beside the field, the values kept.
        let form = boss.get("/admin/shop/item/add").await.text();
        let token = csrf(&form);
        assert!(
            form.contains("id=\"id_name\"")
                && form.contains("type=\"checkbox\" id=\"id_in_stock\" name=\"in_stock\" checked"),
            "{form}"
        );
        assert!(!form.contains("id_created"), "automatic timestamps are not in the add form");
        let res = boss
            .post(
                "/admin/shop/item/add",
                &[("csrf_token", &token), ("name", "Lamp"), ("price", "-5"), ("in_stock", "on")],
            )
            .await;
        assert_eq!(res.status(), 422);
        let page = res.text();
        assert!(page.contains("Ensure this value is greater than or equal to 0."), "{page}");
        assert!(page.contains("aria-invalid=\"true\"") && page.contains("value=\"Lamp\""));
        let res = boss
            .post("/admin/shop/item/add", &[("csrf_token", &csrf(&page)), ("name", ""), ("price", "x")])
            .await;
        let page = res.text();
        assert!(
            page.contains("Ensure this value has at least 1 characters (it has 0).")
                && page.contains("Enter a number."),
            "{page}"
        );
        let res = boss
            .post(
                "/admin/shop/item/add",
                &[("csrf_token", &csrf(&page)), ("name", "Lamp"), ("price", "12.5"), ("in_stock", "on")],
            )
            .await;
        assert_eq!(res.status(), 303, "{}", res.text());
        assert_eq!(res.header("location"), Some("/admin/shop/item"));
        for (name, price, stock) in
            [("Desk", "120", "on"), ("<script>alert(1)</script>", "3", ""), ("Chair", "45", "on")]
        {
            let mut fields =
                vec![("csrf_token", token.as_str()), ("name", name), ("price", price), ("_addanother", "")];
            if !stock.is_empty() {
                fields.push(("in_stock", stock));
            }
            let res = boss.post("/admin/shop/item/add", &fields).await;
            assert_eq!(res.header("location"), Some("/admin/shop/item/add"), "save and add another");
        }
        assert_eq!(Item::objects().count(&db).await.expect("count"), 4);

        // The list: 2 per page, by name; a next page, no count anywhere.
        let list = boss.get("/admin/shop/item").await.text();
        assert!(list.contains("The item “Chair” was added.") || list.contains("Items"), "{list}");
        assert!(list.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"), "escaped: {list}");
        assert!(!list.contains("<script>alert"), "never raw");
        assert!(list.contains("rel=\"next\"") && !list.contains("rel=\"prev\""));
        let page2 = boss.get("/admin/shop/item?p=2").await.text();
        assert!(page2.contains("rel=\"prev\"") && page2.contains("Desk"), "{page2}");
        // Search, filter, sort.
        let found = boss.get("/admin/shop/item?q=LAM").await.text();
        assert!(found.contains(">Lamp<") && !found.contains(">Desk<"), "{found}");
        let out = boss.get("/admin/shop/item?in_stock=false").await.text();
        assert!(out.contains("alert(1)") && !out.contains(">Lamp<"), "{out}");
        let sorted = boss.get("/admin/shop/item?o=-price").await.text();
        let (desk, chair) = (sorted.find(">Desk<").expect("desk"), sorted.find(">Chair<").expect("chair"));
        assert!(desk < chair, "by price, descending");
        assert!(sorted.contains("aria-sort=\"descending\""));
        // The date drill-down: this year, then its months.
        let year = brisk_orm::DateTime::now().format("%Y").to_string();
        let dates = boss.get("/admin/shop/item").await.text();
        assert!(dates.contains(&format!(">{year}</a>")), "{dates}");
        let next = year.parse::<i32>().expect("year") + 1;
        let months =
            boss.get(&format!("/admin/shop/item?created__range={year}-01-01%2F{next}-01-01")).await.text();
        assert!(months.contains(&format!(">December {year}</a>")) && months.contains(">Chair<"), "{months}");
        // Hostile parameters are ignored, never SQL.
        for q in [
            "o=price%3BDROP%20TABLE%20shop_item",
            "o=password",
            "p=-1",
            "p=abc",
            "id=1%20OR%201%3D1",
            "in_stock__regex=.*",
            "created__range=x/y",
            "q=%27%20OR%201%3D1--",
        ] {
            assert_eq!(boss.get(&format!("/admin/shop/item?{q}")).await.status(), 200, "{q}");
        }
        assert_eq!(Item::objects().count(&db).await.expect("still there"), 4);
        // Text that is not UTF-8 once decoded: 400, in the query and in a form.
        assert_eq!(boss.get("/admin/shop/item?q=caf%E9").await.status(), 400);
        let add = boss.get("/admin/shop/item/add").await.text();
        let res = boss.post("/admin/shop/item/add", &[("csrf_token", &csrf(&add))]).await;
        assert_eq!(res.status(), 422, "the empty form still answers with its errors");
        let res = boss
            .client
            .post("/admin/shop/item/add")
            .header("cookie", &boss.cookie)
            .header("sec-fetch-site", "same-origin")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("csrf_token={}&name=caf%E9&price=1", csrf(&add)))
            .send()
            .await;
        assert_eq!(res.status(), 400);

        // Inline edits in the list: checked all first, nothing written on an error.
        // The first page, by name: "<script>..." and "Chair".
        let rows = Item::objects()
            .filter(Item::name().eq("Chair") | Item::name().contains("script"))
            .all(&db)
            .await
            .expect("rows");
        let (a, b) = (rows[0].id.value().to_string(), rows[1].id.value().to_string());
        let list = boss.get("/admin/shop/item").await.text();
        assert!(list.contains(&format!("name=\"{a}-price\"")), "{list}");
        let (pa, pb) = (format!("{a}-price"), format!("{b}-price"));
        let res = boss
            .post(
                "/admin/shop/item",
                &[
                    ("csrf_token", &csrf(&list)),
                    ("_save_list", ""),
                    ("_edit_key", &a),
                    (&pa, "-1"),
                    ("_edit_key", &b),
                    (&pb, "99"),
                ],
            )
            .await;
        assert_eq!(res.status(), 422);
        assert!(res.text().contains("Ensure this value is greater than or equal to 0."));
        assert_eq!(
            Item::objects().filter(Item::price().eq(99.0)).count(&db).await.expect("count"),
            0,
            "nothing written"
        );
        let res = boss
            .post(
                "/admin/shop/item",
                &[
                    ("csrf_token", &csrf(&list)),
                    ("_save_list", ""),
                    ("_edit_key", &a),
                    (&pa, "7"),
                    ("_edit_key", &b),
                    (&pb, "8"),
                ],
            )
            .await;
        assert_eq!(res.status(), 303, "{}", res.text());
        assert_eq!(Item::objects().filter(Item::price().eq(8.0)).count(&db).await.expect("count"), 1);
        assert_eq!(Item::objects().filter(Item::price().eq(7.0)).count(&db).await.expect("count"), 1);

        // Change: only the changed field is written, and recorded.
        let lamp = Item::objects().filter(Item::name().eq("Lamp")).get(&db).await.expect("lamp");
        let url = format!("/admin/shop/item/{}/change", lamp.id.value());
        let form = boss.get(&url).await.text();
        assert!(form.contains("value=\"Lamp\"") && form.contains("History"));
        let res = boss
            .post(
                &url,
                &[
                    ("csrf_token", &csrf(&form)),
                    ("name", "Desk lamp"),
                    ("price", "12.5"),
                    ("in_stock", "on"),
                    ("_continue", ""),
                ],
            )
            .await;
        assert_eq!(res.status(), 303);
        assert_eq!(res.header("location"), Some(url.as_str()));
        let history = boss.get(&format!("/admin/shop/item/{}/history", lamp.id.value())).await.text();
        assert!(
            history.contains("Added")
                && history.contains("Changed")
                && history.contains(">name<")
                && history.contains("boss"),
            "{history}"
        );

        // delete_selected: confirmation, then one transaction.
        let ids: Vec<String> = Item::objects()
            .filter(Item::price().lt(50.0))
            .all(&db)
            .await
            .expect("rows")
            .iter()
            .map(|i| i.id.value().to_string())
            .collect();
        assert_eq!(ids.len(), 3);
        let list = boss.get("/admin/shop/item").await.text();
        let token = csrf(&list);
        let res = boss
            .post(
                "/admin/shop/item",
                &[
                    ("csrf_token", &token),
                    ("action", "delete_selected"),
                    ("_selected_action", &ids[0]),
                    ("_selected_action", &ids[1]),
                ],
            )
            .await;
        assert_eq!(res.status(), 200);
        let confirm = res.text();
        assert!(confirm.contains("Are you sure?") && confirm.contains("Yes, delete"), "{confirm}");
        assert_eq!(Item::objects().count(&db).await.expect("count"), 4, "nothing deleted before confirming");
        let res = boss
            .post(
                "/admin/shop/item",
                &[
                    ("csrf_token", &csrf(&confirm)),
                    ("action", "delete_selected"),
                    ("_selected_action", &ids[0]),
                    ("_selected_action", &ids[1]),
                    ("post", "yes"),
                ],
            )
            .await;
        assert_eq!(res.status(), 303);
        assert_eq!(Item::objects().count(&db).await.expect("count"), 2);
        let deletions =
            LogEntry::objects().filter(LogEntry::action_flag().eq(3)).count(&db).await.expect("log");
        assert_eq!(deletions, 2);

        // Protect: a supplier with items cannot be deleted; the page says why.
        let acme = Supplier::objects()
            .create(Supplier { id: AutoId::default(), name: "Acme".into() }, &db)
            .await
            .expect("acme");
        Item::objects().update([Item::supplier().set(acme.id.value())], &db).await.expect("linked");
        let list = boss.get("/admin/shop/item").await.text();
        assert!(list.contains(">Acme<"), "the related row's title, not its key: {list}");
        assert_eq!(
            boss.get("/admin/shop/supplier").await.text(),
            "Our suppliers: Acme ",
            "a per-model template"
        );
        let del = boss.get(&format!("/admin/shop/supplier/{}/delete", acme.id.value())).await;
        assert_eq!(del.status(), 409);
        assert!(del.text().contains("2 items"), "{}", del.text());
        let res = boss
            .post(
                &format!("/admin/shop/supplier/{}/delete", acme.id.value()),
                &[("csrf_token", &csrf(&list))],
            )
            .await;
        assert_eq!(res.status(), 409);
        assert_eq!(Supplier::objects().count(&db).await.expect("count"), 1);

        // The autocomplete a foreign key's input uses.
        let res = boss
            .client
            .get("/admin/shop/supplier/autocomplete?q=ac")
            .header("cookie", &boss.cookie)
            .send()
            .await;
        assert_eq!(
            res.json::<serde_json::Value>(),
            serde_json::json!([{"id": acme.id.value(), "text": "Acme"}])
        );
        let some = Item::objects().first(&db).await.expect("q").expect("an item");
        let form = boss.get(&format!("/admin/shop/item/{}/change", some.id.value())).await.text();
        assert!(form.contains("data-autocomplete=\"&#x2f;admin/shop&#x2f;supplier/autocomplete\""), "{form}");

        // A cross-site post is refused.
        let res = boss
            .client
            .post("/admin/shop/item/add")
            .header("cookie", &boss.cookie)
            .header("origin", "https://evil.example")
            .header("sec-fetch-site", "cross-site")
            .header("content-type", "application/x-www-form-urlencoded")
            .body("name=x&price=1")
            .send()
            .await;
        assert_eq!(res.status(), 403);

        // A staff user with only view_item.
        let viewer = make_user(&db, "viewer", true, false).await;
        let perm = PermissionRow::objects()
            .filter(PermissionRow::app_label().eq("shop").and(PermissionRow::codename().eq("view_item")))
            .get(&db)
            .await
            .expect("view_item");
        User::user_permissions().add(&viewer, [perm.id.value()], &db).await.expect("granted");
        let mut v = Browser::new(&db).await;
        v.login("viewer", "a long enough passphrase").await;
        let index = v.get("/admin").await.text();
        assert!(
            index.contains("Items") && !index.contains("Suppliers") && !index.contains("Add item"),
            "{index}"
        );
        let list = v.get("/admin/shop/item").await.text();
        assert_eq!(count(&list, "name=\"_selected_action\""), 0, "no actions without delete");
        assert!(!list.contains("Add item"));
        let one = Item::objects().first(&db).await.expect("q").expect("an item");
        let view = v.get(&format!("/admin/shop/item/{}/change", one.id.value())).await.text();
        assert!(
            view.contains("View item") && !view.contains("<form method=\"post\" class=\"panel\""),
            "{view}"
        );
        let token = csrf(&view);
        let res = v
            .post(
                &format!("/admin/shop/item/{}/change", one.id.value()),
                &[("csrf_token", &token), ("name", "hacked"), ("price", "1")],
            )
            .await;
        assert_eq!(res.status(), 403);
        assert_eq!(
            v.post("/admin/shop/item/add", &[("csrf_token", &token), ("name", "x"), ("price", "1")])
                .await
                .status(),
            403
        );
        assert_eq!(v.get(&format!("/admin/shop/item/{}/delete", one.id.value())).await.status(), 403);
        let res = v
            .post(
                "/admin/shop/item",
                &[
                    ("csrf_token", &token),
                    ("action", "delete_selected"),
                    ("_selected_action", &one.id.value().to_string()),
                    ("post", "yes"),
                ],
            )
            .await;
        assert_eq!(res.status(), 403);
        assert_eq!(v.get("/admin/shop/supplier").await.status(), 403);
        assert_eq!(v.get("/admin/shop/supplier/autocomplete?q=a").await.status(), 403);
        assert_eq!(Item::objects().filter(Item::name().eq("hacked")).count(&db).await.expect("count"), 0);
        assert_eq!(Item::objects().count(&db).await.expect("count"), 2);

        // Unknown models and keys: 404.
        assert_eq!(boss.get("/admin/shop/nothing").await.status(), 404);
        assert_eq!(boss.get("/admin/shop/item/999999/change").await.status(), 404);
        assert_eq!(boss.get("/admin/shop/item/abc/change").await.status(), 404);
    }
}

#[tokio::test]
async fn an_option_naming_no_field_stops_the_app() {
    let test = TestDatabase::empty_sqlite().expect("sqlite");
    let db = test.database();
    let bad = Admin::new()
        .register::<Item>(ModelAdmin::default().list_display(["name", "colour"]).search_fields(["price"]));
    let app = App::new().install(db).install(quick()).install(bad);
    let listener = brisk::bind("127.0.0.1:0").await.expect("bind");
    let err = app.serve_with_shutdown(listener, async {}).await.expect_err("refused");
    let text = err.to_string();
    assert!(
        text.contains("list_display names \"colour\"") && text.contains("\"price\", which is not text"),
        "{text}"
    );
}

fn csrf(page: &str) -> String {
    let at = page.find("name=\"csrf_token\" value=\"").expect("a csrf token in the page") + 25;
    page[at..].split('"').next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn groups_and_users_edited_in_the_admin_give_permissions() {
    for test in
        [TestDatabase::empty_sqlite().expect("sqlite"), TestDatabase::empty_postgres().await.expect("pg")]
    {
        let db = migrated(&test).await;
        make_user(&db, "boss", true, true).await;
        let clerk = make_user(&db, "clerk", false, false).await;
        let hash_before = clerk.password.clone();
        let mut boss = Browser::new(&db).await;
        boss.login("boss", "a long enough passphrase").await;

        // A group with "view item", chosen in the permissions multi-select.
        let form = boss.get("/admin/auth/group/add").await.text();
        assert!(form.contains("<select multiple id=\"id_permissions\""), "{form}");
        assert!(
            form.contains("shop | item | Can view item"),
            "permissions are named app | model | name: {form}"
        );
        let view_item = PermissionRow::objects()
            .filter(PermissionRow::app_label().eq("shop").and(PermissionRow::codename().eq("view_item")))
            .get(&db)
            .await
            .expect("perm")
            .id
            .value()
            .to_string();
        let res = boss
            .post(
                "/admin/auth/group/add",
                &[
                    ("csrf_token", &csrf(&form)),
                    ("name", "clerks"),
                    ("_m2m", "permissions"),
                    ("permissions", &view_item),
                ],
            )
            .await;
        assert_eq!(res.status(), 303, "{}", res.text());
        let group = brisk_auth::Group::objects().get(&db).await.expect("group");
        let perms = brisk_auth::Group::permissions().of(&group).expect("qs").count(&db).await.expect("count");
        assert_eq!(perms, 1);

        // The clerk made staff and put in the group; the password hash is not touched.
        let url = format!("/admin/auth/user/{}/change", clerk.id.value());
        let form = boss.get(&url).await.text();
        assert!(form.contains("id=\"id_groups\"") && form.contains(">clerks<"), "{form}");
        assert!(!form.contains("name=\"password\""), "the hash is shown, not editable");
        let gid = group.id.value().to_string();
        let res = boss
            .post(
                &url,
                &[
                    ("csrf_token", &csrf(&form)),
                    ("username", "clerk"),
                    ("email", ""),
                    ("first_name", "Cleo"),
                    ("last_name", ""),
                    ("is_active", "on"),
                    ("is_staff", "on"),
                    ("_m2m", "groups"),
                    ("groups", &gid),
                    ("_m2m", "user_permissions"),
                    ("password", "overwritten?"),
                ],
            )
            .await;
        assert_eq!(res.status(), 303, "{}", res.text());
        let clerk = User::objects().filter(User::username().eq("clerk")).get(&db).await.expect("clerk");
        assert!(clerk.is_staff && clerk.first_name == "Cleo");
        assert_eq!(clerk.password, hash_before, "a readonly field posted anyway is ignored");
        let history = boss.get(&format!("/admin/auth/user/{}/history", clerk.id.value())).await.text();
        assert!(history.contains("groups") && history.contains("is_staff"), "{history}");

        // Now the clerk may see items, and nothing else.
        let mut c = Browser::new(&db).await;
        c.login("clerk", "a long enough passphrase").await;
        assert_eq!(c.get("/admin/shop/item").await.status(), 200);
        assert_eq!(c.get("/admin/auth/user").await.status(), 403);

        // Out of the group (nothing chosen clears the links): refused again.
        let form = boss.get(&url).await.text();
        let res = boss
            .post(
                &url,
                &[
                    ("csrf_token", &csrf(&form)),
                    ("username", "clerk"),
                    ("is_active", "on"),
                    ("is_staff", "on"),
                    ("_m2m", "groups"),
                ],
            )
            .await;
        assert_eq!(res.status(), 303);
        assert_eq!(c.get("/admin/shop/item").await.status(), 403);
    }
}

#[tokio::test]
async fn scopes_computed_columns_fieldsets_delete_hooks_and_foreign_key_filters() {
    for test in
        [TestDatabase::empty_sqlite().expect("sqlite"), TestDatabase::empty_postgres().await.expect("pg")]
    {
        let db = migrated(&test).await;
        make_user(&db, "boss", true, true).await;
        let acme = Supplier::objects()
            .create(Supplier { id: AutoId::default(), name: "Acme".into() }, &db)
            .await
            .expect("acme");
        let other = Supplier::objects()
            .create(Supplier { id: AutoId::default(), name: "Bolt".into() }, &db)
            .await
            .expect("bolt");
        for (name, price, supplier) in [
            ("Cheap", 5.0, acme.id.value()),
            ("Keep me", 7.0, other.id.value()),
            ("Pricey", 500.0, acme.id.value()),
        ] {
            let item = Item {
                id: AutoId::default(),
                name: name.into(),
                price,
                in_stock: true,
                supplier: Some(ForeignKey::new(supplier)),
                created: DateTime::now(),
            };
            Item::objects().create(item, &db).await.expect("item");
        }
        let site = Admin::new()
            .register::<Item>(
                ModelAdmin::default()
                    .list_display(["name", "doubled", "supplier"])
                    .list_filter(["supplier"])
                    .queryset(|qs| qs.filter(Item::price().lt(100.0)))
                    .column("doubled", "Twice the price", |row| {
                        format!("{:.1}", row.get("price").and_then(|p| p.as_f64()).unwrap_or(0.0) * 2.0)
                    })
                    .fieldsets(&[("Basics", &["name", "price"]), ("Stock", &["in_stock", "supplier"])])
                    .before_delete(|row| match row.get_str("name") {
                        Some(name) if name.starts_with("Keep") => Err(format!("{name} is kept on purpose.")),
                        _ => Ok(()),
                    }),
            )
            .register::<Supplier>(ModelAdmin::default());
        let app = App::new().install(db.clone()).install(quick()).install(site).sessions(SessionConfig::new(
            SecretKey::new("an admin test key that is long enough 0123456789").expect("key"),
        ));
        let mut boss = Browser { client: TestClient::serve(app).await, cookie: String::new() };
        boss.login("boss", "a long enough passphrase").await;

        let list = boss.get("/admin/shop/item").await.text();
        assert!(list.contains(">Cheap<") && !list.contains("Pricey"), "the scope hides rows: {list}");
        assert!(list.contains("Twice the price") && list.contains(">10.0<"), "a computed column: {list}");
        // The foreign key's filter lists the suppliers, by title.
        assert!(list.contains(">Acme</a>") && list.contains(">Bolt</a>"), "{list}");
        let filtered = boss.get(&format!("/admin/shop/item?supplier={}", other.id.value())).await.text();
        assert!(filtered.contains("Keep me") && !filtered.contains(">Cheap<"), "{filtered}");

        // Outside the scope is not found, however it is reached.
        let pricey = Item::objects().filter(Item::name().eq("Pricey")).get(&db).await.expect("pricey");
        assert_eq!(boss.get(&format!("/admin/shop/item/{}/change", pricey.id.value())).await.status(), 404);

        // Fieldsets group the form.
        let cheap = Item::objects().filter(Item::name().eq("Cheap")).get(&db).await.expect("cheap");
        let form = boss.get(&format!("/admin/shop/item/{}/change", cheap.id.value())).await.text();
        let (basics, stock) = (
            form.find("<legend>Basics</legend>").expect("basics"),
            form.find("<legend>Stock</legend>").expect("stock"),
        );
        let (name, supplier) =
            (form.find("id=\"id_name\"").expect("name"), form.find("id=\"id_supplier\"").expect("supplier"));
        assert!(basics < name && name < stock && stock < supplier, "{form}");

        // The delete hook refuses, and nothing goes.
        let keep = Item::objects().filter(Item::name().eq("Keep me")).get(&db).await.expect("keep");
        let res = boss
            .post(&format!("/admin/shop/item/{}/delete", keep.id.value()), &[("csrf_token", &csrf(&form))])
            .await;
        assert_eq!(res.status(), 409);
        assert!(res.text().contains("Keep me is kept on purpose."));
        assert_eq!(Item::objects().count(&db).await.expect("count"), 3);
        let res = boss
            .post(&format!("/admin/shop/item/{}/delete", cheap.id.value()), &[("csrf_token", &csrf(&form))])
            .await;
        assert_eq!(res.status(), 303);
        assert_eq!(Item::objects().count(&db).await.expect("count"), 2);
    }
}

#[tokio::test]
async fn inlines_edit_add_and_delete_children_on_the_parents_page() {
    for test in
        [TestDatabase::empty_sqlite().expect("sqlite"), TestDatabase::empty_postgres().await.expect("pg")]
    {
        let db = migrated(&test).await;
        make_user(&db, "boss", true, true).await;
        let acme = Supplier::objects()
            .create(Supplier { id: AutoId::default(), name: "Acme".into() }, &db)
            .await
            .expect("acme");
        let bolt = Supplier::objects()
            .create(Supplier { id: AutoId::default(), name: "Bolt".into() }, &db)
            .await
            .expect("bolt");
        let mut ids = Vec::new();
        for (name, supplier) in
            [("Anvil", acme.id.value()), ("Rope", acme.id.value()), ("Nut", bolt.id.value())]
        {
            let item = Item {
                id: AutoId::default(),
                name: name.into(),
                price: 10.0,
                in_stock: true,
                supplier: Some(ForeignKey::new(supplier)),
                created: DateTime::now(),
            };
            ids.push(Item::objects().create(item, &db).await.expect("item").id.value().to_string());
        }
        let site = Admin::new()
            .register::<Supplier>(
                ModelAdmin::default().inline::<Item>("supplier", &["name", "price", "in_stock"]),
            )
            .register::<Item>(ModelAdmin::default());
        let app = App::new().install(db.clone()).install(quick()).install(site).sessions(SessionConfig::new(
            SecretKey::new("an admin test key that is long enough 0123456789").expect("key"),
        ));
        let mut boss = Browser { client: TestClient::serve(app).await, cookie: String::new() };
        boss.login("boss", "a long enough passphrase").await;
        let url = format!("/admin/shop/supplier/{}/change", acme.id.value());
        let form = boss.get(&url).await.text();
        assert!(
            form.contains("<legend>Items</legend>")
                && form.contains("value=\"Anvil\"")
                && form.contains("value=\"Rope\""),
            "{form}"
        );
        assert!(!form.contains("value=\"Nut\""), "only this supplier's items");
        assert!(
            form.contains("name=\"inline0-count\" value=\"5\""),
            "two children and three empty rows: {form}"
        );
        let token = csrf(&form);
        let (anvil, rope) = (ids[0].as_str(), ids[1].as_str());
        let mut fields = vec![
            ("csrf_token", token.as_str()),
            ("name", "Acme"),
            ("inline0-count", "5"),
            ("inline0-0-key", anvil),
            ("inline0-0-name", "Anvil"),
            ("inline0-0-price", "12"),
            ("inline0-0-in_stock", "on"),
            ("inline0-1-key", rope),
            ("inline0-1-name", "Rope"),
            ("inline0-1-price", "10"),
            ("inline0-1-DELETE", "on"),
            ("inline0-2-name", "Hammer"),
            ("inline0-2-price", "25"),
            ("inline0-3-name", "Bad"),
            ("inline0-3-price", "-4"),
        ];
        let res = boss.post(&url, &fields).await;
        assert_eq!(res.status(), 422, "one bad row: nothing written");
        let page = res.text();
        assert!(
            page.contains("Ensure this value is greater than or equal to 0.")
                && page.contains("value=\"Hammer\""),
            "{page}"
        );
        assert_eq!(Item::objects().count(&db).await.expect("count"), 3);
        fields.retain(|(k, _)| !k.starts_with("inline0-3"));
        let res = boss.post(&url, &fields).await;
        assert_eq!(res.status(), 303, "{}", res.text());
        let names: Vec<String> = Item::objects()
            .filter(Item::supplier().eq(acme.id.value()))
            .all(&db)
            .await
            .expect("rows")
            .into_iter()
            .map(|i| i.name)
            .collect();
        assert_eq!(names.len(), 2);
        assert!(names.contains(&"Anvil".to_owned()) && names.contains(&"Hammer".to_owned()), "{names:?}");
        let anvil_row = Item::objects().filter(Item::name().eq("Anvil")).get(&db).await.expect("anvil");
        assert_eq!(anvil_row.price, 12.0);
        let history = boss.get(&format!("/admin/shop/supplier/{}/history", acme.id.value())).await.text();
        assert!(history.contains("items"), "{history}");

        // Another supplier's item cannot be reached through this form.
        let nut = ids[2].as_str();
        let res = boss
            .post(
                &url,
                &[
                    ("csrf_token", token.as_str()),
                    ("name", "Acme"),
                    ("inline0-count", "1"),
                    ("inline0-0-key", nut),
                    ("inline0-0-name", "Stolen"),
                    ("inline0-0-price", "1"),
                ],
            )
            .await;
        assert_eq!(res.status(), 404);
        assert_eq!(Item::objects().filter(Item::name().eq("Stolen")).count(&db).await.expect("count"), 0);
    }
}
