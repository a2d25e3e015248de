//! Spec section: errors. Every failure is a JSON:API error document (the harness validates each).

use crate::support::{expect_errors, no_source, TestServer};

#[test]
fn unknown_routes_are_404_documents() {
    let server = TestServer::start();
    for path in [
        "/",
        "/api",
        "/nope",
        "/api/conversations/a/b/c/d",
        "/api/conversations/a/relationships",
    ] {
        expect_errors(&server.get(path), 404, &[no_source()]);
    }
}

#[test]
fn wrong_methods_are_405_with_allow() {
    let server = TestServer::start();
    let response = server.request("PUT", "/api/conversations", &[], None);
    expect_errors(&response, 405, &[no_source()]);
    assert_eq!(response.header("allow"), Some("GET, HEAD, POST"));
    let response = server.request(
        "POST",
        "/api/conversations/x",
        &[("Content-Type", "application/vnd.api+json")],
        Some(b"{}"),
    );
    expect_errors(&response, 405, &[no_source()]);
    assert_eq!(response.header("allow"), Some("GET, HEAD, PATCH, DELETE"));
    let response = server.request("DELETE", "/health", &[], None);
    expect_errors(&response, 405, &[no_source()]);
    // An unknown type is not found, whatever the method.
    expect_errors(
        &server.request("PUT", "/api/widgets", &[], None),
        404,
        &[no_source()],
    );
}

#[test]
fn bodies_over_the_limit_are_413() {
    let server = TestServer::start();
    let name = "x".repeat(confab::http::DEFAULT_BODY_LIMIT);
    let body = format!(
        "{{\"data\": {{\"type\": \"Organisation\", \"attributes\": {{\"name\": \"{name}\"}}}}}}"
    );
    let response = server.request(
        "POST",
        "/api/organisations",
        &[("Content-Type", "application/vnd.api+json")],
        Some(body.as_bytes()),
    );
    expect_errors(&response, 413, &[crate::support::header("Content-Length")]);
}

#[test]
fn an_unreachable_database_is_503() {
    let server = TestServer::start_without_database();
    expect_errors(&server.get("/api/conversations"), 503, &[no_source()]);
    expect_errors(&server.get("/health"), 503, &[no_source()]);
}

/// Once the database is known to be down, requests (and health checks) are answered 503 at
/// once rather than each waiting for the pool's timeout (1 s here, 5 s by default). The first
/// learns it from the failed connection (at most the pool's timeout, sooner where the wait is
/// raced against the store's news: see `tests/spec/database_cut.rs`).
#[test]
fn a_database_known_down_is_answered_at_once() {
    let server = TestServer::start_without_database();
    let first = std::time::Instant::now();
    expect_errors(&server.get("/api/conversations"), 503, &[no_source()]);
    assert!(
        first.elapsed() < std::time::Duration::from_millis(1500),
        "the first took {:?}",
        first.elapsed()
    );
    for target in [
        "/api/conversations",
        "/health",
        "/api/organisations",
        "/health",
    ] {
        let started = std::time::Instant::now();
        let response = server.get(target);
        expect_errors(&response, 503, &[no_source()]);
        assert!(
            started.elapsed() < std::time::Duration::from_millis(300),
            "{target} took {:?}",
            started.elapsed()
        );
    }
    // Each was a database error, and /metrics (which needs no database) says so.
    let metrics = crate::support::http::send(server.address, "GET", "/metrics", &[], None);
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.text().contains("confab_db_errors_total 5"),
        "{}",
        metrics.text()
    );
}

