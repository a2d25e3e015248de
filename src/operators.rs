//! What operators do at the command line against the same database: organisations (which the
//! HTTP API does not create or delete) and the first-start bootstrap. Organisations go through
//! the generic handlers, so the rules and validation are the HTTP API's own.

use serde_json::json;

use crate::auth::keys::{create_key, NewKey};
use crate::auth::SCOPES;
use crate::jsonapi::error::ApiError;
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

/// How much `seed` makes.
pub struct SeedPlan {
    pub organisations: u64,
    pub conversations: u64,
    pub items_per_conversation: u64,
}

/// Deterministic data for benchmarks and demos: organisations `seed-1` …, conversations spread
/// round-robin over them one second apart from 2025-01-01, and items a millisecond apart. The
/// same plan always makes the same ids, times and values. Returns the organisations' slugs.
pub fn seed(
    conn: &mut Db,
    plan: &SeedPlan,
    progress: impl Fn(u64),
) -> Result<Vec<String>, ApiError> {
    use crate::resources::{conversation, conversation_item};
    use crate::store::{insert_many, truncate_to_micros};
    use chrono::{DateTime, TimeDelta};

    const CONVERSATIONS_PER_STATEMENT: u64 = 500;
    let base = DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .naive_utc();
    let at = |offset: TimeDelta| SqlValue::Timestamp(Some(truncate_to_micros(base + offset)));
    let id = |kind: u32, n: u64| SqlValue::text(format!("{kind:08x}-0000-4000-8000-{n:012x}"));
    let organisations = plan.organisations.max(1);

    let mut slugs = Vec::new();
    store::transaction(conn, |conn| {
        let rows = (0..organisations)
            .map(|k| {
                let slug = format!("seed-{}", k + 1);
                slugs.push(slug.clone());
                vec![
                    id(1, k),
                    SqlValue::text(format!("Seed {}", k + 1)),
                    SqlValue::text(slug),
                    at(TimeDelta::zero()),
                    at(TimeDelta::zero()),
                ]
            })
            .collect();
        insert_many(
            conn,
            organisation::RESOURCE.table,
            &["id", "name", "slug", "created_at", "updated_at"],
            rows,
        )
    })?;

    let plans = ["free", "pro", "enterprise"];
    let mut start = 0;
    while start < plan.conversations {
        let end = (start + CONVERSATIONS_PER_STATEMENT).min(plan.conversations);
        store::transaction(conn, |conn| {
            let rows = (start..end)
                .map(|i| {
                    let created = at(TimeDelta::seconds(i as i64));
                    vec![
                        id(2, i),
                        id(1, i % organisations),
                        SqlValue::text(conversation::CHANNELS[(i % 6) as usize]),
                        SqlValue::text(if i % 5 == 0 { "voice" } else { "text" }),
                        SqlValue::text(conversation::STATUSES[(i % 4) as usize]),
                        SqlValue::text(format!("conv_{i:032x}")),
                        SqlValue::text(format!("Seeded conversation {i}")),
                        SqlValue::Text(None),
                        SqlValue::text(format!(
                            "{{\"plan\":\"{}\",\"seq\":{i}}}",
                            plans[(i % 3) as usize]
                        )),
                        SqlValue::Integer(Some(plan.items_per_conversation as i64)),
                        created.clone(),
                        created,
                    ]
                })
                .collect();
            insert_many(
                conn,
                conversation::RESOURCE.table,
                &[
                    "id",
                    "organisation_id",
                    "channel",
                    "mode",
                    "status",
                    "public_id",
                    "title",
                    "ai_agent_id",
                    "metadata",
                    "last_item_position",
                    "created_at",
                    "updated_at",
                ],
                rows,
            )?;
            let items =
                (start..end).flat_map(|i| (0..plan.items_per_conversation).map(move |j| (i, j)));
            let rows: Vec<Vec<SqlValue>> = items
                .map(|(i, j)| {
                    let occurred =
                        at(TimeDelta::seconds(i as i64) + TimeDelta::milliseconds(j as i64));
                    vec![
                        id(3, i * plan.items_per_conversation + j),
                        id(2, i),
                        id(1, i % organisations),
                        SqlValue::text(if j % 2 == 0 { "user" } else { "assistant" }),
                        SqlValue::text(format!("Message {j} of conversation {i}")),
                        SqlValue::text("text"),
                        SqlValue::Integer(Some(j as i64 + 1)),
                        SqlValue::text("{}"),
                        occurred.clone(),
                        occurred,
                    ]
                })
                .collect();
            for chunk in rows.chunks(800) {
                insert_many(
                    conn,
                    conversation_item::RESOURCE.table,
                    &[
                        "id",
                        "conversation_id",
                        "organisation_id",
                        "role",
                        "content",
                        "modality",
                        "position",
                        "metadata",
                        "occurred_at",
                        "created_at",
                    ],
                    chunk.to_vec(),
                )?;
            }
            Ok::<_, ApiError>(())
        })?;
        start = end;
        progress(end);
    }
    // Fresh statistics, so the planners pick the indexes the listings were designed around.
    let mut analyze = Sql::new(conn.dialect());
    analyze.push("ANALYZE");
    analyze.execute(conn)?;
    Ok(slugs)
}
