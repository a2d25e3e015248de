//! Embedded migrations, one directory per backend: the binary carries its schema.

use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::{Db, StoreError, StoreResult};

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Applies every pending migration and returns the versions applied.
pub fn run_migrations(conn: &mut Db) -> StoreResult<Vec<String>> {
    let applied = match conn {
        Db::Postgres(conn) => conn.run_pending_migrations(POSTGRES),
        Db::Sqlite(conn) => conn.run_pending_migrations(SQLITE),
    }
    .map_err(|error| StoreError::Migration(error.to_string()))?;
    Ok(applied
        .into_iter()
        .map(|version| version.to_string())
        .collect())
}

/// Reverts the latest applied migration and returns its version (a rollback, and how the
/// migration tests reach the schema before it).
pub fn revert_last_migration(conn: &mut Db) -> StoreResult<String> {
    match conn {
        Db::Postgres(conn) => conn.revert_last_migration(POSTGRES),
        Db::Sqlite(conn) => conn.revert_last_migration(SQLITE),
    }
    .map(|version| version.to_string())
    .map_err(|error| StoreError::Migration(error.to_string()))
}
