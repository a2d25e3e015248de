//! `POST /api/operations`: the Atomic Operations extension. Negotiation (the `ext` parameter)
//! happens in the content-negotiation middleware; the operations run in
//! [`crate::jsonapi::atomic`], each checked for the key's scopes as its single request would be.

use actix_web::{web, HttpRequest};

use super::authorised::{authorised, Work};
use super::extract::parse_json;
use super::idempotency;
use super::routes::{in_unit, operators_only, write_request, Reply};
use super::AppState;
use crate::auth::Access;
use crate::jsonapi::atomic::{self, Action, Outcome};
use crate::jsonapi::context::Context;
use crate::jsonapi::document::MEDIA_TYPE;
use crate::jsonapi::error::ApiError;
use crate::jsonapi::query::Endpoint;

/// The media type of a response that applied the extension.
pub fn content_type() -> String {
    format!("{MEDIA_TYPE}; ext=\"{}\"", atomic::EXTENSION)
}

pub async fn operations(
    state: web::Data<AppState>,
    request: HttpRequest,
    payload: web::Payload,
) -> Reply {
    let (call, body, keyed) = write_request(&state, &request, payload).await?;
    let max = state.max_operations;
    let (answer, replayed) = authorised(&state, call, Work::Write, move |conn, call, principal| {
        let tenant = principal.tenant();
        in_unit(conn, keyed.as_ref(), &tenant, |tx| {
            // No query parameter applies to operations: any is refused (400). The parser asks
            // for a root type; with no document parameters allowed, any type serves.
            let root = call
                .registry
                .types()
                .first()
                .copied()
                .ok_or_else(|| ApiError::Internal("the registry holds no types".into()))?;
            let query = call.query(root, Endpoint::NoDocument)?;
            // `If-Match` names one resource's version; it has no meaning for a batch.
            let context = Context {
                if_match: None,
                ..call.context(&tenant, &query)
            };
            let permit = |action: Action| match action {
                Action::Create(resource) => {
                    operators_only(resource, resource.http_writes.create, "created")?;
                    principal.require(resource.scope_family, Access::Write)
                }
                Action::Update(resource) => principal.require(resource.scope_family, Access::Write),
                Action::Delete(resource) => {
                    operators_only(resource, resource.http_writes.delete, "deleted")?;
                    principal.require(resource.scope_family, Access::Write)
                }
                Action::WriteRelationship(resource, target) => {
                    principal.require(resource.scope_family, Access::Write)?;
                    principal.require(target.scope_family, Access::Read)
                }
            };
            let document = parse_json(&body)?;
            match atomic::execute(tx, &context, &document, max, &permit)? {
                Outcome::Results(rendered) => Ok(idempotency::answer(
                    200,
                    None,
                    rendered.body,
                    Some(content_type()),
                )),
                Outcome::NoContent => Ok(idempotency::answer(204, None, Vec::new(), None)),
            }
        })
    })
    .await?;
    Ok(idempotency::respond(answer, replayed))
}
