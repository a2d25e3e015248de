//! confab's HTTP test suite. Modules follow the sections of the JSON:API 1.1 specification;
//! tests cite the normative statement ids (`../shared/jsonapi/normative-statements-1.1.json`)
//! they hold.

mod support;

mod atomic_operations;
mod client_ids;
mod command_line;
mod concurrency;
mod conditional_requests;
mod content_negotiation;
mod creating_updating_deleting;
mod document_structure;
mod errors;
mod fetching_data;
mod filtering;
mod golden;
mod idempotency;
mod inclusion;
mod operations;
mod pagination;
mod query_parameters;
mod schema_validator;
mod slow_clients;
mod sorting;
mod sparse_fieldsets;
mod store_schema;
mod tenancy;
mod updating_relationships;
