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
use crate::jsonapi::resource::{now_in_micros, Tenant};
use crate::jsonapi::unit_of_work;
use crate::resources::{organisation, REGISTRY};
use diesel::prelude::*;

use crate::store::schema::organisations;
use crate::store::{self, Comparison, Condition, Db, Expr, SqlValue, StoreError, Stored};

/// Removes for good the soft-deleted resources of every type that were deleted more than
/// `days` days ago, in one transaction; returns how many of each type went.
pub fn purge_deleted(conn: &mut Db, days: u32) -> Result<Vec<(&'static str, usize)>, ApiError> {
    let cutoff = now_in_micros() - chrono::TimeDelta::days(i64::from(days));
    store::transaction(conn, |conn| {
        let mut removed = Vec::new();
        // Owned types first (items before their conversations), so each count is its own.
        for resource in REGISTRY.types().iter().rev() {
            let Some(column) = resource.soft_delete else {
                continue;
            };
            let older = Condition::Compare(
                Expr::Column(column),
                Comparison::Less,
                SqlValue::Timestamp(Some(cutoff)),
            );
            removed.push((resource.name, (resource.storage.purge)(conn, &[older])?));
        }
        Ok(removed)
    })
}

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
    let context = operator_context(&query);
    let (created, _) = unit_of_work::operate(conn, |tx| {
        handlers::create(tx, &context, &organisation::RESOURCE, changes)
    })?;
    Ok(created.id)
}

/// The id of the organisation with this id or slug.
pub fn find_organisation(conn: &mut Db, id_or_slug: &str) -> Result<String, ApiError> {
    let query = organisations::table.select(organisations::id).into_boxed();
    let query = match crate::jsonapi::graph::canonical_id(id_or_slug) {
        Some(id) => query.filter(organisations::id.eq(id)),
        None => query.filter(organisations::slug.eq(id_or_slug.to_string())),
    };
    query
        .first::<String>(conn)
        .optional()
        .map_err(StoreError::from)?
        .ok_or_else(|| {
            ApiError::not_found(format!("No organisation with id or slug `{id_or_slug}`."))
        })
}

/// The context of an operator's command: every organisation, no response budget.
fn operator_context(query: &Query) -> Context<'_> {
    Context {
        registry: &REGISTRY,
        tenant: &Tenant::Operator,
        query,
        path: String::new(),
        self_link: String::new(),
        max_response_bytes: usize::MAX,
        if_match: None,
    }
}

/// Deletes an organisation and everything it owns.
pub fn delete_organisation(conn: &mut Db, id_or_slug: &str) -> Result<(), ApiError> {
    let id = find_organisation(conn, id_or_slug)?;
    let query = Query::default();
    let context = operator_context(&query);
    unit_of_work::operate(conn, |tx| {
        handlers::delete(tx, &context, &organisation::RESOURCE, &id)
    })
}

