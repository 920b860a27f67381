//! Templates over a real socket (feature `templates`): rendering, autoescaping, inheritance,
//! includes and macros; folders overriding embedded namespaces; reload on change in debug;
//! `url_for` (and names checked at build); the seam for globals and per-request values; debug
//! and release template errors; error pages from templates; a form page shown again with its
//! errors and values.
#![cfg(feature = "templates")]

use std::path::{Path as FsPath, PathBuf};

use brisk::extract::FormResult;
use brisk::prelude::*;
use brisk::templates::{context, EmbeddedTemplates, Template, TemplateContext, Templates, Value};
use brisk::testing::TestClient;
use serde_json::{json, Value as Json};

const BROWSER: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/// A fresh folder of templates: `(name, source)` files.
fn folder(test: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("brisk-templates-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (name, source) in files {
        write(&dir, name, source);
    }
    dir
}

fn write(dir: &FsPath, name: &str, source: &str) {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(&path, source).unwrap_or_else(|e| panic!("{e}"));
}

const BASE: &str = r#"<!doctype html><title>{% block title %}Notes{% endblock %}</title>
<main>{% block content %}{% endblock %}</main>
{% include "footer.html" %}"#;

const MACROS: &str = r#"{% macro field(name, value, errors) -%}
<input name="{{ name }}" value="{{ value }}">{% for e in errors %}<p class="error">{{ e }}</p>{% endfor %}
{%- endmacro %}"#;

#[derive(Serialize)]
struct Note {
    id: i64,
    title: String,
}

async fn note_page(Path(id): Path<i64>, tpl: Templates) -> Result<Template> {
    let note = Note { id, title: "<script>alert('x')</script>".into() };
    tpl.render("notes/detail.html", context! { note })
}

fn notes_folder(test: &str) -> PathBuf {
    folder(
        test,
        &[
            ("base.html", BASE),
            ("footer.html", "<footer>{{ site_name }}</footer>"),
            ("macros.html", MACROS),
            (
                "notes/detail.html",
                r#"{% extends "base.html" %}{% block title %}{{ note.title }}{% endblock %}
{% block content %}<h1>{{ note.title }}</h1><a href="{{ url_for('notes.detail', id=note.id) }}">link</a>
<a href="{{ url_for('notes.list', page=2, q='a b&c') }}">more</a>{% endblock %}"#,
            ),
        ],
    )
}

