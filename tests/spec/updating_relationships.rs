//! Updating relationships (spec 1.1 "Updating Relationships") and relationships and read-only
//! members in a resource `PATCH` ("Updating Resources"). Every relationship confab has is an
//! ownership link fixed at creation: writing back the stored linkage succeeds, changing it is
//! 403 with the reason and a pointer.

use serde_json::{json, Value};

use crate::support::http::Response;
use crate::support::{expect_document, expect_errors, no_source, pointer, TestServer, MEDIA_TYPE};

fn send(server: &TestServer, method: &str, target: &str, document: &Value) -> Response {
    let body = serde_json::to_vec(document).expect("serialize");
    server.request(
        method,
        target,
        &[("Accept", MEDIA_TYPE), ("Content-Type", MEDIA_TYPE)],
        Some(&body),
    )
}

fn no_content(response: &Response) {
    assert_eq!(response.status, 204, "{}", response.text());
}

struct Fixture {
    server: TestServer,
    conversation: String,
    other_conversation: String,
    items: Vec<String>,
    foreign_conversation: String,
}

/// Two conversations of Acme (the first with two items) and one of another organisation.
fn fixture() -> Fixture {
    let server = TestServer::start();
    let organisation = server.organisation.clone();
    let conversation = server.create_conversation(&organisation, json!({"channel": "chat"}));
    let other_conversation = server.create_conversation(&organisation, json!({"channel": "chat"}));
    let items = vec![
        server.create_item(&conversation, "one"),
        server.create_item(&conversation, "two"),
    ];
    let foreign = server.add_tenant("Globex", confab::auth::SCOPES);
    let response = server.request_as(
        Some(&foreign.key),
        "POST",
        "/api/conversations",
        Some(&json!({"data": {"type": "Conversation", "attributes": {"channel": "chat"}}})),
    );
    let foreign_conversation = expect_document(&response, 201)["data"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    Fixture {
        server,
        conversation,
        other_conversation,
        items,
        foreign_conversation,
    }
}

fn item_identifiers(ids: &[&String]) -> Value {
    Value::Array(
        ids.iter()
            .map(|id| json!({"type": "ConversationItem", "id": id}))
            .collect(),
    )
}

#[test]
fn to_one_relationship_link_accepts_its_value_and_refuses_a_change() {
    // respond-patch-to-one-relationship-link, updating-relationship-204-status
    let f = fixture();
    let item = &f.items[0];
    let link = format!("/api/conversation_items/{item}/relationships/conversation");
    let same = json!({"data": {"type": "Conversation", "id": f.conversation}});
    no_content(&send(&f.server, "PATCH", &link, &same));
    // The id is compared as served: upper-case hex names no conversation.
    let upper = json!({"data": {"type": "Conversation", "id": f.conversation.to_uppercase()}});
    expect_errors(
        &send(&f.server, "PATCH", &link, &upper),
        404,
        &[pointer("/data")],
    );

    // updating-relationship-403-status: a change the server does not allow, with why.
    let moved = json!({"data": {"type": "Conversation", "id": f.other_conversation}});
    let refused = expect_errors(
        &send(&f.server, "PATCH", &link, &moved),
        403,
        &[pointer("/data")],
    );
    let detail = refused["errors"][0]["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("cannot change"), "{detail}");
    let cleared = expect_errors(
        &send(&f.server, "PATCH", &link, &json!({"data": null})),
        403,
        &[pointer("/data")],
    );
    assert_eq!(cleared["errors"][0]["code"], json!("forbidden"));

    // update-resource-404-related: a conversation that does not exist, or is another
    // organisation's, is absent alike.
    for missing in [
        "00000000-0000-4000-8000-000000000000".to_string(),
        f.foreign_conversation.clone(),
        "not-a-uuid".to_string(),
    ] {
        let body = json!({"data": {"type": "Conversation", "id": missing}});
        expect_errors(
            &send(&f.server, "PATCH", &link, &body),
            404,
            &[pointer("/data")],
        );
    }
    // A wrong type is a conflict (409), a malformed identifier a bad request (400).
    let wrong = json!({"data": {"type": "Organisation", "id": f.server.organisation}});
    expect_errors(
        &send(&f.server, "PATCH", &link, &wrong),
        409,
        &[pointer("/data/type")],
    );
    expect_errors(
        &send(
            &f.server,
            "PATCH",
            &link,
            &json!({"data": [same["data"].clone()]}),
        ),
        400,
        &[pointer("/data")],
    );
    expect_errors(
        &send(
            &f.server,
            "PATCH",
            &link,
            &json!({"data": {"type": "Conversation"}}),
        ),
        400,
        &[pointer("/data")],
    );
    expect_errors(
        &send(&f.server, "PATCH", &link, &json!({})),
        400,
        &[pointer("")],
    );
    // A to-one link is replaced, never added to or removed from.
    for method in ["POST", "DELETE"] {
        let response = send(&f.server, method, &link, &same);
        expect_errors(&response, 405, &[no_source()]);
    }
    // Nothing moved.
    let stored = expect_document(&f.server.get(&link), 200);
    assert_eq!(stored["data"]["id"], json!(f.conversation));
}

#[test]
fn to_many_relationship_link_adds_removes_and_replaces_only_what_already_holds() {
    // respond-patch-post-delete-to-many-relationship-link
    let f = fixture();
    let link = format!(
        "/api/conversations/{}/relationships/conversation_items",
        f.conversation
    );
    let other_link = format!(
        "/api/conversations/{}/relationships/conversation_items",
        f.other_conversation
    );
    let (first, second) = (&f.items[0], &f.items[1]);

    // Adding members already there, removing members not there, and replacing with the same
    // set all leave the relationship as asked: 204.
    no_content(&send(
        &f.server,
        "POST",
        &link,
        &json!({"data": item_identifiers(&[first])}),
    ));
    no_content(&send(&f.server, "POST", &link, &json!({"data": []})));
    no_content(&send(
        &f.server,
        "DELETE",
        &other_link,
        &json!({"data": item_identifiers(&[first, second])}),
    ));
    no_content(&send(
        &f.server,
        "PATCH",
        &link,
        &json!({"data": item_identifiers(&[second, first])}),
    ));
    no_content(&send(&f.server, "PATCH", &other_link, &json!({"data": []})));

    // Moving an item between conversations, removing it, or replacing the set: 403 at the
    // identifier that would move.
    expect_errors(
        &send(
            &f.server,
            "POST",
            &other_link,
            &json!({"data": item_identifiers(&[first])}),
        ),
        403,
        &[pointer("/data/0")],
    );
    expect_errors(
        &send(
            &f.server,
            "DELETE",
            &link,
            &json!({"data": item_identifiers(&[first, second])}),
        ),
        403,
        &[pointer("/data/0")],
    );
    for replacement in [json!([]), item_identifiers(&[first])] {
        expect_errors(
            &send(&f.server, "PATCH", &link, &json!({"data": replacement})),
            403,
            &[pointer("/data")],
        );
    }
    // 404 names the missing member; 409 the wrong type; 400 linkage that is not an array.
    let missing = json!({"data": [{"type": "ConversationItem", "id": first},
                                  {"type": "ConversationItem", "id": "00000000-0000-4000-8000-000000000000"}]});
    expect_errors(
        &send(&f.server, "POST", &link, &missing),
        404,
        &[pointer("/data/1")],
    );
    let wrong = json!({"data": [{"type": "Conversation", "id": f.conversation}]});
    expect_errors(
        &send(&f.server, "POST", &link, &wrong),
        409,
        &[pointer("/data/0/type")],
    );
    let single = json!({"data": {"type": "ConversationItem", "id": first}});
    expect_errors(
        &send(&f.server, "PATCH", &link, &single),
        400,
        &[pointer("/data")],
    );
    // The parent itself: 404 when missing or another organisation's.
    let foreign = format!(
        "/api/conversations/{}/relationships/conversation_items",
        f.foreign_conversation
    );
    expect_errors(
        &send(&f.server, "POST", &foreign, &json!({"data": []})),
        404,
        &[no_source()],
    );

    let stored = expect_document(&f.server.get(&link), 200);
    assert_eq!(stored["data"], item_identifiers(&[first, second]));
}

#[test]
fn a_patch_may_write_back_what_it_read_but_not_change_it() {
    // update-resource-403-status: read-only members and ownership links refuse a change with
    // 403 and a pointer; the same values, as ORMs send them back, are accepted and left.
    let f = fixture();
    let path = format!("/api/conversations/{}", f.conversation);
    let read = expect_document(&f.server.get(&path), 200)["data"].clone();
    let mut written_back = read.clone();
    written_back["attributes"]["title"] = json!("renamed");
    written_back
        .as_object_mut()
        .expect("object")
        .remove("links");
    for relationship in ["organisation", "conversation_items"] {
        written_back["relationships"][relationship]
            .as_object_mut()
            .expect("relationship")
            .remove("links");
    }
    written_back["relationships"]["conversation_items"]["data"] =
        item_identifiers(&[&f.items[0], &f.items[1]]);
    let updated = expect_document(
        &send(&f.server, "PATCH", &path, &json!({"data": written_back})),
        200,
    );
    assert_eq!(updated["data"]["attributes"]["title"], json!("renamed"));
    assert_eq!(
        updated["data"]["attributes"]["created_at"],
        read["attributes"]["created_at"]
    );
    assert_eq!(
        updated["data"]["attributes"]["public_id"],
        read["attributes"]["public_id"]
    );

    // Each change is refused at its own member, and nothing at all is written.
    let changed = json!({"data": {"type": "Conversation", "id": f.conversation,
        "attributes": {"title": "not applied", "created_at": "2001-01-01T00:00:00Z",
                       "public_id": "another"},
        "relationships": {"conversation_items": {"data": []}}}});
    expect_errors(
        &send(&f.server, "PATCH", &path, &changed),
        403,
        &[
            pointer("/data/attributes/created_at"),
            pointer("/data/attributes/public_id"),
            pointer("/data/relationships/conversation_items"),
        ],
    );
    // Another organisation as owner: that organisation is not there for this key (404).
    let foreign = json!({"data": {"type": "Conversation", "id": f.conversation,
        "relationships": {"organisation": {"data": {"type": "Organisation", "id": f.foreign_conversation}}}}});
    expect_errors(
        &send(&f.server, "PATCH", &path, &foreign),
        404,
        &[pointer("/data/relationships/organisation/data")],
    );
    // A wrong kind is still a 422, even for a read-only member.
    let wrong_kind = json!({"data": {"type": "Conversation", "id": f.conversation,
        "attributes": {"created_at": 12}}});
    expect_errors(
        &send(&f.server, "PATCH", &path, &wrong_kind),
        422,
        &[pointer("/data/attributes/created_at")],
    );
    let stored = expect_document(&f.server.get(&path), 200);
    assert_eq!(stored["data"]["attributes"]["title"], json!("renamed"));
}
