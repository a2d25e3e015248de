//! Routes. Every `/api` request is authenticated first (401), then its type and relationship are
//! resolved (404), its scopes checked (403), its query and body parsed (400/422), and the generic
//! handler runs on a blocking thread with one pooled connection, confined to the key's
//! organisation.

use actix_web::http::{header, Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::authorised::{authorised, verified, Caller, Work};
use super::extract::{parse_json, read_body};
use super::fallbacks::{health, not_allowed, openapi_document, unknown_route};
use super::held::TurnSlot;
use super::idempotency;
use super::AppState;
use crate::auth::{self, Access, Principal};
use crate::jsonapi::atomic;
use crate::jsonapi::conditional;
use crate::jsonapi::document::MEDIA_TYPE;
use crate::jsonapi::error::ApiError;
use crate::jsonapi::handlers::{self, Context, Rendered};
use crate::jsonapi::input::{self, Intent};
use crate::jsonapi::linkage::LinkageWrite;
use crate::jsonapi::openapi;
use crate::jsonapi::query::{self, Endpoint, IncludeTree, Query};
use crate::jsonapi::resource::{Cardinality, Registry, Relationship, ResourceType, Tenant};
use crate::jsonapi::unit_of_work;
use crate::store::idempotency::StoredAnswer;
use crate::store::Db;

pub(super) type Reply = Result<HttpResponse, ApiError>;

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(
            web::resource("/health")
                .route(web::get().to(health))
                .route(web::head().to(health))
                .default_service(web::to(|r: HttpRequest| {
                    not_allowed(r, &[Method::GET, Method::HEAD])
                })),
        )
        .service(
            web::resource("/metrics")
                .route(web::get().to(super::metrics::metrics))
                .route(web::head().to(super::metrics::metrics))
                .default_service(web::to(|r: HttpRequest| {
                    not_allowed(r, &[Method::GET, Method::HEAD])
                })),
        )
        .service(
            web::resource(openapi::PATH)
                .route(web::get().to(openapi_document))
                .route(web::head().to(openapi_document))
                .default_service(web::to(|r: HttpRequest| {
                    not_allowed(r, &[Method::GET, Method::HEAD])
                })),
        )
        .service(
            web::resource(atomic::PATH)
                .route(web::post().to(super::operations::operations))
                .default_service(web::to(|r: HttpRequest| not_allowed(r, &[Method::POST]))),
        )
        .service(
            web::resource("/api/{type}")
                .route(web::get().to(fetch_collection))
                .route(web::head().to(fetch_collection))
                .route(web::post().to(create))
                .default_service(web::to(|r: HttpRequest| {
                    not_allowed(r, &[Method::GET, Method::HEAD, Method::POST])
                })),
        )
        .service(
            web::resource("/api/{type}/{id}")
                .route(web::get().to(fetch_resource))
                .route(web::head().to(fetch_resource))
                .route(web::patch().to(update))
                .route(web::delete().to(delete))
                .default_service(web::to(|r: HttpRequest| {
                    not_allowed(
                        r,
                        &[Method::GET, Method::HEAD, Method::PATCH, Method::DELETE],
                    )
                })),
        )
        .service(
            web::resource("/api/{type}/{id}/relationships/{relationship}")
                .route(web::get().to(fetch_relationship))
                .route(web::head().to(fetch_relationship))
                .route(web::patch().to(relationship_write))
                .route(web::post().to(relationship_write))
                .route(web::delete().to(relationship_write))
                .default_service(web::to(|r: HttpRequest| {
                    not_allowed(
                        r,
                        &[
                            Method::GET,
                            Method::HEAD,
                            Method::PATCH,
                            Method::POST,
                            Method::DELETE,
                        ],
                    )
                })),
        )
        .service(
            web::resource("/api/{type}/{id}/{relationship}")
                .route(web::get().to(fetch_related))
                .route(web::head().to(fetch_related))
                .default_service(web::to(|r: HttpRequest| {
                    not_allowed(r, &[Method::GET, Method::HEAD])
                })),
        )
        .default_service(web::to(unknown_route));
}

