//! The data migration `showcase/0002_demo_users` (`migrations/showcase/0002_demo_users.toml`):
//! the demo users alice and bob in brisk-auth's `auth_user`, with their Argon2id hashes
//! computed ahead of time (so nothing is hashed at start-up), the permission
//! `showcase.view_stats` behind the `admin` scope of `POST /token`, and the group `admins`
//! holding it, alice in it. It runs after `auth/0001_initial` made the tables, in the
//! migration's transaction, on the tables as the migrations left them (not today's structs);
//! `showcase migrate showcase 0001_initial` undoes it.

use brisk_orm::migrations::{DataMigration, DynRow, ManyToManyState};
use brisk_orm::schema::quote;
use brisk_orm::{DateTime, Error, Raw};

/// The demo users: name, Argon2id hash of the password (m=19 MiB, t=2, p=1, brisk-auth's
/// default cost, computed once ahead of time: hashing at every start-up cost ~40 MiB of
/// resident heap for nothing, see bench/README.md), and whether it joins [`ADMINS`].
pub const DEMO_USERS: &[(&str, &str, bool)] = &[
    // alice / wonderland
    (
        "alice",
        "$argon2id$v=19$m=19456,t=2,p=1$A4jMSt4c5VLZ/LYONkov/Q$I9d3A/kVhpk+Ah2dkk1QID2E6V9ETCHkdTx+tOl3fhA",
        true,
    ),
    // bob / builder
    (
        "bob",
        "$argon2id$v=19$m=19456,t=2,p=1$EkdHutVybAiV7wL/ye40WA$CfwGI4bx+l3wZlvh4OZ5mfWDjIqjcBiY5HTfox8V6sc",
        false,
    ),
];

/// The group whose members may read the server statistics (the `admin` scope).
pub const ADMINS: &str = "admins";

/// The permission behind the `admin` scope: `(app_label, codename, name)`.
pub const VIEW_STATS: (&str, &str, &str) = ("showcase", "view_stats", "Can view server statistics");

/// The data migration `showcase/0002_demo_users`: the demo users with their precomputed hashes
/// (a user of that name already there is left alone), the permission `showcase.view_stats`,
/// and the group `admins` holding it, alice in it. Runs in the migration's transaction, on the
/// `auth` tables as `auth/0001_initial` made them.
pub async fn seed_demo_users(m: &DataMigration) -> Result<(), Error> {
    let tx = m.transaction();
    let taken: Vec<String> =
        m.rows("auth.User").await?.iter().filter_map(|u| u.get_str("username").map(str::to_owned)).collect();
    let joined = serde_json::to_value(DateTime::now()).map_err(|e| Error::Config(format!("a date: {e}")))?;
    for (name, hash, _) in DEMO_USERS.iter().filter(|(name, _, _)| !taken.iter().any(|t| t == name)) {
        let mut user = DynRow::new();
        user.set("username", *name);
        user.set("email", format!("{name}@example.com"));
        user.set("first_name", "");
        user.set("last_name", "");
        user.set("password", *hash);
        user.set("is_active", true);
        user.set("is_staff", false);
        user.set("is_superuser", false);
        user.set("date_joined", joined.clone());
        user.set("session_epoch", 0);
        m.insert("auth.User", &user).await?;
    }

    let (app_label, codename, title) = VIEW_STATS;
    let mut perm = DynRow::new();
    perm.set("app_label", app_label);
    perm.set("codename", codename);
    perm.set("model", "");
    perm.set("name", title);
    m.insert("auth.Permission", &perm).await?;
    let mut group = DynRow::new();
    group.set("name", ADMINS);
    m.insert("auth.Group", &group).await?;

    // The links, through the many-to-many tables as the migrations named them.
    let group_perms = many(m, "auth.Group", "permissions")?;
    Raw::new(format!(
        "INSERT INTO {} ({}, {}) SELECT g.id, p.id FROM auth_group g, auth_permission p \
         WHERE g.name = ? AND p.app_label = ? AND p.codename = ?",
        quote(&group_perms.through),
        quote(&group_perms.from_column),
        quote(&group_perms.to_column),
    ))
    .bind(ADMINS.to_owned())
    .bind(app_label.to_owned())
    .bind(codename.to_owned())
    .execute(tx)
    .await?;
    let user_groups = many(m, "auth.User", "groups")?;
    for (name, _, _) in DEMO_USERS.iter().filter(|(_, _, admin)| *admin) {
        Raw::new(format!(
            "INSERT INTO {} ({}, {}) SELECT u.id, g.id FROM auth_user u, auth_group g \
             WHERE u.username = ? AND g.name = ?",
            quote(&user_groups.through),
            quote(&user_groups.from_column),
            quote(&user_groups.to_column),
        ))
        .bind((*name).to_owned())
        .bind(ADMINS.to_owned())
        .execute(tx)
        .await?;
    }
    Ok(())
}
brisk_orm::data_migration!("showcase.seed_demo_users", seed_demo_users);

