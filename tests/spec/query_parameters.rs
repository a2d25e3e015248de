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
fn sort_page_and_filter_are_refused_until_supported() {
    // sorting-not-supported: a server that cannot sort as asked MUST answer 400.
    let server = TestServer::start();
    expect_errors(
        &server.get("/api/conversations?sort=-created_at"),
        400,
        &[parameter("sort")],
    );
    expect_errors(
        &server.get("/api/conversations?page[size]=5"),
        400,
        &[parameter("page[size]")],
    );
    expect_errors(
        &server.get("/api/conversations?filter[status]=active"),
        400,
        &[parameter("filter[status]")],
    );
}
