//! The official JSON:API 1.1 (draft) response schema, with format checks on. JSON:API 1.1 allows
//! relative links, so the schema's `uri` format is checked as an RFC 3986 URI reference.

use std::sync::OnceLock;

use serde_json::Value;

static SCHEMA: &str = include_str!("../../../schema/1.1-draft-schema.json");

fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let schema: Value = serde_json::from_str(SCHEMA).expect("schema is JSON");
        jsonschema::options()
            .should_validate_formats(true)
            .with_format("uri", is_uri_reference)
            .build(&schema)
            .expect("schema compiles")
    })
}

/// RFC 3986 URI reference: only unreserved, reserved and percent-encoded characters.
pub fn is_uri_reference(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        if byte == b'%' {
            let valid = bytes
                .get(index + 1..index + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit));
            if !valid {
                return false;
            }
            index += 3;
            continue;
        }
        // Brackets are left out: confab never emits IP literals, so a raw bracket is an unencoded query.
        let allowed = byte.is_ascii_alphanumeric() || b"-._~:/?#@!$&'()*+,;=".contains(&byte);
        if !allowed {
            return false;
        }
        index += 1;
    }
    true
}

pub fn errors(document: &Value) -> Vec<String> {
    validator()
        .iter_errors(document)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect()
}

pub fn assert_valid(document: &Value) {
    let errors = errors(document);
    assert!(
        errors.is_empty(),
        "response violates the JSON:API schema: {errors:#?}\n{document:#}"
    );
}
