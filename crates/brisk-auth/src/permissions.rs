//! The default permissions: `view_`, `add_`, `change_` and `delete_` for every registered
//! model, made by `migrate` once the `auth` tables exist (as Django's `post_migrate`), and
//! again for models added later. Safe to run any number of times, from any number of
//! processes at once.

use brisk_orm::{Database, Executor, ModelMeta, Raw};

/// The four actions Django gives every model.
pub const DEFAULT_ACTIONS: [&str; 4] = ["view", "add", "change", "delete"];

/// The default permissions of `model`: `(codename, name)`, as `("change_post", "Can change post")`.
pub fn default_permissions(model: &ModelMeta) -> Vec<(String, String)> {
    let lower = model.name.to_lowercase();
    DEFAULT_ACTIONS
        .iter()
        .map(|action| (format!("{action}_{lower}"), format!("Can {action} {}", model.verbose_name)))
        .collect()
}

/// Makes every missing default permission of every registered model; returns how many were
/// made. Already-present permissions are left as they are (renamed ones included).
pub async fn create_default_permissions(db: &impl Executor) -> Result<u64, brisk_orm::Error> {
    let mut made = 0;
    for model in brisk_orm::registry() {
        for (codename, name) in default_permissions(model) {
            made += Raw::new(
                "INSERT INTO auth_permission (name, app_label, model, codename) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (app_label, codename) DO NOTHING",
            )
            .bind(name)
            .bind(model.app_label.to_owned())
            .bind(model.name.to_lowercase())
            .bind(codename)
            .execute(db)
            .await?;
        }
    }
    Ok(made)
}

async fn after_migrate(db: &Database) -> Result<(), brisk_orm::Error> {
    let made = create_default_permissions(db).await?;
    if made > 0 {
        tracing::info!(target: "brisk_auth", made, "default permissions created");
    }
    Ok(())
}

brisk_orm::post_migrate!("auth", after_migrate);
