//! The Atomic Operations extension (`https://jsonapi.org/ext/atomic`, `ext/atomic.md`), cited
//! by its sections; and spec 1.1's `crud-atomic` and extension negotiation rules.

use serde_json::{json, Value};

use crate::support::http::{Response, ATOMIC_MEDIA_TYPE};
use crate::support::{
    expect_document, expect_errors, header, no_source, pointer, Settings, TestServer, MEDIA_TYPE,
};

fn post_operations(server: &TestServer, document: &Value) -> Response {
    post_with(server, document, ATOMIC_MEDIA_TYPE, ATOMIC_MEDIA_TYPE, &[])
}

fn post_with(
    server: &TestServer,
    document: &Value,
    content_type: &str,
    accept: &str,
    extra: &[(&str, &str)],
) -> Response {
    let body = serde_json::to_vec(document).expect("serialize");
    let mut headers = vec![("Accept", accept), ("Content-Type", content_type)];
    headers.extend_from_slice(extra);
    server.request("POST", "/api/operations", &headers, Some(&body))
}

fn results(response: &Response) -> Vec<Value> {
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("content-type"), Some(ATOMIC_MEDIA_TYPE));
    response.json()["atomic:results"]
        .as_array()
        .expect("atomic:results")
        .clone()
}

fn add_conversation(lid: &str) -> Value {
    json!({"op": "add", "data": {"type": "Conversation", "lid": lid,
        "attributes": {"channel": "chat", "title": "made atomically"}}})
}

fn add_item(conversation_lid: &str, role: &str, content: &str) -> Value {
    json!({"op": "add", "href": "/api/conversation_items", "data": {"type": "ConversationItem",
        "attributes": {"role": role, "content": content},
        "relationships": {"conversation": {"data": {"type": "Conversation", "lid": conversation_lid}}}}})
}

#[test]
fn a_conversation_and_its_items_are_created_in_one_request_linked_by_lid() {
    // Processing: operations in order; results positional; lids name earlier operations' resources.
    let server = TestServer::start();
    let response = post_operations(
        &server,
        &json!({"atomic:operations": [
            add_conversation("c"),
            add_item("c", "system", "You are helpful."),
            add_item("c", "user", "Hello"),
            add_item("c", "assistant", "Hi! How can I help?"),
        ]}),
    );
    let results = results(&response);
    assert_eq!(
        response.json()["jsonapi"],
        json!({"version": "1.1", "ext": ["https://jsonapi.org/ext/atomic"]})
    );
    assert_eq!(results.len(), 4);
    let conversation = results[0]["data"]["id"].as_str().expect("id").to_string();
    assert_eq!(results[0]["data"]["type"], json!("Conversation"));
    assert_eq!(
        results[0]["data"]["attributes"]["title"],
        json!("made atomically")
    );
    assert!(results[0]["data"].get("lid").is_none());
    for (index, (role, position)) in [("system", 1), ("user", 2), ("assistant", 3)]
        .into_iter()
        .enumerate()
    {
        let item = &results[index + 1]["data"];
        assert_eq!(item["type"], json!("ConversationItem"));
        assert_eq!(item["attributes"]["role"], json!(role));
        assert_eq!(item["attributes"]["position"], json!(position));
        assert_eq!(
            item["relationships"]["conversation"]["data"]["id"],
            json!(conversation)
        );
        let stored = expect_document(
            &server.get(&format!(
                "/api/conversation_items/{}",
                item["id"].as_str().unwrap()
            )),
            200,
        );
        assert_eq!(&stored["data"], item);
    }
    let listed = expect_document(
        &server.get(&format!(
            "/api/conversations/{conversation}/conversation_items"
        )),
        200,
    );
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(3));
}

#[test]
fn updates_relationship_writes_and_removes_run_in_order() {
    let server = TestServer::start();
    let conversation = server.create_conversation(&server.organisation, json!({"channel": "chat"}));
    let other = server.create_conversation(&server.organisation, json!({"channel": "chat"}));
    let item = server.create_item(&conversation, "to be removed");
    let response = post_operations(
        &server,
        &json!({"atomic:operations": [
            {"op": "update", "data": {"type": "Conversation", "id": conversation, "attributes": {"title": "renamed"}}},
            {"op": "update", "ref": {"type": "Conversation", "id": conversation},
             "data": {"type": "Conversation", "id": conversation, "attributes": {"status": "completed"}}},
            // Writing back the stored linkage succeeds and returns no data.
            {"op": "update", "ref": {"type": "ConversationItem", "id": item, "relationship": "conversation"},
             "data": {"type": "Conversation", "id": conversation}},
            {"op": "add", "ref": {"type": "Conversation", "id": conversation, "relationship": "conversation_items"},
             "data": [{"type": "ConversationItem", "id": item}]},
            // Removing a member the relationship does not hold leaves it as asked.
            {"op": "remove", "href": format!("/api/conversations/{other}/relationships/conversation_items"),
             "data": [{"type": "ConversationItem", "id": item}]},
            {"op": "remove", "ref": {"type": "ConversationItem", "id": item}},
        ]}),
    );
    let results = results(&response);
    assert_eq!(results[0]["data"]["attributes"]["title"], json!("renamed"));
    assert_eq!(results[1]["data"]["attributes"]["title"], json!("renamed"));
    assert_eq!(
        results[1]["data"]["attributes"]["status"],
        json!("completed")
    );
    for empty in &results[2..] {
        assert_eq!(empty, &json!({}));
    }
    expect_errors(
        &server.get(&format!("/api/conversation_items/{item}")),
        404,
        &[no_source()],
    );

    // Processing: when no operation returns data, 204 and no document.
    let removed = post_operations(
        &server,
        &json!({"atomic:operations": [{"op": "remove", "href": format!("/api/conversations/{conversation}")}]}),
    );
    assert_eq!(removed.status, 204, "{}", removed.text());
    expect_errors(
        &server.get(&format!("/api/conversations/{conversation}")),
        404,
        &[no_source()],
    );
}

