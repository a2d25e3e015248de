//! The conversation domain (issue 10): what each channel requires, the participant profile,
//! and items' kinds, parts, realtime segment ids and times. Refusals are 422 with a pointer at
//! the member (create-responses-422 is confab's use of 422 for invalid members).

use serde_json::{json, Value};

use crate::support::{attribute_of_each, expect_document, expect_errors, pointer, TestServer};

fn create(server: &TestServer, attributes: Value) -> crate::support::http::Response {
    server.post(
        "/api/conversations",
        &json!({"data": {"type": "Conversation", "attributes": attributes}}),
    )
}

fn item(
    server: &TestServer,
    conversation: &str,
    attributes: Value,
) -> crate::support::http::Response {
    server.post(
        "/api/conversation_items",
        &json!({"data": {"type": "ConversationItem", "attributes": attributes,
            "relationships": {"conversation": {"data": {"type": "Conversation", "id": conversation}}}}}),
    )
}

#[test]
fn a_telephone_conversation_needs_a_number_and_is_queued_with_202() {
    let server = TestServer::start();
    expect_errors(
        &create(&server, json!({"channel": "telephone"})),
        422,
        &[pointer("/data/attributes/participant")],
    );
    expect_errors(
        &create(
            &server,
            json!({"channel": "telephone", "participant": {"phone": "415-555-0100"}}),
        ),
        422,
        &[pointer("/data/attributes/participant/phone")],
    );
    expect_errors(
        &create(
            &server,
            json!({"channel": "telephone", "status": "active", "participant": {"phone": "+14155550100"}}),
        ),
        422,
        &[pointer("/data/attributes/status")],
    );
    // create-responses-202: accepted, the call itself still to come.
    let queued = create(
        &server,
        json!({"channel": "telephone", "direction": "outbound",
        "participant": {"phone": "+14155550100", "name": "Ana"}}),
    );
    let document = expect_document(&queued, 202);
    let id = document["data"]["id"].as_str().unwrap();
    assert_eq!(
        queued.header("location"),
        Some(format!("/api/conversations/{id}").as_str())
    );
    assert_eq!(document["data"]["attributes"]["status"], "pending");
    assert_eq!(document["data"]["attributes"]["started_at"], Value::Null);
    assert_eq!(document["data"]["attributes"]["direction"], "outbound");
    // A dialer finds it, then starts it.
    let found = expect_document(
        &server.get("/api/conversations?filter[status]=pending&filter[channel]=telephone"),
        200,
    );
    assert_eq!(found["data"][0]["id"], id);
    let start =
        json!({"data": {"type": "Conversation", "id": id, "attributes": {"status": "active"}}});
    let started = expect_document(
        &server.patch(&format!("/api/conversations/{id}"), &start),
        200,
    );
    assert!(started["data"]["attributes"]["started_at"].is_string());
}

#[test]
fn email_members_belong_to_email_and_its_address_is_required() {
    let server = TestServer::start();
    expect_errors(
        &create(&server, json!({"channel": "email"})),
        422,
        &[pointer("/data/attributes")],
    );
    expect_errors(
        &create(
            &server,
            json!({"channel": "email", "to_address": "not an address"}),
        ),
        422,
        &[pointer("/data/attributes/to_address")],
    );
    expect_errors(
        &create(
            &server,
            json!({"channel": "chat", "subject": "Hi", "from_address": "a@example.com"}),
        ),
        422,
        &[
            pointer("/data/attributes/from_address"),
            pointer("/data/attributes/subject"),
        ],
    );
    let email = expect_document(
        &create(
            &server,
            json!({"channel": "email", "to_address": "ana@example.com",
            "from_address": "support@example.com", "subject": "Your refund",
            "initial_context": "Refund of order 42", "summary": null}),
        ),
        201,
    );
    let attributes = &email["data"]["attributes"];
    assert_eq!(attributes["subject"], "Your refund");
    assert_eq!(attributes["initial_context"], "Refund of order 42");
    // A change must keep the channel's rules.
    let id = email["data"]["id"].as_str().unwrap();
    let to_chat =
        json!({"data": {"type": "Conversation", "id": id, "attributes": {"channel": "chat"}}});
    expect_errors(
        &server.patch(&format!("/api/conversations/{id}"), &to_chat),
        422,
        &[
            pointer("/data/attributes/to_address"),
            pointer("/data/attributes/from_address"),
            pointer("/data/attributes/subject"),
        ],
    );
    let summarise =
        json!({"data": {"type": "Conversation", "id": id, "attributes": {"summary": "Refunded."}}});
    let summarised = expect_document(
        &server.patch(&format!("/api/conversations/{id}"), &summarise),
        200,
    );
    assert_eq!(summarised["data"]["attributes"]["summary"], "Refunded.");
}