/// When the database comes back, the store's probe notices within a fraction of a second and
/// requests are served again (SQLite here: its directory appears).
#[test]
fn a_database_that_comes_back_is_used_again() {
    let directory =
        std::env::temp_dir().join(format!("confab-down-{}", uuid::Uuid::new_v4().simple()));
    let path = directory.join("db.sqlite");
    let server = TestServer::start_at(confab::store::DatabaseUrl::Sqlite(
        path.display().to_string(),
    ));
    expect_errors(&server.get("/health"), 503, &[no_source()]);
    std::fs::create_dir_all(&directory).expect("create the database's directory");
    let back = std::time::Instant::now();
    loop {
        let response = server.get("/health");
        if response.status == 200 {
            break;
        }
        expect_errors(&response, 503, &[no_source()]);
        assert!(
            back.elapsed() < std::time::Duration::from_secs(3),
            "still down after 3 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&directory);
}

#[test]
fn hostile_input_never_reaches_a_500() {
    let server = TestServer::start();
    let organisation = server.organisation.clone();
    for path in [
        "/api/conversations/%00",
        "/api/conversations/%FF%FE",
        "/api/conversations/1'%20OR%20'1'='1",
        "/api/conversations?include=%FF",
        "/api/conversations?%5B%5D=1",
        "/api/conversations?fields[%22]=x",
        "/api/conversations?page[offset]=9223372036854775807",
        "/api/conversations?page[offset]=99999999999999999999999",
        "/api/conversations?filter[title][contains]=%00",
        "/api/conversations?filter[title][starts_with]=a%00",
        "/api/conversations?filter[metadata.plan][contains]=%00",
        "/api/conversations?filter[position]=1",
        "/api/conversation_items?filter[position]=99999999999999999999",
        "/api/conversation_items?filter[occurred_at][gt]=%2B275760-09-13T00:00:00Z",
        "/api/conversations?page[after]=7b7d.0000000000000000",
    ] {
        let response = server.get(path);
        assert!(
            matches!(response.status, 400 | 404),
            "{path}: {}",
            response.status
        );
    }
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let response = server.request(
        "POST",
        "/api/conversations",
        &[("Content-Type", "application/vnd.api+json")],
        Some(deep.as_bytes()),
    );
    expect_errors(&response, 400, &[no_source()]);
    // NUL cannot be stored by PostgreSQL; both backends refuse it the same way.
    let response = server.patch(
        &format!("/api/organisations/{organisation}"),
        &serde_json::json!({"data": {"type": "Organisation", "id": organisation, "attributes": {"name": "a\u{0000}b"}}}),
    );
    expect_errors(
        &response,
        422,
        &[crate::support::pointer("/data/attributes/name")],
    );
    let response = server.post(
        "/api/conversations",
        &serde_json::json!({"data": {"type": "Conversation", "attributes": {"channel": "chat"},
            "relationships": {"organisation": {"data": {"type": "Organisation", "id": "\u{0000}"}}}}}),
    );
    expect_errors(
        &response,
        404,
        &[crate::support::pointer(
            "/data/relationships/organisation/data",
        )],
    );
    // Only the form an id is served in names it: uppercase hex names nothing.
    let upper = organisation.to_uppercase();
    expect_errors(
        &server.get(&format!("/api/organisations/{upper}")),
        404,
        &[crate::support::no_source()],
    );
}

/// Only the form an id is served in addresses it: an uppercase, braced, 32-digit or
/// `urn:uuid:` spelling names nothing, on reads and on deletes alike.
#[test]
fn other_spellings_of_an_id_are_not_found() {
    let server = TestServer::start();
    let id =
        server.create_conversation(&server.organisation, serde_json::json!({"channel": "chat"}));
    let simple = id.replace('-', "");
    for spelling in [
        id.to_uppercase(),
        format!("%7B{id}%7D"),
        simple.clone(),
        format!("urn:uuid:{id}"),
        format!("urn%3Auuid%3A{id}"),
        format!(" {id}").replace(' ', "%20"),
    ] {
        let target = format!("/api/conversations/{spelling}");
        let missing = format!("/api/conversations/{}", uuid::Uuid::new_v4());
        let found = server.get(&target);
        let never = server.get(&missing);
        expect_errors(&found, 404, &[crate::support::no_source()]);
        expect_errors(&never, 404, &[crate::support::no_source()]);
        expect_errors(&server.delete(&target), 404, &[crate::support::no_source()]);
        // A create naming the related resource that way finds nothing either.
        let item = server.post(
            "/api/conversation_items",
            &serde_json::json!({"data": {"type": "ConversationItem",
                "attributes": {"role": "user", "content": "hi"},
                "relationships": {"conversation": {"data": {"type": "Conversation", "id": spelling.replace("%7B", "{").replace("%7D", "}").replace("%3A", ":").replace("%20", " ")}}}}}),
        );
        expect_errors(
            &item,
            404,
            &[crate::support::pointer(
                "/data/relationships/conversation/data",
            )],
        );
    }
    crate::support::expect_document(&server.get(&format!("/api/conversations/{id}")), 200);
}

/// A huge offending value is echoed as a short prefix, once: errors stay small whatever was sent.
#[test]
fn errors_echo_a_short_prefix_of_what_was_sent() {
    let server = TestServer::start();
    let long = "x".repeat(60_000);
    let cases = [
        (
            format!("/api/conversations?sort={long}"),
            "sort".to_string(),
        ),
        (
            format!("/api/conversations?filter[status]={long}"),
            "filter[status]".to_string(),
        ),
        (
            format!("/api/conversations?include={long}"),
            "include".to_string(),
        ),
        (
            format!("/api/conversations?{long}=1"),
            format!("{}…", &long[..128]),
        ),
    ];
    for (target, parameter) in cases {
        let response = server.get(&target);
        let document = expect_errors(&response, 400, &[crate::support::parameter(&parameter)]);
        assert!(
            response.body.len() < 2_000,
            "{} bytes for {}",
            response.body.len(),
            &target[..40]
        );
        let detail = document["errors"][0]["detail"].as_str().unwrap_or_default();
        assert_eq!(detail.matches(&"x".repeat(40)).count(), 1, "{detail}");
        assert!(detail.contains('…'), "{detail}");
    }
}

/// What a request document may not be: both `data` and `errors` (document-top-level-members),
/// a `meta` that is not an object (document-meta), NUL inside a JSON attribute (PostgreSQL cannot
/// index it, so it is refused on both backends alike), or a number beyond 64 bits (it would be
/// stored rounded).
#[test]
fn malformed_request_documents_are_refused_with_a_pointer() {
    let server = TestServer::start();
    let create = |document: serde_json::Value| server.post("/api/conversations", &document);
    let data = serde_json::json!({"type": "Conversation", "attributes": {"channel": "chat"}});
    expect_errors(
        &create(serde_json::json!({"data": data, "errors": []})),
        400,
        &[crate::support::pointer("/errors")],
    );
    expect_errors(
        &create(serde_json::json!({"data": data, "meta": "not an object"})),
        400,
        &[crate::support::pointer("/meta")],
    );
    expect_errors(
        &create(
            serde_json::json!({"data": {"type": "Conversation", "meta": [1],
            "attributes": {"channel": "chat"}}}),
        ),
        400,
        &[crate::support::pointer("/data/meta")],
    );
    let nul = create(serde_json::json!({"data": {"type": "Conversation",
        "attributes": {"channel": "chat", "metadata": {"note": "a\u{0000}b", "list": ["\u{0000}"]}}}}));
    expect_errors(
        &nul,
        422,
        &[crate::support::pointer("/data/attributes/metadata/note")],
    );
    let key = create(serde_json::json!({"data": {"type": "Conversation",
        "attributes": {"channel": "chat", "metadata": {"a\u{0000}": 1}}}}));
    expect_errors(
        &key,
        422,
        &[crate::support::pointer("/data/attributes/metadata")],
    );
    // Built by hand: serde_json would round the number before it is sent.
    let body = br#"{"data":{"type":"Conversation","attributes":{"channel":"chat","metadata":{"big":123456789012345678901234567890}}}}"#;
    let big = server.request(
        "POST",
        "/api/conversations",
        &[
            ("Accept", crate::support::MEDIA_TYPE),
            ("Content-Type", crate::support::MEDIA_TYPE),
        ],
        Some(body),
    );
    expect_errors(
        &big,
        422,
        &[crate::support::pointer("/data/attributes/metadata/big")],
    );
    // Nothing was stored, and the limits of 64 bits themselves are fine.
    let listed = crate::support::expect_document(&server.get("/api/conversations"), 200);
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(0));
    let edge = create(serde_json::json!({"data": {"type": "Conversation",
        "attributes": {"channel": "chat", "metadata": {"max": u64::MAX, "min": i64::MIN, "pi": 3.25}}}}));
    let document = crate::support::expect_document(&edge, 201);
    assert_eq!(
        document["data"]["attributes"]["metadata"],
        serde_json::json!({"max": u64::MAX, "min": i64::MIN, "pi": 3.25})
    );
}

/// A member name given twice in one object is ambiguous (JSON parsers keep either): 400, with
/// a pointer to the repeated member.
#[test]
fn duplicate_member_names_are_refused() {
    let server = TestServer::start();
    let send = |body: &str| {
        server.request(
            "POST",
            "/api/conversations",
            &[
                ("Accept", crate::support::MEDIA_TYPE),
                ("Content-Type", crate::support::MEDIA_TYPE),
            ],
            Some(body.as_bytes()),
        )
    };
    for (body, pointer) in [
        (
            r#"{"data":{"type":"Conversation","attributes":{"channel":"chat","channel":"email"}}}"#,
            "/data/attributes/channel",
        ),
        (
            r#"{"data":{"type":"Conversation","attributes":{"channel":"chat"}},"data":{}}"#,
            "/data",
        ),
        (
            r#"{"data":{"type":"Conversation","attributes":{"channel":"chat","metadata":{"a/b":[{"x":1,"x":2}]}}}}"#,
            "/data/attributes/metadata/a~1b/0/x",
        ),
    ] {
        expect_errors(&send(body), 400, &[crate::support::pointer(pointer)]);
    }
    let listed = crate::support::expect_document(&server.get("/api/conversations"), 200);
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(0));
}

