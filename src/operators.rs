//! What operators do at the command line against the same database: organisations (which the
//! HTTP API does not create or delete) and the first-start bootstrap. Organisations go through
//! the generic handlers, so the rules and validation are the HTTP API's own.

use serde_json::json;

use crate::auth::keys::{create_key, NewKey};
use crate::auth::SCOPES;
use crate::http::error::ApiError;
use crate::jsonapi::handlers::{self, Context};
use crate::jsonapi::input::{self, Intent};
use crate::jsonapi::query::Query;
use crate::jsonapi::resource::Tenant;
use crate::resources::{organisation, REGISTRY};
use crate::store::{self, Condition, Db, Select, Sql, SqlValue};

/// Creates an organisation and returns its id.
pub fn create_organisation(
    conn: &mut Db,
    name: &str,
    slug: Option<&str>,
) -> Result<String, ApiError> {
    let mut attributes = json!({"name": name});
    if let Some(slug) = slug {
        attributes["slug"] = json!(slug);
    }
    let document = json!({"data": {"type": organisation::RESOURCE.name, "attributes": attributes}});
    let changes = input::parse(&document, &organisation::RESOURCE, Intent::Create)?;
    let query = Query::default();
    let context = Context {
        registry: &REGISTRY,
        tenant: &Tenant::Operator,
        query: &query,
        path: String::new(),
        self_link: String::new(),
    };
    let (_, created) = handlers::create(conn, &context, &organisation::RESOURCE, changes)?;
    match created.data {
        crate::jsonapi::document::PrimaryData::Single(Some(resource)) => resource
            .id
            .ok_or_else(|| ApiError::Internal("created organisation has no id".into())),
        _ => Err(ApiError::Internal("create answered no resource".into())),
    }
}

/// The id of the organisation with this id or slug.
pub fn find_organisation(conn: &mut Db, id_or_slug: &str) -> Result<String, ApiError> {
    let column = [store::Column {
        name: "id",
        kind: store::ColumnKind::Text,
    }];
    let condition = if crate::jsonapi::graph::canonical_id(id_or_slug).is_some() {
        Condition::Equals("id", SqlValue::text(id_or_slug.to_ascii_lowercase()))
    } else {
        Condition::Equals("slug", SqlValue::text(id_or_slug))
    };
    let row = Select::from(organisation::RESOURCE.table, &column)
        .filter(condition)
        .limit(1)
        .load(conn)?
        .pop();
    row.and_then(|row| row.get("id").and_then(|id| id.as_str()).map(str::to_string))
        .ok_or_else(|| {
            ApiError::not_found(format!("No organisation with id or slug `{id_or_slug}`."))
        })
}

/// Deletes an organisation and everything it owns.
pub fn delete_organisation(conn: &mut Db, id_or_slug: &str) -> Result<(), ApiError> {
    let id = find_organisation(conn, id_or_slug)?;
    handlers::delete(conn, &organisation::RESOURCE, &Tenant::Operator, &id)
}

/// On an empty database: organisation `demo` and an all-scopes `sk_test_` key, returned once.
/// Several instances starting at once race on the slug; the losers make nothing.
pub fn bootstrap(conn: &mut Db) -> Result<Option<(String, String)>, ApiError> {
    let mut count = Sql::new(conn.dialect());
    count
        .push("SELECT COUNT(*) AS value FROM ")
        .ident(organisation::RESOURCE.table);
    if count.load_integers(conn)?.first().copied().unwrap_or(0) > 0 {
        return Ok(None);
    }
    let created = store::transaction(conn, |conn| {
        let organisation = create_organisation(conn, "Demo", Some("demo"))?;
        let key = create_key(
            conn,
            &NewKey {
                organisation_id: organisation.clone(),
                scopes: SCOPES.iter().map(|scope| scope.to_string()).collect(),
                test: true,
                expires_in_days: None,
            },
        )?;
        Ok::<_, ApiError>((organisation, key))
    });
    match created {
        Ok(created) => Ok(Some(created)),
        Err(ApiError::Duplicate { .. }) => Ok(None),
        Err(other) => Err(other),
    }
}
