//! confab's HTTP test suite. Modules follow the sections of the JSON:API 1.1 specification;
//! tests cite the normative statement ids (`../shared/jsonapi/normative-statements-1.1.json`)
//! they hold.

mod support;

mod ai_agents;
mod atomic_operations;
mod channels_and_items;
mod client_ids;
mod command_line;
mod concurrency;
mod conditional_requests;
mod content_negotiation;
mod conversation_lifecycle;
mod creating_updating_deleting;
mod database_cut;
mod document_structure;
mod domain_concurrency;
mod errors;
mod fetching_data;
mod filtering;
mod golden;
mod http_behaviour;
mod idempotency;
mod inclusion;
mod malformed_http;
mod openapi;
mod operations;
mod pagination;
mod query_parameters;
mod schema_validator;
mod slow_clients;
mod soft_deletion;
mod sorting;
mod sparse_fieldsets;
mod store_schema;
mod tenancy;
mod updating_relationships;
