//! Spec section: creating resources, client-generated ids (create-accept-client-generated-ids
//! and the statements cited below).

use serde_json::{json, Value};

use crate::creating_updating_deleting::{conversation, count};
use crate::support::{expect_document, expect_errors, pointer, TestServer};

#[test]
fn a_client_generated_uuid_is_the_new_resource_id() {
    // create-accept-client-generated-ids, create-client-generated-ids-key,
    // create-responses-201-location
    let server = TestServer::start();
    let id = "1b4e28ba-2fa1-41d2-883f-0016d3cca427";
    let mut document = conversation(&server.organisation, json!({"channel": "chat"}));
    document["data"]["id"] = json!(id);
    let response = server.post("/api/conversations", &document);
    let created = expect_document(&response, 201);
    assert_eq!(created["data"]["id"], id);
    assert_eq!(
        response.header("location"),
        Some(format!("/api/conversations/{id}").as_str())
    );
    let fetched = expect_document(&server.get(&format!("/api/conversations/{id}")), 200);
    assert_eq!(fetched["data"], created["data"]);
    // An item too, under its conversation.
    let item = expect_document(
        &server.post(
            "/api/conversation_items",
            &json!({"data": {
                "type": "ConversationItem",
                "id": "0f5b8c9e-6a43-4c47-9d1e-2b7d3c4e5f60",
                "attributes": {"role": "user", "content": "hi"},
                "relationships": {"conversation": {"data": {"type": "Conversation", "id": id}}}
            }}),
        ),
        201,
    );
    assert_eq!(item["data"]["id"], "0f5b8c9e-6a43-4c47-9d1e-2b7d3c4e5f60");
}

#[test]
fn a_null_id_is_no_id() {
    // create-accept-client-generated-ids: WarpDrive's create body carries `"id": null`
    let server = TestServer::start();
    let mut document = conversation(&server.organisation, json!({"channel": "chat"}));
    document["data"]["id"] = Value::Null;
    let created = expect_document(&server.post("/api/conversations", &document), 201);
    let id = created["data"]["id"].as_str().expect("an id");
    assert_eq!(id.len(), 36);
    assert_eq!(count(&server, "/api/conversations"), 1);
}

#[test]
fn an_id_that_exists_is_409_in_any_organisation_without_saying_whose() {
    // create-responses-409-exists, create-responses-409-error-details
    let server = TestServer::start();
    let id = "7d444840-9dc0-11d1-b245-5ffdce74fad2";
    let mut document = conversation(&server.organisation, json!({"channel": "chat"}));
    document["data"]["id"] = json!(id);
    expect_document(&server.post("/api/conversations", &document), 201);
    let again = expect_errors(
        &server.post("/api/conversations", &document),
        409,
        &[pointer("/data/id")],
    );
    // Another tenant meets the same answer, byte for byte, and learns nothing more.
    let other = server.add_tenant("Other", confab::auth::SCOPES);
    let mut theirs = conversation(&other.organisation, json!({"channel": "chat"}));
    theirs["data"]["id"] = json!(id);
    let response = server.request_as(
        Some(&other.key),
        "POST",
        "/api/conversations",
        Some(&theirs),
    );
    let elsewhere = expect_errors(&response, 409, &[pointer("/data/id")]);
    assert_eq!(elsewhere, again);
    assert_eq!(
        again["errors"][0]["detail"],
        "A Conversation with this id already exists."
    );
    assert_eq!(count(&server, "/api/conversations"), 1);
}

#[test]
fn an_id_that_is_not_a_canonical_uuid_is_403() {
    // create-client-generated-ids-forbidden, create-client-generated-ids-uuid
    let server = TestServer::start();
    for id in [
        "not-a-uuid",
        "",
        "1B4E28BA-2FA1-41D2-883F-0016D3CCA427",
        "{1b4e28ba-2fa1-41d2-883f-0016d3cca427}",
        "1b4e28ba2fa141d2883f0016d3cca427",
        "urn:uuid:1b4e28ba-2fa1-41d2-883f-0016d3cca427",
    ] {
        let mut document = conversation(&server.organisation, json!({"channel": "chat"}));
        document["data"]["id"] = json!(id);
        let refused = expect_errors(
            &server.post("/api/conversations", &document),
            403,
            &[pointer("/data/id")],
        );
        assert_eq!(
            refused["errors"][0]["code"], "unsupported_client_id",
            "{id}"
        );
    }
    let mut document = conversation(&server.organisation, json!({"channel": "chat"}));
    document["data"]["id"] = json!(42);
    expect_errors(
        &server.post("/api/conversations", &document),
        400,
        &[pointer("/data/id")],
    );
    assert_eq!(count(&server, "/api/conversations"), 0);
}
