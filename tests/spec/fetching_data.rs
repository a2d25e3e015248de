//! Spec section: fetching data (resources, collections, related resources, relationships).

use serde_json::json;

use crate::support::{expect_document, expect_errors, no_source, TestServer};

fn ids(document: &serde_json::Value) -> Vec<String> {
    document["data"]
        .as_array()
        .expect("collection")
        .iter()
        .map(|resource| resource["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn an_empty_collection_is_an_empty_array() {
    // fetch-primary-data-collection, logical-collection
    let server = TestServer::start();
    for path in ["/api/conversations", "/api/conversation_items"] {
        let document = expect_document(&server.get(path), 200);
        assert_eq!(document["data"], json!([]));
        assert_eq!(
            document["links"],
            json!({"self": path, "first": format!("{path}?page%5Boffset%5D=0&page%5Blimit%5D=20"), "prev": null, "next": null})
        );
        assert!(document.get("included").is_none());
    }
    // A key sees exactly one organisation: its own.
    let organisations = expect_document(&server.get("/api/organisations"), 200);
    assert_eq!(ids(&organisations), vec![server.organisation.clone()]);
}

#[test]
fn collections_answer_at_most_twenty_newest_first() {
    // fetch-response-code; conversations default to newest first
    let server = TestServer::start();
    let organisation = server.organisation.clone();
    let created: Vec<String> = (0..23)
        .map(|_| server.create_conversation(&organisation, json!({"channel": "chat"})))
        .collect();
    let document = expect_document(&server.get("/api/conversations"), 200);
    let listed = ids(&document);
    let newest_first: Vec<String> = created.iter().rev().take(20).cloned().collect();
    assert_eq!(listed, newest_first);
}

#[test]
fn a_single_resource_and_a_missing_one() {
    // fetch-primary-data-single, fetch-responses-404
    let server = TestServer::start();
    let organisation = server.organisation.clone();
    let document = expect_document(
        &server.get(&format!("/api/organisations/{organisation}")),
        200,
    );
    assert_eq!(document["data"]["id"], json!(organisation));
    assert_eq!(document["data"]["attributes"]["slug"], json!("acme"));
    for missing in [
        "/api/organisations/00000000-0000-4000-8000-000000000000",
        "/api/organisations/not-a-uuid",
        "/api/organisations/%27%3B--",
    ] {
        let errors = expect_errors(&server.get(missing), 404, &[no_source()]);
        assert_eq!(errors["errors"][0]["code"], json!("not_found"));
    }
    expect_errors(&server.get("/api/widgets"), 404, &[no_source()]);
    expect_errors(&server.get("/api/widgets/1"), 404, &[no_source()]);
}

#[test]
fn related_resources_to_one_and_to_many() {
    // fetch-url-support (related links): to-one gives a resource, to-many a collection
    let server = TestServer::start();
    let organisation = server.organisation.clone();
    let conversation = server.create_conversation(&organisation, json!({"channel": "chat"}));
    let first = server.create_item(&conversation, "one");
    let second = server.create_item(&conversation, "two");

    let related = expect_document(
        &server.get(&format!("/api/conversations/{conversation}/organisation")),
        200,
    );
    assert_eq!(related["data"]["type"], json!("Organisation"));
    assert_eq!(related["data"]["id"], json!(organisation));
    assert_eq!(
        related["links"]["self"],
        json!(format!("/api/conversations/{conversation}/organisation"))
    );

    let items = expect_document(
        &server.get(&format!(
            "/api/conversations/{conversation}/conversation_items"
        )),
        200,
    );
    assert_eq!(ids(&items), vec![first.clone(), second]);
    let positions: Vec<i64> = items["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["attributes"]["position"].as_i64().unwrap())
        .collect();
    assert_eq!(positions, vec![1, 2]);

    let item_organisation = expect_document(
        &server.get(&format!("/api/conversation_items/{first}/organisation")),
        200,
    );
    assert_eq!(item_organisation["data"]["id"], json!(organisation));

    let conversations = expect_document(
        &server.get(&format!("/api/organisations/{organisation}/conversations")),
        200,
    );
    assert_eq!(ids(&conversations), vec![conversation]);
}

#[test]
fn related_and_relationship_urls_of_missing_resources_are_404() {
    // fetch-relationships-response-404
    let server = TestServer::start();
    let missing = "00000000-0000-4000-8000-000000000000";
    for path in [
        format!("/api/conversations/{missing}/organisation"),
        format!("/api/conversations/{missing}/conversation_items"),
        format!("/api/conversations/{missing}/relationships/organisation"),
        format!("/api/conversations/{missing}/relationships/conversation_items"),
    ] {
        expect_errors(&server.get(&path), 404, &[no_source()]);
    }
    let organisation = server.organisation.clone();
    let conversation = server.create_conversation(&organisation, json!({"channel": "chat"}));
    for path in [
        format!("/api/conversations/{conversation}/nope"),
        format!("/api/conversations/{conversation}/relationships/nope"),
    ] {
        expect_errors(&server.get(&path), 404, &[no_source()]);
    }
}

#[test]
fn relationship_linkage_to_one_and_to_many() {
    // fetch-relationships-response-200, fetch-relationships-response-200-primary-data,
    // fetch-relationships-response-200-self-related, fetch-relationships-response-exists-empty
    let server = TestServer::start();
    let organisation = server.organisation.clone();
    let conversation = server.create_conversation(&organisation, json!({"channel": "chat"}));
    let empty = expect_document(
        &server.get(&format!(
            "/api/organisations/{organisation}/relationships/conversations"
        )),
        200,
    );
    assert_eq!(
        empty,
        json!({
            "jsonapi": {"version": "1.1"},
            "links": {
                "self": format!("/api/organisations/{organisation}/relationships/conversations"),
                "related": format!("/api/organisations/{organisation}/conversations"),
                "first": format!("/api/organisations/{organisation}/relationships/conversations?page%5Boffset%5D=0&page%5Blimit%5D=100"),
                "prev": null,
                "next": null,
            },
            "data": [{"type": "Conversation", "id": conversation}],
        })
    );
    let item = server.create_item(&conversation, "hi");
    let to_one = expect_document(
        &server.get(&format!(
            "/api/conversation_items/{item}/relationships/conversation"
        )),
        200,
    );
    assert_eq!(
        to_one["data"],
        json!({"type": "Conversation", "id": conversation})
    );
    assert_eq!(
        to_one["links"]["related"],
        json!(format!("/api/conversation_items/{item}/conversation"))
    );
    let other = server.create_conversation(&organisation, json!({"channel": "chat"}));
    let none = expect_document(
        &server.get(&format!(
            "/api/conversations/{other}/relationships/conversation_items"
        )),
        200,
    );
    assert_eq!(none["data"], json!([]));
}
