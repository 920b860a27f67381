//! The showcase's migrations match its models (as `cargo run -p showcase -- makemigrations
//! --check` says), migrate an empty database on either backend (`BRISK_TEST_BACKEND`), and
//! seed the demo users into brisk-auth's tables — and take them away again when undone.
//!
//! After changing a model, `cargo run -p showcase -- makemigrations` writes the next
//! migration into `migrations/showcase/`; review it and list it in `showcase::migrations`.
//! (`UPDATE_MIGRATIONS=1` on this test writes it too.)

use brisk_auth::models::{Group, Permission};
use brisk_auth::User;
use brisk_orm::migrations::{next_migration, write, Graph, Migrator, NonInteractive, ProjectState};
use brisk_orm::testing::TestDatabase;
use brisk_orm::Model;

#[test]
fn the_migrations_match_the_models() {
    let graph = Graph::new(showcase::migrations().unwrap()).unwrap();
    let declared = ProjectState::from_registry(&brisk_orm::registry());
    let next = next_migration(&graph, &declared, "showcase", &mut NonInteractive).unwrap();
    if let (Some(next), Some(_)) = (&next, std::env::var_os("UPDATE_MIGRATIONS")) {
        let path = write(std::path::Path::new(env!("CARGO_MANIFEST_DIR")), next).unwrap();
        println!("wrote {}", path.display());
        return;
    }
    assert!(
        next.is_none(),
        "the models changed without a migration: run UPDATE_MIGRATIONS=1 cargo test -p showcase --test migrations\n{:?}",
        next.map(|m| m.operations.iter().map(|o| o.describe()).collect::<Vec<_>>())
    );
}

#[tokio::test]
async fn the_migrations_make_the_tables_on_an_empty_database() {
    let test_db = TestDatabase::empty_from_env().await.unwrap();
    let migrator = Migrator::new(test_db.database(), showcase::migrations().unwrap()).unwrap();
    assert_eq!(
        migrator.migrate().await.unwrap(),
        [
            "admin/0001_initial",
            "auth/0001_initial",
            "jobs/0001_initial",
            "jobs/0002_claim_indexes",
            "jobs/0003_lean_indexes",
            "jobs/0004_partial_unique_keys",
            "jobs/0005_sqlite_partial_unique_keys",
            "showcase/0001_initial",
            "showcase/0002_demo_users",
            "showcase/0003_item_tags_default",
            "showcase/0004_scale_out"
        ]
    );
    assert!(migrator.migrate().await.unwrap().is_empty(), "applied once");
    let count: Vec<(i64,)> =
        brisk_orm::Raw::new("SELECT COUNT(*) FROM items").fetch(&test_db.database()).await.unwrap();
    assert_eq!(count, [(0,)]);
}

/// The usernames in `auth_user`, with their hashes.
async fn users(db: &brisk_orm::Database) -> Vec<(String, String)> {
    User::objects().all(db).await.unwrap().into_iter().map(|u| (u.username, u.password)).collect()
}

#[tokio::test]
async fn the_demo_users_are_seeded_by_a_data_migration_and_removed_by_its_reverse() {
    let test_db = TestDatabase::empty_from_env().await.unwrap();
    let db = test_db.database();
    let migrator = Migrator::new(db.clone(), showcase::migrations().unwrap()).unwrap();
    migrator.migrate().await.unwrap();

    // The users, with the precomputed Argon2id hashes (brisk-auth's default cost: never rehashed).
    let seeded = users(&db).await;
    let expected: Vec<(String, String)> =
        showcase::demo_users::DEMO_USERS.iter().map(|(n, h, _)| ((*n).to_owned(), (*h).to_owned())).collect();
    assert_eq!(seeded, expected, "{}", test_db.url());
    for (name, hash) in &seeded {
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{name}: {hash}");
    }
    let alice = User::objects().filter(User::username().eq("alice")).get(&db).await.unwrap();
    assert!(alice.is_active && !alice.is_staff && !alice.is_superuser);
    assert_eq!(alice.email, "alice@example.com");
    let accounts = showcase::auth::settings().accounts();
    let verified = accounts.authenticate(&db, "alice", "wonderland", None).await;
    assert!(verified.is_ok(), "alice's password is wonderland: {verified:?}");
    assert!(accounts.authenticate(&db, "bob", "builder", None).await.is_ok());

    // The permission, the group holding it, alice in it (bob not).
    let perm = Permission::objects()
        .filter(Permission::app_label().eq("showcase").and(Permission::codename().eq("view_stats")))
        .get(&db)
        .await
        .unwrap();
    assert_eq!((perm.name.as_str(), perm.model.as_str()), ("Can view server statistics", ""));
    let admins = Group::objects().filter(Group::name().eq("admins")).get(&db).await.unwrap();
    let holds: Vec<String> = Group::permissions()
        .of(&admins)
        .unwrap()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.codename)
        .collect();
    assert_eq!(holds, ["view_stats"]);
    let members: Vec<String> = User::objects()
        .filter(User::groups().any(Group::name().eq("admins")))
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(members, ["alice"]);
    let bob = User::objects().filter(User::username().eq("bob")).get(&db).await.unwrap();
    assert!(accounts.has_perm(&db, &alice, "showcase.view_stats").await.unwrap());
    assert!(!accounts.has_perm(&db, &bob, "showcase.view_stats").await.unwrap());
    // A user made since is not the migration's to remove.
    assert!(accounts.create_user(&db, "carol", "", Some("carol's passphrase 1"), false).await.is_ok());

    // Undone: the demo users, the group and the permission go; other users stay.
    assert_eq!(
        migrator.migrate_back("showcase", Some("0001_initial")).await.unwrap(),
        ["showcase/0004_scale_out", "showcase/0003_item_tags_default", "showcase/0002_demo_users"]
    );
    assert_eq!(users(&db).await.into_iter().map(|(n, _)| n).collect::<Vec<_>>(), ["carol"]);
    assert_eq!(Group::objects().count(&db).await.unwrap(), 0);
    let gone =
        Permission::objects().filter(Permission::codename().eq("view_stats")).count(&db).await.unwrap();
    assert_eq!(gone, 0);
    let view_item =
        Permission::objects().filter(Permission::codename().eq("view_item")).count(&db).await.unwrap();
    assert_eq!(view_item, 1, "the default permissions are not the migration's to remove");

    // And applied again, as on a fresh database.
    assert_eq!(
        migrator.migrate().await.unwrap(),
        ["showcase/0002_demo_users", "showcase/0003_item_tags_default", "showcase/0004_scale_out"]
    );
    assert_eq!(users(&db).await.len(), 3);
}
