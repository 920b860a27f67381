//! What must not compile, with the message a newcomer sees (`tests/ui/*.stderr`).
//! Regenerate the messages with `TRYBUILD=overwrite cargo test -p brisk --test compile_fail`.

#[test]
fn undocumented_types_are_refused_with_a_readable_message() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
