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
