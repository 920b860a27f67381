// (a) A type read from the request without `Validate`: the message names the type and the
// argument it is read through, with or without `#[brisk::endpoint]`.
use brisk::prelude::*;

#[derive(Deserialize, JsonSchema)]
struct NoteQuery {
    limit: u32,
}

async fn plain(Query(q): Query<NoteQuery>) -> String {
    q.limit.to_string()
}

#[brisk::endpoint]
async fn annotated(Path(id): Path<u32>, Query(q): Query<NoteQuery>) -> String {
    format!("{id} {}", q.limit)
}

fn main() {
    let _ = App::new().route("/", get(plain));
}