#[test]
fn the_participant_is_checked_member_by_member_and_filterable() {
    let server = TestServer::start();
    for (participant, at) in [
        (
            json!({"nickname": "A"}),
            "/data/attributes/participant/nickname",
        ),
        (
            json!({"email": "nope"}),
            "/data/attributes/participant/email",
        ),
        (json!({"name": 7}), "/data/attributes/participant/name"),
        (
            json!({"avatar_url": "ftp://x"}),
            "/data/attributes/participant/avatar_url",
        ),
        (json!("Ana"), "/data/attributes/participant"),
    ] {
        expect_errors(
            &create(
                &server,
                json!({"channel": "chat", "participant": participant}),
            ),
            422,
            &[pointer(at)],
        );
    }
    expect_errors(
        &create(&server, json!({"channel": "chat", "direction": "sideways"})),
        422,
        &[pointer("/data/attributes/direction")],
    );
    let ana = json!({"external_id": "u-1", "name": "Ana", "first_name": "Ana", "last_name": "Lima",
        "email": "ana@example.com", "phone": "+351912345678", "organization_name": "Acme",
        "organization_domain": "acme.example", "avatar_url": "https://acme.example/ana.png"});
    let created = expect_document(
        &create(&server, json!({"channel": "chat", "participant": ana})),
        201,
    );
    assert_eq!(created["data"]["attributes"]["participant"], ana);
    assert_eq!(created["data"]["attributes"]["direction"], "inbound");
    expect_document(
        &create(
            &server,
            json!({"channel": "chat", "participant": {"email": "bo@example.com"}}),
        ),
        201,
    );
    let found = expect_document(
        &server.get("/api/conversations?filter[participant.email]=ana@example.com"),
        200,
    );
    assert_eq!(found["data"].as_array().unwrap().len(), 1);
    assert_eq!(found["data"][0]["id"], created["data"]["id"]);
    expect_errors(
        &server.get("/api/conversations?filter[participant.nickname]=x"),
        400,
        &[crate::support::parameter("filter[participant.nickname]")],
    );
}

#[test]
fn items_have_kinds_parts_and_a_time_that_is_not_in_the_future() {
    let server = TestServer::start();
    let conversation = server.create_conversation(&server.organisation, json!({"channel": "chat"}));
    let plain = expect_document(
        &item(
            &server,
            &conversation,
            json!({"role": "user", "content": "hi"}),
        ),
        201,
    );
    let attributes = &plain["data"]["attributes"];
    assert_eq!(
        (
            attributes["item_type"].clone(),
            attributes["visibility"].clone()
        ),
        (json!("message"), json!("public"))
    );
    assert_eq!(attributes["parts"], json!([]));
    assert_eq!(attributes["item_id"], Value::Null);
    for (attributes, at) in [
        (
            json!({"role": "user", "content": "x", "parts": [{"text": "no type"}]}),
            "/data/attributes/parts/0",
        ),
        (
            json!({"role": "user", "content": "x", "parts": {"type": "text"}}),
            "/data/attributes/parts",
        ),
        (
            json!({"role": "user", "content": "x", "item_type": "type"}),
            "/data/attributes/item_type",
        ),
        (
            json!({"role": "user", "content": "x", "visibility": "secret"}),
            "/data/attributes/visibility",
        ),
        (
            json!({"role": "user", "content": "x", "content_index": 1}),
            "/data/attributes/content_index",
        ),
    ] {
        expect_errors(
            &item(&server, &conversation, attributes),
            422,
            &[pointer(at)],
        );
    }
    let parts = json!([{"type": "text", "text": "Looking it up"}, {"type": "tool_call", "name": "lookup", "arguments": {"order": 42}}]);
    let call = expect_document(
        &item(
            &server,
            &conversation,
            json!({"role": "assistant", "content": "", "item_type": "tool_call", "parts": parts}),
        ),
        201,
    );
    assert_eq!(call["data"]["attributes"]["parts"], parts);
    let note = expect_document(
        &item(
            &server,
            &conversation,
            json!({"role": "operator", "content": "VIP", "visibility": "private", "modality": "text"}),
        ),
        201,
    );
    // A turn's role is what happened: it does not change (update-resource-403-status).
    let note_id = note["data"]["id"].as_str().unwrap();
    let recast = json!({"data": {"type": "ConversationItem", "id": note_id, "attributes": {"role": "user"}}});
    expect_errors(
        &server.patch(&format!("/api/conversation_items/{note_id}"), &recast),
        403,
        &[pointer("/data/attributes/role")],
    );

    // occurred_at: historical imports are welcome; more than 5 minutes ahead is not.
    let soon = (chrono::Utc::now() + chrono::TimeDelta::minutes(2)).to_rfc3339();
    let later = (chrono::Utc::now() + chrono::TimeDelta::minutes(10)).to_rfc3339();
    expect_errors(
        &item(
            &server,
            &conversation,
            json!({"role": "user", "content": "x", "occurred_at": later}),
        ),
        422,
        &[pointer("/data/attributes/occurred_at")],
    );
    expect_document(
        &item(
            &server,
            &conversation,
            json!({"role": "user", "content": "soon", "occurred_at": soon}),
        ),
        201,
    );
    expect_document(
        &item(
            &server,
            &conversation,
            json!({"role": "user", "content": "imported", "occurred_at": "2020-01-01T00:00:00Z"}),
        ),
        201,
    );
    // The transcript stays in position order, whatever the times; it filters by kind.
    let transcript = |query: &str| -> Vec<String> {
        let document = expect_document(
            &server.get(&format!(
                "/api/conversations/{conversation}/conversation_items?{query}"
            )),
            200,
        );
        attribute_of_each(&document, "content")
    };
    assert_eq!(transcript(""), vec!["hi", "", "VIP", "soon", "imported"]);
    assert_eq!(transcript("filter[visibility]=private"), vec!["VIP"]);
    assert_eq!(
        transcript("filter[item_type]=tool_call&filter[role]=assistant"),
        vec![""]
    );
    assert_eq!(
        transcript("filter[role]=user&filter[modality]=text"),
        vec!["hi", "soon", "imported"]
    );
    assert_eq!(transcript("filter[modality]=voice"), Vec::<String>::new());
    // Paged both ways.
    let transcript_path =
        format!("/api/conversations/{conversation}/conversation_items?page[size]=2");
    expect_errors(
        &server.get(&format!("{transcript_path}&page[before]=x")),
        400,
        &[crate::support::parameter("page[before]")],
    );
    let last = crate::pagination::cursor_page(&server.get(&transcript_path));
    let next = last["links"]["next"].as_str().unwrap().to_string();
    let second = crate::pagination::cursor_page(&server.get(&next));
    assert_eq!(second["data"][0]["attributes"]["content"], "VIP");
    let prev = second["links"]["prev"].as_str().unwrap().to_string();
    let first_again = crate::pagination::cursor_page(&server.get(&prev));
    assert_eq!(first_again["data"], last["data"]);
}

