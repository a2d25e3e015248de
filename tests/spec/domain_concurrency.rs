//! The conversation domain under concurrency (issue 10): appends racing a conversation's end,
//! and counters that must equal a recount after creates, deletes and transitions from many
//! threads, over one server and two more confab processes on the same database.

use std::net::SocketAddr;

use serde_json::{json, Value};

use crate::support::http::{send, Response};
use crate::support::{expect_document, Instance, TestServer, MEDIA_TYPE};

fn call(
    address: SocketAddr,
    key: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Response {
    let authorization = format!("Bearer {key}");
    let bytes = body.map(|body| serde_json::to_vec(body).expect("serialize"));
    send(
        address,
        method,
        path,
        &[
            ("Accept", MEDIA_TYPE),
            ("Content-Type", MEDIA_TYPE),
            ("Authorization", &authorization),
        ],
        bytes.as_deref(),
    )
}

fn append(
    address: SocketAddr,
    key: &str,
    conversation: &str,
    role: &str,
    content: &str,
) -> Response {
    call(
        address,
        key,
        "POST",
        "/api/conversation_items",
        Some(&json!({"data": {"type": "ConversationItem",
            "attributes": {"role": role, "content": content},
            "relationships": {"conversation": {"data": {"type": "Conversation", "id": conversation}}}}})),
    )
}

fn end(server: &TestServer, conversation: &str) -> Response {
    server.patch(
        &format!("/api/conversations/{conversation}"),
        &json!({"data": {"type": "Conversation", "id": conversation, "attributes": {"status": "completed"}}}),
    )
}

/// Every live item of a conversation, following `next` links to the last page.
fn items(server: &TestServer, conversation: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut next = Some(format!(
        "/api/conversations/{conversation}/conversation_items?page[limit]=100"
    ));
    while let Some(path) = next {
        let document = expect_document(&server.get(&path), 200);
        all.extend(document["data"].as_array().expect("items").iter().cloned());
        next = document["links"]["next"].as_str().map(str::to_string);
    }
    all
}

fn attributes(server: &TestServer, conversation: &str) -> Value {
    expect_document(
        &server.get(&format!("/api/conversations/{conversation}")),
        200,
    )["data"]["attributes"]
        .clone()
}

/// Two more confab processes on the server's database, and the addresses of all three.
fn two_more_instances(server: &TestServer) -> (Vec<Instance>, Vec<SocketAddr>) {
    let instances: Vec<Instance> = (0..2)
        .map(|_| Instance::start(&server.database_url))
        .collect();
    let addresses = std::iter::once(server.address)
        .chain(instances.iter().map(|instance| instance.address))
        .collect();
    (instances, addresses)
}

#[test]
fn appends_racing_the_end_land_before_it_or_are_refused() {
    let server = TestServer::start();
    let (instances, addresses) = two_more_instances(&server);
    let conversation = server.create_conversation(&server.organisation, json!({"channel": "chat"}));
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..6)
            .map(|writer| {
                let (addresses, key, conversation) = (&addresses, &server.key, &conversation);
                scope.spawn(move || {
                    // Each writer appends until the conversation refuses it.
                    let mut statuses = Vec::new();
                    for n in 0..60 {
                        let address = addresses[(writer + n) % addresses.len()];
                        let status =
                            append(address, key, conversation, "user", &format!("{writer}-{n}"))
                                .status;
                        statuses.push(status);
                        if status != 201 {
                            break;
                        }
                    }
                    statuses
                })
            })
            .collect();
        // End it while the writers are busy.
        while attributes(&server, &conversation)["item_count"]
            .as_i64()
            .unwrap_or(0)
            < 20
        {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        expect_document(&end(&server, &conversation), 200);
        writers
            .into_iter()
            .flat_map(|writer| writer.join().expect("writer"))
            .collect()
    });
    assert!(
        statuses.iter().all(|status| matches!(status, 201 | 409)),
        "{statuses:?}"
    );
    let accepted = statuses.iter().filter(|status| **status == 201).count();
    assert!(
        statuses.contains(&409),
        "no append was refused: {statuses:?}"
    );
    let ended = attributes(&server, &conversation);
    let ended_at = ended["ended_at"].as_str().expect("ended_at").to_string();
    assert_eq!(ended["item_count"], accepted);
    let stored = items(&server, &conversation);
    assert_eq!(stored.len(), accepted);
    for item in &stored {
        let created = item["attributes"]["created_at"].as_str().unwrap();
        assert!(
            created <= ended_at.as_str(),
            "{created} after the end {ended_at}"
        );
    }
    drop(instances);
}

#[test]
fn counters_equal_a_recount_after_a_mixed_concurrent_workload() {
    let server = TestServer::start();
    let (instances, addresses) = two_more_instances(&server);
    let conversations: Vec<String> = (0..4)
        .map(|_| server.create_conversation(&server.organisation, json!({"channel": "chat"})))
        .collect();
    std::thread::scope(|scope| {
        for writer in 0..8 {
            let (addresses, key, conversations) = (&addresses, &server.key, &conversations);
            scope.spawn(move || {
                let mut mine: Vec<String> = Vec::new();
                for n in 0..24 {
                    let address = addresses[(writer + n) % addresses.len()];
                    let conversation = &conversations[(writer + n) % conversations.len()];
                    if n % 4 == 3 {
                        // Delete one of its own earlier items (it may be in an ended conversation).
                        if let Some(item) = mine.pop() {
                            let status = call(
                                address,
                                key,
                                "DELETE",
                                &format!("/api/conversation_items/{item}"),
                                None,
                            )
                            .status;
                            assert_eq!(status, 204);
                        }
                    } else {
                        let role = if n % 3 == 0 { "assistant" } else { "user" };
                        let response =
                            append(address, key, conversation, role, &format!("{writer}-{n}"));
                        match response.status {
                            201 => mine
                                .push(response.json()["data"]["id"].as_str().unwrap().to_string()),
                            409 => {}
                            other => panic!("append answered {other}: {}", response.text()),
                        }
                    }
                }
            });
        }
        // Meanwhile, two of the conversations end.
        scope.spawn(|| {
            std::thread::sleep(std::time::Duration::from_millis(30));
            for conversation in &conversations[..2] {
                expect_document(&end(&server, conversation), 200);
            }
        });
    });
    for conversation in &conversations {
        let counters = attributes(&server, conversation);
        let live = items(&server, conversation);
        let users = live
            .iter()
            .filter(|item| item["attributes"]["role"] == "user")
            .count();
        let last = live
            .iter()
            .filter_map(|item| item["attributes"]["occurred_at"].as_str())
            .max()
            .map_or(Value::Null, |last| json!(last));
        assert_eq!(counters["item_count"], live.len(), "{conversation}");
        assert_eq!(counters["user_turn_count"], users, "{conversation}");
        assert_eq!(counters["last_item_at"], last, "{conversation}");
    }
    drop(instances);
}
