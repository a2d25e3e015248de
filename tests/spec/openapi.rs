//! The OpenAPI 3.1 description (issue 11): served without a key, the same bytes as the
//! checked-in `openapi.json` and as `confab openapi`, and true of what the server sends and
//! takes: real requests and answers validate against the schemas it documents for them, with
//! statuses it documents. (The document is checked against the OpenAPI 3.1 schema, and fuzzed,
//! in `.ci/run`.)

use std::process::Command;

use serde_json::{json, Value};

use crate::support::{TestServer, MEDIA_TYPE};

const CHECKED_IN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");

fn served(server: &TestServer) -> Value {
    let response = server.request_as(None, "GET", "/api/openapi.json", None);
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    response.json()
}

#[test]
fn the_served_document_is_the_checked_in_copy_and_what_the_command_prints() {
    let server = TestServer::start();
    // No key: the description is public.
    let response = server.request_as(None, "GET", "/api/openapi.json", None);
    assert_eq!(response.status, 200);
    let checked_in = std::fs::read_to_string(CHECKED_IN).expect("openapi.json at the root");
    assert!(
        response.text() == checked_in,
        "openapi.json differs from what the registry generates: run \
         `cargo run -q -- openapi > openapi.json` and review the change"
    );
    let printed = Command::new(env!("CARGO_BIN_EXE_confab"))
        .arg("openapi")
        .output()
        .expect("confab openapi runs");
    assert!(printed.status.success());
    assert!(String::from_utf8_lossy(&printed.stdout) == checked_in);
    // Content negotiation applies here too, as documented (406).
    let refused = server.request(
        "GET",
        "/api/openapi.json",
        &[("Accept", "application/vnd.api+json; charset=utf-8")],
        None,
    );
    assert_eq!(refused.status, 406);
    let head = server.request_as(None, "HEAD", "/api/openapi.json", None);
    assert_eq!(head.status, 200);
    let post = server.request_as(None, "POST", "/api/openapi.json", Some(&json!({})));
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
}

#[test]
fn it_describes_every_type_and_route() {
    let server = TestServer::start();
    let document = served(&server);
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().expect("paths");
    let mut names: Vec<String> = paths.keys().cloned().collect();
    names.sort_unstable();
    let mut expected = vec![
        "/api/openapi.json".to_string(),
        "/api/operations".to_string(),
    ];
    for (collection, relationships) in [
        ("ai_agents", &["conversations", "organisation"][..]),
        ("conversation_items", &["conversation", "organisation"][..]),
        (
            "conversations",
            &["ai_agent", "conversation_items", "organisation"][..],
        ),
        ("organisations", &["conversations"][..]),
    ] {
        expected.push(format!("/api/{collection}"));
        expected.push(format!("/api/{collection}/{{id}}"));
        for relationship in relationships {
            expected.push(format!("/api/{collection}/{{id}}/{relationship}"));
            expected.push(format!(
                "/api/{collection}/{{id}}/relationships/{relationship}"
            ));
        }
    }
    expected.sort_unstable();
    assert_eq!(names, expected);
    let methods = |path: &str| -> Vec<String> {
        let mut methods: Vec<String> = paths[path]
            .as_object()
            .expect("path item")
            .keys()
            .cloned()
            .collect();
        methods.sort();
        methods
    };
    // Organisations are created and deleted by operators only; a to-one link is only replaced.
    assert_eq!(methods("/api/organisations"), ["get", "head"]);
    assert_eq!(methods("/api/conversations"), ["get", "head", "post"]);
    assert_eq!(
        methods("/api/conversations/{id}"),
        ["delete", "get", "head", "patch"]
    );
    assert_eq!(
        methods("/api/conversations/{id}/relationships/conversation_items"),
        ["delete", "get", "head", "patch", "post"]
    );
    assert_eq!(
        methods("/api/conversations/{id}/relationships/organisation"),
        ["get", "head", "patch"]
    );
    // The collection's query parameters come from what the parser accepts.
    let parameters = &document["components"]["parameters"];
    assert_eq!(
        parameters["Conversation.filter.channel.in"]["name"],
        "filter[channel][in]"
    );
    assert_eq!(
        parameters["Conversation.filter.participant.phone"]["name"],
        "filter[participant.phone]"
    );
    assert!(parameters["Conversation.sort"]["schema"]["pattern"]
        .as_str()
        .is_some_and(
            |pattern| pattern.contains("item_count") && pattern.contains("organisation\\.name")
        ));
    assert!(parameters.get("Conversation.filter.metadata").is_none());
    let scheme = document["components"]["securitySchemes"]["bearer"]["description"]
        .as_str()
        .expect("scheme description");
    for scope in ["agent:read", "conversation:write", "organisation:read"] {
        assert!(scheme.contains(scope), "{scope} missing from {scheme}");
    }
}

