//! confab: a JSON:API 1.1 resource server for conversations.
//!
//! Layers, each knowing only what it needs:
//! - [`store`]: Diesel connections, migrations and a SQL builder over declarative tables;
//! - [`jsonapi`]: wire types, query parsing, content negotiation and the generic handlers;
//! - [`resources`]: one declarative module per resource type, and the registry;
//! - [`http`]: actix-web wiring, extractors and the one error type;
//! - [`auth`]: API keys and scopes; [`operators`]: what the command line does.

pub mod auth;
pub mod http;
pub mod jsonapi;
pub mod operators;
pub mod resources;
pub mod store;
