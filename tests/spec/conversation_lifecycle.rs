//! The conversation domain (issue 10): a conversation's lifecycle, its archive flag, and the
//! counters the server keeps. Status codes cite the spec's statements where the spec has them
//! (update-resource-200-status, update-resource-409-status); the rules themselves are confab's.

use serde_json::{json, Value};

use crate::pagination::cursor_page;
use crate::support::{expect_document, expect_errors, pointer, TestServer};

fn conversation(server: &TestServer, attributes: Value) -> Value {
    let id = server.create_conversation(&server.organisation, attributes);
    expect_document(&server.get(&format!("/api/conversations/{id}")), 200)["data"].clone()
}

fn set_status(server: &TestServer, id: &str, status: &str) -> crate::support::http::Response {
    server.patch(
        &format!("/api/conversations/{id}"),
        &json!({"data": {"type": "Conversation", "id": id, "attributes": {"status": status}}}),
    )
}

fn attributes(server: &TestServer, id: &str) -> Value {
    expect_document(&server.get(&format!("/api/conversations/{id}")), 200)["data"]["attributes"]
        .clone()
}

/// The titles of the conversations a collection query lists, in order.
fn titles(server: &TestServer, query: &str) -> Vec<String> {
    expect_document(&server.get(&format!("/api/conversations?{query}")), 200)["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|c| {
            c["attributes"]["title"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

#[test]
fn statuses_move_only_along_the_lifecycle() {
    let server = TestServer::start();
    let active = conversation(&server, json!({"channel": "chat"}));
    let id = active["id"].as_str().unwrap();
    let started = active["attributes"]["started_at"].clone();
    assert_eq!(active["attributes"]["status"], "active");
    assert_eq!(started, active["attributes"]["created_at"]);
    assert_eq!(active["attributes"]["ended_at"], Value::Null);
    assert_eq!(active["attributes"]["duration_seconds"], Value::Null);

    // update-resource-409-status: a transition the lifecycle does not allow, naming both.
    let refused = expect_errors(
        &set_status(&server, id, "pending"),
        409,
        &[pointer("/data/attributes/status")],
    );
    let detail = refused["errors"][0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("`active`") && detail.contains("`pending`"),
        "{detail}"
    );

    // The same state again changes nothing (seed 003's idempotent end); so does it once ended.
    expect_document(&set_status(&server, id, "active"), 200);
    let ended =
        expect_document(&set_status(&server, id, "completed"), 200)["data"]["attributes"].clone();
    assert_eq!(ended["status"], "completed");
    assert_eq!(ended["started_at"], started);
    assert!(ended["ended_at"].as_str().unwrap() >= started.as_str().unwrap());
    assert!(ended["duration_seconds"].as_i64().unwrap() >= 0);
    let again =
        expect_document(&set_status(&server, id, "completed"), 200)["data"]["attributes"].clone();
    assert_eq!(again["ended_at"], ended["ended_at"]);
    assert_eq!(again["duration_seconds"], ended["duration_seconds"]);

    // A terminal state never changes.
    for next in ["active", "cancelled", "pending"] {
        let document = expect_errors(
            &set_status(&server, id, next),
            409,
            &[pointer("/data/attributes/status")],
        );
        assert_eq!(document["errors"][0]["code"], "state_conflict");
    }
    assert_eq!(attributes(&server, id)["status"], "completed");
}

#[test]
fn a_pending_conversation_starts_or_is_cancelled() {
    let server = TestServer::start();
    let queued = conversation(&server, json!({"channel": "chat", "status": "pending"}));
    let id = queued["id"].as_str().unwrap();
    assert_eq!(queued["attributes"]["started_at"], Value::Null);
    expect_errors(
        &set_status(&server, id, "completed"),
        409,
        &[pointer("/data/attributes/status")],
    );
    let started =
        expect_document(&set_status(&server, id, "active"), 200)["data"]["attributes"].clone();
    assert!(started["started_at"].is_string());
    assert_eq!(started["ended_at"], Value::Null);

    let never = conversation(&server, json!({"channel": "chat", "status": "pending"}));
    let never_id = never["id"].as_str().unwrap();
    let cancelled = expect_document(&set_status(&server, never_id, "cancelled"), 200)["data"]
        ["attributes"]
        .clone();
    assert!(cancelled["ended_at"].is_string());
    // It never ran: no start, no duration.
    assert_eq!(cancelled["started_at"], Value::Null);
    assert_eq!(cancelled["duration_seconds"], Value::Null);

    // A conversation starts pending or active; the times are the server's.
    for (attributes, at) in [
        (
            json!({"channel": "chat", "status": "completed"}),
            "/data/attributes/status",
        ),
        (
            json!({"channel": "chat", "started_at": "2026-01-01T00:00:00Z"}),
            "/data/attributes/started_at",
        ),
        (
            json!({"channel": "chat", "item_count": 3}),
            "/data/attributes/item_count",
        ),
    ] {
        let response = server.post(
            "/api/conversations",
            &json!({"data": {"type": "Conversation", "attributes": attributes}}),
        );
        expect_errors(&response, 422, &[pointer(at)]);
    }
}

#[test]
fn appending_to_an_ended_conversation_is_409_and_changes_nothing() {
    let server = TestServer::start();
    let id = server.create_conversation(&server.organisation, json!({"channel": "chat"}));
    server.create_item(&id, "before the end");
    expect_document(&set_status(&server, &id, "abandoned"), 200);
    let before = server.dump();
    let response = server.post(
        "/api/conversation_items",
        &json!({"data": {"type": "ConversationItem",
            "attributes": {"role": "user", "content": "too late"},
            "relationships": {"conversation": {"data": {"type": "Conversation", "id": id}}}}}),
    );
    let document = expect_errors(
        &response,
        409,
        &[pointer("/data/relationships/conversation/data")],
    );
    assert!(document["errors"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("`abandoned`"));
    assert_eq!(server.dump(), before);
    assert_eq!(attributes(&server, &id)["item_count"], 1);
}

#[test]
fn archived_conversations_leave_collections_unless_asked_for() {
    let server = TestServer::start();
    let kept = server.create_conversation(
        &server.organisation,
        json!({"channel": "chat", "title": "kept"}),
    );
    let shelved = server.create_conversation(
        &server.organisation,
        json!({"channel": "chat", "title": "shelved"}),
    );
    let path = format!("/api/conversations/{shelved}");
    let archive = |archived: bool| {
        server.patch(
            &path,
            &json!({"data": {"type": "Conversation", "id": shelved, "attributes": {"archived": archived}}}),
        )
    };
    let archived = expect_document(&archive(true), 200)["data"]["attributes"].clone();
    assert_eq!(archived["archived"], true);
    assert!(archived["archived_at"].is_string());
    let titles = |query: &str| titles(&server, query);
    assert_eq!(titles(""), vec!["kept"]);
    assert_eq!(titles("filter[archived]=false"), vec!["kept"]);
    assert_eq!(titles("filter[archived]=true"), vec!["shelved"]);
    assert_eq!(titles("filter[archived][ne]=true"), vec!["kept"]);
    // The related collection is a collection too; the resource itself is still there.
    let related = format!("/api/organisations/{}/conversations", server.organisation);
    assert_eq!(
        expect_document(&server.get(&related), 200)["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    expect_document(&server.get(&path), 200);
    expect_errors(
        &server.get("/api/conversations?filter[archived]=maybe"),
        400,
        &[crate::support::parameter("filter[archived]")],
    );
    // Archiving again keeps the first time; unarchiving clears it.
    let again = expect_document(&archive(true), 200)["data"]["attributes"].clone();
    assert_eq!(again["archived_at"], archived["archived_at"]);
    let back = expect_document(&archive(false), 200)["data"]["attributes"].clone();
    assert_eq!(back["archived_at"], Value::Null);
    assert_eq!(titles("sort=created_at"), vec!["kept", "shelved"]);
    let _ = kept;
}

#[test]
fn derived_counters_are_exact_sortable_and_filterable() {
    let server = TestServer::start();
    let organisation = server.organisation.clone();
    let quiet =
        server.create_conversation(&organisation, json!({"channel": "chat", "title": "quiet"}));
    let busy =
        server.create_conversation(&organisation, json!({"channel": "chat", "title": "busy"}));
    let some =
        server.create_conversation(&organisation, json!({"channel": "chat", "title": "some"}));
    for (conversation, roles) in [
        (&busy, vec!["user", "assistant", "user", "tool", "user"]),
        (&some, vec!["assistant", "user"]),
    ] {
        for role in roles {
            let response = server.post(
                "/api/conversation_items",
                &json!({"data": {"type": "ConversationItem",
                    "attributes": {"role": role, "content": role},
                    "relationships": {"conversation": {"data": {"type": "Conversation", "id": conversation}}}}}),
            );
            expect_document(&response, 201);
        }
    }
    let busy_attributes = attributes(&server, &busy);
    assert_eq!(busy_attributes["item_count"], 5);
    assert_eq!(busy_attributes["user_turn_count"], 3);
    let items = expect_document(
        &server.get(&format!(
            "/api/conversations/{busy}/conversation_items?sort=-occurred_at"
        )),
        200,
    );
    assert_eq!(
        busy_attributes["last_item_at"],
        items["data"][0]["attributes"]["occurred_at"]
    );
    assert_eq!(attributes(&server, &quiet)["last_item_at"], Value::Null);

    let titles = |query: &str| titles(&server, query);
    assert_eq!(titles("sort=-item_count"), vec!["busy", "some", "quiet"]);
    assert_eq!(
        titles("filter[user_turn_count][gte]=1&sort=user_turn_count"),
        vec!["some", "busy"]
    );
    // NULL orders below every value, on both backends: no items first when ascending.
    assert_eq!(titles("sort=last_item_at"), vec!["quiet", "busy", "some"]);
    assert_eq!(titles("sort=-last_item_at"), vec!["some", "busy", "quiet"]);
    assert_eq!(titles("filter[last_item_at][is_null]=true"), vec!["quiet"]);
    // A cursor walk over a nullable key sees every row once, both ways.
    let title = |page: &Value| page["data"][0]["attributes"]["title"].clone();
    let mut page = cursor_page(&server.get("/api/conversations?sort=last_item_at&page[size]=1"));
    let mut seen = vec![title(&page)];
    while let Some(link) = page["links"]["next"].as_str().map(str::to_string) {
        page = cursor_page(&server.get(&link));
        seen.push(title(&page));
    }
    assert_eq!(seen, vec![json!("quiet"), json!("busy"), json!("some")]);
    let mut back = vec![title(&page)];
    while let Some(link) = page["links"]["prev"].as_str().map(str::to_string) {
        page = cursor_page(&server.get(&link));
        back.push(title(&page));
    }
    assert_eq!(back, vec![json!("some"), json!("busy"), json!("quiet")]);

    expect_document(&set_status(&server, &busy, "completed"), 200);
    assert_eq!(titles("filter[duration_seconds][gte]=0"), vec!["busy"]);
    assert_eq!(
        titles("filter[duration_seconds][is_null]=true&sort=created_at"),
        vec!["quiet", "some"]
    );
}
