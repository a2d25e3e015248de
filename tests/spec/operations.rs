//! Operations: the health endpoint and statement counting itself.

use serde_json::json;

use crate::support::{expect_document, TestServer};

#[test]
fn health_answers_when_the_database_does() {
    let server = TestServer::start();
    let document = expect_document(&server.get("/health"), 200);
    assert_eq!(
        document,
        json!({"jsonapi": {"version": "1.1"}, "meta": {"status": "ok"}})
    );
}

#[test]
fn the_statement_counter_counts() {
    let server = TestServer::start();
    let before = server.statements();
    server.create_conversation(&server.organisation, json!({"channel": "chat"}));
    assert!(server.statements() > before);
}

#[test]
fn seeding_is_deterministic_and_refuses_to_run_twice() {
    let plan = confab::operators::SeedPlan {
        organisations: 2,
        conversations: 30,
        items_per_conversation: 3,
    };
    let seeded = || {
        let server = TestServer::start();
        let slugs = confab::operators::seed(&mut server.connection(), &plan, |_| {}).unwrap();
        assert_eq!(slugs, vec!["seed-1", "seed-2"]);
        let organisation =
            confab::operators::find_organisation(&mut server.connection(), "seed-2").unwrap();
        let key = server.add_key(&organisation, confab::auth::SCOPES, None);
        let response = server.request_as(
            Some(&key),
            "GET",
            "/api/conversations?include=conversation_items&page[size]=4&page[count]=true",
            None,
        );
        assert_eq!(response.status, 200);
        let again = confab::operators::seed(&mut server.connection(), &plan, |_| {});
        assert_eq!(again.map_err(|e| e.status()).err(), Some(409));
        response.text()
    };
    let (first, second) = (seeded(), seeded());
    assert_eq!(first, second);
    let document: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(document["meta"]["page"]["total"], json!(15));
    assert_eq!(document["included"].as_array().unwrap().len(), 12);
    // Newest first: conversation 29 belongs to seed-2 (odd numbers), created 29 s after the base.
    assert_eq!(
        document["data"][0]["id"],
        json!("00000002-0000-4000-8000-00000000001d")
    );
    assert_eq!(
        document["data"][0]["attributes"]["created_at"],
        json!("2025-01-01T00:00:29.000000Z")
    );
}

/// `/metrics` in the Prometheus text format: requests by route, type and status, a latency
/// histogram per route, the pool's connections and database errors. Every sample line is
/// `name{labels} value`, and the counts match what was sent.
#[test]
fn metrics_count_what_was_served() {
    let server = TestServer::start();
    for _ in 0..3 {
        crate::support::expect_document(&server.get("/api/conversations"), 200);
    }
    let missing = server.get("/api/conversations/00000000-0000-4000-8000-000000000000");
    assert_eq!(missing.status, 404);
    let response = crate::support::http::send(server.address, "GET", "/metrics", &[], None);
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = response.text();
    let sample = |line: &str| {
        let (name, value) = line.rsplit_once(' ').unwrap_or_default();
        !name.is_empty() && value.parse::<f64>().is_ok()
    };
    for line in text
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
    {
        assert!(sample(line), "not a sample line: {line:?}");
    }
    for expected in [
        "confab_http_requests_total{route=\"/api/{type}\",type=\"conversations\",method=\"GET\",status=\"200\"} 3",
        "confab_http_requests_total{route=\"/api/{type}/{id}\",type=\"conversations\",method=\"GET\",status=\"404\"} 1",
        "confab_http_request_duration_seconds_count{route=\"/api/{type}\"} 3",
        "confab_http_request_duration_seconds_bucket{route=\"/api/{type}\",le=\"+Inf\"} 3",
        "# TYPE confab_http_request_duration_seconds histogram",
        "confab_db_pool_max_connections 8",
        "confab_db_errors_total 0",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(text.contains("confab_db_pool_connections "), "{text}");
}

#[test]
fn a_key_past_its_in_flight_bound_waits_and_is_never_refused() {
    // --in-flight-per-key 1: a key's concurrent requests queue behind each other; every one is
    // answered as it would be alone, and another key is not held up by the queue.
    let server = crate::support::TestServer::start_with(crate::support::Settings {
        in_flight_per_key: 1,
        ..crate::support::Settings::default()
    });
    let conversation = server.create_conversation(&server.organisation, json!({"channel": "chat"}));
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..24)
            .map(|n| {
                let (server, conversation) = (&server, &conversation);
                scope.spawn(move || {
                    if n % 2 == 0 {
                        server.get("/api/conversations?include=conversation_items").status
                    } else {
                        let response = server.post(
                            "/api/conversation_items",
                            &json!({"data": {"type": "ConversationItem",
                                "attributes": {"role": "user", "content": format!("{n}")},
                                "relationships": {"conversation": {"data": {"type": "Conversation", "id": conversation}}}}}),
                        );
                        response.status
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("request"))
            .collect()
    });
    let expected: Vec<u16> = (0..24)
        .map(|n| if n % 2 == 0 { 200 } else { 201 })
        .collect();
    assert_eq!(statuses, expected);
    let other = server.add_tenant("Other", confab::auth::SCOPES);
    let response = server.request_as(Some(&other.key), "GET", "/api/conversations", None);
    assert_eq!(response.status, 200);
}

/// The value of a counter or gauge in `/metrics`.
fn metric(server: &crate::support::TestServer, name: &str) -> u64 {
    let text = crate::support::http::send(server.address, "GET", "/metrics", &[], None).text();
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
}

#[test]
fn a_key_whose_reads_are_heavy_is_served_off_the_workers_one_read_at_a_time() {
    // By default: once a key's reads cost more than a few milliseconds of CPU, its reads run on
    // the low-priority heavy-read threads, one at a time per key (the rest wait their turn and
    // are never refused); another key's cheap reads still run on the workers.
    let server = crate::support::TestServer::start();
    let conversation = server.create_conversation(&server.organisation, json!({"channel": "chat"}));
    for n in 0..20 {
        server.create_item(&conversation, &format!("{n}{}", "x".repeat(90_000)));
    }
    let target = format!("/api/conversations/{conversation}?include=conversation_items");
    assert_eq!(metric(&server, "confab_heavy_reads_total"), 0);
    let first = server.get(&target);
    assert_eq!(first.status, 200);
    assert!(first.body.len() > 1_800_000, "{} bytes", first.body.len());
    // A few reads of about 2 MB each make the key heavy.
    for _ in 0..5 {
        assert_eq!(server.get(&target).body, first.body);
    }
    let heavy_before = metric(&server, "confab_heavy_reads_total");
    assert!(heavy_before >= 1, "the key never turned heavy");
    let bodies: Vec<Vec<u8>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|_| scope.spawn(|| server.get(&target)))
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("request").body)
            .collect()
    });
    assert!(bodies.iter().all(|body| *body == first.body));
    assert_eq!(
        metric(&server, "confab_heavy_reads_total"),
        heavy_before + 6,
        "each concurrent read of the heavy key ran on the heavy-read threads"
    );
    // Another tenant's read is cheap: served on the workers, not counted.
    let other = server.add_tenant("Other", confab::auth::SCOPES);
    let response = server.request_as(Some(&other.key), "GET", "/api/conversations", None);
    assert_eq!(response.status, 200);
    assert_eq!(
        metric(&server, "confab_heavy_reads_total"),
        heavy_before + 6
    );
}
