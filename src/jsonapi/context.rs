//! What every operation of a request needs besides its own input.

use super::query::Query;
use super::resource::{Registry, Tenant};

/// What every operation needs besides its own input.
pub struct Context<'a> {
    pub registry: &'static Registry,
    pub tenant: &'a Tenant,
    pub query: &'a Query,
    /// The request's path, for pagination links.
    pub path: String,
    /// The top-level `self` link: the request's path and canonical query.
    pub self_link: String,
    /// The most a document's resources may weigh (see [`crate::store::Stored::weight`]).
    pub max_response_bytes: usize,
    /// The request's `If-Match`, which a write of one resource must meet (412 otherwise).
    pub if_match: Option<String>,
}
