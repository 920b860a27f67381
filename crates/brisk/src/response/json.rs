use serde::Serialize;

use super::{with_content_type, IntoResponse, Response};
use crate::error::Error;
use crate::extract::Json;

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        let mut buf = Vec::with_capacity(128);
        match serde_json::to_writer(&mut buf, &self.0) {
            Ok(()) => with_content_type(buf, "application/json"),
            Err(e) => Error::internal(e).into_response(),
        }
    }
}
