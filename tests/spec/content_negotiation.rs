//! Spec section: content negotiation.

use serde_json::json;

use crate::support::{expect_document, expect_errors, header, TestServer, MEDIA_TYPE};

fn conversation_document(server: &TestServer) -> Vec<u8> {
    serde_json::to_vec(&json!({"data": {"type": "Conversation", "attributes": {"channel": "chat"},
        "relationships": {"organisation": {"data": {"type": "Organisation", "id": server.organisation}}}}}))
    .unwrap()
}

#[test]
fn response_content_type_is_the_bare_media_type_with_vary_accept() {
    // response-content-type
    let server = TestServer::start();
    let response = server.get("/api/conversations");
    expect_document(&response, 200);
    assert_eq!(
        response.header("content-type"),
        Some("application/vnd.api+json")
    );
    assert_eq!(response.header("vary"), Some("Accept"));
}

/// Bodies over 1 KiB are compressed with the coding the client prefers among brotli, zstd and
/// gzip (RFC 9110 §12.5.3); smaller ones, and clients that accept none, get them as they are.
#[test]
fn large_bodies_are_compressed_as_accept_encoding_asks() {
    let server = TestServer::start();
    for _ in 0..3 {
        server.create_conversation(&server.organisation, json!({"channel": "chat"}));
    }
    let get = |accept_encoding: Option<&str>, target: &str| {
        let mut headers = vec![("Accept", MEDIA_TYPE)];
        if let Some(accept_encoding) = accept_encoding {
            headers.push(("Accept-Encoding", accept_encoding));
        }
        server.request("GET", target, &headers, None)
    };
    let plain = get(None, "/api/conversations");
    expect_document(&plain, 200);
    assert!(plain.body.len() > 1024, "the listing is large enough");
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.header("vary"), Some("Accept, Accept-Encoding"));
    for (accept_encoding, coding) in [
        ("gzip", Some("gzip")),
        ("br", Some("br")),
        ("zstd", Some("zstd")),
        ("gzip, deflate, br, zstd", Some("br")),
        ("gzip;q=1.0, br;q=0.5", Some("gzip")),
        ("*;q=0.2, zstd;q=0.9", Some("zstd")),
        ("deflate", None),
        ("identity", None),
        ("gzip;q=0", None),
    ] {
        let response = get(Some(accept_encoding), "/api/conversations");
        expect_document(&response, 200);
        assert_eq!(
            response.header("content-encoding"),
            coding,
            "{accept_encoding}"
        );
        assert_eq!(
            response.body, plain.body,
            "{accept_encoding}: same document"
        );
    }
    // A small body is not worth compressing.
    let small = get(
        Some("gzip"),
        "/api/conversations/00000000-0000-4000-8000-000000000000",
    );
    expect_errors(&small, 404, &[crate::support::no_source()]);
    assert!(small.body.len() <= 1024);
    assert_eq!(small.header("content-encoding"), None);
}

#[test]
fn content_type_with_a_foreign_parameter_is_415() {
    // response-unsupported-media-type
    let server = TestServer::start();
    for content_type in [
        "application/vnd.api+json; charset=utf-8",
        "application/vnd.api+json;version=1",
    ] {
        let response = server.request(
            "POST",
            "/api/conversations",
            &[("Content-Type", content_type)],
            Some(&conversation_document(&server)),
        );
        expect_errors(&response, 415, &[header("Content-Type")]);
    }
    // Nothing was created.
    assert_eq!(
        expect_document(&server.get("/api/conversations"), 200)["data"],
        json!([])
    );
}

#[test]
fn content_type_with_an_unsupported_extension_is_415() {
    // response-unsupported-media-type (ext)
    let server = TestServer::start();
    let response = server.request(
        "POST",
        "/api/conversations",
        &[(
            "Content-Type",
            "application/vnd.api+json; ext=\"https://jsonapi.org/ext/atomic\"",
        )],
        Some(&conversation_document(&server)),
    );
    expect_errors(&response, 415, &[header("Content-Type")]);
}

#[test]
fn a_document_without_the_jsonapi_media_type_is_415() {
    // request-content-type
    let server = TestServer::start();
    let body = conversation_document(&server);
    let plain_json = server.request(
        "POST",
        "/api/conversations",
        &[("Content-Type", "application/json")],
        Some(&body),
    );
    expect_errors(&plain_json, 415, &[header("Content-Type")]);
    let missing = server.request("POST", "/api/conversations", &[], Some(&body));
    expect_errors(&missing, 415, &[header("Content-Type")]);
}

#[test]
fn a_profile_parameter_is_accepted_and_unknown_profiles_ignored() {
    // Profiles are the only parameter besides ext; unknown profiles MUST be ignored.
    let server = TestServer::start();
    let response = server.request(
        "POST",
        "/api/conversations",
        &[
            (
                "Content-Type",
                "application/vnd.api+json; profile=\"https://example.com/unknown\"",
            ),
            (
                "Accept",
                "application/vnd.api+json; profile=\"https://example.com/unknown\"",
            ),
        ],
        Some(&conversation_document(&server)),
    );
    expect_document(&response, 201);
    assert_eq!(response.header("content-type"), Some(MEDIA_TYPE));
}

#[test]
fn accept_with_only_modified_instances_is_406() {
    // response-not-acceptable
    let server = TestServer::start();
    for accept in [
        "application/vnd.api+json; charset=utf-8",
        "application/vnd.api+json; charset=utf-8, application/vnd.api+json; foo=bar",
        "application/vnd.api+json; ext=\"https://example.com/unsupported\"",
    ] {
        let response = server.request("GET", "/api/conversations", &[("Accept", accept)], None);
        expect_errors(&response, 406, &[header("Accept")]);
    }
}

#[test]
fn accept_with_one_plain_instance_is_served() {
    // response-not-acceptable: instances with foreign parameters are ignored, not fatal.
    let server = TestServer::start();
    let response = server.request(
        "GET",
        "/api/conversations",
        &[(
            "Accept",
            "application/vnd.api+json; charset=utf-8, application/vnd.api+json",
        )],
        None,
    );
    expect_document(&response, 200);
}

#[test]
fn wildcard_or_missing_accept_is_served() {
    let server = TestServer::start();
    for headers in [
        vec![("Accept", "*/*")],
        vec![],
        vec![("Accept", "application/json, */*;q=0.8")],
    ] {
        let response = server.request("GET", "/api/conversations", &headers, None);
        expect_document(&response, 200);
    }
}

#[test]
fn jsonapi_content_type_with_parameters_on_a_get_is_415() {
    // response-unsupported-media-type applies whenever the header carries the JSON:API media type.
    let server = TestServer::start();
    let response = server.request(
        "GET",
        "/api/conversations",
        &[("Content-Type", "application/vnd.api+json; charset=utf-8")],
        None,
    );
    expect_errors(&response, 415, &[header("Content-Type")]);
    // A generic content type on a bodiless GET (some clients always send one) is harmless.
    let response = server.request(
        "GET",
        "/api/conversations",
        &[("Content-Type", "application/json")],
        None,
    );
    expect_document(&response, 200);
}
