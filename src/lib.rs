//! confab: a JSON:API 1.1 resource server for conversations.
//!
//! Layers, each knowing only what it needs:
//! - [`store`]: Diesel connections, migrations, the `table!` schema and typed models;
//! - [`jsonapi`]: wire types, the error type, query parsing, negotiation, rendering and the generic handlers;
//! - [`resources`]: one module per resource type (its model and trait impl), and the registry;
//! - [`http`]: actix-web wiring, extractors, compression and the actix mapping of errors;
//! - [`auth`]: API keys and scopes; [`operators`]: what the command line does.

pub mod auth;
pub mod http;
pub mod jsonapi;
pub mod operators;
pub mod resources;
pub mod store;
