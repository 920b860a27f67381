#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod form;
pub mod history;
mod inline;
mod list;
mod many;
mod options;
mod registry;
mod site;
mod views;

use std::marker::PhantomData;
use std::sync::Arc;

use brisk::prelude::*;
use brisk::templates::EmbeddedTemplates;
use brisk::{App, Install};
use brisk_orm::Model;

pub use history::{ActionFlag, LogEntry};
pub use options::{Action, ActionContext, ActionFuture, DeleteHook, ModelAdmin, SaveHook};

use registry::{Ops, Registered};
use site::{SharedSite, Site};

brisk_orm::ship_migrations!();

/// The admin's pages, under the template namespace `admin` (an app's own `admin/...` files
/// replace them, name by name).
pub const TEMPLATES: EmbeddedTemplates = &[
    ("base.html", include_str!("../templates/admin/base.html")),
    ("index.html", include_str!("../templates/admin/index.html")),
    ("change_list.html", include_str!("../templates/admin/change_list.html")),
    ("change_form.html", include_str!("../templates/admin/change_form.html")),
    ("view_object.html", include_str!("../templates/admin/view_object.html")),
    ("delete_confirmation.html", include_str!("../templates/admin/delete_confirmation.html")),
    ("object_history.html", include_str!("../templates/admin/object_history.html")),
];

/// The admin, installed with `App::install(Admin::new().register::<Item>(ModelAdmin::default()))`
/// after the `Database` and brisk-auth's `Auth`: a staff-only site at `/admin` listing every
/// registered model.
pub struct Admin {
    prefix: String,
    models: Vec<Registered>,
    problems: Vec<String>,
}

impl Default for Admin {
    fn default() -> Self {
        Admin::new()
    }
}

impl Admin {
    /// An admin with no models yet, at `/admin`.
    pub fn new() -> Self {
        Admin { prefix: "/admin".to_owned(), models: Vec::new(), problems: Vec::new() }
    }

    /// Mounts it at `prefix` instead.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into().trim_end_matches('/').to_owned();
        self
    }

    /// Adds model `M` with its options. A field an option names that `M` does not have stops
    /// the app at start with a sentence.
    pub fn register<M: Model + Send + Sync + 'static>(mut self, admin: ModelAdmin<M>) -> Self {
        let meta = M::META;
        self.problems.extend(registry::unknown_names(meta, &admin.options));
        let options = registry::with_defaults(meta, admin.options);
        self.models.retain(|m| m.meta.table != meta.table);
        self.models.push(Registered {
            meta,
            options,
            ops: Arc::new(Ops::<M> { scope: admin.scope, model: PhantomData }),
        });
        self
    }

    /// brisk-auth's users, groups and permissions, with Django's columns and filters (a
    /// group's permissions and a user's groups and permissions are multi-selects).
    pub fn with_auth_models(self) -> Self {
        use brisk_auth::models::Group;
        use brisk_auth::User;
        self.register::<User>(
            ModelAdmin::default()
                .list_display(["username", "email", "first_name", "last_name", "is_staff", "is_active"])
                .search_fields(["username", "first_name", "last_name", "email"])
                .list_filter(["is_staff", "is_superuser", "is_active"])
                .ordering(["username"])
                .readonly_fields(["password", "last_login", "session_epoch"])
                .title_field("username")
                // A user added here has no usable password until `changepassword` gives one.
                .before_save(|row, adding| {
                    if adding {
                        row.set("password", "!");
                    }
                    Ok(())
                }),
        )
        .register::<Group>(ModelAdmin::default().search_fields(["name"]).ordering(["name"]))
        .register::<brisk_auth::models::Permission>(
            ModelAdmin::default()
                .list_display(["name", "app_label", "model", "codename"])
                .search_fields(["name", "codename", "app_label"])
                .ordering(["app_label", "model", "codename"])
                .title_fields(["app_label", "model", "name"]),
        )
    }
}

impl Install for Admin {
    fn install(self, app: App) -> App {
        let login_url = "/auth/login".to_owned();
        let site = Arc::new(Site { prefix: self.prefix.clone(), models: self.models, login_url });
        let problems = self.problems;
        let pages = Router::new()
            .route("/", get(views::index).name("admin.index"))
            .route("/{app}/{model}", get(views::changelist).post(views::changelist_action))
            .route("/{app}/{model}/add", get(views::add_form).post(views::add_save))
            .route("/{app}/{model}/autocomplete", get(views::autocomplete))
            .route("/{app}/{model}/{key}/change", get(views::change_form).post(views::change_save))
            .route("/{app}/{model}/{key}/delete", get(views::delete_form).post(views::delete_save))
            .route("/{app}/{model}/{key}/history", get(views::history))
            .include_in_schema(false);
        app.with_state(SharedSite(site))
            .template_namespace("admin", TEMPLATES)
            .nest(&self.prefix, pages)
            .on_startup(move || {
                let problems = problems.clone();
                async move {
                    match problems.is_empty() {
                        true => Ok(()),
                        false => Err(problems.join("; ").into()),
                    }
                }
            })
    }
}
