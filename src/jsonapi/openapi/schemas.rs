//! JSON Schemas (OpenAPI 3.1 is JSON Schema 2020-12) for one resource type, read off its
//! description: the resource object a response carries, the documents a create, an update and
//! a relationship write send, and the documents a read answers.

use serde_json::{json, Map, Value};

use crate::jsonapi::resource::{
    Attribute, AttributeKind, Cardinality, MemberKind, Registry, Relationship, ResourceType,
    ToOneWrite, Write,
};

/// A reference to a schema under `components/schemas`.
pub(super) fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// The schema of a value of `kind`, not null.
fn kind_schema(kind: AttributeKind) -> Value {
    match kind {
        AttributeKind::String { max_chars } => json!({"type": "string", "maxLength": max_chars}),
        AttributeKind::Slug { max_chars } => json!({
            "type": "string",
            "minLength": 1,
            "maxLength": max_chars,
            "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$",
        }),
        AttributeKind::Enum(values) => json!({"type": "string", "enum": values}),
        AttributeKind::Uuid => json!({"type": "string", "format": "uuid"}),
        AttributeKind::Integer => json!({"type": "integer", "format": "int64"}),
        AttributeKind::Boolean => json!({"type": "boolean"}),
        AttributeKind::Timestamp => json!({
            "type": "string",
            "format": "date-time",
            "description": "RFC 3339, answered in UTC with microseconds.",
        }),
        AttributeKind::Email { max_chars } => json!({
            "type": "string",
            "format": "email",
            "maxLength": max_chars,
        }),
        AttributeKind::Object => json!({
            "type": "object",
            "description": "Any JSON object; its keys can be filtered on (`filter[NAME.KEY]`).",
        }),
        AttributeKind::Shaped(members) => {
            let properties: Map<String, Value> = members
                .iter()
                .map(|member| {
                    let mut schema = member_schema(member.kind);
                    nullable(&mut schema);
                    (member.name.to_string(), schema)
                })
                .collect();
            json!({"type": "object", "properties": properties, "additionalProperties": false})
        }
        AttributeKind::EnumSet(values) => json!({
            "type": "array",
            "items": {"type": "string", "enum": values},
            "uniqueItems": true,
        }),
        AttributeKind::TaggedObjects => json!({
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type"],
                "properties": {"type": {"type": "string"}},
            },
        }),
    }
}

fn member_schema(kind: MemberKind) -> Value {
    match kind {
        MemberKind::Text { max_chars } => json!({"type": "string", "maxLength": max_chars}),
        MemberKind::Email => json!({"type": "string", "format": "email", "maxLength": 254}),
        MemberKind::Phone => json!({
            "type": "string",
            "pattern": "^\\+[1-9][0-9]{1,14}$",
            "description": "E.164.",
        }),
        MemberKind::Url => json!({
            "type": "string",
            "format": "uri",
            "pattern": "^https?://[^/?#\\s]+",
            "maxLength": 2048,
        }),
    }
}

/// Lets `schema` also be null.
fn nullable(schema: &mut Value) {
    if let Some(kind) = schema.get("type").cloned() {
        schema["type"] = json!([kind, "null"]);
    }
    if let Some(values) = schema.get_mut("enum").and_then(Value::as_array_mut) {
        values.push(Value::Null);
    }
}

/// An attribute's schema, with who may write it said in `readOnly` and its description.
fn attribute_schema(attribute: &Attribute) -> Value {
    let mut schema = kind_schema(attribute.kind);
    if attribute.nullable {
        nullable(&mut schema);
    }
    let said = match attribute.write {
        Write::Required => "Required on create.",
        Write::Optional(_) => "Optional on create, where it takes its default.",
        Write::Fixed => "Required on create; it cannot change afterwards (403).",
        Write::CreateOnly(_) => "Optional on create; it cannot change afterwards (403).",
        Write::ReadOnly(_) => {
            schema["readOnly"] = json!(true);
            "Set by the server; a document that sends it is refused (422)."
        }
    };
    let description = match schema.get("description").and_then(Value::as_str) {
        Some(kind) => format!("{kind} {said}"),
        None => said.to_string(),
    };
    schema["description"] = json!(description);
    schema
}