#[test]
fn a_resent_realtime_segment_is_409_naming_the_stored_item() {
    let server = TestServer::start();
    let conversation =
        server.create_conversation(&server.organisation, json!({"channel": "webrtc"}));
    let segment =
        json!({"role": "assistant", "content": "Hel", "item_id": "item_abc", "content_index": 0});
    let first = expect_document(&item(&server, &conversation, segment.clone()), 201);
    let stored = first["data"]["id"].as_str().unwrap();
    let before = server.dump();
    let again = expect_errors(
        &item(&server, &conversation, segment),
        409,
        &[pointer("/data/attributes/item_id")],
    );
    assert_eq!(again["errors"][0]["meta"], json!({"existing_id": stored}));
    assert_eq!(server.dump(), before);
    // The next part of the segment, and the same segment id in another conversation, are new.
    expect_document(
        &item(
            &server,
            &conversation,
            json!({"role": "assistant", "content": "lo", "item_id": "item_abc", "content_index": 1}),
        ),
        201,
    );
    let other = server.create_conversation(&server.organisation, json!({"channel": "webrtc"}));
    expect_document(
        &item(
            &server,
            &other,
            json!({"role": "assistant", "content": "Hel", "item_id": "item_abc", "content_index": 0}),
        ),
        201,
    );
    // Without an index, a segment is part 0.
    let whole = expect_document(
        &item(
            &server,
            &conversation,
            json!({"role": "user", "content": "Hi", "item_id": "item_def"}),
        ),
        201,
    );
    assert_eq!(whole["data"]["attributes"]["content_index"], 0);
    expect_errors(
        &item(
            &server,
            &conversation,
            json!({"role": "user", "content": "Hi", "item_id": "item_def", "content_index": 0}),
        ),
        409,
        &[pointer("/data/attributes/item_id")],
    );
    // Once deleted, a segment may be sent again.
    assert_eq!(
        server
            .delete(&format!("/api/conversation_items/{stored}"))
            .status,
        204
    );
    expect_document(
        &item(
            &server,
            &conversation,
            json!({"role": "assistant", "content": "Hel", "item_id": "item_abc", "content_index": 0}),
        ),
        201,
    );
}
