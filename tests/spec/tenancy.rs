//! Organisations own their data: API keys (401), scopes (403) and tenant isolation (404).

use serde_json::{json, Value};

use crate::support::{
    expect_document, expect_errors, header, pointer, Response, Tenant, TestServer,
};
use confab::auth::SCOPES;

const NEVER_EXISTED: &str = "00000000-0000-4000-8000-00000000abcd";

/// Organisation B's data, seen from A's key (the server's own).
struct Other {
    tenant: Tenant,
    conversation: String,
    item: String,
    secrets: Vec<String>,
}

fn other_organisation(server: &TestServer) -> Other {
    let tenant = server.add_tenant("Beta Secret Org", SCOPES);
    let created = server.request_as(
        Some(&tenant.key),
        "POST",
        "/api/conversations",
        Some(&json!({"data": {"type": "Conversation",
            "attributes": {"channel": "chat", "title": "beta secret title", "metadata": {"beta": "secret"}}}})),
    );
    let conversation = expect_document(&created, 201)["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let created = server.request_as(
        Some(&tenant.key),
        "POST",
        "/api/conversation_items",
        Some(&json!({"data": {"type": "ConversationItem", "attributes": {"role": "user", "content": "beta secret content"},
            "relationships": {"conversation": {"data": {"type": "Conversation", "id": conversation}}}}})),
    );
    let item = expect_document(&created, 201)["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let secrets = vec![
        tenant.organisation.clone(),
        conversation.clone(),
        item.clone(),
        "beta".into(),
        "Beta".into(),
    ];
    Other {
        tenant,
        conversation,
        item,
        secrets,
    }
}

fn assert_nothing_leaks(response: &Response, other: &Other, context: &str) {
    assert_text_hides(&response.text(), other, context);
}

fn assert_text_hides(text: &str, other: &Other, context: &str) {
    for secret in &other.secrets {
        assert!(
            !text.contains(secret.as_str()),
            "{context}: `{secret}` leaked in {text}"
        );
    }
}

/// The same request for B's id and for an id that never existed answer alike.
fn assert_same_as_missing(
    server: &TestServer,
    method: &str,
    template: &str,
    id: &str,
    body: Option<&str>,
    other: &Other,
) -> Response {
    let send = |id: &str| {
        let body: Option<Value> =
            body.map(|body| serde_json::from_str(&body.replace("{id}", id)).unwrap());
        server.request_as(
            Some(&server.key),
            method,
            &template.replace("{id}", id),
            body.as_ref(),
        )
    };
    let theirs = send(id);
    let missing = send(NEVER_EXISTED);
    let context = format!("{method} {template}");
    assert_eq!(theirs.status, 404, "{context}: {}", theirs.text());
    assert_eq!(missing.status, 404, "{context}");
    assert_eq!(
        theirs.text().replace(id, "ID"),
        missing.text().replace(NEVER_EXISTED, "ID"),
        "{context}: another organisation's id is distinguishable from a missing one"
    );
    // The error may echo the id the client sent; nothing else of B's may appear.
    assert_text_hides(&theirs.text().replace(id, "ID"), other, &context);
    theirs
}

