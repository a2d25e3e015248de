//! Spec section: query parameters (families, implementation-specific parameters).

use crate::support::{expect_errors, parameter, TestServer};

#[test]
fn unknown_parameters_are_400_and_named() {
    // query-parameters-bad-request, query-parameters-non-alpha
    let server = TestServer::start();
    expect_errors(
        &server.get("/api/conversations?colour=red"),
        400,
        &[parameter("colour")],
    );
    expect_errors(
        &server.get("/api/conversations?customParam=1"),
        400,
        &[parameter("customParam")],
    );
    expect_errors(
        &server.get("/api/conversations?fields[Conversation=title"),
        400,
        &[parameter("fields[Conversation")],
    );
}

#[test]
fn all_problems_are_reported_together() {
    // error-stop-processing (MAY continue): every bad parameter gets its own error object.
    let server = TestServer::start();
    expect_errors(
        &server.get("/api/conversations?include=nope&colour=red&fields[Widget]=x"),
        400,
        &[
            parameter("include"),
            parameter("colour"),
            parameter("fields[Widget]"),
        ],
    );
}

#[test]
fn a_repeated_parameter_is_400() {
    let server = TestServer::start();
    expect_errors(
        &server.get("/api/conversations?include=organisation&include=conversation_items"),
        400,
        &[parameter("include")],
    );
    // Encoded and raw spellings are the same parameter, so this is a repeat too.
    expect_errors(
        &server
            .get("/api/conversations?fields[Conversation]=title&fields%5BConversation%5D=status"),
        400,
        &[parameter("fields[Conversation]")],
    );
}

#[test]
fn collection_families_are_refused_where_there_is_no_collection() {
    let server = TestServer::start();
    let id =
        server.create_conversation(&server.organisation, serde_json::json!({"channel": "chat"}));
    for parameter in ["sort", "page[size]", "filter[status]"] {
        let path = format!("/api/conversations/{id}?{parameter}=x");
        expect_errors(
            &server.get(&path),
            400,
            &[crate::support::parameter(parameter)],
        );
    }
    let path = format!("/api/conversations/{id}/organisation?page[size]=1");
    expect_errors(
        &server.get(&path),
        400,
        &[crate::support::parameter("page[size]")],
    );
}
