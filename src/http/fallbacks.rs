//! The answers that name no resource: `/health`, the OpenAPI description, 405 for a method a
//! route does not take, and 404 for a path that is no route at all.

use actix_web::http::{Method, StatusCode};
use std::sync::OnceLock;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{Map, Value};

use super::routes::{document, Reply};
use super::AppState;
use crate::jsonapi::document::{JsonApiObject, MetaDocument};
use crate::jsonapi::error::ApiError;
use crate::jsonapi::openapi;
use crate::jsonapi::resource::Registry;

/// The OpenAPI description, generated from the registry once, at start-up ([`warm_openapi`]).
static OPENAPI: OnceLock<web::Bytes> = OnceLock::new();

pub(super) fn warm_openapi(registry: &Registry) -> web::Bytes {
    OPENAPI
        .get_or_init(|| web::Bytes::from(openapi::document_text(registry)))
        .clone()
}

/// `GET /api/openapi.json`: no key needed; it describes the API, not anyone's data.
pub(super) async fn openapi_document(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(warm_openapi(state.registry))
}

pub(super) async fn health(state: web::Data<AppState>) -> Reply {
    let store = state.store.clone();
    let ping = async move { Ok(web::block(move || store.ping()).await??) };
    super::database::answered(&state.store, ping).await?;
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

pub(super) async fn not_allowed(request: HttpRequest, allowed: &'static [Method]) -> Reply {
    if let (Some(state), Some(path)) = (
        request.app_data::<web::Data<AppState>>(),
        request.match_info().get("type"),
    ) {
        if state.registry.by_path(path).is_none() {
            return Err(ApiError::not_found(format!(
                "There is no resource collection `/api/{path}`."
            )));
        }
    }
    Err(ApiError::MethodNotAllowed {
        method: request.method().to_string(),
        allowed: allowed.iter().map(Method::as_str).collect(),
    })
}

pub(super) async fn unknown_route(request: HttpRequest) -> Reply {
    Err(ApiError::not_found(format!(
        "There is nothing at `{}`.",
        request.path()
    )))
}
