//! Spec section: creating, updating and deleting resources.

use serde_json::{json, Value};

use crate::support::{expect_document, expect_errors, no_source, pointer, TestServer};

pub(crate) fn conversation(organisation: &str, attributes: Value) -> Value {
    json!({"data": {
        "type": "Conversation",
        "attributes": attributes,
        "relationships": {"organisation": {"data": {"type": "Organisation", "id": organisation}}}
    }})
}

pub(crate) fn count(server: &TestServer, path: &str) -> usize {
    expect_document(&server.get(path), 200)["data"]
        .as_array()
        .unwrap()
        .len()
}

#[test]
fn create_answers_201_with_location_and_the_resource() {
    // create-responses-201-status, create-responses-201-location,
    // create-responses-201-document, create-responses-201-self
    let server = TestServer::start();
    let organisation = server.organisation.clone();
    let mut request = conversation(&organisation, json!({"channel": "webrtc", "mode": "voice"}));
    request["data"]["lid"] = json!("local-1");
    request["meta"] = json!({}); // some clients always send top-level meta
    let response = server.post("/api/conversations", &request);
    let document = expect_document(&response, 201);
    let data = &document["data"];
    let id = data["id"].as_str().unwrap();
    assert_eq!(
        response.header("location"),
        Some(format!("/api/conversations/{id}").as_str())
    );
    assert_eq!(
        data["links"]["self"],
        json!(response.header("location").unwrap())
    );
    // The 1.1 schema forbids `lid` beside `id` in a response resource.
    assert!(data.get("lid").is_none());
    assert_eq!(data["attributes"]["channel"], json!("webrtc"));
    assert_eq!(data["attributes"]["mode"], json!("voice"));
    assert_eq!(data["attributes"]["status"], json!("active"));
    assert_eq!(data["attributes"]["metadata"], json!({}));
    assert_eq!(data["attributes"]["title"], Value::Null);
    assert_eq!(
        data["relationships"]["organisation"]["data"],
        json!({"type": "Organisation", "id": organisation})
    );
    let fetched = expect_document(&server.get(&format!("/api/conversations/{id}")), 200);
    assert_eq!(fetched["data"]["attributes"], data["attributes"]);
}

#[test]
fn create_honours_include_and_fields() {
    let server = TestServer::start();
    let organisation = server.organisation.clone();
    let response = server.post(
        "/api/conversations?include=organisation&fields[Organisation]=name",
        &conversation(&organisation, json!({"channel": "chat"})),
    );
    let document = expect_document(&response, 201);
    assert_eq!(
        document["included"][0]["attributes"],
        json!({"name": "Acme"})
    );
}

