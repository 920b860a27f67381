// (c) A body extractor before another argument: the body is read last.
use brisk::prelude::*;

#[derive(Deserialize, JsonSchema, Validate)]
struct NewNote {
    title: String,
}

async fn plain(Json(note): Json<NewNote>, Path(id): Path<u32>) -> String {
    format!("{id} {}", note.title)
}

#[brisk::endpoint]
async fn annotated(Json(note): Json<NewNote>, Path(id): Path<u32>) -> String {
    format!("{id} {}", note.title)
}

fn main() {
    let _ = App::new().route("/{id}", post(plain));
}
