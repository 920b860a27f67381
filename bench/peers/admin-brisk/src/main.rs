//! `bench/run --admin`: brisk-admin's list page on a million items, against Django's admin
//! (`bench/peers/admin-django`, the same models, the same options, the same tables).
//!
//! The app as brisk-admin's README teaches it: the database from `DATABASE_URL`, brisk-orm's
//! commands (`migrate` ...), brisk-auth (login at `POST /auth/login`, sessions in the database,
//! `createsuperuser --no-input` from `BRISK_SUPERUSER_*`), and the admin with `Item` and
//! `Supplier` registered. `admin-brisk` (or `admin-brisk runserver`) serves on `HOST`/`PORT`,
//! applying the migrations first; the harness runs `admin-brisk migrate` and
//! `createsuperuser --no-input` before it loads the rows.
//!
//! The tables are named as Django names them (`bench_supplier`, `bench_item`, the key column
//! `supplier_id`), so one `INSERT ... SELECT generate_series(...)` fills both apps' databases.

use brisk::prelude::*;
use brisk_admin::{Admin, ModelAdmin};
use brisk_auth::Auth;
use brisk_orm::migrations::{next_migration, Graph, Migration, Migrator, NonInteractive, ProjectState};
use brisk_orm::prelude::*;

/// Who supplies an item (1,000 rows).
#[derive(Debug, Clone, Model)]
#[model(app_label = "bench")]
pub struct Supplier {
    #[model(primary_key)]
    id: AutoId,
    #[validate(min_length = 1, max_length = 100)]
    name: String,
}

/// An item (1,000,000 rows in the full run).
#[derive(Debug, Clone, Model)]
#[model(app_label = "bench")]
pub struct Item {
    #[model(primary_key)]
    id: AutoId,
    #[validate(min_length = 1, max_length = 100)]
    name: String,
    #[validate(ge = 0)]
    price: f64,
    #[model(default = true)]
    in_stock: bool,
    #[model(on_delete = Protect, column = "supplier_id")]
    supplier: ForeignKey<Supplier>,
}

/// The `bench` app's migration, detected from the models above (as the admin's tests make
/// theirs): nothing to keep in step by hand. brisk-auth's, brisk-admin's and the sessions'
/// migrations ship with their crates and join the graph by themselves.
fn migrations() -> Result<Vec<Migration>, Box<dyn std::error::Error>> {
    let graph = Graph::new(Vec::new())?;
    let declared = ProjectState::from_registry(&brisk_orm::registry());
    Ok(next_migration(&graph, &declared, "bench", &mut NonInteractive)?.into_iter().collect())
}

/// The admin: what Django's `ItemAdmin` declares (list_display with the foreign key,
/// search_fields, list_filter; 100 rows a page, newest key first, both frameworks' defaults).
fn admin() -> Admin {
    Admin::new()
        .register::<Item>(
            ModelAdmin::default()
                .list_display(["name", "price", "in_stock", "supplier"])
                .search_fields(["name"])
                .list_filter(["in_stock"])
                .title_field("name"),
        )
        .register::<Supplier>(ModelAdmin::default().search_fields(["name"]).title_field("name"))
}

fn app() -> Result<App, Box<dyn std::error::Error>> {
    let db = Database::from_env()?;
    let files = migrations()?;
    let migrator = Migrator::new(db.clone(), files.clone())?;
    Ok(App::new()
        .install(db.clone())
        .install(brisk_orm::Migrations::new(db, files))
        .install(Auth::default())
        .install(admin())
        .on_startup(move || async move {
            migrator.migrate().await?;
            Ok(())
        }))
}

fn main() {
    match app() {
        Ok(app) => brisk::cli::main(app),
        Err(e) => {
            eprintln!("Error: {e}");
            std::process::exit(1)
        }
    }
}
