//! The resource types confab serves: one declarative module each, listed once in [`REGISTRY`].
//! A new type is a module here, a migration, and a line below.

pub mod ai_agent;
pub mod conversation;
pub mod conversation_item;
pub mod organisation;

use crate::jsonapi::resource::Registry;

pub static REGISTRY: Registry = Registry::new(&[
    &organisation::RESOURCE,
    &conversation::RESOURCE,
    &conversation_item::RESOURCE,
    &ai_agent::RESOURCE,
]);
