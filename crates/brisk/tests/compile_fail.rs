//! What must not compile, with the message a newcomer sees (`tests/ui/*.stderr`).
//! Regenerate the messages with `TRYBUILD=overwrite cargo test -p brisk --test compile_fail`.

#[test]
fn mistakes_are_refused_with_a_message_naming_the_culprit() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
