// An invalid regular expression in a validation rule stops the build, pointing at the pattern.
use brisk::prelude::*;

#[derive(Deserialize, JsonSchema, Validate)]
struct Signup {
    #[validate(pattern = "^[a-z+$")]
    username: String,
}

fn main() {}