#[tokio::test]
async fn pages_render_escaped_with_inheritance_includes_and_url_for() {
    let dir = notes_folder("render");
    let app = App::new()
        .route("/notes", get(|| async { "list" }).name("notes.list"))
        .route("/notes/{id}", get(note_page).name("notes.detail"))
        .template_global("site_name", "Notes & co")
        .templates(Templates::from_dir(&dir));
    let client = TestClient::serve(app).await;
    let res = client.get("/notes/7").send().await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.header("content-type"), Some("text/html; charset=utf-8"));
    let page = res.text();
    assert!(page.contains("<title>&lt;script&gt;alert(&#x27;x&#x27;)&lt;&#x2f;script&gt;</title>"), "{page}");
    assert!(page.contains("<h1>&lt;script&gt;"), "{page}");
    assert!(!page.contains("<script>"), "{page}");
    assert!(page.contains(r#"<a href="&#x2f;notes&#x2f;7">link</a>"#), "{page}");
    assert!(page.contains(r#"href="&#x2f;notes?page=2&amp;q=a+b%26c""#), "{page}");
    assert!(page.contains("<footer>Notes &amp; co</footer>"), "the include and the global: {page}");
}

#[test]
fn macros_imports_and_autoescape_by_extension() {
    const SET: EmbeddedTemplates = &[
        ("macros.html", MACROS),
        ("form.html", r#"{% from "macros.html" import field %}{{ field("title", value, errors) }}"#),
        ("raw.txt", "{{ value }}"),
        ("data.json", "{{ value }}"),
        ("trusted.html", "{{ value|safe }}"),
    ];
    let tpl = Templates::new().embedded(SET);
    let page = tpl
        .render("form.html", context! { value => "<b>", errors => vec!["Too <short>"] })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        page.body(),
        r#"<input name="title" value="&lt;b&gt;"><p class="error">Too &lt;short&gt;</p>"#
    );
    assert_eq!(
        tpl.render("raw.txt", context! { value => "<b>" }).map(|t| t.into_body()).ok().as_deref(),
        Some("<b>")
    );
    assert_eq!(
        tpl.render("data.json", context! { value => "<b>" }).map(|t| t.into_body()).ok().as_deref(),
        Some(r#""<b>""#)
    );
    assert_eq!(
        tpl.render("trusted.html", context! { value => "<b>" }).map(|t| t.into_body()).ok().as_deref(),
        Some("<b>")
    );
}

const ADMIN: EmbeddedTemplates = &[
    ("base.html", "<admin>{% block content %}{% endblock %}</admin>"),
    ("index.html", r#"{% extends "admin/base.html" %}{% block content %}Admin home{% endblock %}"#),
    ("about.html", "embedded about"),
];

async fn admin_index(tpl: Templates) -> Result<Template> {
    tpl.render("admin/index.html", context! {})
}

async fn admin_about(tpl: Templates) -> Result<Template> {
    tpl.render("admin/about.html", context! {})
}

/// A battery: its routes, and its templates embedded under its namespace.
struct AdminBattery;

impl brisk::Install for AdminBattery {
    fn install(self, app: App) -> App {
        app.route("/admin", get(admin_index))
            .route("/admin/about", get(admin_about))
            .template_namespace("admin", ADMIN)
    }
}

#[tokio::test]
async fn a_batterys_embedded_namespace_is_overridden_by_the_apps_folder() {
    let dir = folder("override", &[("admin/base.html", "<mine>{% block content %}{% endblock %}</mine>")]);
    let client = TestClient::new(App::new().install(AdminBattery).templates(Templates::from_dir(&dir)));
    assert_eq!(
        client.get("/admin").send().await.text(),
        "<mine>Admin home</mine>",
        "the app's base, the battery's page"
    );
    assert_eq!(client.get("/admin/about").send().await.text(), "embedded about");

    // Without templates of its own, the app still renders the battery's.
    let client = TestClient::new(App::new().install(AdminBattery));
    assert_eq!(client.get("/admin").send().await.text(), "<admin>Admin home</admin>");
}

#[tokio::test]
async fn debug_mode_reloads_a_template_edited_on_disk() {
    let dir = folder("reload", &[("page.html", "one")]);
    async fn page(tpl: Templates) -> Result<Template> {
        tpl.render("page.html", context! {})
    }
    let app = App::new()
        .route("/", get(page))
        .install(AdminBattery)
        .templates(Templates::from_dir(&dir).debug(true));
    let client = TestClient::new(app);
    assert_eq!(client.get("/").send().await.text(), "one");
    write(&dir, "page.html", "two, longer");
    assert_eq!(client.get("/").send().await.text(), "two, longer");
    // A file added to the folder takes over the embedded template of that name.
    assert_eq!(client.get("/admin/about").send().await.text(), "embedded about");
    write(&dir, "admin/about.html", "the app's about");
    assert_eq!(client.get("/admin/about").send().await.text(), "the app's about");

    // Out of debug mode, a template is read once.
    let dir = folder("no-reload", &[("page.html", "one")]);
    let client =
        TestClient::new(App::new().route("/", get(page)).templates(Templates::from_dir(&dir).debug(false)));
    assert_eq!(client.get("/").send().await.text(), "one");
    write(&dir, "page.html", "two, longer");
    assert_eq!(client.get("/").send().await.text(), "one");
}

async fn list_page(tpl: Templates) -> Result<Template> {
    tpl.render("list.html", context! {})
}

#[test]
fn route_names_the_templates_use_are_checked_when_the_app_is_built() {
    let dir = folder(
        "names",
        &[(
            "list.html",
            "{{ url_for('notes.list') }}\n{{ url_for(\"notes.detial\", id=1) }}\n{# dynamic: {{ url_for(name) }} #}",
        )],
    );
    let app =
        App::new().route("/notes", get(list_page).name("notes.list")).templates(Templates::from_dir(&dir));
    let Err(e) = app.build() else { panic!("built with an unknown route name") };
    assert_eq!(
        e.0,
        ["template `list.html` line 2: url_for(\"notes.detial\") names no route (name routes with `.name(\"...\")`)"]
    );

    let missing = App::new().templates(Templates::from_dir(dir.join("nope")));
    let Err(e) = missing.build() else { panic!("built with a missing folder") };
    assert!(e.0[0].contains("does not exist"), "{e}");
}

#[tokio::test]
async fn url_for_in_rust_and_at_render_time() {
    let dir = folder("dynamic", &[("list.html", "{{ url_for(name, id=7) }}")]);
    #[derive(Deserialize, JsonSchema, Validate)]
    struct Name {
        name: String,
    }
    async fn dynamic(tpl: Templates, Query(Name { name }): Query<Name>) -> Result<Template> {
        tpl.render("list.html", context! { name })
    }
    async fn some_path(Path(p): Path<String>) -> String {
        p
    }
    async fn rust_side(tpl: Templates) -> Result<String> {
        tpl.url_for("files", [("path", "a b/c.txt")])
    }
    let app = App::new()
        .route("/n/{id}", get(some_path).name("note"))
        .route("/files/{*path}", get(some_path).name("files"))
        .route("/dynamic", get(dynamic))
        .route("/rust", get(rust_side))
        .templates(Templates::from_dir(&dir).debug(true));
    let client = TestClient::new(app);
    assert_eq!(client.get("/dynamic?name=note").send().await.text(), "&#x2f;n&#x2f;7");
    assert_eq!(client.get("/rust").send().await.text(), "/files/a%20b/c.txt");
    let res = client.get("/dynamic?name=nope").header("accept", BROWSER).send().await;
    assert_eq!(res.status(), 500);
    assert!(res.text().contains("no route is named `nope`"), "{}", res.text());
}

#[tokio::test]
async fn globals_functions_and_per_request_values_reach_every_template() {
    #[derive(Clone)]
    struct User(&'static str);
    let page = "{{ site }} {{ shout('hi') }} {{ user }} {{ csrf_token() }} {{ request.method }} {{ request.path }} {{ request.args.q }} {{ mine }}";
    const PAGES: EmbeddedTemplates = &[("p.txt", "")];
    let _ = PAGES;
    let dir = folder("seam", &[("p.txt", page)]);
    async fn handler(tpl: Templates) -> Result<Template> {
        tpl.render("p.txt", context! { mine => "handler's", user => "handler wins" })
    }
    let app = App::new()
        .template_context(|parts, cx: &mut TemplateContext| {
            let token = format!("token-for-{}", parts.uri.path());
            cx.insert("csrf_token", Value::from_function(move || token.clone()));
            if let Some(User(name)) = parts.extensions.get::<User>() {
                cx.insert("user", *name);
            }
        })
        .route("/p", get(handler))
        .templates(Templates::from_dir(&dir))
        .template_global("site", "Notes")
        .template_function("shout", |s: String| s.to_uppercase())
        .layer(tower::util::MapRequestLayer::new(|mut req: brisk::extract::Request| {
            req.extensions_mut().insert(User("alice"));
            req
        }));
    let client = TestClient::new(app);
    assert_eq!(
        client.get("/p?q=x").send().await.text(),
        "Notes HI handler wins token-for-/p GET /p x handler's"
    );
}

async fn broken_page(tpl: Templates) -> Result<Template> {
    tpl.render("broken.html", context! { items => vec![1, 2] })
}

async fn missing_page(tpl: Templates) -> Result<Template> {
    tpl.render("nowhere.html", context! {})
}

fn broken_app(debug: bool) -> App {
    let dir = folder(
        &format!("broken-{debug}"),
        &[
            ("base.html", "<main>{% block content %}{% endblock %}</main>"),
            ("broken.html", "{% extends 'base.html' %}\n{% block content %}\n<p>ok</p>\n{{ items|nosuchfilter }}\n{% endblock %}"),
            ("errors/500.html", "<h1>Our own 500: {{ reason }}</h1>"),
        ],
    );
    App::new()
        .route("/broken", get(broken_page))
        .route("/missing", get(missing_page))
        .templates(Templates::from_dir(&dir).debug(debug))
}

#[tokio::test]
async fn in_debug_a_template_error_shows_the_template_line_and_cause_escaped() {
    let client = TestClient::new(broken_app(true));
    let res = client.get("/broken").header("accept", BROWSER).send().await;
    assert_eq!(res.status(), 500);
    let page = res.text();
    assert!(page.contains("Template: <code>broken.html</code>"), "{page}");
    assert!(page.contains("Line: <code>4</code>"), "{page}");
    assert!(page.contains("nosuchfilter"), "{page}");
    assert!(page.contains("<span class=\"line\">   4 | {{ items|nosuchfilter }}</span>"), "{page}");
    assert!(page.contains("   3 | &lt;p&gt;ok&lt;/p&gt;"), "the source is escaped: {page}");

    let res = client.get("/missing").header("accept", BROWSER).send().await;
    assert_eq!(res.status(), 500);
    assert!(res.text().contains("nowhere.html"), "{}", res.text());

    // API clients get the plain JSON 500 in debug too.
    let res = client.get("/broken").send().await;
    assert_eq!(res.json::<Json>(), json!({"detail": "Internal Server Error"}));
}

#[tokio::test]
async fn in_release_a_template_error_is_a_plain_500() {
    let client = TestClient::new(broken_app(false));
    for path in ["/broken", "/missing"] {
        let res = client.get(path).header("accept", BROWSER).send().await;
        assert_eq!(res.status(), 500);
        let page = res.text();
        assert_eq!(page, "<h1>Our own 500: Internal Server Error</h1>", "the app's page, no detail");
        let res = client.get(path).send().await;
        assert_eq!(res.json::<Json>(), json!({"detail": "Internal Server Error"}));
    }
}

#[tokio::test]
async fn error_pages_come_from_templates_when_the_app_has_them() {
    let dir = folder(
        "error-pages",
        &[
            ("errors/404.html", "<h1>Lost: {{ detail or reason }} ({{ status }})</h1>"),
            ("errors/405.html", "<h1>Not like that</h1>"),
            ("errors/422.html", "{% for field, messages in errors|items %}[{{ field }}: {{ messages|join(', ') }} / {{ values[field] }}]{% endfor %}"),
            ("errors/418.html", "{{ nosuch|broken }}"),
        ],
    );
    #[derive(Deserialize, JsonSchema, Validate)]
    struct Q {
        #[validate(ge = 1)]
        page: i64,
    }
    async fn gone(Path(id): Path<String>) -> Result<String> {
        Err(Error::http(StatusCode::NOT_FOUND, format!("no note {id}")))
    }
    async fn teapot() -> Result<String> {
        Err(Error::http(StatusCode::IM_A_TEAPOT, "short and stout"))
    }
    let app = App::new()
        .route("/q", get(|Query(q): Query<Q>| async move { q.page.to_string() }))
        .route("/notes/{id}", get(gone))
        .route("/teapot", get(teapot))
        .templates(Templates::from_dir(&dir));
    let client = TestClient::serve(app).await;
    let res = client.get("/nowhere").header("accept", BROWSER).send().await;
    assert_eq!((res.status().as_u16(), res.text()), (404, "<h1>Lost: Not Found (404)</h1>".to_owned()));
    let res = client.get("/notes/%3Cb%3E").header("accept", BROWSER).send().await;
    assert_eq!(res.text(), "<h1>Lost: no note &lt;b&gt; (404)</h1>");
    let res = client.post("/q").header("accept", BROWSER).send().await;
    assert_eq!((res.status().as_u16(), res.text()), (405, "<h1>Not like that</h1>".to_owned()));
    assert_eq!(res.header("allow"), Some("GET, HEAD"));
    let res = client.get("/q?page=%3Cb%3E").header("accept", BROWSER).send().await;
    assert_eq!(res.status(), 422);
    assert_eq!(
        res.text(),
        "[page: Input should be a valid integer, unable to parse string as an integer / &lt;b&gt;]"
    );
    // A page whose template fails falls back to the built-in one.
    let res = client.get("/teapot").header("accept", BROWSER).send().await;
    assert_eq!(res.status(), 418);
    assert!(res.text().contains("short and stout"), "{}", res.text());
    // API clients: unchanged.
    let res = client.get("/nowhere").send().await;
    assert_eq!(res.json::<Json>(), json!({"detail": "Not Found"}));
}

#[derive(Deserialize, JsonSchema, Validate)]
struct NoteForm {
    #[validate(min_length = 1, max_length = 20)]
    title: String,
}

async fn create_note(tpl: Templates, form: FormResult<NoteForm>) -> Result<Response> {
    match form.into_inner() {
        Ok(_note) => Ok(Redirect::to("/notes").into_response()),
        Err(errors) => Ok(tpl
            .render_status(422, "notes/new.html", context! { errors, values => errors.values() })?
            .into_response()),
    }
}

#[tokio::test]
async fn a_form_page_is_shown_again_with_its_errors_and_values() {
    let dir = folder(
        "form",
        &[(
            "notes/new.html",
            r#"<form method="post"><input name="title" value="{{ values.title }}">{% for e in errors.title %}<p class="error">{{ e }}</p>{% endfor %}</form>"#,
        )],
    );
    let app = App::new().route("/notes", post(create_note)).templates(Templates::from_dir(&dir));
    let client = TestClient::serve(app).await;
    let res = client
        .post("/notes")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", BROWSER)
        .body("title=%3Cscript%3Ex%3C%2Fscript%3E%3Cscript%3Ex%3C%2Fscript%3E%3Cscript%3E")
        .send()
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(
        res.text(),
        r#"<form method="post"><input name="title" value="&lt;script&gt;x&lt;&#x2f;script&gt;&lt;script&gt;x&lt;&#x2f;script&gt;&lt;script&gt;"><p class="error">String should have at most 20 characters</p></form>"#
    );
    let res = client
        .post("/notes")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("title=ok")
        .send()
        .await;
    assert_eq!(res.status(), 303);
}

#[tokio::test]
async fn a_handler_asking_for_templates_in_an_app_without_them_gets_a_500() {
    let client = TestClient::new(App::new().route("/", get(list_page)));
    let res = client.get("/").send().await;
    assert_eq!(res.status(), 500);
}

#[test]
fn the_route_is_documented_as_an_html_page() {
    let app = App::new().route("/notes", get(list_page));
    let doc = serde_json::to_value(app.openapi().unwrap_or_else(|e| panic!("{e}"))).unwrap_or_default();
    assert_eq!(
        doc["paths"]["/notes"]["get"]["responses"]["200"]["content"]["text/html"]["schema"],
        json!({"type": "string"})
    );
}

#[cfg(feature = "static-files")]
#[tokio::test]
async fn static_gives_the_url_of_a_static_file() {
    use brisk::static_files::StaticFiles;
    let dir = folder("static", &[("p.html", "<link href=\"{{ static('css/site.css') }}\">")]);
    async fn page(tpl: Templates) -> Result<Template> {
        tpl.render("p.html", context! {})
    }
    let app = App::new()
        .route("/", get(page))
        .templates(Templates::from_dir(&dir))
        .static_files("/assets", StaticFiles::new(dir.join("static")));
    let client = TestClient::new(app);
    assert_eq!(client.get("/").send().await.text(), "<link href=\"&#x2f;assets&#x2f;css&#x2f;site.css\">");
}
