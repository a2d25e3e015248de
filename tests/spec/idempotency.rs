//! Safe retries: the `Idempotency-Key` header on POST, PATCH and DELETE (confab's own rules,
//! after the IETF draft "The Idempotency-Key HTTP Header Field").

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::http::{send, Response};
use crate::support::{expect_document, expect_errors, header, Instance, TestServer, MEDIA_TYPE};

fn conversation(organisation: &str) -> Value {
    json!({"data": {
        "type": "Conversation",
        "attributes": {"channel": "chat", "title": "retried"},
        "relationships": {"organisation": {"data": {"type": "Organisation", "id": organisation}}}
    }})
}

fn keyed(
    server: &TestServer,
    method: &str,
    target: &str,
    key: &str,
    body: Option<&Value>,
) -> Response {
    let bytes = body.map(|body| serde_json::to_vec(body).expect("serialize"));
    let mut headers = vec![("Accept", MEDIA_TYPE), ("Idempotency-Key", key)];
    if bytes.is_some() {
        headers.push(("Content-Type", MEDIA_TYPE));
    }
    server.request(method, target, &headers, bytes.as_deref())
}

fn conversations(server: &TestServer) -> usize {
    expect_document(&server.get("/api/conversations"), 200)["data"]
        .as_array()
        .map_or(0, Vec::len)
}

#[test]
fn a_retry_gets_the_first_answer_byte_for_byte_and_the_work_is_done_once() {
    let server = TestServer::start();
    let document = conversation(&server.organisation);
    let first = keyed(
        &server,
        "POST",
        "/api/conversations",
        "retry-1",
        Some(&document),
    );
    expect_document(&first, 201);
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = keyed(
        &server,
        "POST",
        "/api/conversations",
        "retry-1",
        Some(&document),
    );
    expect_document(&again, 201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("location"), first.header("location"));
    assert_eq!(again.header("content-type"), first.header("content-type"));
    assert_eq!(conversations(&server), 1);

    // PATCH and DELETE too: the replayed DELETE is 204 again, not a 404.
    let target = first.header("location").expect("location").to_string();
    let change = json!({"data": {"type": "Conversation", "id": target.rsplit('/').next(),
        "attributes": {"title": "changed"}}});
    let patched = keyed(&server, "PATCH", &target, "patch-1", Some(&change));
    expect_document(&patched, 200);
    let repatched = keyed(&server, "PATCH", &target, "patch-1", Some(&change));
    assert_eq!((repatched.status, &repatched.body), (200, &patched.body));
    let deleted = keyed(&server, "DELETE", &target, "delete-1", None);
    assert_eq!(deleted.status, 204);
    let redeleted = keyed(&server, "DELETE", &target, "delete-1", None);
    assert_eq!(redeleted.status, 204);
    assert_eq!(redeleted.header("idempotent-replayed"), Some("true"));
    assert_eq!(conversations(&server), 0);
}

/// A refusal changed nothing, so it is not kept: the same key carries the corrected request,
/// which is then done once and replayed like any other.
#[test]
fn a_refused_request_frees_its_key_for_the_corrected_one() {
    let server = TestServer::start();
    let bad = json!({"data": {"type": "Conversation", "attributes": {"channel": "pigeon"}}});
    let first = keyed(&server, "POST", "/api/conversations", "bad-1", Some(&bad));
    expect_errors(
        &first,
        422,
        &[crate::support::pointer("/data/attributes/channel")],
    );
    let again = keyed(&server, "POST", "/api/conversations", "bad-1", Some(&bad));
    assert_eq!((again.status, &again.body), (422, &first.body));
    assert_eq!(again.header("idempotent-replayed"), None, "computed anew");
    let good = json!({"data": {"type": "Conversation", "attributes": {"channel": "chat"}}});
    let created = keyed(&server, "POST", "/api/conversations", "bad-1", Some(&good));
    let document = expect_document(&created, 201);
    let replayed = keyed(&server, "POST", "/api/conversations", "bad-1", Some(&good));
    assert_eq!((replayed.status, &replayed.body), (201, &created.body));
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
    assert_eq!(conversations(&server), 1, "{document}");
}

