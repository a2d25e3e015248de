//! Soft deletion (issue 10): a deleted conversation or item answers 404 and is left out of every
//! collection, related collection, relationship and include, yet stays stored until
//! `confab purge --older-than DAYS` removes it. Status codes: delete-204-status,
//! fetch-resource-404-status.

use std::process::Command;

use serde_json::{json, Value};

use crate::support::{expect_document, expect_errors, TestServer};

fn ids(document: &Value) -> Vec<String> {
    let data = &document["data"];
    let list = data
        .as_array()
        .cloned()
        .unwrap_or_else(|| vec![data.clone()]);
    list.iter()
        .filter_map(|resource| resource["id"].as_str().map(str::to_string))
        .collect()
}

fn included(document: &Value) -> Vec<String> {
    document["included"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|r| r["id"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn deleted_conversations_and_items_are_gone_from_every_route() {
    let server = TestServer::start();
    let organisation = server.organisation.clone();
    let gone = server.create_conversation(&organisation, json!({"channel": "chat"}));
    let gone_items: Vec<String> = (0..3)
        .map(|n| server.create_item(&gone, &format!("g{n}")))
        .collect();
    let kept = server.create_conversation(&organisation, json!({"channel": "chat"}));
    let kept_item = server.create_item(&kept, "stays");
    let dropped_item = server.create_item(&kept, "goes");
    let other = server.create_item(&kept, "stays too");

    // An item: 204, then 404, and its conversation's counters drop it.
    assert_eq!(
        server
            .delete(&format!("/api/conversation_items/{dropped_item}"))
            .status,
        204
    );
    expect_errors(
        &server.get(&format!("/api/conversation_items/{dropped_item}")),
        404,
        &[Value::Null],
    );
    let kept_document = expect_document(
        &server.get(&format!(
            "/api/conversations/{kept}?include=conversation_items"
        )),
        200,
    );
    assert_eq!(kept_document["data"]["attributes"]["item_count"], 2);
    assert_eq!(kept_document["data"]["attributes"]["user_turn_count"], 2);
    assert_eq!(
        included(&kept_document),
        vec![kept_item.clone(), other.clone()]
    );

    // A conversation: its items go with it.
    assert_eq!(
        server.delete(&format!("/api/conversations/{gone}")).status,
        204
    );
    let every_route = [
        format!("/api/conversations/{gone}"),
        format!("/api/conversations/{gone}/conversation_items"),
        format!("/api/conversations/{gone}/relationships/conversation_items"),
        format!("/api/conversation_items/{}", gone_items[0]),
        format!("/api/conversation_items/{}/conversation", kept_item),
    ];
    for (index, route) in every_route.iter().enumerate() {
        let status = server.get(route).status;
        // The last is a live item's conversation, which is still there.
        assert_eq!(status, if index == 4 { 200 } else { 404 }, "{route}");
    }
    let listed = [
        "/api/conversations".to_string(),
        "/api/conversations?filter[archived]=true".to_string(),
        "/api/conversation_items".to_string(),
        format!("/api/organisations/{organisation}/conversations"),
        format!("/api/organisations/{organisation}/relationships/conversations"),
    ];
    for route in &listed {
        let document = expect_document(&server.get(route), 200);
        let found = ids(&document);
        assert!(!found.contains(&gone), "{route}: {found:?}");
        assert!(
            gone_items.iter().all(|item| !found.contains(item)),
            "{route}"
        );
        assert!(!found.contains(&dropped_item), "{route}");
    }
    let with_conversations = expect_document(
        &server.get(&format!(
            "/api/organisations/{organisation}?include=conversations.conversation_items"
        )),
        200,
    );
    let side = included(&with_conversations);
    assert!(side.contains(&kept) && side.contains(&kept_item));
    assert!(!side.contains(&gone) && !side.contains(&dropped_item));
    assert!(gone_items.iter().all(|item| !side.contains(item)));
    // Writes find nothing there either.
    assert_eq!(
        server.delete(&format!("/api/conversations/{gone}")).status,
        404
    );
    let patch = json!({"data": {"type": "Conversation", "id": gone, "attributes": {"title": "x"}}});
    assert_eq!(
        server
            .patch(&format!("/api/conversations/{gone}"), &patch)
            .status,
        404
    );
    let append = server.post(
        "/api/conversation_items",
        &json!({"data": {"type": "ConversationItem", "attributes": {"role": "user", "content": "x"},
            "relationships": {"conversation": {"data": {"type": "Conversation", "id": gone}}}}}),
    );
    assert_eq!(append.status, 404);
    // Still stored, marked.
    let dump = server.dump();
    let rows_of = |id: &str| dump.iter().filter(|line| line.contains(id)).count();
    assert!(rows_of(&gone) >= 4 && rows_of(&dropped_item) == 1);
}

fn purge(server: &TestServer, days: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_confab"))
        .args(["purge", "--older-than", days])
        .env("DATABASE_URL", &server.database_url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run confab purge");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn purge_removes_what_was_deleted_long_enough_ago_and_nothing_else() {
    use confab::store::schema::{conversation_items, conversations};
    use diesel::prelude::*;
    let server = TestServer::start();
    let organisation = server.organisation.clone();
    let old = server.create_conversation(&organisation, json!({"channel": "chat"}));
    let old_items: Vec<String> = (0..2)
        .map(|n| server.create_item(&old, &format!("o{n}")))
        .collect();
    let kept = server.create_conversation(&organisation, json!({"channel": "chat"}));
    let kept_item = server.create_item(&kept, "kept");
    let recent_item = server.create_item(&kept, "deleted just now");
    assert_eq!(
        server.delete(&format!("/api/conversations/{old}")).status,
        204
    );
    assert_eq!(
        server
            .delete(&format!("/api/conversation_items/{recent_item}"))
            .status,
        204
    );
    // Forty days pass for the old conversation and its items.
    let long_ago = chrono::Utc::now().naive_utc() - chrono::TimeDelta::days(40);
    let mut conn = server.connection();
    diesel::update(conversations::table.find(&old))
        .set(conversations::deleted_at.eq(Some(long_ago)))
        .execute(&mut *conn)
        .expect("age the conversation");
    diesel::update(conversation_items::table.filter(conversation_items::conversation_id.eq(&old)))
        .set(conversation_items::deleted_at.eq(Some(long_ago)))
        .execute(&mut *conn)
        .expect("age its items");
    drop(conn);

    let before = server.dump();
    let output = purge(&server, "30");
    assert!(
        output.contains("removed 2 ConversationItem resources deleted more than 30 days ago"),
        "{output}"
    );
    assert!(
        output.contains("removed 1 Conversation resources deleted more than 30 days ago"),
        "{output}"
    );
    let after = server.dump();
    let removed: Vec<&String> = before.iter().filter(|line| !after.contains(line)).collect();
    assert_eq!(removed.len(), 3, "{removed:#?}");
    assert!(removed.iter().all(|line| line.contains(&old)));
    assert!(after.iter().all(|line| before.contains(line)));
    assert!(old_items
        .iter()
        .all(|item| after.iter().all(|line| !line.contains(item))));
    // What was deleted recently waits its turn; what was never deleted stays.
    assert!(after.iter().any(|line| line.contains(&recent_item)));
    let output = purge(&server, "0");
    assert!(output.contains("removed 1 ConversationItem"), "{output}");
    let last = server.dump();
    assert!(last.iter().all(|line| !line.contains(&recent_item)));
    assert!(last.iter().any(|line| line.contains(&kept_item)));
    expect_document(&server.get(&format!("/api/conversations/{kept}")), 200);
}