#[test]
fn a_failing_last_operation_leaves_the_database_exactly_as_it_was() {
    // crud-atomic; Processing Errors: the error points into the request.
    let server = TestServer::start();
    let existing = server.create_conversation(&server.organisation, json!({"channel": "chat"}));
    server.create_item(&existing, "kept");
    let before = server.dump();
    let response = post_operations(
        &server,
        &json!({"atomic:operations": [
            add_conversation("c"),
            add_item("c", "user", "one"),
            {"op": "update", "data": {"type": "Conversation", "id": existing, "attributes": {"title": "changed"}}},
            add_item("c", "narrator", "three"),
        ]}),
    );
    let document = expect_errors(
        &response,
        422,
        &[pointer("/atomic:operations/3/data/attributes/role")],
    );
    assert!(document.get("atomic:results").is_none());
    assert_eq!(
        server.dump(),
        before,
        "nothing of the failed request is stored"
    );

    // Every kind of failure, at its operation.
    let cases: Vec<(Value, u16, Value)> = vec![
        (
            json!({"atomic:operations": [add_conversation("a"), {"op": "replace"}]}),
            400,
            pointer("/atomic:operations/1/op"),
        ),
        (
            json!({"atomic:operations": [add_item("nowhere", "user", "x")]}),
            400,
            pointer("/atomic:operations/0/data/relationships/conversation/data/lid"),
        ),
        (
            json!({"atomic:operations": [add_conversation("a"), add_conversation("a")]}),
            400,
            pointer("/atomic:operations/1/data/lid"),
        ),
        (
            json!({"atomic:operations": [{"op": "remove", "ref": {"type": "Conversation", "id": "00000000-0000-4000-8000-000000000000"}}]}),
            404,
            pointer("/atomic:operations/0"),
        ),
        (
            json!({"atomic:operations": [{"op": "update", "ref": {"type": "Conversation", "id": existing},
            "data": {"type": "ConversationItem", "id": existing}}]}),
            409,
            pointer("/atomic:operations/0/data/type"),
        ),
        (
            json!({"atomic:operations": [{"op": "update", "ref": {"type": "Conversation", "id": existing, "relationship": "organisation"},
            "data": null}]}),
            403,
            pointer("/atomic:operations/0/data"),
        ),
        (
            json!({"atomic:operations": [{"op": "add", "ref": {"type": "Conversation", "id": existing}, "data": {"type": "Conversation"}}]}),
            400,
            pointer("/atomic:operations/0/ref"),
        ),
        (
            json!({"atomic:operations": [{"op": "remove", "ref": {"type": "Conversation", "id": existing}, "href": "/api/conversations"}]}),
            400,
            pointer("/atomic:operations/0/href"),
        ),
        (
            json!({"atomic:operations": [{"op": "add", "href": "/elsewhere", "data": {"type": "Conversation"}}]}),
            400,
            pointer("/atomic:operations/0/href"),
        ),
        (
            json!({"atomic:operations": [{"op": "add", "data": {"type": "Organisation", "attributes": {"name": "x"}}}]}),
            403,
            pointer("/atomic:operations/0"),
        ),
        (
            json!({"atomic:operations": []}),
            400,
            pointer("/atomic:operations"),
        ),
        (
            json!({"atomic:operations": [add_conversation("a")], "data": {}}),
            400,
            pointer("/data"),
        ),
        (json!({"operations": []}), 400, pointer("")),
    ];
    for (document, status, source) in cases {
        let response = post_operations(&server, &document);
        expect_errors(&response, status, &[source]);
    }
    assert_eq!(server.dump(), before);
}