/// What a blocking handler needs from the request, taken out of it up front.
pub(super) struct Call {
    pub(super) registry: &'static Registry,
    token: String,
    type_path: String,
    id: String,
    relationship: String,
    raw_query: String,
    path: String,
    max_response_bytes: usize,
    /// `If-Match`, which a write of one resource must meet.
    if_match: Option<String>,
    /// Where the key's turn is left for the answer to hold (see `held`).
    turn_slot: Option<TurnSlot>,
}

impl Caller for Call {
    fn token(&self) -> &str {
        &self.token
    }

    fn turn_slot(&self) -> Option<TurnSlot> {
        self.turn_slot.clone()
    }
}

impl Call {
    /// A request without a usable `Authorization` header stops here with 401.
    pub(super) fn new(state: &AppState, request: &HttpRequest) -> Result<Self, ApiError> {
        let header = request
            .headers()
            .get(header::AUTHORIZATION)
            .map(|value| value.to_str().unwrap_or_default());
        let token = auth::bearer_token(header)?.to_string();
        let segment = |name: &str| {
            request
                .match_info()
                .get(name)
                .unwrap_or_default()
                .to_string()
        };
        Ok(Call {
            registry: state.registry,
            token,
            type_path: segment("type"),
            id: segment("id"),
            relationship: segment("relationship"),
            raw_query: request.query_string().to_string(),
            path: request.path().to_string(),
            max_response_bytes: state.max_response_bytes,
            if_match: request
                .headers()
                .get(header::IF_MATCH)
                .map(|value| value.to_str().unwrap_or_default().to_string()),
            turn_slot: TurnSlot::of(request),
        })
    }

    fn resource(&self) -> Result<&'static ResourceType, ApiError> {
        self.registry.by_path(&self.type_path).ok_or_else(|| {
            ApiError::not_found(format!(
                "There is no resource collection `/api/{}`.",
                self.type_path
            ))
        })
    }

    fn relationship(&self, resource: &ResourceType) -> Result<&'static Relationship, ApiError> {
        resource.relationship(&self.relationship).ok_or_else(|| {
            ApiError::not_found(format!(
                "{} has no relationship `{}`.",
                resource.name, self.relationship
            ))
        })
    }

    pub(super) fn query(
        &self,
        root: &'static ResourceType,
        endpoint: Endpoint,
    ) -> Result<Query, ApiError> {
        query::parse(&self.raw_query, self.registry, root, endpoint)
    }

    /// The request's path and its query re-encoded canonically, so links are valid URI references.
    fn self_link(&self, query: &Query) -> String {
        match query.encoded() {
            encoded if encoded.is_empty() => self.path.clone(),
            encoded => format!("{}?{encoded}", self.path),
        }
    }

    pub(super) fn context<'a>(&self, tenant: &'a Tenant, query: &'a Query) -> Context<'a> {
        Context {
            registry: self.registry,
            tenant,
            query,
            path: self.path.clone(),
            self_link: self.self_link(query),
            max_response_bytes: self.max_response_bytes,
            if_match: self.if_match.clone(),
        }
    }

    /// The query of a request that answers `resource`'s document, with the read scopes it
    /// needs checked.
    fn document_query(
        &self,
        principal: &Principal,
        resource: &'static ResourceType,
    ) -> Result<Query, ApiError> {
        let query = self.query(resource, Endpoint::Resource)?;
        self.require_reads(principal, resource, &query.include)?;
        Ok(query)
    }

    /// Reading a type needs its read scope, and so does every type an `include` reaches.
    fn require_reads(
        &self,
        principal: &Principal,
        root: &ResourceType,
        include: &IncludeTree,
    ) -> Result<(), ApiError> {
        principal.require(root.scope_family, Access::Read)?;
        for (relationship, subtree) in &include.children {
            let target = self.registry.target(relationship)?;
            self.require_reads(principal, target, subtree)?;
        }
        Ok(())
    }
}

