//! An app's own user model (Django's `AUTH_USER_MODEL`): extra fields, its own table and
//! migration (which depends on brisk-auth's), logged in and checked for permissions by the
//! same extractors, on SQLite and on PostgreSQL.

use brisk::prelude::*;
use brisk::secret_key::SecretKey;
use brisk::sessions::SessionConfig;
use brisk::testing::TestClient;
use brisk_auth::models::{Group, Permission as PermissionRow};
use brisk_auth::password::UserAttributes;
use brisk_auth::{perm, Auth, AuthUser, CurrentUser, NewUser, Permission};
use brisk_orm::migrations::{next_migration, Graph, Migrator, NonInteractive, ProjectState};
use brisk_orm::testing::TestDatabase;
use brisk_orm::{AutoId, DateTime, Field, ManyField, ManyToMany, Model};
use serde_json::{json, Value};

/// A member of a club: a user with a membership number.
#[derive(Debug, Clone, Model)]
#[model(app_label = "club")]
pub struct Member {
    #[model(primary_key)]
    id: AutoId,
    #[model(unique)]
    #[validate(max_length = 150)]
    username: String,
    password: String,
    #[model(default = true)]
    is_active: bool,
    is_staff: bool,
    is_superuser: bool,
    last_login: Option<DateTime>,
    #[model(default = 0)]
    session_epoch: i64,
    membership: i64,
    groups: ManyToMany<Group>,
    user_permissions: ManyToMany<PermissionRow>,
}

/// What the API shows of a member.
#[derive(Serialize, JsonSchema)]
pub struct MemberOut {
    pub username: String,
    pub membership: i64,
}

impl AuthUser for Member {
    type Public = MemberOut;
    fn id_field() -> Field<Self, AutoId> {
        Member::id()
    }
    fn username_field() -> Field<Self, String> {
        Member::username()
    }
    fn password_field() -> Field<Self, String> {
        Member::password()
    }
    fn last_login_field() -> Field<Self, Option<DateTime>> {
        Member::last_login()
    }
    fn session_epoch_field() -> Field<Self, i64> {
        Member::session_epoch()
    }
    fn groups_field() -> ManyField<Self, Group> {
        Member::groups()
    }
    fn permissions_field() -> ManyField<Self, PermissionRow> {
        Member::user_permissions()
    }
    fn username(&self) -> &str {
        &self.username
    }
    fn password_hash(&self) -> &str {
        &self.password
    }
    fn session_epoch(&self) -> i64 {
        self.session_epoch
    }
    fn is_active(&self) -> bool {
        self.is_active
    }
    fn is_staff(&self) -> bool {
        self.is_staff
    }
    fn is_superuser(&self) -> bool {
        self.is_superuser
    }
    fn attributes(&self) -> UserAttributes<'_> {
        UserAttributes { username: &self.username, ..UserAttributes::default() }
    }
    fn public(&self) -> MemberOut {
        MemberOut { username: self.username.clone(), membership: self.membership }
    }
    fn new_user(new: NewUser<'_>) -> Self {
        Member {
            id: AutoId::default(),
            username: new.username.to_owned(),
            password: new.password_hash,
            is_active: true,
            is_staff: new.is_staff,
            is_superuser: new.is_superuser,
            last_login: None,
            session_epoch: 0,
            membership: 0,
            groups: ManyToMany::default(),
            user_permissions: ManyToMany::default(),
        }
    }
}

async fn me(member: CurrentUser<Member>) -> Json<MemberOut> {
    Json(member.public())
}

async fn roster(member: Permission<perm!("club.view_member"), Member>) -> String {
    format!("roster for {}", member.username)
}

#[tokio::test]
async fn an_apps_own_user_model_logs_in_and_has_permissions() {
    let _ = Auth::<Member>::new();
    for test in
        [TestDatabase::empty_sqlite().expect("sqlite"), TestDatabase::empty_postgres().await.expect("pg")]
    {
        let db = test.database();
        // makemigrations for the app: its migration depends on brisk-auth's.
        let graph = Graph::new(Vec::new()).expect("graph");
        let declared = ProjectState::from_registry(&brisk_orm::registry());
        let club =
            next_migration(&graph, &declared, "club", &mut NonInteractive).expect("detected").expect("new");
        assert!(club.dependencies.iter().any(|d| d.starts_with("auth/")), "{:?}", club.dependencies);
        Migrator::new(db.clone(), vec![club]).expect("graph").migrate().await.expect("migrated");

        let auth = Auth::<Member>::new().argon2(brisk_auth::Argon2Cost {
            memory_kib: 256,
            iterations: 1,
            parallelism: 1,
        });
        let mut ann = auth
            .accounts()
            .create_user(&db, "ann", "", Some("ann's long passphrase"), false)
            .await
            .expect("ann");
        ann.membership = 1042;
        brisk_orm::ModelExt::save(&mut ann, &db).await.expect("saved");

        let app = App::new()
            .install(db.clone())
            .install(auth)
            .sessions(SessionConfig::new(
                SecretKey::new("a custom user test key, long enough 012345").expect("key"),
            ))
            .route("/me", get(me))
            .route("/roster", get(roster));
        let client = TestClient::serve(app).await;
        let res = client
            .post("/auth/login")
            .json(&json!({"username": "ann", "password": "ann's long passphrase"}))
            .send()
            .await;
        assert_eq!(res.status(), 200, "{}", res.text());
        assert_eq!(res.json::<Value>(), json!({"username": "ann", "membership": 1042}));
        let cookie =
            res.header("set-cookie").and_then(|c| c.split(';').next()).unwrap_or_default().to_owned();
        let res = client.get("/me").header("cookie", &cookie).send().await;
        assert_eq!(res.json::<Value>()["membership"], 1042);
        assert_eq!(client.get("/roster").header("cookie", &cookie).send().await.status(), 403);

        let perm = PermissionRow::objects()
            .filter(PermissionRow::app_label().eq("club").and(PermissionRow::codename().eq("view_member")))
            .get(&db)
            .await
            .expect("migrate made club.view_member");
        Member::user_permissions().add(&ann, [perm.id.value()], &db).await.expect("granted");
        let res = client.get("/roster").header("cookie", &cookie).send().await;
        assert_eq!(res.text(), "roster for ann");
    }
}
