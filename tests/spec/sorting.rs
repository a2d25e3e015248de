//! Spec section: sorting.

use serde_json::{json, Value};

use crate::support::{expect_document, expect_errors, parameter, TestServer};

fn ids(server: &TestServer, path: &str) -> Vec<String> {
    expect_document(&server.get(path), 200)["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|resource| resource["id"].as_str().unwrap().to_string())
        .collect()
}

fn attribute(server: &TestServer, path: &str, name: &str) -> Vec<serde_json::Value> {
    expect_document(&server.get(path), 200)["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|resource| resource["attributes"][name].clone())
        .collect()
}

#[test]
fn sort_fields_apply_in_order_with_descending_prefix() {
    // sorting-parameter-value, sorting-multiple-fields, sorting-multiple-fields-order,
    // sorting-order, sorting-specified-order
    let server = TestServer::start();
    let organisation = server.organisation.clone();
    let mut created = Vec::new();
    for channel in ["email", "chat", "email", "widget", "chat"] {
        created.push((
            channel,
            server.create_conversation(&organisation, addressed(json!({"channel": channel}))),
        ));
    }
    // channel ascending, then newest first; ties on both would fall to the id.
    let mut expected: Vec<(usize, &str, String)> = created
        .iter()
        .enumerate()
        .map(|(index, (channel, id))| (index, *channel, id.clone()))
        .collect();
    expected.sort_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0)));
    let expected: Vec<String> = expected.into_iter().map(|(_, _, id)| id).collect();
    assert_eq!(
        ids(&server, "/api/conversations?sort=channel,-created_at"),
        expected
    );
    let mut reversed = expected.clone();
    reversed.reverse();
    assert_eq!(
        ids(&server, "/api/conversations?sort=-channel,created_at"),
        reversed
    );
    // Ties are broken by id, so the order is total and repeatable.
    let by_channel = ids(&server, "/api/conversations?sort=channel");
    let chats: Vec<&String> = by_channel.iter().take(2).collect();
    assert!(chats[0] < chats[1], "ties not ordered by id: {chats:?}");
    assert_eq!(by_channel, ids(&server, "/api/conversations?sort=channel"));
}

#[test]
fn defaults_are_newest_conversations_and_items_by_position() {
    // sorting-default
    let server = TestServer::start();
    let organisation = server.organisation.clone();
    let first = server.create_conversation(&organisation, json!({"channel": "chat"}));
    let second = server.create_conversation(&organisation, json!({"channel": "chat"}));
    assert_eq!(
        ids(&server, "/api/conversations"),
        vec![second.clone(), first.clone()]
    );
    server.create_item(&first, "a");
    server.create_item(&second, "b");
    server.create_item(&first, "c");
    assert_eq!(
        attribute(&server, "/api/conversation_items", "position"),
        vec![json!(1), json!(1), json!(2)]
    );
    assert_eq!(
        attribute(
            &server,
            &format!("/api/conversations/{first}/conversation_items?sort=-position"),
            "content"
        ),
        vec![json!("c"), json!("a")]
    );
}

#[test]
fn sorting_on_an_attribute_of_a_to_one_relationship() {
    let server = TestServer::start();
    let organisation = server.organisation.clone();
    let older = server.create_conversation(&organisation, json!({"channel": "chat"}));
    let newer = server.create_conversation(&organisation, json!({"channel": "chat"}));
    server.create_item(&newer, "newer-1");
    server.create_item(&older, "older-1");
    server.create_item(&newer, "newer-2");
    assert_eq!(
        attribute(
            &server,
            "/api/conversation_items?sort=-conversation.created_at,position",
            "content"
        ),
        vec![json!("newer-1"), json!("newer-2"), json!("older-1")]
    );
    assert_eq!(
        attribute(
            &server,
            "/api/conversation_items?sort=conversation.created_at,-position",
            "content"
        ),
        vec![json!("older-1"), json!("newer-2"), json!("newer-1")]
    );
    // Conversations by their organisation's name (one organisation per key: a stable no-op).
    assert_eq!(
        ids(
            &server,
            "/api/conversations?sort=organisation.name,-created_at"
        ),
        vec![newer, older]
    );
}

#[test]
fn unknown_or_unsortable_fields_are_400() {
    // sorting-not-supported
    let server = TestServer::start();
    for sort in [
        "colour",
        "title",
        "metadata",
        "-",
        "",
        "conversation_items.position",
        "organisation.slug",
        "channel,channel",
    ] {
        let path = format!("/api/conversations?sort={sort}");
        expect_errors(&server.get(&path), 400, &[parameter("sort")]);
    }
    expect_errors(
        &server.get("/api/conversations?sort=colour,-size"),
        400,
        &[parameter("sort"), parameter("sort")],
    );
}

/// Conversation attributes with the `to_address` an email conversation needs.
fn addressed(mut attributes: Value) -> Value {
    if attributes["channel"] == "email" {
        attributes["to_address"] = json!("customer@example.com");
    }
    attributes
}