/// A write's unit of work, under its `Idempotency-Key` when it has one.
pub(super) fn in_unit(
    conn: &mut Db,
    keyed: Option<&idempotency::Keyed>,
    tenant: &Tenant,
    work: impl FnOnce(&mut unit_of_work::Tx<'_>) -> Result<StoredAnswer, ApiError>,
) -> Result<(StoredAnswer, bool), ApiError> {
    unit_of_work::write(conn, idempotency::under(keyed, organisation(tenant)), work)
}

/// Some writes are for operators at the command line, never over HTTP.
pub(super) fn operators_only(
    resource: &ResourceType,
    offered: bool,
    verb: &str,
) -> Result<(), ApiError> {
    if offered {
        return Ok(());
    }
    Err(ApiError::Forbidden {
        detail: format!(
            "{} resources are not {verb} over HTTP; operators use the command line.",
            resource.name
        ),
        pointer: None,
    })
}

/// The body of a write, read only once its key is known good: a client without a valid key is
/// answered 401 at once, never allowed to hold a connection by sending its body slowly. The key
/// is then in the verified-key cache, so the write itself costs no second check.
async fn authenticated_body(
    state: &AppState,
    call: &Call,
    request: &HttpRequest,
    payload: web::Payload,
) -> Result<web::Bytes, ApiError> {
    verified(state, &call.token).await?;
    read_body(request, payload, state.body_limit, state.timeouts.body).await
}

/// What a write with a body starts from: the call (401 without a key), the body (read only
/// once the key is known good) and its `Idempotency-Key`, if any.
pub(super) async fn write_request(
    state: &AppState,
    request: &HttpRequest,
    payload: web::Payload,
) -> Result<(Call, web::Bytes, Option<idempotency::Keyed>), ApiError> {
    let call = Call::new(state, request)?;
    let body = authenticated_body(state, &call, request, payload).await?;
    let keyed = idempotency::keyed(request, &body)?;
    Ok((call, body, keyed))
}

pub(super) fn document(status: StatusCode, body: &impl Serialize) -> Reply {
    let body = serde_json::to_vec(body).map_err(|error| ApiError::Internal(error.to_string()))?;
    Ok(respond(
        status,
        Rendered {
            body,
            profiles: Vec::new(),
        },
    ))
}

/// A JSON:API response; a document that applied profiles names them in its Content-Type
/// (spec: content negotiation, universal responsibilities).
fn respond(status: StatusCode, rendered: Rendered) -> HttpResponse {
    let content_type = content_type(&rendered.profiles);
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, content_type))
        .body(rendered.body)
}

/// A read's document. One resource's carries its strong entity tag, or is answered 304 when the
/// client's `If-None-Match` names it (RFC 9110 §13.1.2). Collections carry none: their pages
/// are large and change with other resources, and hashing every page cost a tenth of their
/// throughput (BENCHMARKS.md).
fn data_document(request: &HttpRequest, rendered: Rendered, single: bool) -> Reply {
    if !single {
        return Ok(respond(StatusCode::OK, rendered));
    }
    let tag = conditional::entity_tag(&rendered.body, true);
    let current = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|header| conditional::none_match_fails(header, &tag));
    if current {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, tag))
            .finish());
    }
    let mut response = respond(StatusCode::OK, rendered);
    if let Ok(value) = header::HeaderValue::from_str(&tag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    Ok(response)
}

