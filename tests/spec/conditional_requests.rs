//! Conditional requests and HEAD (RFC 9110 §9.3.2, §13): entity tags on reads, `If-None-Match`
//! answered 304, `If-Match` on writes answered 412 when the resource changed since.

use serde_json::json;

use crate::support::http::Response;
use crate::support::{expect_document, expect_errors, header, TestServer, MEDIA_TYPE};

fn get_with(server: &TestServer, target: &str, headers: &[(&str, &str)]) -> Response {
    let mut all = vec![("Accept", MEDIA_TYPE)];
    all.extend_from_slice(headers);
    server.request("GET", target, &all, None)
}

fn write_with(
    server: &TestServer,
    method: &str,
    target: &str,
    if_match: &str,
    document: Option<&serde_json::Value>,
) -> Response {
    let body = document.map(|document| serde_json::to_vec(document).expect("serialize"));
    let mut headers = vec![("Accept", MEDIA_TYPE), ("If-Match", if_match)];
    if body.is_some() {
        headers.push(("Content-Type", MEDIA_TYPE));
    }
    server.request(method, target, &headers, body.as_deref())
}

fn etag(response: &Response) -> String {
    response.header("etag").expect("an ETag").to_string()
}

#[test]
fn reads_carry_tags_and_a_current_copy_is_answered_304() {
    let server = TestServer::start();
    let id = server.create_conversation(&server.organisation, json!({"channel": "chat"}));
    let path = format!("/api/conversations/{id}");
    let first = server.get(&path);
    expect_document(&first, 200);
    let tag = etag(&first);
    assert!(
        tag.starts_with('"') && tag.len() == 34,
        "a strong tag: {tag}"
    );
    assert_eq!(etag(&server.get(&path)), tag, "the same row, the same tag");

    for (names, status) in [
        (tag.clone(), 304),
        (format!("W/{tag}"), 304),
        (format!("\"other\", {tag}"), 304),
        ("*".to_string(), 304),
        ("\"other\"".to_string(), 200),
    ] {
        let response = get_with(&server, &path, &[("If-None-Match", &names)]);
        assert_eq!(response.status, status, "If-None-Match: {names}");
        assert_eq!(etag(&response), tag);
    }
    // Another representation of the same resource has its own tag.
    let included = server.get(&format!("{path}?include=organisation"));
    assert_ne!(etag(&included), tag);

    // Collections carry none (weak tags are optional; hashing every page is not free).
    let list = server.get("/api/conversations");
    expect_document(&list, 200);
    assert_eq!(list.header("etag"), None);
}

#[test]
fn head_answers_every_get_route_with_its_headers_and_no_body() {
    let server = TestServer::start();
    let conversation = server.create_conversation(&server.organisation, json!({"channel": "chat"}));
    let item = server.create_item(&conversation, "hello");
    for target in [
        "/health".to_string(),
        "/api/conversations?include=conversation_items".to_string(),
        format!("/api/conversations/{conversation}"),
        format!("/api/conversations/{conversation}/conversation_items"),
        format!("/api/conversation_items/{item}/relationships/conversation"),
        format!("/api/conversations/{conversation}/relationships/conversation_items"),
    ] {
        let got = server.get(&target);
        let head = server.request("HEAD", &target, &[("Accept", MEDIA_TYPE)], None);
        assert_eq!(head.status, got.status, "{target}");
        assert!(head.body.is_empty());
        for name in ["content-type", "etag", "vary"] {
            assert_eq!(head.header(name), got.header(name), "{name} of {target}");
        }
        if let Some(length) = head.header("content-length") {
            assert_eq!(length, got.body.len().to_string(), "{target}");
        }
    }
    // HEAD on a missing resource: the GET's status, without the document.
    let missing = server.request(
        "HEAD",
        "/api/conversations/00000000-0000-4000-8000-000000000000",
        &[("Accept", MEDIA_TYPE)],
        None,
    );
    assert_eq!(missing.status, 404);
    assert!(missing.body.is_empty());
}

#[test]
fn writes_with_a_stale_if_match_are_412_and_change_nothing() {
    let server = TestServer::start();
    let id = server.create_conversation(&server.organisation, json!({"channel": "chat"}));
    let path = format!("/api/conversations/{id}");
    let original = etag(&server.get(&path));
    let rename = |title: &str| json!({"data": {"type": "Conversation", "id": id, "attributes": {"title": title}}});

    // A current tag lets the write through; its answer carries the new tag, the one GET gives.
    let renamed = write_with(&server, "PATCH", &path, &original, Some(&rename("first")));
    expect_document(&renamed, 200);
    let current = etag(&renamed);
    assert_ne!(current, original);
    assert_eq!(etag(&server.get(&path)), current);

    // The old tag, a weak one and an unknown one are all stale: 412 at the header.
    for stale in [
        original.clone(),
        format!("W/{current}"),
        "\"nope\"".to_string(),
    ] {
        let refused = write_with(&server, "PATCH", &path, &stale, Some(&rename("lost")));
        expect_errors(&refused, 412, &[header("If-Match")]);
        let refused = write_with(&server, "DELETE", &path, &stale, None);
        expect_errors(&refused, 412, &[header("If-Match")]);
    }
    let stored = expect_document(&server.get(&path), 200);
    assert_eq!(stored["data"]["attributes"]["title"], json!("first"));
    assert_eq!(etag(&server.get(&path)), current);

    // `*` holds for any version; a tag in a list holds.
    let any = write_with(&server, "PATCH", &path, "*", Some(&rename("second")));
    let current = etag(&any);
    let listed = format!("\"nope\", {current}");
    let deleted = write_with(&server, "DELETE", &path, &listed, None);
    assert_eq!(deleted.status, 204, "{}", deleted.text());
}

#[test]
fn concurrent_writers_with_one_tag_let_exactly_one_through() {
    // Optimistic concurrency: eight writers read the same version; one wins, seven get 412.
    let server = TestServer::start();
    let id = server.create_conversation(&server.organisation, json!({"channel": "chat"}));
    let path = format!("/api/conversations/{id}");
    let tag = etag(&server.get(&path));
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|writer| {
                let (server, path, tag, id) = (&server, &path, &tag, &id);
                scope.spawn(move || {
                    let document = json!({"data": {"type": "Conversation", "id": id,
                        "attributes": {"title": format!("writer {writer}")}}});
                    write_with(server, "PATCH", path, tag, Some(&document)).status
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("writer"))
            .collect()
    });
    let won = statuses.iter().filter(|status| **status == 200).count();
    let refused = statuses.iter().filter(|status| **status == 412).count();
    assert_eq!((won, refused), (1, 7), "{statuses:?}");
}
