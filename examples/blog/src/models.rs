//! The blog's models: each is its table, its API body and its schema at once.

use brisk::prelude::*;
use brisk_orm::prelude::*;

/// Someone who writes.
#[derive(Debug, Clone, Model, Serialize, Deserialize, JsonSchema, Validate)]
#[model(app_label = "blog", ordering = ["username"])]
pub struct Author {
    #[model(primary_key)]
    pub id: AutoId,
    /// Unique, 1 to 30 characters.
    #[model(unique)]
    #[validate(min_length = 1, max_length = 30)]
    pub username: String,
}

/// A label on posts.
#[derive(Debug, Clone, Model, Serialize, Deserialize, JsonSchema, Validate)]
#[model(app_label = "blog", ordering = ["name"])]
pub struct Tag {
    #[model(primary_key)]
    pub id: AutoId,
    /// Unique, 1 to 20 characters.
    #[model(unique)]
    #[validate(min_length = 1, max_length = 20)]
    pub name: String,
}

/// A post: deleted with its author; tagged with any number of tags.
#[derive(Debug, Clone, Model, Serialize, Deserialize, JsonSchema, Validate)]
#[model(app_label = "blog", ordering = ["-created_at", "id"], indexes(["published", "created_at"]))]
pub struct Post {
    #[model(primary_key)]
    pub id: AutoId,
    /// 1 to 200 characters.
    #[validate(min_length = 1, max_length = 200)]
    pub title: String,
    /// Unique in the blog.
    #[model(unique)]
    #[validate(min_length = 1, max_length = 50)]
    pub slug: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub published: bool,
    #[serde(default)]
    #[validate(ge = 0)]
    pub views: i64,
    /// The author's id.
    #[model(on_delete = Cascade)]
    pub author: ForeignKey<Author>,
    /// The tags' ids.
    #[serde(default)]
    pub tags: ManyToMany<Tag>,
    #[model(auto_now_add)]
    #[serde(default = "DateTime::now")]
    pub created_at: DateTime,
}
