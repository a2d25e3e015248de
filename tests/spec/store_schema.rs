//! The hand-written Diesel schema (`src/store/schema.rs`) against the migrated database: the same
//! tables, the same columns in the same order, the same types and nullability, on each backend.

use diesel::sql_types::{Integer, Text};
use diesel::{QueryableByName, RunQueryDsl};

use crate::support::TestServer;

#[derive(QueryableByName, Debug)]
struct CatalogColumn {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Integer)]
    nullable: i32,
}

/// The Diesel type a column of this database type and nullability must be declared as.
fn diesel_type(data_type: &str, nullable: bool) -> String {
    let base = match data_type.to_ascii_lowercase().as_str() {
        "text" => "Text",
        "bigint" => "BigInt",
        "integer" => "Integer",
        "timestamp" | "timestamp without time zone" => "Timestamp",
        other => panic!("a column type the schema does not map: {other}"),
    };
    if nullable {
        format!("Nullable<{base}>")
    } else {
        base.to_string()
    }
}

#[test]
fn schema_matches_the_migrations() {
    let server = TestServer::start();
    let mut conn = server.connection();
    for (table, columns) in confab::store::schema::TABLES {
        // The catalogs differ per backend; the table name is bound, never spliced.
        let query = if server.is_postgres() {
            "SELECT column_name::text AS name, data_type::text AS data_type, \
             CASE is_nullable WHEN 'YES' THEN 1 ELSE 0 END AS nullable \
             FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 \
             ORDER BY ordinal_position"
        } else {
            "SELECT name, type AS data_type, CASE \"notnull\" WHEN 0 THEN 1 ELSE 0 END AS nullable \
             FROM pragma_table_info(?)"
        };
        let found: Vec<CatalogColumn> = diesel::sql_query(query)
            .bind::<Text, _>(*table)
            .load(&mut *conn)
            .expect("read the catalog");
        let found: Vec<(String, String)> = found
            .iter()
            .map(|column| {
                (
                    column.name.clone(),
                    diesel_type(&column.data_type, column.nullable == 1),
                )
            })
            .collect();
        let declared: Vec<(String, String)> = columns
            .iter()
            .map(|(name, sql_type)| (name.to_string(), sql_type.replace(' ', "")))
            .collect();
        assert_eq!(found, declared, "table {table}");
    }
}