/// The resource identifier object of type `name`.
pub(super) fn identifier(name: &str) -> Value {
    json!({
        "type": "object",
        "required": ["type", "id"],
        "properties": {
            "type": {"const": name},
            "id": {"type": "string", "format": "uuid"},
            "meta": {"type": "object"},
        },
        "additionalProperties": false,
    })
}

/// The linkage of `relationship`: one identifier or null, or a list of them.
fn linkage(relationship: &Relationship) -> Value {
    let identifier = schema_ref(&format!("{}.identifier", relationship.target));
    match relationship.cardinality {
        Cardinality::ToOne { .. } => json!({"oneOf": [identifier, {"type": "null"}]}),
        Cardinality::ToMany { .. } => json!({"type": "array", "items": identifier}),
    }
}

/// The resource object of `resource` in a response. Sparse fieldsets may leave out any field.
pub(super) fn resource_object(resource: &ResourceType) -> Value {
    let attributes: Map<String, Value> = resource
        .attributes
        .iter()
        .map(|attribute| (attribute.name.to_string(), attribute_schema(attribute)))
        .collect();
    let relationships: Map<String, Value> = resource
        .relationships
        .iter()
        .map(|relationship| {
            let object = json!({
                "type": "object",
                "properties": {
                    "links": schema_ref("links"),
                    "data": linkage(relationship),
                    "meta": {"type": "object"},
                },
                "additionalProperties": false,
                "description": format!("Related {} resources.", relationship.target),
            });
            (relationship.name.to_string(), object)
        })
        .collect();
    json!({
        "type": "object",
        "required": ["type", "id"],
        "properties": {
            "type": {"const": resource.name},
            "id": {"type": "string", "format": "uuid"},
            "attributes": {
                "type": "object",
                "properties": attributes,
                "additionalProperties": false,
            },
            "relationships": {
                "type": "object",
                "properties": relationships,
                "additionalProperties": false,
            },
            "links": schema_ref("links"),
            "meta": {"type": "object"},
        },
        "additionalProperties": false,
    })
}

/// Whether a to-one relationship may be named in a create, and whether it must be.
fn create_linkage(write: ToOneWrite) -> Option<bool> {
    match write {
        ToOneWrite::RequiredOnCreate => Some(true),
        ToOneWrite::Tenant | ToOneWrite::Changeable { .. } => Some(false),
        ToOneWrite::Derived => None,
    }
}

