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
