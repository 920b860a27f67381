//! The showcase's OpenAPI document: a checked-in snapshot that fails when the API drifts, and
//! the contract's rules visible in it.

use serde_json::Value;

const SNAPSHOT: &str = "tests/openapi.snapshot.json";

fn document() -> Value {
    let auth = showcase::auth::AuthConfig::new(b"test secret, at least 32 bytes long");
    match showcase::app_with(
        auth,
        brisk_orm::Database::open("sqlite::memory:").unwrap_or_else(|e| panic!("{e}")),
    )
    .openapi()
    {
        Ok(doc) => serde_json::to_value(&doc).unwrap_or(Value::Null),
        Err(e) => panic!("the showcase does not document: {e}"),
    }
}

#[test]
fn document_matches_the_snapshot() {
    let current = document();
    let pretty = serde_json::to_string_pretty(&current).unwrap_or_default() + "\n";
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(SNAPSHOT, &pretty).unwrap_or_else(|e| panic!("cannot write {SNAPSHOT}: {e}"));
    }
    let saved = std::fs::read_to_string(SNAPSHOT).unwrap_or_default();
    assert!(
        saved == pretty,
        "the OpenAPI document drifted from {SNAPSHOT}; if the change is intended, run \
         `UPDATE_SNAPSHOTS=1 cargo test -p showcase --test openapi` and commit the file"
    );
}

#[test]
fn rules_from_the_types_are_in_the_schema() {
    let doc = document();
    let item_in = &doc["components"]["schemas"]["Item-Input"]["properties"];
    assert_eq!(item_in["id"]["readOnly"], true, "the database assigns the id");
    assert_eq!(item_in["name"]["minLength"], 1);
    assert_eq!(item_in["name"]["maxLength"], 100);
    assert_eq!(item_in["description"]["maxLength"], 1000);
    assert_eq!(item_in["price"]["exclusiveMinimum"], 0);
    assert_eq!(item_in["tax"]["minimum"], 0);
    assert_eq!(item_in["tags"]["maxItems"], 10);

    let list = &doc["paths"]["/items"]["get"];
    let params: Vec<(&str, &Value)> = list["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| (p["name"].as_str().unwrap_or(""), p))
        .collect();
    let names: Vec<&str> = params.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["skip", "limit", "q"]);
    assert_eq!(params[1].1["schema"]["minimum"], 1);
    assert_eq!(params[1].1["schema"]["maximum"], 100);
    assert_eq!(params[2].1["schema"]["maxLength"], 50);

    let get = &doc["paths"]["/items/{item_id}"]["get"];
    assert_eq!(get["parameters"][0]["in"], "path");
    assert_eq!(get["parameters"][0]["schema"]["exclusiveMinimum"], 0);
    for status in ["200", "404", "422"] {
        assert!(get["responses"].get(status).is_some(), "GET /items/{{item_id}} documents {status}");
    }
    assert_eq!(
        get["responses"]["422"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/HTTPValidationError"
    );
    assert!(doc["paths"]["/items"]["post"]["responses"].get("201").is_some());
    assert!(doc["paths"]["/items/{item_id}"]["delete"]["responses"].get("204").is_some());
    assert_eq!(doc["openapi"], "3.1.0");
}
