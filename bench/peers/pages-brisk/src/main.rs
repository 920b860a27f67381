//! `bench/run --pages`: TechEmpower's fortunes page without a database, written the way
//! brisk's templates docs teach. The 12 fortunes of TechEmpower's table are read once at
//! start (`bench/peers/pages-data/fortunes.json`, the same file the Python peers read) and
//! held in the app's state; each request adds "Additional fortune added at request time.",
//! sorts by message and renders `templates/fortunes.html` (autoescaped: one fortune is a
//! `<script>`) as `text/html; charset=utf-8`.
//!
//! ```sh
//! cargo run --release -p pages-brisk     # PORT=8000, HOST=127.0.0.1 by default
//! ```

use std::sync::Arc;

use brisk::prelude::*;
use brisk::templates::{context, Template, Templates};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A row of TechEmpower's Fortune table.
#[derive(Deserialize, Serialize)]
struct Fortune {
    id: i32,
    message: String,
}

/// The fortunes, in memory.
#[derive(Clone)]
struct Fortunes(Arc<Vec<Fortune>>);

async fn fortunes(State(store): State<Fortunes>, tpl: Templates) -> Result<Template> {
    let added = Fortune { id: 0, message: "Additional fortune added at request time.".to_owned() };
    let mut fortunes: Vec<&Fortune> = store.0.iter().collect();
    fortunes.push(&added);
    fortunes.sort_unstable_by(|a, b| a.message.cmp(&b.message));
    tpl.render("fortunes.html", context! { fortunes })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = std::fs::read_to_string(format!("{ROOT}/../pages-data/fortunes.json"))?;
    let rows: Vec<Fortune> = serde_json::from_str(&data)?;
    let app = App::new()
        .route("/fortunes", get(fortunes))
        .templates(Templates::from_dir(format!("{ROOT}/templates")))
        .with_state(Fortunes(Arc::new(rows)));
    brisk::run(app)?;
    Ok(())
}
