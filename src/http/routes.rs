//! Routes: resolve the type and relationship named in the path, parse the query and body, then
//! run the generic handler on a blocking thread with a pooled connection.

use actix_web::http::{header, Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::{Map, Value};

use super::error::ApiError;
use super::extract::json_body;
use super::AppState;
use crate::jsonapi::document::{JsonApiObject, MetaDocument, MEDIA_TYPE};
use crate::jsonapi::handlers::{self, Context};
use crate::jsonapi::input::{self, Intent};
use crate::jsonapi::query::{self, Endpoint, Query};
use crate::jsonapi::resource::{Relationship, ResourceType};
use crate::store::Db;

type Reply = Result<HttpResponse, ApiError>;

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(
            web::resource("/health")
                .route(web::get().to(health))
                .default_service(web::to(|r: HttpRequest| not_allowed(r, &[Method::GET]))),
        )
        .service(
            web::resource("/api/{type}")
                .route(web::get().to(fetch_collection))
                .route(web::post().to(create))
                .default_service(web::to(|r: HttpRequest| {
                    not_allowed(r, &[Method::GET, Method::POST])
                })),
        )
        .service(
            web::resource("/api/{type}/{id}")
                .route(web::get().to(fetch_resource))
                .route(web::patch().to(update))
                .route(web::delete().to(delete))
                .default_service(web::to(|r: HttpRequest| {
                    not_allowed(r, &[Method::GET, Method::PATCH, Method::DELETE])
                })),
        )
        .service(
            web::resource("/api/{type}/{id}/relationships/{relationship}")
                .route(web::get().to(fetch_relationship))
                .route(web::patch().to(relationship_write))
                .route(web::post().to(relationship_write))
                .route(web::delete().to(relationship_write))
                .default_service(web::to(|r: HttpRequest| not_allowed(r, &[Method::GET]))),
        )
        .service(
            web::resource("/api/{type}/{id}/{relationship}")
                .route(web::get().to(fetch_related))
                .default_service(web::to(|r: HttpRequest| not_allowed(r, &[Method::GET]))),
        )
        .default_service(web::to(unknown_route));
}

fn resource_type(
    state: &AppState,
    request: &HttpRequest,
) -> Result<&'static ResourceType, ApiError> {
    let path = request.match_info().get("type").unwrap_or_default();
    state.registry.by_path(path).ok_or_else(|| {
        ApiError::not_found(format!("There is no resource collection `/api/{path}`."))
    })
}

fn relationship(
    resource: &'static ResourceType,
    request: &HttpRequest,
) -> Result<&'static Relationship, ApiError> {
    let name = request.match_info().get("relationship").unwrap_or_default();
    resource.relationship(name).ok_or_else(|| {
        ApiError::not_found(format!("{} has no relationship `{name}`.", resource.name))
    })
}

fn id(request: &HttpRequest) -> String {
    request
        .match_info()
        .get("id")
        .unwrap_or_default()
        .to_string()
}

fn parse_query(
    state: &AppState,
    request: &HttpRequest,
    root: &'static ResourceType,
    endpoint: Endpoint,
) -> Result<Query, ApiError> {
    query::parse(request.query_string(), state.registry, root, endpoint)
}

/// The request's path and its query re-encoded canonically, so links are valid URI references.
fn self_link(request: &HttpRequest, query: &Query) -> String {
    let path = request.path();
    match query.encoded() {
        encoded if encoded.is_empty() => path.to_string(),
        encoded => format!("{path}?{encoded}"),
    }
}

/// Runs database work on the blocking pool with a connection of its own.
async fn with_connection<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce(&mut Db) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let store = state.store.clone();
    web::block(move || {
        let mut conn = store.connection()?;
        work(&mut conn)
    })
    .await?
}

fn document(status: StatusCode, body: &impl Serialize) -> Reply {
    let body = serde_json::to_vec(body).map_err(|error| ApiError::Internal(error.to_string()))?;
    Ok(HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, MEDIA_TYPE))
        .body(body))
}

async fn fetch_collection(state: web::Data<AppState>, request: HttpRequest) -> Reply {
    let resource = resource_type(&state, &request)?;
    let query = parse_query(&state, &request, resource, Endpoint::Resources)?;
    let self_link = self_link(&request, &query);
    let registry = state.registry;
    let doc = with_connection(&state, move |conn| {
        let context = Context {
            registry,
            query: &query,
            self_link,
        };
        handlers::fetch_collection(conn, &context, resource)
    })
    .await?;
    document(StatusCode::OK, &doc)
}

