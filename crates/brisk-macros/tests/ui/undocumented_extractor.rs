// A custom extractor that does not describe itself cannot be a handler argument.
use brisk::extract::{FromRequestParts, RequestContext};
use brisk::http::request::Parts;
use brisk::prelude::*;

struct ApiVersion(u8);

impl FromRequestParts for ApiVersion {
    async fn from_request_parts(_parts: &mut Parts, _cx: &RequestContext) -> Result<Self, Error> {
        Ok(ApiVersion(1))
    }
}

async fn handler(ApiVersion(v): ApiVersion) -> String {
    v.to_string()
}

fn main() {
    let _ = App::new().route("/", get(handler));
}
