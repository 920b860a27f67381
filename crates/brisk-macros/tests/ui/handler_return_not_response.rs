// (d) A return type that is not a response.
use brisk::prelude::*;

struct Note {
    title: String,
}

async fn plain() -> Note {
    Note { title: "hello".into() }
}

#[brisk::endpoint]
async fn annotated() -> Note {
    Note { title: "hello".into() }
}

fn main() {
    let _ = App::new().route("/", get(plain));
}
