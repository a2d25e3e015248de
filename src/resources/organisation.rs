//! `Organisation`: the tenant that owns conversations. Over HTTP a key sees and may rename only
//! its own organisation; operators create and delete organisations at the command line.

use crate::jsonapi::error::ApiError;
use crate::jsonapi::resource::{
    Attribute, AttributeKind, Cardinality, HttpWrites, InitialValue, Relationship, Resource,
    ResourceType, ServerValue, Storage, Write,
};
use crate::jsonapi::unit_of_work::Tx;
use crate::store::{Direction, UtcTime};

crate::stored_model! {
    /// A row of `organisations`.
    pub struct Organisation in organisations, changed by OrganisationChanges {
        pub id: String,
        pub name: String,
        pub slug: String,
        pub created_at: UtcTime,
        pub updated_at: UtcTime,
    }
}

pub const SLUG_MAX_CHARS: usize = 64;

pub static RESOURCE: ResourceType = ResourceType {
    name: "Organisation",
    path: "organisations",
    attributes: &[
        Attribute {
            name: "name",
            kind: AttributeKind::String { max_chars: 200 },
            nullable: false,
            write: Write::Required,
            sortable: true,
            filterable: true,
        },
        Attribute {
            name: "slug",
            kind: AttributeKind::Slug {
                max_chars: SLUG_MAX_CHARS,
            },
            nullable: false,
            // Slugs are unique across organisations: renaming one over HTTP would reveal
            // which slugs others hold, so it is set once, at the command line.
            write: Write::CreateOnly(InitialValue::Hook),
            sortable: false,
            filterable: true,
        },
        Attribute {
            name: "created_at",
            kind: AttributeKind::Timestamp,
            nullable: false,
            write: Write::ReadOnly(ServerValue::CreatedAt),
            sortable: true,
            filterable: true,
        },
        Attribute {
            name: "updated_at",
            kind: AttributeKind::Timestamp,
            nullable: false,
            write: Write::ReadOnly(ServerValue::UpdatedAt),
            sortable: true,
            filterable: true,
        },
    ],
    relationships: &[Relationship {
        name: "conversations",
        target: "Conversation",
        cardinality: Cardinality::ToMany {
            inverse: "organisation",
        },
    }],
    default_order: &[("created_at", Direction::Ascending)],
    tenant_column: "id",
    scope_family: "organisation",
    http_writes: HttpWrites {
        create: false,
        delete: false,
    },
    soft_delete: None,
    hidden_unless_filtered: &[],
    storage: Storage::of::<Organisation>(),
};

impl Resource for Organisation {
    const DESCRIPTION: &'static ResourceType = &RESOURCE;

    /// A slug left out is made from the name.
    fn before_insert(&mut self, _tx: &mut Tx<'_>) -> Result<(), ApiError> {
        if self.slug.is_empty() {
            self.slug = slug_from_name(&self.name);
        }
        Ok(())
    }
}

/// `"Acme Support, Ltd."` becomes `"acme-support-ltd"`; a name with no letters or digits gives
/// `"organisation"`.
pub fn slug_from_name(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= SLUG_MAX_CHARS {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        "organisation".to_string()
    } else {
        slug.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonapi::input::is_slug;

    #[test]
    fn slugs_are_made_from_names() {
        assert_eq!(slug_from_name("Acme Support, Ltd."), "acme-support-ltd");
        assert_eq!(slug_from_name("  Ünïcode  Org "), "n-code-org");
        assert_eq!(slug_from_name("!!!"), "organisation");
        let long = slug_from_name(&"ab ".repeat(100));
        assert!(long.len() <= SLUG_MAX_CHARS && is_slug(&long), "{long}");
    }
}
