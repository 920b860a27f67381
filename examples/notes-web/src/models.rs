//! The note, stored; and the form that makes or changes one.

use brisk::prelude::*;
use brisk_orm::prelude::*;

/// A note.
#[derive(Debug, Clone, Model, Serialize)]
#[model(app_label = "notes", table = "notes", ordering = ["-id"])]
pub struct Note {
    /// Its key.
    #[model(primary_key)]
    pub id: AutoId,
    /// Its title.
    #[validate(max_length = 200)]
    pub title: String,
    /// Its text.
    pub body: String,
}

/// What the new-note and edit forms send.
#[derive(Debug, Deserialize, JsonSchema, Validate)]
pub struct NoteForm {
    /// Required, at most 200 characters.
    #[validate(min_length = 1, max_length = 200)]
    pub title: String,
    /// Optional, at most 10 000 characters.
    #[serde(default)]
    #[validate(max_length = 10000)]
    pub body: String,
}

impl NoteForm {
    /// The note this form describes.
    pub fn into_note(self, id: AutoId) -> Note {
        Note { id, title: self.title, body: self.body }
    }
}