#[test]
fn another_organisations_data_is_not_found_anywhere() {
    let server = TestServer::start();
    let mine = server.create_conversation(
        &server.organisation,
        json!({"channel": "chat", "title": "mine"}),
    );
    server.create_item(&mine, "my content");
    let other = other_organisation(&server);
    let (conversation, item, organisation) = (
        other.conversation.clone(),
        other.item.clone(),
        other.tenant.organisation.clone(),
    );

    for (template, id) in [
        ("/api/conversations/{id}", &conversation),
        ("/api/conversation_items/{id}", &item),
        ("/api/organisations/{id}", &organisation),
        (
            "/api/conversations/{id}?include=conversation_items.organisation",
            &conversation,
        ),
        ("/api/conversations/{id}/organisation", &conversation),
        ("/api/conversations/{id}/conversation_items", &conversation),
        ("/api/conversation_items/{id}/conversation", &item),
        ("/api/conversation_items/{id}/organisation", &item),
        ("/api/organisations/{id}/conversations", &organisation),
        (
            "/api/conversations/{id}/relationships/organisation",
            &conversation,
        ),
        (
            "/api/conversations/{id}/relationships/conversation_items",
            &conversation,
        ),
        (
            "/api/conversation_items/{id}/relationships/conversation",
            &item,
        ),
        (
            "/api/organisations/{id}/relationships/conversations",
            &organisation,
        ),
    ] {
        assert_same_as_missing(&server, "GET", template, id, None, &other);
    }
    // Writes.
    assert_same_as_missing(
        &server,
        "PATCH",
        "/api/conversations/{id}",
        &conversation,
        Some(
            r#"{"data": {"type": "Conversation", "id": "{id}", "attributes": {"status": "completed"}}}"#,
        ),
        &other,
    );
    assert_same_as_missing(
        &server,
        "PATCH",
        "/api/organisations/{id}",
        &organisation,
        Some(
            r#"{"data": {"type": "Organisation", "id": "{id}", "attributes": {"name": "hijacked"}}}"#,
        ),
        &other,
    );
    assert_same_as_missing(
        &server,
        "DELETE",
        "/api/conversation_items/{id}",
        &item,
        None,
        &other,
    );
    assert_same_as_missing(
        &server,
        "DELETE",
        "/api/conversations/{id}",
        &conversation,
        None,
        &other,
    );
    let naming_their_organisation = assert_same_as_missing(
        &server,
        "POST",
        "/api/conversations",
        &organisation,
        Some(
            r#"{"data": {"type": "Conversation", "attributes": {"channel": "chat"},
            "relationships": {"organisation": {"data": {"type": "Organisation", "id": "{id}"}}}}}"#,
        ),
        &other,
    );
    expect_errors(
        &naming_their_organisation,
        404,
        &[pointer("/data/relationships/organisation/data")],
    );
    let under_their_conversation = assert_same_as_missing(
        &server,
        "POST",
        "/api/conversation_items",
        &conversation,
        Some(
            r#"{"data": {"type": "ConversationItem", "attributes": {"role": "user", "content": "x"},
            "relationships": {"conversation": {"data": {"type": "Conversation", "id": "{id}"}}}}}"#,
        ),
        &other,
    );
    expect_errors(
        &under_their_conversation,
        404,
        &[pointer("/data/relationships/conversation/data")],
    );

    // Collections, with every include path, show only A's own data.
    for path in [
        "/api/conversations?include=conversation_items.organisation,organisation",
        "/api/conversation_items?include=conversation.organisation,organisation",
        "/api/organisations?include=conversations.conversation_items",
    ] {
        let response = server.get(path);
        let document = expect_document(&response, 200);
        assert_eq!(document["data"].as_array().unwrap().len(), 1, "{path}");
        assert_nothing_leaks(&response, &other, path);
    }

    // B's data is untouched, and B sees it.
    let theirs = server.request_as(
        Some(&other.tenant.key),
        "GET",
        &format!("/api/conversations/{conversation}?include=conversation_items"),
        None,
    );
    let document = expect_document(&theirs, 200);
    assert_eq!(
        document["data"]["attributes"]["title"],
        json!("beta secret title")
    );
    assert_eq!(document["data"]["attributes"]["status"], json!("active"));
    assert_eq!(document["included"][0]["id"], json!(item));
    let theirs = server.request_as(Some(&other.tenant.key), "GET", "/api/organisations", None);
    assert_eq!(
        expect_document(&theirs, 200)["data"][0]["attributes"]["name"],
        json!("Beta Secret Org")
    );
}

#[test]
fn a_conversation_lands_in_the_keys_organisation() {
    let server = TestServer::start();
    let other = server.add_tenant("Other", SCOPES);
    let response = server.request_as(
        Some(&other.key),
        "POST",
        "/api/conversations",
        Some(&json!({"data": {"type": "Conversation", "attributes": {"channel": "chat"}}})),
    );
    let document = expect_document(&response, 201);
    assert_eq!(
        document["data"]["relationships"]["organisation"]["data"],
        json!({"type": "Organisation", "id": other.organisation})
    );
    // And A does not see it.
    assert_eq!(
        expect_document(&server.get("/api/conversations"), 200)["data"],
        json!([])
    );
}

fn expect_missing_scope(response: &Response, scope: &str) {
    let document = expect_errors(response, 403, &[header("Authorization")]);
    assert_eq!(document["errors"][0]["code"], json!("missing_scope"));
    let detail = document["errors"][0]["detail"].as_str().unwrap();
    assert!(detail.contains(&format!("`{scope}`")), "{detail}");
}

