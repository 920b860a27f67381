//! Migrations and hooks that library crates ship for their own models, as Django's contrib
//! apps ship theirs: brisk-auth's `auth` migrations are part of every graph of an app that
//! links brisk-auth, and its post-migrate hook makes the default permissions.

use std::future::Future;
use std::pin::Pin;

use super::file::{FileError, Migration};
use crate::database::Database;
use crate::error::Error;

/// The migrations one crate ships, registered with [`ship_migrations!`](crate::ship_migrations).
pub struct ShippedMigrations {
    /// `(app, name, text)` of each file, as `brisk_build::embed_migrations` embeds them.
    pub files: &'static [(&'static str, &'static str, &'static str)],
}

inventory::collect!(ShippedMigrations);

/// Ships the migrations this crate's `build.rs` embedded (`brisk_build::embed_migrations`)
/// with the crate: every app that links it gets them in its migration graph, so `migrate`
/// applies them and `makemigrations` sees the crate's models as migrated.
///
/// ```ignore
/// // in a library crate with models, at its root:
/// brisk_orm::ship_migrations!();
/// ```
#[macro_export]
macro_rules! ship_migrations {
    () => {
        $crate::__private::inventory::submit! {
            $crate::migrations::ShippedMigrations {
                files: ::core::include!(::core::concat!(::core::env!("OUT_DIR"), "/brisk_migrations.rs")),
            }
        }
    };
}

/// Every shipped migration, parsed.
pub fn shipped() -> Result<Vec<Migration>, FileError> {
    let mut out = Vec::new();
    for set in inventory::iter::<ShippedMigrations> {
        for (app, name, text) in set.files {
            out.push(Migration::parse(app, name, text)?);
        }
    }
    out.sort_by_key(Migration::key);
    Ok(out)
}

/// The future a [`PostMigrate`] hook returns.
pub type HookFuture<'a> = Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'a>>;

/// Code run after every `migrate` once the migrations of `app` are all applied (Django's
/// `post_migrate` signal): brisk-auth makes the permissions of new models here. Register with
/// [`post_migrate!`](crate::post_migrate); a hook must be safe to run again.
pub struct PostMigrate {
    /// The app whose tables the hook needs.
    pub app: &'static str,
    /// The hook.
    pub run: for<'a> fn(&'a Database) -> HookFuture<'a>,
}

inventory::collect!(PostMigrate);

/// Registers `async fn(&Database) -> Result<(), brisk_orm::Error>` to run after `migrate`
/// once every migration of `app` is applied.
///
/// ```ignore
/// async fn seed(db: &brisk_orm::Database) -> Result<(), brisk_orm::Error> { Ok(()) }
/// brisk_orm::post_migrate!("shop", seed);
/// ```
#[macro_export]
macro_rules! post_migrate {
    ($app:literal, $function:path) => {
        $crate::__private::inventory::submit! {
            $crate::migrations::PostMigrate { app: $app, run: |db| ::std::boxed::Box::pin($function(db)) }
        }
    };
}

/// The registered hooks, in the order of their apps' names.
pub(crate) fn post_migrate_hooks() -> Vec<&'static PostMigrate> {
    let mut hooks: Vec<&'static PostMigrate> = inventory::iter::<PostMigrate>.into_iter().collect();
    hooks.sort_by_key(|h| h.app);
    hooks
}
