//! Spec section: document structure (top level, resource objects, relationships, links).

use serde_json::{json, Value};

use crate::support::{expect_document, TestServer};

#[test]
fn a_conversation_document_in_full() {
    // json-object, required-top-level, json-api-version, top-level-links, resource-links,
    // resource-relationships-object, resource-linkage, resource-identifier-required-members
    let server = TestServer::start();
    let organisation = server.organisation.clone();
    let agent = server.create_agent(json!({}));
    let id = server.create_conversation(
        &organisation,
        json!({"channel": "email", "mode": "text", "title": "Refund", "metadata": {"plan": "pro"},
               "to_address": "ana@example.com", "participant": {"name": "Ana", "phone": "+14155550100"},
               "ai_agent_id": agent.to_uppercase()}),
    );
    let response = server.get(&format!("/api/conversations/{id}"));
    let document = expect_document(&response, 200);
    let attributes = &document["data"]["attributes"];
    let generated = |name: &str| attributes[name].as_str().expect(name).to_string();
    let expected = json!({
        "jsonapi": {"version": "1.1"},
        "links": {"self": format!("/api/conversations/{id}")},
        "data": {
            "type": "Conversation",
            "id": id,
            "attributes": {
                "channel": "email",
                "mode": "text",
                "status": "active",
                "direction": "inbound",
                "public_id": generated("public_id"),
                "title": "Refund",
                "ai_agent_id": agent,
                "participant": {"name": "Ana", "phone": "+14155550100"},
                "to_address": "ana@example.com",
                "from_address": null,
                "subject": null,
                "initial_context": null,
                "summary": null,
                "metadata": {"plan": "pro"},
                "started_at": generated("created_at"),
                "ended_at": null,
                "duration_seconds": null,
                "archived": false,
                "archived_at": null,
                "item_count": 0,
                "user_turn_count": 0,
                "last_item_at": null,
                "created_at": generated("created_at"),
                "updated_at": generated("created_at"),
            },
            "relationships": {
                "organisation": {
                    "links": {
                        "self": format!("/api/conversations/{id}/relationships/organisation"),
                        "related": format!("/api/conversations/{id}/organisation"),
                    },
                    "data": {"type": "Organisation", "id": organisation},
                },
                "ai_agent": {
                    "links": {
                        "self": format!("/api/conversations/{id}/relationships/ai_agent"),
                        "related": format!("/api/conversations/{id}/ai_agent"),
                    },
                    "data": {"type": "AiAgent", "id": agent},
                },
                "conversation_items": {
                    "links": {
                        "self": format!("/api/conversations/{id}/relationships/conversation_items"),
                        "related": format!("/api/conversations/{id}/conversation_items"),
                    },
                },
            },
            "links": {"self": format!("/api/conversations/{id}")},
        },
    });
    assert_eq!(document, expected);
    // Deterministic member order on the wire.
    assert!(response
        .text()
        .starts_with("{\"jsonapi\":{\"version\":\"1.1\"},\"links\":{\"self\":"));
    assert!(generated("public_id").starts_with("conv_") && generated("public_id").len() == 37);
    assert!(generated("created_at").ends_with('Z') && generated("created_at").len() == 27);
}

#[test]
fn every_link_in_a_document_answers() {
    // fetch-url-support, resource-link-response, resource-related-resource-link,
    // fetch-relationships
    let server = TestServer::start();
    let organisation = server.organisation.clone();
    let conversation = server.create_conversation(&organisation, json!({"channel": "chat"}));
    let item = server.create_item(&conversation, "hello");
    for path in [
        format!("/api/organisations/{organisation}"),
        format!("/api/conversations/{conversation}"),
        format!("/api/conversation_items/{item}"),
    ] {
        let document = expect_document(&server.get(&path), 200);
        let mut links = vec![
            document["links"]["self"].clone(),
            document["data"]["links"]["self"].clone(),
        ];
        for relationship in document["data"]["relationships"]
            .as_object()
            .unwrap()
            .values()
        {
            links.push(relationship["links"]["self"].clone());
            links.push(relationship["links"]["related"].clone());
        }
        for link in links {
            let link = link.as_str().expect("link is a string");
            expect_document(&server.get(link), 200);
        }
    }
}

#[test]
fn public_ids_are_unique_and_unguessable() {
    let server = TestServer::start();
    let organisation = server.organisation.clone();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..5 {
        let id = server.create_conversation(&organisation, json!({"channel": "chat"}));
        let document = expect_document(&server.get(&format!("/api/conversations/{id}")), 200);
        let public_id = document["data"]["attributes"]["public_id"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(!public_id.contains(&id) && seen.insert(public_id));
    }
}

#[test]
fn empty_to_one_and_to_many_linkage() {
    // resource-linkage: [] for an empty to-many relationship that is requested.
    let server = TestServer::start();
    let organisation = server.organisation.clone();
    let conversation = server.create_conversation(&organisation, json!({"channel": "chat"}));
    let document = expect_document(
        &server.get(&format!(
            "/api/conversations/{conversation}?include=conversation_items"
        )),
        200,
    );
    assert_eq!(
        document["data"]["relationships"]["conversation_items"]["data"],
        json!([])
    );
    assert_eq!(document["included"], json!([]));
    let linkage = expect_document(
        &server.get(&format!(
            "/api/conversations/{conversation}/relationships/conversation_items"
        )),
        200,
    );
    assert_eq!(linkage["data"], Value::Array(vec![]));
}
