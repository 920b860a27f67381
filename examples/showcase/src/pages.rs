//! The showcase's one server-rendered page, `GET /ui` (beside the items contract, which it
//! does not change): the items as an HTML table, searched by name, from a Jinja template and a
//! stylesheet embedded in the binary — so a release binary serves them from anywhere. It says
//! who is logged in (brisk-auth's session), with a logout form, or links to the login page,
//! which brings the browser back here.

use brisk::prelude::*;
use brisk::static_files::StaticFiles;
use brisk::templates::{context, Template, Templates};
use brisk_auth::OptionalUser;
use brisk_orm::prelude::*;

use crate::items::Item;

/// `?q=` of the page: at most 50 characters, as the API's.
#[derive(Debug, Deserialize, JsonSchema, Validate)]
struct Search {
    #[serde(default)]
    #[validate(max_length = 50)]
    q: String,
}

/// The items page, HTML.
async fn items_page(
    db: Db,
    user: OptionalUser,
    tpl: Templates,
    Query(search): Query<Search>,
) -> Result<Template> {
    let mut items = Item::objects();
    if !search.q.is_empty() {
        items = items.filter(Item::name().icontains(search.q.clone()));
    }
    let items = items.limit(100).all(&db).await?;
    let user = user.0.map(|u| u.username);
    tpl.render("items.html", context! { items, q => search.q, user })
}

/// The page's route, named `ui.items`.
pub fn router() -> Router {
    Router::new().route("/ui", get(items_page).name("ui.items"))
}

/// The page's template, embedded.
pub fn templates() -> Templates {
    Templates::new().embedded(&[("items.html", include_str!("../pages/items.html"))])
}

/// The page's stylesheet, embedded under `/static/showcase/`.
pub fn static_files() -> StaticFiles {
    StaticFiles::none().namespace("showcase", &[("site.css", include_bytes!("../pages/site.css"))])
}
