//! Spec section: sparse fieldsets.

use serde_json::json;

use crate::support::{expect_document, expect_errors, parameter, TestServer};

#[test]
fn only_the_requested_fields_are_rendered() {
    // sparse-fieldsets-additional-fields, sparse-fieldsets-parameter-value
    let server = TestServer::start();
    let organisation = server.organisation.clone();
    let conversation =
        server.create_conversation(&organisation, json!({"channel": "chat", "title": "Hi"}));
    server.create_item(&conversation, "hello");
    let document = expect_document(
        &server.get(&format!(
            "/api/conversations/{conversation}?include=conversation_items&fields[Conversation]=title,conversation_items&fields[ConversationItem]=content"
        )),
        200,
    );
    let data = &document["data"];
    assert_eq!(data["attributes"], json!({"title": "Hi"}));
    assert_eq!(
        data["relationships"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        vec!["conversation_items"]
    );
    let item = &document["included"][0];
    assert_eq!(item["attributes"], json!({"content": "hello"}));
    assert!(item.get("relationships").is_none());
}

#[test]
fn an_empty_fieldset_renders_no_fields() {
    let server = TestServer::start();
    let organisation = server.organisation.clone();
    let document = expect_document(
        &server.get(&format!(
            "/api/organisations/{organisation}?fields[Organisation]="
        )),
        200,
    );
    assert!(document["data"].get("attributes").is_none());
    assert!(document["data"].get("relationships").is_none());
    assert_eq!(document["data"]["id"], json!(organisation));
}

#[test]
fn encoded_and_raw_brackets_and_commas_are_the_same_parameter() {
    // Spec appendix: square brackets in parameter names.
    let server = TestServer::start();
    let organisation = server.organisation.clone();
    let raw = expect_document(
        &server.get(&format!(
            "/api/organisations/{organisation}?fields[Organisation]=name,slug"
        )),
        200,
    );
    let encoded = expect_document(
        &server.get(&format!(
            "/api/organisations/{organisation}?fields%5BOrganisation%5D=name%2Cslug"
        )),
        200,
    );
    assert_eq!(raw, encoded);
    assert_eq!(
        raw["data"]["attributes"],
        json!({"name": "Acme", "slug": "acme"})
    );
    assert_eq!(
        raw["links"]["self"],
        json!(format!(
            "/api/organisations/{organisation}?fields%5BOrganisation%5D=name%2Cslug"
        ))
    );
}

#[test]
fn unknown_types_and_fields_are_400() {
    let server = TestServer::start();
    expect_errors(
        &server.get("/api/conversations?fields[Widget]=name"),
        400,
        &[parameter("fields[Widget]")],
    );
    expect_errors(
        &server.get("/api/conversations?fields[Conversation]=title,colour,size"),
        400,
        &[
            parameter("fields[Conversation]"),
            parameter("fields[Conversation]"),
        ],
    );
    expect_errors(
        &server.get("/api/conversations?fields=title"),
        400,
        &[parameter("fields")],
    );
    expect_errors(
        &server.get("/api/conversations?fields[Conversation]=id"),
        400,
        &[parameter("fields[Conversation]")],
    );
}