#[test]
fn every_invalid_member_is_a_422_with_its_pointer() {
    let server = TestServer::start();
    let organisation = server.organisation.clone();
    let response = server.post(
        "/api/conversations",
        &conversation(
            &organisation,
            json!({
                "channel": "pigeon",
                "mode": 3,
                "title": ["not", "text"],
                "ai_agent_id": "not-a-uuid",
                "metadata": "plan=pro",
                "public_id": "mine",
                "created_at": "2020-01-01T00:00:00Z",
                "colour": "red",
                "@ignored": "at-members are skipped",
            }),
        ),
    );
    let document = expect_errors(
        &response,
        422,
        &[
            pointer("/data/attributes/channel"),
            pointer("/data/attributes/mode"),
            pointer("/data/attributes/title"),
            pointer("/data/attributes/ai_agent_id"),
            pointer("/data/attributes/metadata"),
            pointer("/data/attributes/public_id"),
            pointer("/data/attributes/created_at"),
            pointer("/data/attributes/colour"),
        ],
    );
    assert!(document["errors"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("chat, text, email"));
    // Nothing was written.
    assert_eq!(count(&server, "/api/conversations"), 0);
}

#[test]
fn required_members_are_enforced() {
    let server = TestServer::start();
    // The organisation defaults to the key's own; the channel has no default.
    let response = server.post(
        "/api/conversations",
        &json!({"data": {"type": "Conversation"}}),
    );
    expect_errors(&response, 422, &[pointer("/data")]);
    let organisation = server.organisation.clone();
    let response = server.post(
        "/api/conversations",
        &conversation(&organisation, json!({"channel": null})),
    );
    expect_errors(&response, 422, &[pointer("/data/attributes/channel")]);
    let response = server.post(
        "/api/conversations",
        &json!({"data": {"type": "Conversation", "attributes": {"channel": "chat"},
                         "relationships": {"organisation": {"data": null}}}}),
    );
    expect_errors(
        &response,
        422,
        &[pointer("/data/relationships/organisation/data")],
    );
    let response = server.post(
        "/api/conversation_items",
        &json!({"data": {"type": "ConversationItem", "attributes": {"role": "user", "content": "x"}}}),
    );
    expect_errors(&response, 422, &[pointer("/data")]);
}

#[test]
fn malformed_or_misshapen_documents_are_400() {
    let server = TestServer::start();
    let send = |body: &[u8]| {
        server.request(
            "POST",
            "/api/conversations",
            &[("Content-Type", "application/vnd.api+json")],
            Some(body),
        )
    };
    expect_errors(&send(b"{\"data\": "), 400, &[no_source()]);
    expect_errors(&send(b""), 400, &[no_source()]);
    expect_errors(&send(b"[]"), 400, &[pointer("")]);
    expect_errors(&send(b"{}"), 400, &[pointer("")]);
    expect_errors(&send(b"{\"data\": []}"), 400, &[pointer("/data")]);
    expect_errors(
        &send(b"{\"data\": {\"attributes\": {\"channel\": \"chat\"}}}"),
        400,
        &[pointer("/data")],
    );
    expect_errors(
        &send(b"{\"data\": {\"type\": 5}}"),
        400,
        &[pointer("/data/type")],
    );
    expect_errors(
        &send(b"{\"data\": {\"type\": \"Conversation\", \"attributes\": []}}"),
        400,
        &[pointer("/data/attributes")],
    );
    assert_eq!(count(&server, "/api/conversations"), 0);
}

#[test]
fn a_type_that_does_not_match_the_endpoint_is_409() {
    // create-responses-409-bad-type
    let server = TestServer::start();
    let response = server.post(
        "/api/conversations",
        &json!({"data": {"type": "Organisation", "attributes": {"name": "x"}}}),
    );
    expect_errors(&response, 409, &[pointer("/data/type")]);
}

#[test]
fn a_missing_related_resource_is_404() {
    // create-responses-404-related
    let server = TestServer::start();
    let response = server.post(
        "/api/conversations",
        &conversation(
            "00000000-0000-4000-8000-000000000000",
            json!({"channel": "chat"}),
        ),
    );
    expect_errors(
        &response,
        404,
        &[pointer("/data/relationships/organisation/data")],
    );
    let response = server.post(
        "/api/conversation_items",
        &json!({"data": {"type": "ConversationItem", "attributes": {"role": "user", "content": "x"},
                         "relationships": {"conversation": {"data": {"type": "Conversation", "id": "nope"}}}}}),
    );
    expect_errors(
        &response,
        404,
        &[pointer("/data/relationships/conversation/data")],
    );
}

#[test]
fn relationship_members_are_checked() {
    let server = TestServer::start();
    let organisation = server.organisation.clone();
    let conversation_id = server.create_conversation(&organisation, json!({"channel": "chat"}));
    let response = server.post(
        "/api/conversation_items",
        &json!({"data": {"type": "ConversationItem", "attributes": {"role": "user", "content": "x"},
        "relationships": {
            "conversation": {"data": {"type": "Organisation", "id": conversation_id}},
            "organisation": {"data": {"type": "Organisation", "id": organisation}},
            "author": {"data": null},
            "@meta": {}
        }}}),
    );
    expect_errors(
        &response,
        422,
        &[
            pointer("/data/relationships/conversation/data/type"),
            pointer("/data/relationships/organisation"),
            pointer("/data/relationships/author"),
        ],
    );
    let response = server.post(
        "/api/conversations",
        &json!({"data": {"type": "Conversation", "attributes": {"channel": "chat"},
                         "relationships": {"organisation": {"id": organisation}}}}),
    );
    expect_errors(
        &response,
        422,
        &[pointer("/data/relationships/organisation")],
    );
}

#[test]
fn item_positions_grow_and_are_never_reused() {
    let server = TestServer::start();
    let organisation = server.organisation.clone();
    let conversation_id = server.create_conversation(&organisation, json!({"channel": "chat"}));
    let other = server.create_conversation(&organisation, json!({"channel": "chat"}));
    let first = server.create_item(&conversation_id, "one");
    let second = server.create_item(&conversation_id, "two");
    assert_eq!(
        server
            .delete(&format!("/api/conversation_items/{second}"))
            .status,
        204
    );
    let third = server.create_item(&conversation_id, "three");
    let elsewhere = server.create_item(&other, "elsewhere");
    let position = |id: &str| {
        expect_document(&server.get(&format!("/api/conversation_items/{id}")), 200)["data"]
            ["attributes"]["position"]
            .clone()
    };
    assert_eq!(
        (position(&first), position(&third), position(&elsewhere)),
        (json!(1), json!(3), json!(1))
    );
    let item = expect_document(
        &server.get(&format!("/api/conversation_items/{third}")),
        200,
    );
    assert_eq!(
        item["data"]["relationships"]["organisation"]["data"]["id"],
        json!(organisation)
    );
}

#[test]
fn timestamps_are_utc_with_microseconds() {
    let server = TestServer::start();
    let organisation = server.organisation.clone();
    let conversation_id = server.create_conversation(&organisation, json!({"channel": "chat"}));
    let response = server.post(
        "/api/conversation_items",
        &json!({"data": {"type": "ConversationItem",
                         "attributes": {"role": "assistant", "content": "hi", "occurred_at": "2026-01-02T03:04:05.1234567+02:00"},
                         "relationships": {"conversation": {"data": {"type": "Conversation", "id": conversation_id}}}}}),
    );
    let document = expect_document(&response, 201);
    assert_eq!(
        document["data"]["attributes"]["occurred_at"],
        json!("2026-01-02T01:04:05.123456Z")
    );
    let response = server.post(
        "/api/conversation_items",
        &json!({"data": {"type": "ConversationItem",
                         "attributes": {"role": "assistant", "content": "hi", "occurred_at": "yesterday"},
                         "relationships": {"conversation": {"data": {"type": "Conversation", "id": conversation_id}}}}}),
    );
    expect_errors(&response, 422, &[pointer("/data/attributes/occurred_at")]);
}

#[test]
fn update_changes_only_the_members_sent() {
    // update-resource-attributes, update-interpret-resource-attributes, update-resource-200-status
    let server = TestServer::start();
    let organisation = server.organisation.clone();
    let id = server.create_conversation(
        &organisation,
        json!({"channel": "chat", "title": "Before", "metadata": {"a": 1}}),
    );
    let before = expect_document(&server.get(&format!("/api/conversations/{id}")), 200);
    let response = server.patch(
        &format!("/api/conversations/{id}"),
        &json!({"data": {"type": "Conversation", "id": id, "attributes": {"status": "completed", "title": null}}}),
    );
    let after = expect_document(&response, 200);
    let (old, new) = (&before["data"]["attributes"], &after["data"]["attributes"]);
    assert_eq!(new["status"], json!("completed"));
    assert_eq!(new["title"], Value::Null);
    for unchanged in [
        "channel",
        "mode",
        "metadata",
        "public_id",
        "created_at",
        "ai_agent_id",
    ] {
        assert_eq!(new[unchanged], old[unchanged], "{unchanged} changed");
    }
    assert!(new["updated_at"].as_str() >= old["updated_at"].as_str());
    assert_eq!(
        after["data"]["relationships"],
        before["data"]["relationships"]
    );
    assert_eq!(
        expect_document(&server.get(&format!("/api/conversations/{id}")), 200)["data"],
        after["data"]
    );
}

#[test]
fn update_refuses_mismatches_and_read_only_members() {
    // update-resource-409-no-match, update-patch-resource-members, update-resource-404-status,
    // update-resource-403-status
    let server = TestServer::start();
    let organisation = server.organisation.clone();
    let other = server.create_organisation("Other");
    let id = server.create_conversation(&organisation, json!({"channel": "chat"}));
    let path = format!("/api/conversations/{id}");
    expect_errors(
        &server.patch(&path, &json!({"data": {"type": "Organisation", "id": id}})),
        409,
        &[pointer("/data/type")],
    );
    expect_errors(
        &server.patch(&path, &json!({"data": {"type": "Conversation", "id": "00000000-0000-4000-8000-000000000000"}})),
        409,
        &[pointer("/data/id")],
    );
    expect_errors(
        &server.patch(&path, &json!({"data": {"type": "Conversation"}})),
        400,
        &[pointer("/data")],
    );
    // A document that breaks the rules is refused before anything is compared (422)...
    let bad_value = json!({"data": {"type": "Conversation", "id": id,
        "attributes": {"public_id": "x", "status": "gone"},
        "relationships": {"organisation": {"data": {"type": "Organisation", "id": other}}}}});
    expect_errors(
        &server.patch(&path, &bad_value),
        422,
        &[pointer("/data/attributes/status")],
    );
    // ...then against what is stored: 403 for the read-only member, 404 for an owner this key
    // cannot see; mixed statuses make a 400 (error-general).
    let changes = json!({"data": {"type": "Conversation", "id": id,
        "attributes": {"public_id": "x"},
        "relationships": {"organisation": {"data": {"type": "Organisation", "id": other}}}}});
    expect_errors(
        &server.patch(&path, &changes),
        400,
        &[
            pointer("/data/attributes/public_id"),
            pointer("/data/relationships/organisation/data"),
        ],
    );
    let missing = "00000000-0000-4000-8000-000000000000";
    expect_errors(
        &server.patch(&format!("/api/conversations/{missing}"), &json!({"data": {"type": "Conversation", "id": missing, "attributes": {"status": "completed"}}})),
        404,
        &[no_source()],
    );
    let unchanged = expect_document(&server.get(&path), 200);
    assert_eq!(unchanged["data"]["attributes"]["status"], json!("active"));
}

#[test]
fn organisations_are_made_and_removed_by_operators_only() {
    let server = TestServer::start();
    let organisation = server.organisation.clone();
    // Over HTTP a key may rename its organisation, not create, delete or re-slug it.
    let create = server.post(
        "/api/organisations",
        &json!({"data": {"type": "Organisation", "attributes": {"name": "B"}}}),
    );
    expect_errors(&create, 403, &[no_source()]);
    expect_errors(
        &server.delete(&format!("/api/organisations/{organisation}")),
        403,
        &[no_source()],
    );
    let path = format!("/api/organisations/{organisation}");
    let renamed = server.patch(&path, &json!({"data": {"type": "Organisation", "id": organisation, "attributes": {"name": "Acme Ltd"}}}));
    assert_eq!(
        expect_document(&renamed, 200)["data"]["attributes"]["name"],
        json!("Acme Ltd")
    );
    let reslug = server.patch(&path, &json!({"data": {"type": "Organisation", "id": organisation, "attributes": {"slug": "other"}}}));
    expect_errors(&reslug, 403, &[pointer("/data/attributes/slug")]);
    assert_eq!(count(&server, "/api/organisations"), 1);

    // At the operator's level slugs are unique and checked.
    let mut conn = server.connection();
    let taken = confab::operators::create_organisation(&mut conn, "Another Acme", Some("acme"));
    assert_eq!(taken.map_err(|e| e.status()), Err(409));
    let invalid = confab::operators::create_organisation(&mut conn, "B", Some("Not A Slug"));
    assert_eq!(invalid.map_err(|e| e.status()), Err(422));
    assert!(
        confab::operators::create_organisation(&mut conn, "Acme", None).is_err(),
        "derived slug acme is taken"
    );
}

#[test]
fn delete_answers_204_then_404() {
    // delete-204-status, delete-404-status
    let server = TestServer::start();
    let organisation = server.organisation.clone();
    let id = server.create_conversation(&organisation, json!({"channel": "chat"}));
    let response = server.delete(&format!("/api/conversations/{id}"));
    assert_eq!(response.status, 204);
    assert_eq!(response.header("vary"), Some("Accept"));
    expect_errors(
        &server.get(&format!("/api/conversations/{id}")),
        404,
        &[no_source()],
    );
    expect_errors(
        &server.delete(&format!("/api/conversations/{id}")),
        404,
        &[no_source()],
    );
}

#[test]
fn deleting_an_owner_removes_what_it_owns() {
    let server = TestServer::start();
    let organisation = server.organisation.clone();
    let conversation_id = server.create_conversation(&organisation, json!({"channel": "chat"}));
    let item = server.create_item(&conversation_id, "goes");
    let kept_conversation = server.create_conversation(&organisation, json!({"channel": "chat"}));
    let kept_item = server.create_item(&kept_conversation, "stays");

    // Deleting a conversation over HTTP removes its items, and only those.
    assert_eq!(
        server
            .delete(&format!("/api/conversations/{conversation_id}"))
            .status,
        204
    );
    expect_errors(
        &server.get(&format!("/api/conversation_items/{item}")),
        404,
        &[no_source()],
    );
    expect_document(
        &server.get(&format!("/api/conversation_items/{kept_item}")),
        200,
    );
    assert_eq!(count(&server, "/api/conversation_items"), 1);

    // Deleting an organisation (operators only) removes its conversations, items and keys.
    let other = server.add_tenant("Other", confab::auth::SCOPES);
    let other_conversation = server.request_as(
        Some(&other.key),
        "POST",
        "/api/conversations",
        Some(&json!({"data": {"type": "Conversation", "attributes": {"channel": "chat"}}})),
    );
    assert_eq!(other_conversation.status, 201);
    confab::operators::delete_organisation(&mut server.connection(), &server.organisation).unwrap();
    use confab::store::schema::{api_keys, conversation_items, conversations, organisations};
    use diesel::prelude::*;
    let mut conn = server.connection();
    let rows = (
        organisations::table.count().get_result::<i64>(&mut *conn),
        conversations::table.count().get_result::<i64>(&mut *conn),
        conversation_items::table
            .count()
            .get_result::<i64>(&mut *conn),
        api_keys::table.count().get_result::<i64>(&mut *conn),
    );
    assert_eq!(rows, (Ok(1), Ok(1), Ok(0), Ok(1)));
    // Acme's key went with it: refused once the key cache (2 s) lets go of it.
    let deleted_at = std::time::Instant::now();
    while server.get("/api/conversations").status != 401 {
        assert!(deleted_at.elapsed() < std::time::Duration::from_secs(3));
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    expect_errors(
        &server.get("/api/conversations"),
        401,
        &[crate::support::header("Authorization")],
    );
}

/// A resource identifier's `id` is compared as the string it is: an uppercase spelling of a
/// related resource's id names nothing (404 at its linkage), and nothing is created.
/// (create-responses-404-related)
#[test]
fn related_ids_are_matched_as_served() {
    let server = TestServer::start();
    let organisation = server.organisation.clone();
    let response = server.post(
        "/api/conversations",
        &conversation(&organisation.to_uppercase(), json!({"channel": "chat"})),
    );
    expect_errors(
        &response,
        404,
        &[crate::support::pointer(
            "/data/relationships/organisation/data",
        )],
    );
    let listed = expect_document(&server.get("/api/conversations"), 200);
    assert_eq!(listed["data"], json!([]));
    let response = server.post(
        "/api/conversations",
        &conversation(&organisation, json!({"channel": "chat"})),
    );
    let document = expect_document(&response, 201);
    assert_eq!(
        document["data"]["relationships"]["organisation"]["data"]["id"],
        json!(organisation)
    );
}
