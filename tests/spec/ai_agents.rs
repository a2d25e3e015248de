//! `AiAgent` (issue 10): its own collection and scopes, a conversation's changeable `ai_agent`
//! (mirrored by `ai_agent_id`), tenancy and publication rules, and the greeting that opens a
//! text conversation. Spec ids: updating-relationship-204-status, create-responses-404-related.

use serde_json::{json, Value};

use crate::support::{expect_document, expect_errors, pointer, TestServer};

fn conversation_with(
    server: &TestServer,
    attributes: Value,
    relationships: Value,
) -> crate::support::http::Response {
    server.post(
        "/api/conversations?include=conversation_items,ai_agent",
        &json!({"data": {"type": "Conversation", "attributes": attributes, "relationships": relationships}}),
    )
}

fn agent_link(agent: &str) -> Value {
    json!({"ai_agent": {"data": {"type": "AiAgent", "id": agent}}})
}

#[test]
fn agents_are_a_type_of_their_own_with_their_own_scopes() {
    let server = TestServer::start();
    let created = server.post(
        "/api/ai_agents",
        &json!({"data": {"type": "AiAgent", "attributes": {"name": "Ada", "description": "Billing",
            "greeting": "Hello! How can I help?", "available_modes": ["text", "voice"], "default_mode": "voice"}}}),
    );
    let document = expect_document(&created, 201);
    let id = document["data"]["id"].as_str().unwrap();
    let attributes = &document["data"]["attributes"];
    let expected = json!({"name": "Ada", "description": "Billing", "greeting": "Hello! How can I help?",
        "default_mode": "voice", "available_modes": ["text", "voice"], "published": false,
        "created_at": attributes["created_at"], "updated_at": attributes["created_at"]});
    assert_eq!(*attributes, expected);
    assert_eq!(
        document["data"]["relationships"]["organisation"]["data"],
        json!({"type": "Organisation", "id": server.organisation})
    );
    // Without modes, an agent has its default mode alone; the default must be among them.
    let plain = expect_document(
        &server.post(
            "/api/ai_agents",
            &json!({"data": {"type": "AiAgent", "attributes": {"name": "Bo"}}}),
        ),
        201,
    );
    assert_eq!(
        plain["data"]["attributes"]["available_modes"],
        json!(["text"])
    );
    for (attributes, at) in [
        (
            json!({"name": "C", "default_mode": "voice", "available_modes": ["text"]}),
            "/data/attributes/default_mode",
        ),
        (
            json!({"name": "C", "available_modes": ["text", "text"]}),
            "/data/attributes/available_modes",
        ),
        (
            json!({"name": "C", "available_modes": ["video"]}),
            "/data/attributes/available_modes",
        ),
        (
            json!({"name": "C", "published": "yes"}),
            "/data/attributes/published",
        ),
    ] {
        expect_errors(
            &server.post(
                "/api/ai_agents",
                &json!({"data": {"type": "AiAgent", "attributes": attributes}}),
            ),
            422,
            &[pointer(at)],
        );
    }
    let narrow =
        json!({"data": {"type": "AiAgent", "id": id, "attributes": {"available_modes": ["text"]}}});
    expect_errors(
        &server.patch(&format!("/api/ai_agents/{id}"), &narrow),
        422,
        &[pointer("/data/attributes/default_mode")],
    );
    // A boolean sort key pages by cursor like any other.
    let first = crate::pagination::cursor_page(
        &server.get("/api/ai_agents?sort=-published,name&page[size]=1"),
    );
    let next = first["links"]["next"]
        .as_str()
        .expect("a next page")
        .to_string();
    let second = crate::pagination::cursor_page(&server.get(&next));
    assert_eq!(second["data"].as_array().unwrap().len(), 1);
    assert_ne!(second["data"][0]["id"], first["data"][0]["id"]);
    let listed = expect_document(
        &server.get("/api/ai_agents?filter[published]=false&sort=name"),
        200,
    );
    assert_eq!(listed["data"].as_array().unwrap().len(), 2);

    // agent:read reads, agent:write writes, conversation scopes do neither.
    let reader = server.add_key(&server.organisation, &["agent:read"], None);
    let chatter = server.add_key(
        &server.organisation,
        &["conversation:read", "conversation:write"],
        None,
    );
    assert_eq!(
        server
            .request_as(Some(&reader), "GET", &format!("/api/ai_agents/{id}"), None)
            .status,
        200
    );
    let post = json!({"data": {"type": "AiAgent", "attributes": {"name": "D"}}});
    assert_eq!(
        server
            .request_as(Some(&reader), "POST", "/api/ai_agents", Some(&post))
            .status,
        403
    );
    assert_eq!(
        server
            .request_as(Some(&chatter), "GET", "/api/ai_agents", None)
            .status,
        403
    );
}

