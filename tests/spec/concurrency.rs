//! Writes under concurrency (crud-atomic): concurrent creates on one server and across
//! several confab processes on one database.

use serde_json::json;

use crate::creating_updating_deleting::{conversation, count};
use crate::support::{expect_document, TestServer};

/// Creates `total` items in `conversation` from 10 threads at once, spread over `addresses`
/// in turn, and returns every status.
fn create_items_concurrently(
    addresses: &[std::net::SocketAddr],
    key: &str,
    conversation: &str,
    total: usize,
) -> Vec<u16> {
    let authorization = format!("Bearer {key}");
    let writers = 10;
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..writers)
            .map(|writer| {
                let authorization = authorization.as_str();
                scope.spawn(move || {
                    (0..total / writers)
                        .map(|n| {
                            let body = serde_json::to_vec(&json!({"data": {"type": "ConversationItem",
                                "attributes": {"role": "user", "content": format!("{writer}-{n}")},
                                "relationships": {"conversation": {"data": {"type": "Conversation", "id": conversation}}}}}))
                                .expect("serialize");
                            let address = addresses[(writer + n) % addresses.len()];
                            crate::support::http::send(
                                address,
                                "POST",
                                "/api/conversation_items",
                                &[
                                    ("Accept", crate::support::MEDIA_TYPE),
                                    ("Content-Type", crate::support::MEDIA_TYPE),
                                    ("Authorization", authorization),
                                ],
                                Some(&body),
                            )
                            .status
                        })
                        .collect::<Vec<u16>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().expect("writer thread"))
            .collect()
    })
}

/// The positions of a conversation's items, in the order the API lists them (by position).
fn positions(server: &TestServer, conversation: &str) -> Vec<i64> {
    let listed = expect_document(
        &server.get(&format!(
            "/api/conversations/{conversation}/conversation_items?page[limit]=100"
        )),
        200,
    );
    listed["data"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["attributes"]["position"].as_i64().expect("position"))
        .collect()
}

#[test]
fn concurrent_item_creates_all_succeed_with_distinct_positions() {
    // crud-atomic: each create is one transaction; 100 concurrent writers neither fail, nor
    // deadlock, nor share a position.
    let server = TestServer::start();
    let conversation = server.create_conversation(&server.organisation, json!({"channel": "chat"}));
    let statuses = create_items_concurrently(&[server.address], &server.key, &conversation, 100);
    assert!(statuses.iter().all(|status| *status == 201), "{statuses:?}");
    assert_eq!(
        positions(&server, &conversation),
        (1..=100).collect::<Vec<i64>>()
    );
}

#[test]
fn concurrent_item_creates_across_three_instances_get_distinct_positions() {
    // The same across instances: three confab processes on one database.
    let server = TestServer::start();
    let instances: Vec<crate::support::Instance> = (0..3)
        .map(|_| crate::support::Instance::start(&server.database_url))
        .collect();
    let addresses: Vec<std::net::SocketAddr> = instances.iter().map(|i| i.address).collect();
    let conversation = server.create_conversation(&server.organisation, json!({"channel": "chat"}));
    let statuses = create_items_concurrently(&addresses, &server.key, &conversation, 100);
    assert!(statuses.iter().all(|status| *status == 201), "{statuses:?}");
    assert_eq!(
        positions(&server, &conversation),
        (1..=100).collect::<Vec<i64>>()
    );
    drop(instances);
}

#[test]
fn concurrent_creates_with_one_id_make_one_resource() {
    // create-responses-409-exists, under a race: every loser is a 409, never a 500
    let server = TestServer::start();
    let id = "5f0c6f1e-3a2b-4c8d-9e7f-1a2b3c4d5e6f";
    let mut document = conversation(&server.organisation, json!({"channel": "chat"}));
    document["data"]["id"] = json!(id);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| server.post("/api/conversations", &document).status))
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("request thread"))
            .collect()
    });
    let created = statuses.iter().filter(|status| **status == 201).count();
    let conflicts = statuses.iter().filter(|status| **status == 409).count();
    assert_eq!((created, conflicts), (1, 7), "{statuses:?}");
    assert_eq!(count(&server, "/api/conversations"), 1);
}
