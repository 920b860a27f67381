// `#[endpoint(errors(...))]` names variants of an `ApiError` enum: one it does not have is an error.
use brisk::prelude::*;

#[derive(Debug, ApiError)]
enum NoteError {
    #[api(status = 404, detail = "Note not found")]
    NotFound,
    #[api(status = 409, detail = "A note with this title exists")]
    Conflict,
}

#[brisk::endpoint(errors(NoteError::NotFound, NoteError::Gone))]
async fn show(Path(id): Path<u32>) -> Result<String, NoteError> {
    if id == 0 {
        return Err(NoteError::Conflict);
    }
    Ok(id.to_string())
}

fn main() {
    let _ = App::new().route("/notes/{id}", get(show));
}
