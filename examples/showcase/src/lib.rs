//! The showcase app: the items API of `CONTRACT.md`, stored with brisk-orm (SQLite in
//! `showcase.db` by default, PostgreSQL when `DATABASE_URL` says so), with users, logins and
//! permissions from brisk-auth.

pub mod auth;
pub mod chat;
pub mod demo_users;
pub mod items;
pub mod model;
pub mod pages;
pub mod scale;
pub mod store;
pub mod ws;

use brisk::prelude::*;
use brisk_orm::migrations::{Migration, Migrator};
use brisk_orm::Database;

/// The body of `GET /json`.
#[derive(Serialize, JsonSchema)]
pub struct Message {
    /// Always "Hello, World!".
    pub message: &'static str,
}

async fn plaintext() -> &'static str {
    "Hello, World!"
}

async fn hello_json() -> Json<Message> {
    Json(Message { message: "Hello, World!" })
}

/// The database used when `DATABASE_URL` is not set: a file beside the working directory, so
/// items survive a restart.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://showcase.db";

/// The whole app, ready to serve or to test, with the token keys of the environment (see
/// [`auth`]) and the database of `DATABASE_URL`.
pub fn app() -> Result<App, String> {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned());
    let db = Database::open(&url).map_err(|e| e.to_string())?;
    let app = app_with(auth::AuthConfig::from_env()?, db);
    Ok(match brisk_redis::Redis::from_env_if_set().map_err(|e| e.to_string())? {
        // Many processes: sessions, the cache, rate limits and pub/sub shared through Redis.
        Some(redis) => app.install(redis),
        None => app,
    })
}

/// The showcase's migrations (`migrations/<app>/*.toml`), embedded in the binary by `build.rs`.
pub fn migrations() -> Result<Vec<Migration>, String> {
    brisk_orm::embedded_migrations!().map_err(|e| e.to_string())
}

/// The admin at `/admin`: the items (searchable, sortable by price, filtered by whether they
/// have a tax) and brisk-auth's users, groups and permissions. Staff only; make a superuser
/// with `showcase createsuperuser`.
pub fn admin() -> brisk_admin::Admin {
    use brisk_admin::{Admin, ModelAdmin};
    Admin::new()
        .register::<items::Item>(
            ModelAdmin::default()
                .list_display(["name", "price", "tax", "description"])
                .search_fields(["name", "description"])
                .list_filter(["tax"])
                .ordering(["name"])
                .list_per_page(50),
        )
        .with_auth_models()
        .register::<brisk_jobs::JobRecord>(brisk_jobs::admin::job_admin())
}

/// The whole app with the given token keys, on `db`, with brisk-auth installed (users in
/// `auth_user`, the login page at `/auth/login`, sessions with CSRF protection: see
/// [`auth`]) and its management commands (`migrate`, `makemigrations`, `showmigrations`,
/// `sqlmigrate`, `routes`, `openapi`, `createsuperuser`, `changepassword`).
///
/// At start-up it checks that the database answers and applies the migrations not applied
/// yet — brisk-auth's tables and the demo users included — unless `MIGRATE_ON_START=0`. On by
/// default so that the showcase starts with one command on a fresh machine; a deployment that
/// runs `showcase migrate` as its own step sets it to 0.
pub fn app_with(auth: auth::AuthConfig, db: Database) -> App {
    let migrating = db.clone();
    let files = migrations().unwrap_or_default();
    let commands = brisk_orm::Migrations::new(db.clone(), files).source(env!("CARGO_MANIFEST_DIR"));
    let app = App::new()
        .title("brisk showcase")
        .version(env!("CARGO_PKG_VERSION"))
        .description("The items API of the brisk contract, stored with brisk-orm.")
        .route("/plaintext", get(plaintext))
        .route("/json", get(hello_json))
        .merge(items::router())
        .merge(auth::router())
        .merge(chat::router())
        .merge(ws::router())
        .merge(pages::router())
        .merge(scale::router())
        .health_routes()
        .templates(pages::templates())
        .static_files("/static", pages::static_files())
        .install(db)
        // Migrations first: the start-up hooks run in order, and the job workers started by
        // the next one claim from the table the migrations make.
        .on_startup(move || async move {
            if std::env::var_os("SHOWCASE_USERS").is_some() {
                tracing::warn!(
                    target: "showcase",
                    "SHOWCASE_USERS is no longer read: users live in the database (auth_user); \
                     add one with `showcase createsuperuser`, change a password with `showcase changepassword NAME`"
                );
            }
            if std::env::var("MIGRATE_ON_START").is_ok_and(|v| v == "0") {
                return Ok(());
            }
            let migrator = Migrator::new(migrating, migrations()?)?;
            for applied in migrator.migrate().await? {
                tracing::info!(target: "showcase", migration = %applied, "applied");
            }
            Ok(())
        })
        .install(scale::jobs())
        .install(auth::settings())
        .install(admin())
        .install(commands)
        .with_state(store::Sessions::default())
        .with_state(auth)
        .with_state(chat::model());
    // Which process answered, for an app run as many (`BRISK_INSTANCE` names it).
    if std::env::var_os("BRISK_INSTANCE").is_some() {
        app.instance_header()
    } else {
        app
    }
}