/// The request document that creates (`create`) or updates a resource of `resource`.
pub(super) fn write_document(resource: &ResourceType, create: bool) -> Value {
    let mut attributes = Map::new();
    let mut required_attributes = Vec::new();
    for attribute in resource.attributes {
        let (offered, required) = match (attribute.write, create) {
            (Write::ReadOnly(_), _) => (false, false),
            (Write::Required | Write::Fixed, true) => (true, true),
            (_, true) => (true, false),
            (Write::Required | Write::Optional(_), false) => (true, false),
            (Write::Fixed | Write::CreateOnly(_), false) => (false, false),
        };
        if offered {
            attributes.insert(attribute.name.to_string(), attribute_schema(attribute));
        }
        if required {
            required_attributes.push(attribute.name);
        }
    }
    let mut relationships = Map::new();
    let mut required_relationships = Vec::new();
    for relationship in resource.relationships {
        let Cardinality::ToOne { write, .. } = relationship.cardinality else {
            continue;
        };
        let (offered, required) = match (create, write) {
            (true, write) => match create_linkage(write) {
                Some(required) => (true, required),
                None => (false, false),
            },
            (false, ToOneWrite::Changeable { .. }) => (true, false),
            (false, _) => (false, false),
        };
        if !offered {
            continue;
        }
        let identifier = schema_ref(&format!("{}.identifier", relationship.target));
        let data = match (required, write) {
            (false, ToOneWrite::Changeable { .. }) => {
                json!({"oneOf": [identifier, {"type": "null"}]})
            }
            _ => identifier,
        };
        relationships.insert(
            relationship.name.to_string(),
            json!({
                "type": "object",
                "required": ["data"],
                "properties": {"data": data, "meta": {"type": "object"}},
                "additionalProperties": false,
            }),
        );
        if required {
            required_relationships.push(relationship.name);
        }
    }
    let mut data_required = vec!["type"];
    if !create {
        data_required.push("id");
    }
    let mut properties = Map::new();
    properties.insert("type".into(), json!({"const": resource.name}));
    properties.insert(
        "id".into(),
        json!({
            "type": "string",
            "format": "uuid",
            "description": if create {
                "A client-generated id (a UUID), if the client chooses one."
            } else {
                "The id of the resource in the URL."
            },
        }),
    );
    if create {
        properties.insert(
            "lid".into(),
            json!({"type": "string", "description": "A local id, for Atomic Operations."}),
        );
    }
    for (member, schemas, required) in [
        ("attributes", attributes, required_attributes),
        ("relationships", relationships, required_relationships),
    ] {
        if schemas.is_empty() {
            continue;
        }
        if !required.is_empty() {
            data_required.push(member);
        }
        let mut object = json!({
            "type": "object",
            "properties": schemas,
            "additionalProperties": false,
        });
        if !required.is_empty() {
            object["required"] = json!(required);
        }
        properties.insert(member.into(), object);
    }
    properties.insert("meta".into(), json!({"type": "object"}));
    json!({
        "type": "object",
        "required": ["data"],
        "properties": {
            "data": {
                "type": "object",
                "required": data_required,
                "properties": properties,
                "additionalProperties": false,
            },
            "meta": {"type": "object"},
            "jsonapi": schema_ref("jsonapi"),
        },
        "additionalProperties": false,
    })
}

/// The document a relationship write sends: its whole linkage, or the members to add or remove.
pub(super) fn linkage_request(relationship: &Relationship) -> Value {
    json!({
        "type": "object",
        "required": ["data"],
        "properties": {"data": linkage(relationship), "meta": {"type": "object"}},
        "additionalProperties": false,
    })
}

/// A top-level document whose primary data is `data`.
pub(super) fn top_level(data: Value, included: bool) -> Value {
    let mut properties = json!({
        "jsonapi": schema_ref("jsonapi"),
        "links": schema_ref("links"),
        "data": data,
        "meta": {"type": "object"},
    });
    if included {
        properties["included"] = schema_ref("included");
    }
    json!({
        "type": "object",
        "required": ["data"],
        "properties": properties,
        "additionalProperties": false,
    })
}

/// Every schema of `resource`, by its name under `components/schemas`.
pub(super) fn type_schemas(resource: &ResourceType, into: &mut Map<String, Value>) {
    let name = resource.name;
    let one = schema_ref(name);
    let mut put = |suffix: &str, schema: Value| {
        into.insert(format!("{name}{suffix}"), schema);
    };
    put("", resource_object(resource));
    put(".identifier", identifier(name));
    put(".create", write_document(resource, true));
    put(".update", write_document(resource, false));
    put(".document", top_level(one.clone(), true));
    put(
        ".document-or-null",
        top_level(json!({"oneOf": [one.clone(), {"type": "null"}]}), true),
    );
    put(
        ".collection",
        top_level(json!({"type": "array", "items": one}), true),
    );
    let identifier = schema_ref(&format!("{name}.identifier"));
    put(
        ".linkage-one",
        top_level(
            json!({"oneOf": [identifier.clone(), {"type": "null"}]}),
            false,
        ),
    );
    put(
        ".linkage-many",
        top_level(json!({"type": "array", "items": identifier}), false),
    );
}

/// A resource object of any type.
pub(super) fn any_resource(registry: &Registry) -> Value {
    let any: Vec<Value> = registry
        .types()
        .iter()
        .map(|resource| schema_ref(resource.name))
        .collect();
    json!({"anyOf": any})
}

/// `included`: resources of any type.
pub(super) fn included(registry: &Registry) -> Value {
    json!({"type": "array", "items": any_resource(registry)})
}
