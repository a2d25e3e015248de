//! The validator every response passes through must be able to fail.

use serde_json::json;

use crate::support::schema::{errors, is_uri_reference};

#[test]
fn rejects_documents_that_break_the_schema() {
    // data-errors: data and errors must not coexist.
    assert!(!errors(&json!({"data": null, "errors": [{"status": "400"}]})).is_empty());
    // resource-id-type-types: ids are strings.
    assert!(!errors(&json!({"data": {"type": "Conversation", "id": 7}})).is_empty());
    // A link with a space or a raw bracket is not a URI reference.
    assert!(!errors(&json!({"data": null, "links": {"self": "/api/a b"}})).is_empty());
    assert!(!errors(&json!({"data": null, "links": {"self": "/api/x?page[size]=1"}})).is_empty());
    // required-top-level
    assert!(!errors(&json!({"links": {"self": "/api"}})).is_empty());
}

#[test]
fn accepts_relative_links() {
    assert!(errors(&json!({"data": null, "links": {"self": "/api/conversations?fields%5BConversation%5D=title"}})).is_empty());
    assert!(is_uri_reference(
        "/api/conversations/1/relationships/organisation"
    ));
    assert!(!is_uri_reference("/api/%zz"));
}
