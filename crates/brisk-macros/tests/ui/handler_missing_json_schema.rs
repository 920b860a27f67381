// (b) A type read from the request without schemars 1.x's `JsonSchema` (a schemars 0.8 derive
// implements a different trait, and gives the same error).
use brisk::prelude::*;

#[derive(Deserialize, Validate)]
struct NewNote {
    title: String,
}

async fn plain(Json(note): Json<NewNote>) -> String {
    note.title
}

#[brisk::endpoint]
async fn annotated(Path(id): Path<u32>, Json(note): Json<NewNote>) -> String {
    format!("{id} {}", note.title)
}

fn main() {
    let _ = App::new().route("/", get(plain));
}