#[test]
fn the_extension_is_negotiated_and_applies_only_at_its_endpoint() {
    let server = TestServer::start();
    let document = json!({"atomic:operations": [add_conversation("c")]});
    // Without the extension in Content-Type: 415; without it in Accept: 406.
    let plain = post_with(&server, &document, MEDIA_TYPE, ATOMIC_MEDIA_TYPE, &[]);
    expect_errors(&plain, 415, &[header("Content-Type")]);
    let plain_accept = post_with(&server, &document, ATOMIC_MEDIA_TYPE, MEDIA_TYPE, &[]);
    expect_errors(&plain_accept, 406, &[header("Accept")]);
    // Any Accept that leaves the choice to the server takes the extension's answer.
    let any = post_with(&server, &document, ATOMIC_MEDIA_TYPE, "*/*", &[]);
    results(&any);
    // The extension on an ordinary endpoint: 415.
    let body = serde_json::to_vec(
        &json!({"data": {"type": "Conversation", "attributes": {"channel": "chat"}}}),
    )
    .unwrap();
    let elsewhere = server.request(
        "POST",
        "/api/conversations",
        &[("Accept", MEDIA_TYPE), ("Content-Type", ATOMIC_MEDIA_TYPE)],
        Some(&body),
    );
    expect_errors(&elsewhere, 415, &[header("Content-Type")]);
    // Only POST; no query parameters.
    let get = server.request(
        "GET",
        "/api/operations",
        &[("Accept", ATOMIC_MEDIA_TYPE)],
        None,
    );
    expect_errors(&get, 405, &[no_source()]);
    assert_eq!(get.header("allow"), Some("POST"));
    let body = serde_json::to_vec(&document).unwrap();
    let with_query = server.request(
        "POST",
        "/api/operations?include=organisation",
        &[
            ("Accept", ATOMIC_MEDIA_TYPE),
            ("Content-Type", ATOMIC_MEDIA_TYPE),
        ],
        Some(&body),
    );
    assert_eq!(with_query.status, 400, "{}", with_query.text());
    // Without a key: 401, as everywhere.
    let anonymous = post_with(
        &server,
        &document,
        ATOMIC_MEDIA_TYPE,
        ATOMIC_MEDIA_TYPE,
        &[("Authorization", "Bearer not-a-key")],
    );
    expect_errors(&anonymous, 401, &[header("Authorization")]);
}

#[test]
fn operations_are_capped_and_checked_for_scope_and_tenancy() {
    let server = TestServer::start_with(Settings {
        max_operations: 3,
        ..Settings::default()
    });
    let four = json!({"atomic:operations": [add_conversation("a"), add_conversation("b"), add_conversation("c"), add_conversation("d")]});
    expect_errors(
        &post_operations(&server, &four),
        413,
        &[pointer("/atomic:operations")],
    );

    // A read-only key cannot write through operations either.
    let reader = server.add_key(&server.organisation, &["conversation:read"], None);
    let authorization = format!("Bearer {reader}");
    let response = post_with(
        &server,
        &json!({"atomic:operations": [add_conversation("a")]}),
        ATOMIC_MEDIA_TYPE,
        ATOMIC_MEDIA_TYPE,
        &[("Authorization", authorization.as_str())],
    );
    assert_eq!(response.status, 403, "{}", response.text());

    // Another organisation's conversation is as absent as a missing one.
    let other = server.add_tenant("Other", confab::auth::SCOPES);
    let foreign = server.request_as(
        Some(&other.key),
        "POST",
        "/api/conversations",
        Some(&json!({"data": {"type": "Conversation", "attributes": {"channel": "chat"}}})),
    );
    let foreign = expect_document(&foreign, 201)["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let before = server.dump();
    let attempt = post_operations(
        &server,
        &json!({"atomic:operations": [
            {"op": "update", "data": {"type": "Conversation", "id": foreign, "attributes": {"title": "mine now"}}}
        ]}),
    );
    expect_errors(&attempt, 404, &[pointer("/atomic:operations/0")]);
    let item = post_operations(
        &server,
        &json!({"atomic:operations": [{"op": "add", "data": {"type": "ConversationItem",
            "attributes": {"role": "user", "content": "x"},
            "relationships": {"conversation": {"data": {"type": "Conversation", "id": foreign}}}}}]}),
    );
    expect_errors(
        &item,
        404,
        &[pointer(
            "/atomic:operations/0/data/relationships/conversation/data",
        )],
    );
    assert_eq!(server.dump(), before);
}

#[test]
fn an_idempotency_key_replays_an_operations_request() {
    let server = TestServer::start();
    let document =
        json!({"atomic:operations": [add_conversation("c"), add_item("c", "user", "once")]});
    let first = post_with(
        &server,
        &document,
        ATOMIC_MEDIA_TYPE,
        ATOMIC_MEDIA_TYPE,
        &[("Idempotency-Key", "ops-1")],
    );
    results(&first);
    let again = post_with(
        &server,
        &document,
        ATOMIC_MEDIA_TYPE,
        ATOMIC_MEDIA_TYPE,
        &[("Idempotency-Key", "ops-1")],
    );
    results(&again);
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let listed = expect_document(&server.get("/api/conversations"), 200);
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(1));
}
