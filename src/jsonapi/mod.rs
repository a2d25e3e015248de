//! The generic JSON:API layer: wire types, query parsing, content negotiation, request documents,
//! and the handlers that serve every resource type from its description.

pub mod atomic;
pub mod conditional;
pub mod context;
pub mod document;
pub mod error;
pub mod graph;
pub mod handlers;
pub mod input;
pub mod json;
pub mod linkage;
pub mod listing;
pub mod negotiation;
pub mod openapi;
pub mod query;
pub mod render;
pub mod resource;
pub mod unit_of_work;
