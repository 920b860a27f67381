//! What must not compile in an app on brisk, with the message a newcomer sees
//! (`tests/ui/*.stderr`): brisk's handlers, endpoints and validation rules misused.
//! Regenerate the messages with `TRYBUILD=overwrite cargo test -p brisk-macros --test compile_fail`.

#[test]
fn mistakes_are_refused_with_a_message_naming_the_culprit() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