#[test]
fn a_conversation_names_a_published_agent_of_its_own_organisation() {
    let server = TestServer::start();
    let published = server.create_agent(json!({}));
    let draft = server.create_agent(json!({"published": false}));
    let beta = server.add_tenant("Beta", confab::auth::SCOPES);
    let theirs = expect_document(
        &server.request_as(Some(&beta.key), "POST", "/api/ai_agents",
            Some(&json!({"data": {"type": "AiAgent", "attributes": {"name": "Theirs", "published": true}}}))),
        201,
    )["data"]["id"].as_str().unwrap().to_string();

    expect_errors(
        &conversation_with(&server, json!({"channel": "chat"}), agent_link(&draft)),
        422,
        &[pointer("/data/relationships/ai_agent/data")],
    );
    expect_errors(
        &conversation_with(
            &server,
            json!({"channel": "chat", "ai_agent_id": draft}),
            json!({}),
        ),
        422,
        &[pointer("/data/attributes/ai_agent_id")],
    );
    expect_errors(
        &conversation_with(
            &server,
            json!({"channel": "chat", "ai_agent_id": theirs}),
            json!({}),
        ),
        404,
        &[pointer("/data/attributes/ai_agent_id")],
    );
    let created = expect_document(
        &conversation_with(
            &server,
            json!({"channel": "email", "to_address": "a@example.com"}),
            agent_link(&published),
        ),
        201,
    );
    let id = created["data"]["id"].as_str().unwrap();
    assert_eq!(created["data"]["attributes"]["ai_agent_id"], published);

    // Through the relationship endpoint: 204, mirrored by the attribute.
    let relationship = format!("/api/conversations/{id}/relationships/ai_agent");
    let other = server.create_agent(json!({"name": "Eve"}));
    let switch = server.patch(
        &relationship,
        &json!({"data": {"type": "AiAgent", "id": other}}),
    );
    assert_eq!(switch.status, 204, "{}", switch.text());
    let now = expect_document(&server.get(&format!("/api/conversations/{id}")), 200);
    assert_eq!(now["data"]["attributes"]["ai_agent_id"], other);
    expect_errors(
        &server.patch(
            &relationship,
            &json!({"data": {"type": "AiAgent", "id": theirs}}),
        ),
        404,
        &[pointer("/data")],
    );
    expect_errors(
        &server.patch(
            &relationship,
            &json!({"data": {"type": "AiAgent", "id": draft}}),
        ),
        422,
        &[pointer("/data")],
    );
    // Through the attribute, and back to none through the resource's relationships.
    let by_attribute = json!({"data": {"type": "Conversation", "id": id, "attributes": {"ai_agent_id": published}}});
    let patched = expect_document(
        &server.patch(&format!("/api/conversations/{id}"), &by_attribute),
        200,
    );
    assert_eq!(
        patched["data"]["relationships"]["ai_agent"]["data"]["id"],
        published
    );
    let none = json!({"data": {"type": "Conversation", "id": id, "relationships": {"ai_agent": {"data": null}}}});
    let cleared = expect_document(
        &server.patch(&format!("/api/conversations/{id}"), &none),
        200,
    );
    assert_eq!(cleared["data"]["attributes"]["ai_agent_id"], Value::Null);
    assert_eq!(
        cleared["data"]["relationships"]["ai_agent"]["data"],
        Value::Null
    );

    // The agent's conversations, as a related collection; deleting the agent unlinks them.
    let again = json!({"data": {"type": "AiAgent", "id": other}});
    assert_eq!(server.patch(&relationship, &again).status, 204);
    let theirs_listed = expect_document(
        &server.get(&format!("/api/ai_agents/{other}/conversations")),
        200,
    );
    assert_eq!(theirs_listed["data"][0]["id"], id);
    assert_eq!(
        server.delete(&format!("/api/ai_agents/{other}")).status,
        204
    );
    let after = expect_document(&server.get(&format!("/api/conversations/{id}")), 200);
    assert_eq!(after["data"]["attributes"]["ai_agent_id"], Value::Null);
}

#[test]
fn a_greeting_opens_text_conversations_in_the_same_transaction() {
    let server = TestServer::start();
    let agent = server.create_agent(json!({"greeting": "Hi, I'm Ada."}));
    let created = expect_document(
        &conversation_with(&server, json!({"channel": "widget"}), agent_link(&agent)),
        201,
    );
    let id = created["data"]["id"].as_str().unwrap();
    assert_eq!(created["data"]["attributes"]["item_count"], 1);
    assert_eq!(created["data"]["attributes"]["user_turn_count"], 0);
    let included = created["included"].as_array().unwrap();
    let greeting = included
        .iter()
        .find(|r| r["type"] == "ConversationItem")
        .expect("the greeting");
    assert_eq!(greeting["attributes"]["role"], "assistant");
    assert_eq!(greeting["attributes"]["content"], "Hi, I'm Ada.");
    assert_eq!(greeting["attributes"]["position"], 1);
    assert_eq!(
        greeting["attributes"]["parts"],
        json!([{"type": "text", "text": "Hi, I'm Ada."}])
    );
    assert_eq!(greeting["relationships"]["conversation"]["data"]["id"], id);
    assert_eq!(
        created["data"]["attributes"]["last_item_at"],
        greeting["attributes"]["occurred_at"]
    );
    // A call or an email does not open with it; nor does an agent without one.
    let call = expect_document(
        &conversation_with(
            &server,
            json!({"channel": "telephone", "participant": {"phone": "+14155550100"}}),
            agent_link(&agent),
        ),
        202,
    );
    assert_eq!(call["data"]["attributes"]["item_count"], 0);
    let silent = server.create_agent(json!({"name": "Quiet"}));
    let chat = expect_document(
        &conversation_with(&server, json!({"channel": "chat"}), agent_link(&silent)),
        201,
    );
    assert_eq!(chat["data"]["attributes"]["item_count"], 0);
    assert!(chat["included"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["type"] != "ConversationItem"));
}