/// A validator for the schema `name` of the document's components.
fn validator(document: &Value, name: &str) -> jsonschema::Validator {
    let mut root = document.clone();
    root["$ref"] = json!(format!("#/components/schemas/{name}"));
    jsonschema::draft202012::new(&root).expect("the documented schema compiles")
}

fn assert_matches(document: &Value, schema: &str, instance: &Value) {
    let validator = validator(document, schema);
    let problems: Vec<String> = validator
        .iter_errors(instance)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect();
    assert!(problems.is_empty(), "{schema}: {problems:#?}\n{instance:#}");
}

/// The response documented for `method` on `path` at `status`: its schema's name, if it has a body.
fn documented(document: &Value, path: &str, method: &str, status: u16) -> Option<String> {
    let responses = &document["paths"][path][method]["responses"];
    let response = &responses[status.to_string()];
    assert!(
        response.is_object(),
        "{method} {path} does not document {status}"
    );
    let response = match response["$ref"].as_str() {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap_or_default();
            &document["components"]["responses"][name]
        }
        None => response,
    };
    response["content"][MEDIA_TYPE]["schema"]["$ref"]
        .as_str()
        .map(|reference| reference.rsplit('/').next().unwrap_or_default().to_string())
}

#[test]
fn real_requests_and_answers_match_what_is_documented() {
    let server = TestServer::start();
    let document = served(&server);
    let create = json!({"data": {"type": "Conversation",
        "attributes": {"channel": "email", "to_address": "ada@example.com", "title": "Hi",
            "participant": {"email": "ada@example.com"}, "metadata": {"plan": "pro"}},
        "relationships": {"organisation": {"data": {"type": "Organisation", "id": server.organisation}}}}});
    assert_matches(&document, "Conversation.create", &create);
    // The schemas are not vacuous: an unknown member, or a missing required one, breaks them.
    let create_schema = validator(&document, "Conversation.create");
    let unknown =
        json!({"data": {"type": "Conversation", "attributes": {"channel": "chat", "nope": 1}}});
    assert!(!create_schema.is_valid(&unknown));
    assert!(!create_schema.is_valid(&json!({"data": {"type": "Conversation"}})));
    let created = server.post("/api/conversations", &create);
    assert_eq!(created.status, 201);
    let conversation = created.json()["data"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    server.create_item(&conversation, "hello");
    let agent = server.create_agent(json!({}));
    let update = json!({"data": {"type": "Conversation", "id": conversation,
        "attributes": {"summary": "Greeted"},
        "relationships": {"ai_agent": {"data": {"type": "AiAgent", "id": agent}}}}});
    assert_matches(&document, "Conversation.update", &update);
    let organisation = &server.organisation;
    let cases: Vec<(String, &str)> = vec![
        (
            "/api/conversations?include=organisation,conversation_items,ai_agent".into(),
            "/api/conversations",
        ),
        (
            "/api/conversation_items?page[size]=1&include=conversation.organisation".into(),
            "/api/conversation_items",
        ),
        (
            format!("/api/conversations/{conversation}?fields[Conversation]=title"),
            "/api/conversations/{id}",
        ),
        (
            format!("/api/conversations/{conversation}/ai_agent"),
            "/api/conversations/{id}/ai_agent",
        ),
        (
            format!("/api/conversations/{conversation}/relationships/organisation"),
            "/api/conversations/{id}/relationships/organisation",
        ),
        (
            format!("/api/organisations/{organisation}/relationships/conversations"),
            "/api/organisations/{id}/relationships/conversations",
        ),
        (
            format!("/api/organisations/{organisation}/conversations?filter[channel]=email"),
            "/api/organisations/{id}/conversations",
        ),
        ("/api/ai_agents?sort=-created_at".into(), "/api/ai_agents"),
        ("/api/conversations?sort=nope".into(), "/api/conversations"),
        (
            "/api/conversations/7a1c3a56-6a40-4a1e-9d7e-0d6f1f1b2c3d".into(),
            "/api/conversations/{id}",
        ),
    ];
    let updated = server.patch(&format!("/api/conversations/{conversation}"), &update);
    let mut answers = vec![(updated, "/api/conversations/{id}", "patch")];
    for (target, path) in &cases {
        answers.push((server.get(target), path, "get"));
    }
    for (response, path, method) in answers {
        let schema = documented(&document, path, method, response.status)
            .unwrap_or_else(|| panic!("{method} {path} {} has no body", response.status));
        assert_matches(&document, &schema, &response.json());
    }
}