/// Every response names its request: the client's own id when usable, a new one otherwise,
/// errors included.
#[test]
fn every_response_carries_a_request_id() {
    let server = TestServer::start();
    let given = server.request(
        "GET",
        "/api/conversations",
        &[
            ("Accept", crate::support::MEDIA_TYPE),
            ("X-Request-Id", "client-7"),
        ],
        None,
    );
    assert_eq!(given.header("x-request-id"), Some("client-7"));
    let made: Vec<String> = (0..2)
        .map(|_| {
            let response = server.get("/api/nothing-here");
            expect_errors(&response, 404, &[no_source()]);
            response
                .header("x-request-id")
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert!(made.iter().all(|id| id.len() == 32), "{made:?}");
    assert_ne!(made[0], made[1]);
}

/// A JSON attribute is at most 64 KiB encoded (the server's default): a larger one is 422 at
/// the attribute, on create and update alike, and nothing is stored.
#[test]
fn json_attributes_are_bounded_in_size() {
    let server = TestServer::start();
    let limit = confab::jsonapi::input::DEFAULT_MAX_OBJECT_BYTES;
    // {"note":"…"} is 11 bytes around the text.
    let fits = serde_json::json!({"note": "a".repeat(limit - 11)});
    let over = serde_json::json!({"note": "a".repeat(limit - 10)});
    assert_eq!(fits.to_string().len(), limit);
    let created = server.post(
        "/api/conversations",
        &serde_json::json!({"data": {"type": "Conversation", "attributes": {"channel": "chat", "metadata": fits}}}),
    );
    let document = crate::support::expect_document(&created, 201);
    let id = document["data"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let refused = server.post(
        "/api/conversations",
        &serde_json::json!({"data": {"type": "Conversation", "attributes": {"channel": "chat", "metadata": over}}}),
    );
    expect_errors(
        &refused,
        422,
        &[crate::support::pointer("/data/attributes/metadata")],
    );
    let update = server.patch(
        &format!("/api/conversations/{id}"),
        &serde_json::json!({"data": {"type": "Conversation", "id": id, "attributes": {"metadata": over}}}),
    );
    expect_errors(
        &update,
        422,
        &[crate::support::pointer("/data/attributes/metadata")],
    );
    let listed = crate::support::expect_document(&server.get("/api/conversations"), 200);
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        listed["data"][0]["attributes"]["metadata"]["note"]
            .as_str()
            .map(str::len),
        Some(limit - 11)
    );
}