/// On an empty database: organisation `demo` and an all-scopes `sk_test_` key, returned once.
/// Several instances starting at once race on the slug; the losers make nothing.
pub fn bootstrap(conn: &mut Db) -> Result<Option<(String, String)>, ApiError> {
    let existing: i64 = organisations::table
        .count()
        .get_result(conn)
        .map_err(StoreError::from)?;
    if existing > 0 {
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
    use crate::resources::conversation::{self, channel, lifecycle, Conversation};
    use crate::resources::conversation_item::ConversationItem;
    use crate::resources::organisation::Organisation;
    use crate::store::{truncate_to_micros, JsonText, UtcTime};
    use chrono::{DateTime, TimeDelta};

    const CONVERSATIONS_PER_TRANSACTION: u64 = 500;
    let base = DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .naive_utc();
    let at = |offset: TimeDelta| UtcTime(truncate_to_micros(base + offset));
    let id = |kind: u32, n: u64| format!("{kind:08x}-0000-4000-8000-{n:012x}");
    let organisations = plan.organisations.max(1);

    let rows: Vec<Organisation> = (0..organisations)
        .map(|k| Organisation {
            id: id(1, k),
            name: format!("Seed {}", k + 1),
            slug: format!("seed-{}", k + 1),
            created_at: at(TimeDelta::zero()),
            updated_at: at(TimeDelta::zero()),
        })
        .collect();
    store::transaction(conn, |conn| Organisation::insert(conn, &rows))?;
    let slugs = rows.into_iter().map(|row| row.slug).collect();

    let plans = ["free", "pro", "enterprise"];
    let mut start = 0;
    while start < plan.conversations {
        let end = (start + CONVERSATIONS_PER_TRANSACTION).min(plan.conversations);
        let conversations: Vec<Conversation> = (start..end)
            .map(|i| {
                let created = at(TimeDelta::seconds(i as i64));
                let channel = conversation::CHANNELS[(i % 6) as usize];
                // A telephone call waits for its dialer; the others run or have ended.
                let status = match (channel, i % 4) {
                    (channel::TELEPHONE, _) => lifecycle::PENDING,
                    (_, 1) => "completed",
                    (_, 3) => "abandoned",
                    _ => lifecycle::ACTIVE,
                };
                let items = plan.items_per_conversation as i64;
                let last_item =
                    at(TimeDelta::seconds(i as i64) + TimeDelta::milliseconds(items - 1));
                let ended =
                    lifecycle::is_terminal(status).then(|| at(TimeDelta::seconds(i as i64 + 60)));
                Conversation {
                    id: id(2, i),
                    organisation_id: id(1, i % organisations),
                    channel: channel.to_string(),
                    mode: if i % 5 == 0 { "voice" } else { "text" }.to_string(),
                    status: status.to_string(),
                    participant: JsonText(if channel == channel::TELEPHONE {
                        format!("{{\"phone\":\"+1415555{:04}\"}}", i % 10_000)
                    } else {
                        format!("{{\"external_id\":\"person-{i}\"}}")
                    }),
                    to_address: (channel == channel::EMAIL)
                        .then(|| format!("person-{i}@example.com")),
                    started_at: (status != lifecycle::PENDING).then_some(created),
                    ended_at: ended,
                    duration_seconds: ended.map(|_| 60),
                    item_count: items,
                    user_turn_count: (items + 1) / 2,
                    last_item_at: (items > 0).then_some(last_item),
                    direction: "inbound".to_string(),
                    public_id: format!("conv_{i:032x}"),
                    title: Some(format!("Seeded conversation {i}")),
                    ai_agent_id: None,
                    metadata: JsonText(format!(
                        "{{\"plan\":\"{}\",\"seq\":{i}}}",
                        plans[(i % 3) as usize]
                    )),
                    last_item_position: plan.items_per_conversation as i64,
                    created_at: created,
                    updated_at: created,
                    ..Conversation::default()
                }
            })
            .collect();
        let items: Vec<ConversationItem> = (start..end)
            .flat_map(|i| (0..plan.items_per_conversation).map(move |j| (i, j)))
            .map(|(i, j)| {
                let occurred = at(TimeDelta::seconds(i as i64) + TimeDelta::milliseconds(j as i64));
                ConversationItem {
                    id: id(3, i * plan.items_per_conversation + j),
                    conversation_id: id(2, i),
                    organisation_id: id(1, i % organisations),
                    role: if j % 2 == 0 { "user" } else { "assistant" }.to_string(),
                    content: format!("Message {j} of conversation {i}"),
                    modality: "text".to_string(),
                    position: j as i64 + 1,
                    metadata: JsonText("{}".to_string()),
                    occurred_at: occurred,
                    created_at: occurred,
                    item_type: "message".to_string(),
                    visibility: "public".to_string(),
                    parts: JsonText("[]".to_string()),
                    ..ConversationItem::default()
                }
            })
            .collect();
        store::transaction(conn, |conn| {
            Conversation::insert(conn, &conversations)?;
            ConversationItem::insert(conn, &items)?;
            Ok::<_, ApiError>(())
        })?;
        start = end;
        progress(end);
    }
    // Fresh statistics, so the planners pick the indexes the listings were designed around.
    // Diesel has no builder for ANALYZE, which both backends spell the same.
    diesel::sql_query("ANALYZE")
        .execute(conn)
        .map_err(StoreError::from)?;
    Ok(slugs)
}
