//! The admin's history: every add, change and delete made through it, recorded with who,
//! when and which fields changed (Django's `LogEntry`), and shown per object.

use brisk::prelude::*;
use brisk_orm::prelude::*;
use brisk_orm::Executor;

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ActionFlag {
    /// Added.
    Addition = 1,
    /// Changed.
    Change = 2,
    /// Deleted.
    Deletion = 3,
}

impl ActionFlag {
    /// Its word, for a page.
    pub fn label(self) -> &'static str {
        match self {
            ActionFlag::Addition => "Added",
            ActionFlag::Change => "Changed",
            ActionFlag::Deletion => "Deleted",
        }
    }

    fn from_i16(n: i16) -> Option<ActionFlag> {
        match n {
            1 => Some(ActionFlag::Addition),
            2 => Some(ActionFlag::Change),
            3 => Some(ActionFlag::Deletion),
            _ => None,
        }
    }
}

/// One add, change or delete made in the admin.
#[derive(Debug, Clone, Model, Serialize)]
#[model(app_label = "admin", ordering = ["-action_time", "-id"], indexes(["app_label", "model", "object_id"]), verbose_name = "log entry", verbose_name_plural = "log entries")]
pub struct LogEntry {
    /// Its key.
    #[model(primary_key)]
    pub id: AutoId,
    /// When.
    #[model(auto_now_add)]
    pub action_time: DateTime,
    /// Who (the user model's key).
    #[model(index)]
    pub user_id: i64,
    /// Their username then.
    #[validate(max_length = 150)]
    pub username: String,
    /// The model's app label.
    #[validate(max_length = 100)]
    pub app_label: String,
    /// The model's name, lowercase.
    #[validate(max_length = 100)]
    pub model: String,
    /// The object's key, as text.
    #[validate(max_length = 100)]
    pub object_id: String,
    /// What the object was called then.
    #[validate(max_length = 200)]
    pub object_repr: String,
    /// 1 added, 2 changed, 3 deleted.
    pub action_flag: i16,
    /// The fields changed (names, comma-separated), or empty.
    pub change_message: String,
}

impl LogEntry {
    /// What was done.
    pub fn action(&self) -> Option<ActionFlag> {
        ActionFlag::from_i16(self.action_flag)
    }
}

/// Who did something, for the record.
#[derive(Debug, Clone)]
pub(crate) struct Actor {
    pub(crate) id: i64,
    pub(crate) username: String,
}

/// What to record about one object.
pub(crate) struct Entry<'a> {
    pub(crate) app_label: &'a str,
    pub(crate) model: &'a str,
    pub(crate) object_id: String,
    pub(crate) object_repr: String,
    pub(crate) flag: ActionFlag,
    pub(crate) changed: Vec<String>,
}

/// Records `entry` as done by `actor` (in the same transaction as the change, when `ex` is one).
pub(crate) async fn record(
    ex: &impl Executor,
    actor: &Actor,
    entry: Entry<'_>,
) -> Result<(), brisk_orm::Error> {
    let repr: String = entry.object_repr.chars().take(200).collect();
    LogEntry::objects()
        .create(
            LogEntry {
                id: AutoId::default(),
                action_time: DateTime::now(),
                user_id: actor.id,
                username: actor.username.chars().take(150).collect(),
                app_label: entry.app_label.to_owned(),
                model: entry.model.to_lowercase(),
                object_id: entry.object_id.chars().take(100).collect(),
                object_repr: repr,
                action_flag: entry.flag as i16,
                change_message: entry.changed.join(", "),
            },
            ex,
        )
        .await?;
    Ok(())
}

/// The history of one object, newest first.
pub(crate) async fn of_object(
    ex: &impl Executor,
    app_label: &str,
    model: &str,
    object_id: &str,
) -> Result<Vec<LogEntry>, brisk_orm::Error> {
    LogEntry::objects()
        .filter(
            LogEntry::app_label()
                .eq(app_label)
                .and(LogEntry::model().eq(model.to_lowercase()))
                .and(LogEntry::object_id().eq(object_id)),
        )
        .limit(500)
        .all(ex)
        .await
}