async fn fetch_resource(state: web::Data<AppState>, request: HttpRequest) -> Reply {
    let resource = resource_type(&state, &request)?;
    let query = parse_query(&state, &request, resource, Endpoint::Resources)?;
    let (self_link, id, registry) = (self_link(&request, &query), id(&request), state.registry);
    let doc = with_connection(&state, move |conn| {
        let context = Context {
            registry,
            query: &query,
            self_link,
        };
        handlers::fetch_resource(conn, &context, resource, &id)
    })
    .await?;
    document(StatusCode::OK, &doc)
}

async fn fetch_related(state: web::Data<AppState>, request: HttpRequest) -> Reply {
    let resource = resource_type(&state, &request)?;
    let relationship = relationship(resource, &request)?;
    let target = state.registry.target(relationship)?;
    let query = parse_query(&state, &request, target, Endpoint::Resources)?;
    let (self_link, id, registry) = (self_link(&request, &query), id(&request), state.registry);
    let doc = with_connection(&state, move |conn| {
        let context = Context {
            registry,
            query: &query,
            self_link,
        };
        handlers::fetch_related(conn, &context, resource, &id, relationship)
    })
    .await?;
    document(StatusCode::OK, &doc)
}

async fn fetch_relationship(state: web::Data<AppState>, request: HttpRequest) -> Reply {
    let resource = resource_type(&state, &request)?;
    let relationship = relationship(resource, &request)?;
    let query = parse_query(&state, &request, resource, Endpoint::Linkage)?;
    let (self_link, id, registry) = (self_link(&request, &query), id(&request), state.registry);
    let doc = with_connection(&state, move |conn| {
        let context = Context {
            registry,
            query: &query,
            self_link,
        };
        handlers::fetch_relationship(conn, &context, resource, &id, relationship)
    })
    .await?;
    document(StatusCode::OK, &doc)
}

async fn create(state: web::Data<AppState>, request: HttpRequest, payload: web::Payload) -> Reply {
    let resource = resource_type(&state, &request)?;
    let query = parse_query(&state, &request, resource, Endpoint::Resources)?;
    let body = json_body(&request, payload, state.body_limit).await?;
    let changes = input::parse(&body, resource, Intent::Create)?;
    let (self_link, registry) = (self_link(&request, &query), state.registry);
    let (location, doc) = with_connection(&state, move |conn| {
        let context = Context {
            registry,
            query: &query,
            self_link,
        };
        handlers::create(conn, &context, resource, changes)
    })
    .await?;
    let mut response = document(StatusCode::CREATED, &doc)?;
    if let Ok(location) = header::HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

async fn update(state: web::Data<AppState>, request: HttpRequest, payload: web::Payload) -> Reply {
    let resource = resource_type(&state, &request)?;
    let query = parse_query(&state, &request, resource, Endpoint::Resources)?;
    let body = json_body(&request, payload, state.body_limit).await?;
    let id = id(&request);
    let changes = input::parse(&body, resource, Intent::Update { id: &id })?;
    let (self_link, registry) = (self_link(&request, &query), state.registry);
    let doc = with_connection(&state, move |conn| {
        let context = Context {
            registry,
            query: &query,
            self_link,
        };
        handlers::update(conn, &context, resource, &id, changes)
    })
    .await?;
    document(StatusCode::OK, &doc)
}

async fn delete(state: web::Data<AppState>, request: HttpRequest) -> Reply {
    let resource = resource_type(&state, &request)?;
    parse_query(&state, &request, resource, Endpoint::NoDocument)?;
    let id = id(&request);
    with_connection(&state, move |conn| handlers::delete(conn, resource, &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// updating-relationship-403-status: relationships change through their resources, not their
/// links, so every write to a relationship link is an unsupported request.
async fn relationship_write(state: web::Data<AppState>, request: HttpRequest) -> Reply {
    let resource = resource_type(&state, &request)?;
    let relationship = relationship(resource, &request)?;
    Err(ApiError::Forbidden {
        detail: format!(
            "`{}` cannot be changed through its relationship link.",
            relationship.name
        ),
    })
}

async fn health(state: web::Data<AppState>) -> Reply {
    let store = state.store.clone();
    web::block(move || store.ping()).await??;
    let mut meta = Map::new();
    meta.insert("status".into(), Value::String("ok".into()));
    document(
        StatusCode::OK,
        &MetaDocument {
            jsonapi: JsonApiObject::default(),
            meta,
        },
    )
}

async fn not_allowed(request: HttpRequest, allowed: &'static [Method]) -> Reply {
    if let Some(state) = request.app_data::<web::Data<AppState>>() {
        if request.match_info().get("type").is_some() {
            resource_type(state, &request)?;
        }
    }
    Err(ApiError::MethodNotAllowed {
        method: request.method().clone(),
        allowed: allowed.to_vec(),
    })
}

async fn unknown_route(request: HttpRequest) -> Reply {
    Err(ApiError::not_found(format!(
        "There is nothing at `{}`.",
        request.path()
    )))
}