#[test]
fn a_key_used_for_another_request_is_422_and_keys_are_per_organisation() {
    let server = TestServer::start();
    let document = conversation(&server.organisation);
    expect_document(
        &keyed(&server, "POST", "/api/conversations", "k", Some(&document)),
        201,
    );
    let mut other_body = document.clone();
    other_body["data"]["attributes"]["title"] = json!("something else");
    let reused = keyed(
        &server,
        "POST",
        "/api/conversations",
        "k",
        Some(&other_body),
    );
    expect_errors(&reused, 422, &[header("Idempotency-Key")]);
    // Another path is another request.
    let elsewhere = keyed(
        &server,
        "POST",
        "/api/conversation_items",
        "k",
        Some(&document),
    );
    expect_errors(&elsewhere, 422, &[header("Idempotency-Key")]);
    assert_eq!(conversations(&server), 1);

    // Another organisation's "k" is its own.
    let other = server.add_tenant("Other", confab::auth::SCOPES);
    let theirs = conversation(&other.organisation);
    let bytes = serde_json::to_vec(&theirs).expect("serialize");
    let authorization = format!("Bearer {}", other.key);
    let response = server.request(
        "POST",
        "/api/conversations",
        &[
            ("Accept", MEDIA_TYPE),
            ("Content-Type", MEDIA_TYPE),
            ("Idempotency-Key", "k"),
            ("Authorization", &authorization),
        ],
        Some(&bytes),
    );
    expect_document(&response, 201);
    assert_eq!(response.header("idempotent-replayed"), None);
}

#[test]
fn a_malformed_key_is_400_at_the_header() {
    let server = TestServer::start();
    let document = conversation(&server.organisation);
    let long = "a".repeat(256);
    for key in ["", "two words", long.as_str(), "caf\u{e9}"] {
        let response = keyed(&server, "POST", "/api/conversations", key, Some(&document));
        expect_errors(&response, 400, &[header("Idempotency-Key")]);
    }
    let longest = "a".repeat(255);
    expect_document(
        &keyed(
            &server,
            "POST",
            "/api/conversations",
            &longest,
            Some(&document),
        ),
        201,
    );
}

#[test]
fn fifty_identical_requests_across_three_instances_make_one_resource() {
    let server = TestServer::start();
    let instances: Vec<Instance> = (0..3)
        .map(|_| Instance::start(&server.database_url))
        .collect();
    let body = serde_json::to_vec(&conversation(&server.organisation)).expect("serialize");
    let authorization = format!("Bearer {}", server.key);
    let headers = [
        ("Accept", MEDIA_TYPE),
        ("Content-Type", MEDIA_TYPE),
        ("Idempotency-Key", "across-instances"),
        ("Authorization", authorization.as_str()),
    ];
    let post =
        |address: SocketAddr| send(address, "POST", "/api/conversations", &headers, Some(&body));
    let responses: Vec<Response> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..50)
            .map(|n| {
                let address = instances[n % 3].address;
                scope.spawn(move || post(address))
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("request thread"))
            .collect()
    });
    let mut created: Option<Vec<u8>> = None;
    for (n, response) in responses.iter().enumerate() {
        let response = match response.status {
            // In flight elsewhere: told when to come back, and then given the answer.
            409 => {
                assert_eq!(response.header("retry-after"), Some("1"));
                expect_errors(response, 409, &[header("Idempotency-Key")]);
                let mut retried = post(instances[n % 3].address);
                while retried.status == 409 {
                    std::thread::sleep(Duration::from_millis(100));
                    retried = post(instances[n % 3].address);
                }
                retried
            }
            _ => response.clone(),
        };
        assert_eq!(response.status, 201, "{}", response.text());
        match &created {
            None => created = Some(response.body.clone()),
            Some(body) => assert_eq!(&response.body, body, "every answer is the first one"),
        }
    }
    assert_eq!(conversations(&server), 1);
    drop(instances);
}

#[test]
fn purge_removes_answers_past_24_hours_and_keeps_the_rest() {
    use confab::store::schema::idempotency_keys;
    use diesel::prelude::*;
    let server = TestServer::start();
    let document = conversation(&server.organisation);
    expect_document(
        &keyed(
            &server,
            "POST",
            "/api/conversations",
            "fresh",
            Some(&document),
        ),
        201,
    );
    let old = chrono::Utc::now().naive_utc() - chrono::TimeDelta::hours(25);
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::id.eq("expired"),
            idempotency_keys::organisation_id.eq(&server.organisation),
            idempotency_keys::request_digest.eq("d"),
            idempotency_keys::status.eq(201_i64),
            idempotency_keys::body.eq(""),
            idempotency_keys::created_at.eq(old),
        ))
        .execute(&mut *server.connection())
        .expect("insert an expired answer");
    let output = Command::new(env!("CARGO_BIN_EXE_confab"))
        .arg("purge")
        .env("DATABASE_URL", &server.database_url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run confab purge");
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "removed 1 expired idempotency keys\n"
    );
    let again = keyed(
        &server,
        "POST",
        "/api/conversations",
        "fresh",
        Some(&document),
    );
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
}