/// Undoes [`seed_demo_users`]: the demo users (with their group memberships, permissions and
/// API tokens), the group `admins` and the permission `showcase.view_stats` are deleted.
pub async fn remove_demo_users(m: &DataMigration) -> Result<(), Error> {
    let tx = m.transaction();
    let names: Vec<String> = DEMO_USERS.iter().map(|(name, _, _)| (*name).to_owned()).collect();
    let marks = vec!["?"; names.len()].join(", ");
    let users = format!("SELECT id FROM auth_user WHERE username IN ({marks})");
    let (app_label, codename, _) = VIEW_STATS;
    let perm = "SELECT id FROM auth_permission WHERE app_label = ? AND codename = ?";
    let group = "SELECT id FROM auth_group WHERE name = ?";
    let user_groups = many(m, "auth.User", "groups")?;
    let user_perms = many(m, "auth.User", "user_permissions")?;
    let group_perms = many(m, "auth.Group", "permissions")?;
    for link in [&user_groups, &user_perms] {
        let mut delete = Raw::new(format!(
            "DELETE FROM {} WHERE {} IN ({users})",
            quote(&link.through),
            quote(&link.from_column)
        ));
        for name in &names {
            delete = delete.bind(name.clone());
        }
        delete.execute(tx).await?;
    }
    let mut tokens = Raw::new(format!("DELETE FROM auth_token WHERE user_id IN ({users})"));
    for name in &names {
        tokens = tokens.bind(name.clone());
    }
    tokens.execute(tx).await?;
    let mut delete = Raw::new(format!("DELETE FROM auth_user WHERE username IN ({marks})"));
    for name in &names {
        delete = delete.bind(name.clone());
    }
    delete.execute(tx).await?;
    for link in [&user_perms, &group_perms] {
        Raw::new(format!(
            "DELETE FROM {} WHERE {} IN ({perm})",
            quote(&link.through),
            quote(&link.to_column)
        ))
        .bind(app_label.to_owned())
        .bind(codename.to_owned())
        .execute(tx)
        .await?;
    }
    for (link, column) in [(&user_groups, &user_groups.to_column), (&group_perms, &group_perms.from_column)] {
        Raw::new(format!("DELETE FROM {} WHERE {} IN ({group})", quote(&link.through), quote(column)))
            .bind(ADMINS.to_owned())
            .execute(tx)
            .await?;
    }
    Raw::new("DELETE FROM auth_group WHERE name = ?").bind(ADMINS.to_owned()).execute(tx).await?;
    Raw::new("DELETE FROM auth_permission WHERE app_label = ? AND codename = ?")
        .bind(app_label.to_owned())
        .bind(codename.to_owned())
        .execute(tx)
        .await?;
    Ok(())
}
brisk_orm::data_migration!("showcase.remove_demo_users", remove_demo_users);

/// The many-to-many field `field` of `model` as the migrations left it (its through table).
fn many(m: &DataMigration, model: &str, field: &str) -> Result<ManyToManyState, Error> {
    m.model(model)?
        .many_to_many
        .iter()
        .find(|f| f.name == field)
        .cloned()
        .ok_or_else(|| Error::Config(format!("{model} has no many-to-many field {field}")))
}