#[test]
fn each_missing_scope_is_a_403_that_names_it() {
    let server = TestServer::start();
    let organisation = server.organisation.clone();
    let conversation = server.create_conversation(&organisation, json!({"channel": "chat"}));
    let item = server.create_item(&conversation, "hello");
    let without = |missing: &str| {
        let scopes: Vec<&str> = SCOPES
            .iter()
            .copied()
            .filter(|scope| *scope != missing)
            .collect();
        server.add_key(&organisation, &scopes, None)
    };
    let new_conversation =
        json!({"data": {"type": "Conversation", "attributes": {"channel": "chat"}}});
    let patch_conversation = json!({"data": {"type": "Conversation", "id": conversation, "attributes": {"status": "completed"}}});
    let patch_organisation = json!({"data": {"type": "Organisation", "id": organisation, "attributes": {"name": "Renamed"}}});

    let key = without("conversation:read");
    for path in [
        "/api/conversations".to_string(),
        format!("/api/conversation_items/{item}"),
        format!("/api/organisations/{organisation}/conversations"),
        format!("/api/organisations/{organisation}?include=conversations"),
        format!("/api/organisations/{organisation}/relationships/conversations"),
    ] {
        expect_missing_scope(
            &server.request_as(Some(&key), "GET", &path, None),
            "conversation:read",
        );
    }
    expect_document(
        &server.request_as(Some(&key), "GET", "/api/organisations", None),
        200,
    );

    let key = without("conversation:write");
    expect_missing_scope(
        &server.request_as(
            Some(&key),
            "POST",
            "/api/conversations",
            Some(&new_conversation),
        ),
        "conversation:write",
    );
    expect_missing_scope(
        &server.request_as(
            Some(&key),
            "PATCH",
            &format!("/api/conversations/{conversation}"),
            Some(&patch_conversation),
        ),
        "conversation:write",
    );
    expect_missing_scope(
        &server.request_as(
            Some(&key),
            "DELETE",
            &format!("/api/conversation_items/{item}"),
            None,
        ),
        "conversation:write",
    );
    expect_document(
        &server.request_as(Some(&key), "GET", "/api/conversations", None),
        200,
    );

    let key = without("organisation:read");
    for path in [
        "/api/organisations".to_string(),
        format!("/api/conversations/{conversation}/organisation"),
        "/api/conversations?include=organisation".to_string(),
        format!("/api/conversation_items/{item}?include=conversation.organisation"),
    ] {
        expect_missing_scope(
            &server.request_as(Some(&key), "GET", &path, None),
            "organisation:read",
        );
    }
    expect_document(
        &server.request_as(Some(&key), "GET", "/api/conversations", None),
        200,
    );

    let key = without("organisation:write");
    expect_missing_scope(
        &server.request_as(
            Some(&key),
            "PATCH",
            &format!("/api/organisations/{organisation}"),
            Some(&patch_organisation),
        ),
        "organisation:write",
    );
    expect_document(
        &server.request_as(Some(&key), "GET", "/api/organisations", None),
        200,
    );

    // Nothing was written by the refused requests.
    let document = expect_document(
        &server.get(&format!("/api/conversations/{conversation}")),
        200,
    );
    assert_eq!(document["data"]["attributes"]["status"], json!("active"));
    assert_eq!(
        expect_document(&server.get("/api/conversations"), 200)["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

fn expect_unauthorized(response: &Response, invalid_token: bool) {
    expect_errors(response, 401, &[header("Authorization")]);
    let challenge = response
        .header("www-authenticate")
        .expect("WWW-Authenticate");
    assert!(
        challenge.starts_with("Bearer realm=\"confab\""),
        "{challenge}"
    );
    assert_eq!(
        challenge.contains("error=\"invalid_token\""),
        invalid_token,
        "{challenge}"
    );
}

#[test]
fn requests_without_a_usable_key_are_401() {
    let server = TestServer::start();
    let send = |authorization: Option<&str>| {
        let mut headers = vec![("Accept", "application/vnd.api+json")];
        if let Some(authorization) = authorization {
            headers.push(("Authorization", authorization));
        }
        server.request("GET", "/api/conversations", &headers, None)
    };
    // Missing; the wrong scheme; no token. (`request` adds the default key only when absent.)
    expect_unauthorized(
        &crate::support::http::send(server.address, "GET", "/api/conversations", &[], None),
        false,
    );
    expect_unauthorized(&send(Some("Basic dXNlcjpwYXNz")), false);
    expect_unauthorized(&send(Some("Bearer")), false);
    // Malformed.
    for token in [
        "sk_test_123",
        "sk_prod_0000000000000000000000000000000000000000000000000000000000000000",
        &server.key.to_uppercase(),
    ] {
        expect_unauthorized(&send(Some(&format!("Bearer {token}"))), true);
    }
    // Well formed but unknown, and a known prefix with the wrong secret.
    expect_unauthorized(
        &send(Some(&format!("Bearer sk_live_{}", "ab".repeat(32)))),
        true,
    );
    let wrong_secret = format!("{}{}", &server.key[..20], "f".repeat(52));
    expect_unauthorized(&send(Some(&format!("Bearer {wrong_secret}"))), true);
    // Revoked (before any use; a key in use stops within the cache's lifetime, tested below).
    let revoked = server.add_key(&server.organisation, SCOPES, None);
    assert!(confab::auth::keys::revoke_key(&mut server.connection(), &revoked[..20]).unwrap());
    expect_unauthorized(&send(Some(&format!("Bearer {revoked}"))), true);
    // Expired.
    let expired = server.add_key(&server.organisation, SCOPES, Some(0));
    expect_unauthorized(&send(Some(&format!("Bearer {expired}"))), true);
    // Every /api route authenticates, writes and unknown collections included.
    expect_unauthorized(
        &send_without_key(&server, "POST", "/api/conversations"),
        false,
    );
    expect_unauthorized(
        &send_without_key(&server, "GET", "/api/nothing-here"),
        false,
    );
    // Health is for load balancers and needs no key.
    expect_document(
        &crate::support::http::send(server.address, "GET", "/health", &[], None),
        200,
    );
}

fn send_without_key(server: &TestServer, method: &str, target: &str) -> Response {
    server.request_as(
        None,
        method,
        target,
        Some(&json!({"data": {"type": "Conversation"}})),
    )
}

#[test]
fn keys_are_stored_hashed_and_their_use_recorded() {
    let server = TestServer::start();
    expect_document(&server.get("/api/conversations"), 200);
    let keys = confab::auth::keys::list_keys(&mut server.connection(), Some(&server.organisation))
        .unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].prefix, server.key[..20]);
    assert!(keys[0].last_used_at.is_some());
    // The secret is nowhere in the table.
    use confab::store::schema::api_keys;
    use diesel::prelude::*;
    let stored: i64 = api_keys::table
        .filter(
            api_keys::secret_hash
                .eq(&server.key)
                .or(api_keys::prefix.eq(&server.key)),
        )
        .count()
        .get_result(&mut *server.connection())
        .unwrap();
    assert_eq!(stored, 0);
}

/// Verified keys are trusted for the cache's lifetime (2 s) without a statement; a key revoked
/// while in use keeps working at most that long, then answers 401 for good.
#[test]
fn a_revoked_key_in_use_stops_working_within_the_cache_lifetime() {
    let server = TestServer::start();
    let key = server.add_key(&server.organisation, SCOPES, None);
    let send = || server.request_as(Some(&key), "GET", "/api/conversations", None);
    expect_document(&send(), 200);
    // A cached key costs no statement: the listing's one is all (the least of a few tries, as
    // the pool may open a connection meanwhile, whose set-up statements count too).
    let cost = (0..3)
        .map(|_| {
            let before = server.statements();
            expect_document(&send(), 200);
            server.statements() - before
        })
        .min();
    assert_eq!(cost, Some(1));
    assert!(confab::auth::keys::revoke_key(&mut server.connection(), &key[..20]).unwrap());
    let revoked_at = std::time::Instant::now();
    // Served from the cache right after the revocation...
    expect_document(&send(), 200);
    // ...and refused once the entry has aged out.
    loop {
        let response = send();
        if response.status == 401 {
            expect_unauthorized(&response, true);
            break;
        }
        expect_document(&response, 200);
        assert!(
            revoked_at.elapsed() < std::time::Duration::from_secs(3),
            "still accepted 3 s after revocation"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(revoked_at.elapsed() >= std::time::Duration::from_millis(1500));
    expect_unauthorized(&send(), true);
}

/// Each key may make so many requests a minute on an instance (generous by default; 5 here).
/// Every answer to a key says where it stands (the IETF RateLimit fields); past the quota it is
/// 429 with Retry-After, and other keys are untouched.
#[test]
fn keys_are_rate_limited_and_told_so() {
    let server = TestServer::start_with(crate::support::Settings {
        requests_per_minute: 5,
        ..Default::default()
    });
    let other = server.add_tenant("Other", SCOPES);
    let send = |key: &str| server.request_as(Some(key), "GET", "/api/conversations", None);
    for remaining in (0..5).rev() {
        let response = send(&server.key);
        expect_document(&response, 200);
        assert_eq!(
            response.header("ratelimit-policy"),
            Some("\"per-key\";q=5;w=60")
        );
        let state = response.header("ratelimit").unwrap_or_default().to_string();
        assert!(
            state.starts_with(&format!("\"per-key\";r={remaining};t=")),
            "{state}"
        );
    }
    let refused = send(&server.key);
    crate::support::expect_errors(&refused, 429, &[crate::support::header("Authorization")]);
    let retry_after: u64 = refused
        .header("retry-after")
        .and_then(|seconds| seconds.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert!(refused
        .header("ratelimit")
        .is_some_and(|state| state.starts_with("\"per-key\";r=0;t=")));
    expect_document(&send(&other.key), 200);
}