/// A write's answer; a resource document in it carries the strong tag a later `If-Match` names.
fn write_answer(answer: StoredAnswer, replayed: bool) -> HttpResponse {
    let tag = (matches!(answer.status, 200 | 201) && !answer.body.is_empty())
        .then(|| conditional::entity_tag(answer.body.as_bytes(), true));
    let mut response = idempotency::respond(answer, replayed);
    if let Some(value) = tag.and_then(|tag| header::HeaderValue::from_str(&tag).ok()) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

async fn fetch_collection(state: web::Data<AppState>, request: HttpRequest) -> Reply {
    let call = Call::new(&state, &request)?;
    let doc = authorised(&state, call, Work::Read, |conn, call, principal| {
        let resource = call.resource()?;
        let query = call.query(resource, Endpoint::Collection)?;
        call.require_reads(principal, resource, &query.include)?;
        let tenant = principal.tenant();
        let context = call.context(&tenant, &query);
        handlers::fetch_collection(conn, &context, resource)
    })
    .await?;
    data_document(&request, doc, false)
}

async fn fetch_resource(state: web::Data<AppState>, request: HttpRequest) -> Reply {
    let call = Call::new(&state, &request)?;
    let doc = authorised(&state, call, Work::Read, |conn, call, principal| {
        let resource = call.resource()?;
        let query = call.query(resource, Endpoint::Resource)?;
        call.require_reads(principal, resource, &query.include)?;
        let tenant = principal.tenant();
        let context = call.context(&tenant, &query);
        handlers::fetch_resource(conn, &context, resource, &call.id)
    })
    .await?;
    data_document(&request, doc, true)
}

async fn fetch_related(state: web::Data<AppState>, request: HttpRequest) -> Reply {
    let call = Call::new(&state, &request)?;
    let doc = authorised(&state, call, Work::Read, |conn, call, principal| {
        let resource = call.resource()?;
        let relationship = call.relationship(resource)?;
        let target = call.registry.target(relationship)?;
        let endpoint = match relationship.cardinality {
            Cardinality::ToMany { .. } => Endpoint::Collection,
            Cardinality::ToOne { .. } => Endpoint::Resource,
        };
        let query = call.query(target, endpoint)?;
        principal.require(resource.scope_family, Access::Read)?;
        call.require_reads(principal, target, &query.include)?;
        let tenant = principal.tenant();
        let context = call.context(&tenant, &query);
        let single = matches!(relationship.cardinality, Cardinality::ToOne { .. });
        handlers::fetch_related(conn, &context, resource, &call.id, relationship)
            .map(|doc| (doc, single))
    })
    .await?;
    data_document(&request, doc.0, doc.1)
}

async fn fetch_relationship(state: web::Data<AppState>, request: HttpRequest) -> Reply {
    let call = Call::new(&state, &request)?;
    let doc = authorised(&state, call, Work::Read, |conn, call, principal| {
        let resource = call.resource()?;
        let relationship = call.relationship(resource)?;
        let target = call.registry.target(relationship)?;
        let endpoint = match relationship.cardinality {
            Cardinality::ToMany { .. } => Endpoint::PagedLinkage,
            Cardinality::ToOne { .. } => Endpoint::Linkage,
        };
        let query = call.query(resource, endpoint)?;
        principal.require(resource.scope_family, Access::Read)?;
        principal.require(target.scope_family, Access::Read)?;
        let tenant = principal.tenant();
        let context = call.context(&tenant, &query);
        let single = matches!(relationship.cardinality, Cardinality::ToOne { .. });
        handlers::fetch_relationship(conn, &context, resource, &call.id, relationship)
            .map(|doc| (doc, single))
    })
    .await?;
    data_document(&request, doc.0, doc.1)
}

async fn create(state: web::Data<AppState>, request: HttpRequest, payload: web::Payload) -> Reply {
    let (call, body, keyed) = write_request(&state, &request, payload).await?;
    let (answer, replayed) = authorised(&state, call, Work::Write, move |conn, call, principal| {
        let resource = call.resource()?;
        operators_only(resource, resource.http_writes.create, "created")?;
        principal.require(resource.scope_family, Access::Write)?;
        let tenant = principal.tenant();
        in_unit(conn, keyed.as_ref(), &tenant, |tx| {
            let query = call.document_query(principal, resource)?;
            let changes = input::parse(&parse_json(&body)?, resource, Intent::Create)?;
            let context = call.context(&tenant, &query);
            let (created, doc) = handlers::create(tx, &context, resource, changes)?;
            // create-responses-202: accepted, with its processing (a dialer's call) to come.
            let status = if created.queued { 202 } else { 201 };
            Ok(written(
                status,
                Some(resource.resource_url(&created.id)),
                doc,
            ))
        })
    })
    .await?;
    Ok(write_answer(answer, replayed))
}

async fn update(state: web::Data<AppState>, request: HttpRequest, payload: web::Payload) -> Reply {
    let (call, body, keyed) = write_request(&state, &request, payload).await?;
    let (answer, replayed) = authorised(&state, call, Work::Write, move |conn, call, principal| {
        let resource = call.resource()?;
        principal.require(resource.scope_family, Access::Write)?;
        let tenant = principal.tenant();
        in_unit(conn, keyed.as_ref(), &tenant, |tx| {
            let query = call.document_query(principal, resource)?;
            let intent = Intent::Update { id: &call.id };
            let changes = input::parse(&parse_json(&body)?, resource, intent)?;
            let context = call.context(&tenant, &query);
            let doc = handlers::update(tx, &context, resource, &call.id, changes)?;
            Ok(written(200, None, doc))
        })
    })
    .await?;
    Ok(write_answer(answer, replayed))
}

async fn delete(state: web::Data<AppState>, request: HttpRequest) -> Reply {
    let call = Call::new(&state, &request)?;
    let keyed = idempotency::keyed(&request, &[])?;
    let (answer, replayed) = authorised(&state, call, Work::Write, move |conn, call, principal| {
        let resource = call.resource()?;
        operators_only(resource, resource.http_writes.delete, "deleted")?;
        principal.require(resource.scope_family, Access::Write)?;
        let tenant = principal.tenant();
        in_unit(conn, keyed.as_ref(), &tenant, |tx| {
            call.query(resource, Endpoint::NoDocument)?;
            let query = Query::default();
            let context = call.context(&tenant, &query);
            handlers::delete(tx, &context, resource, &call.id)?;
            Ok(idempotency::answer(204, None, Vec::new(), None))
        })
    })
    .await?;
    Ok(idempotency::respond(answer, replayed))
}

/// Idempotency keys are per organisation (an operator's, which HTTP never has, share one space).
pub(super) fn organisation(tenant: &Tenant) -> &str {
    tenant.organisation().unwrap_or_default()
}

/// A write's document as an answer: status, `Location`, and the media type with its profiles.
fn written(status: u16, location: Option<String>, rendered: Rendered) -> StoredAnswer {
    let content_type = content_type(&rendered.profiles);
    idempotency::answer(status, location, rendered.body, Some(content_type))
}

fn content_type(profiles: &[String]) -> String {
    match profiles {
        [] => MEDIA_TYPE.to_string(),
        profiles => format!("{MEDIA_TYPE}; profile=\"{}\"", profiles.join(" ")),
    }
}

/// `PATCH` (replace), `POST` (add) and `DELETE` (remove) on a relationship's own URL
/// (spec: updating relationships). 204 when the stored linkage is then what was asked.
async fn relationship_write(
    state: web::Data<AppState>,
    request: HttpRequest,
    payload: web::Payload,
) -> Reply {
    let (call, body, keyed) = write_request(&state, &request, payload).await?;
    let how = match *request.method() {
        Method::POST => LinkageWrite::Add,
        Method::DELETE => LinkageWrite::Remove,
        _ => LinkageWrite::Replace,
    };
    let method = request.method().to_string();
    let (answer, replayed) = authorised(&state, call, Work::Write, move |conn, call, principal| {
        let resource = call.resource()?;
        let relationship = call.relationship(resource)?;
        if let (Cardinality::ToOne { .. }, LinkageWrite::Add | LinkageWrite::Remove) =
            (relationship.cardinality, how)
        {
            // respond-patch-to-one-relationship-link: a to-one link is replaced, never added to.
            return Err(ApiError::MethodNotAllowed {
                method,
                allowed: vec!["GET", "PATCH"],
            });
        }
        principal.require(resource.scope_family, Access::Write)?;
        principal.require(
            call.registry.target(relationship)?.scope_family,
            Access::Read,
        )?;
        let tenant = principal.tenant();
        in_unit(conn, keyed.as_ref(), &tenant, |tx| {
            let query = call.query(resource, Endpoint::NoDocument)?;
            let change = input::linkage_document(&parse_json(&body)?, relationship, how)?;
            let context = call.context(&tenant, &query);
            handlers::write_relationship(tx, &context, resource, &call.id, &change)?;
            Ok(idempotency::answer(204, None, Vec::new(), None))
        })
    })
    .await?;
    Ok(idempotency::respond(answer, replayed))
}
