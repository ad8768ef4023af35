//! What the database holds, table by table: for `fpl-chat doctor` (capacity planning, a table
//! that grows when it should not).
//!
//! Promises: every table of the schema but sqlx's migration log, in name order, with its exact
//! row count and its size on disk with indexes (PostgreSQL: `pg_total_relation_size`; SQLite:
//! the `dbstat` table's pages when the library has it, else no size); read-only, on the read
//! pool.
use super::{on_read, Db, Store, StoreError};

/// One table's rows and bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableStats {
    pub name: String,
    pub rows: i64,
    /// With its indexes; `None` when the database cannot tell (SQLite without `dbstat`).
    pub bytes: Option<i64>,
}

const PG_TABLES_SQL: &str = "SELECT c.relname::text, pg_total_relation_size(c.oid) \
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = current_schema() AND c.relkind = 'r' \
     AND c.relname <> '_sqlx_migrations' ORDER BY 1";

const SQLITE_TABLES_SQL: &str = "SELECT name FROM sqlite_schema WHERE type = 'table' \
     AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY 1";

/// Pages of a table and its indexes, where SQLite is built with `dbstat`.
const SQLITE_SIZE_SQL: &str = "SELECT SUM(pgsize) FROM dbstat \
     WHERE name = $1 OR name IN (SELECT name FROM sqlite_schema WHERE tbl_name = $1)";

/// `name` as an SQL identifier (it comes from the catalog; quoted all the same).
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl Store {
    /// Each table's rows and size.
    pub async fn table_stats(&self) -> Result<Vec<TableStats>, StoreError> {
        let tables: Vec<(String, Option<i64>)> = match &self.db {
            Db::Postgres(pg) => sqlx::query_as(PG_TABLES_SQL).fetch_all(&pg.read).await?,
            Db::Sqlite(sqlite) => {
                let names: Vec<String> = sqlx::query_scalar(SQLITE_TABLES_SQL)
                    .fetch_all(&sqlite.read)
                    .await?;
                let mut sized = Vec::with_capacity(names.len());
                for name in names {
                    let bytes: Option<i64> = sqlx::query_scalar(SQLITE_SIZE_SQL)
                        .bind(&name)
                        .fetch_one(&sqlite.read)
                        .await
                        .ok()
                        .flatten();
                    sized.push((name, bytes));
                }
                sized
            }
        };
        let mut stats = Vec::with_capacity(tables.len());
        for (name, bytes) in tables {
            let count = format!("SELECT count(*) FROM {}", quoted(&name));
            let rows: i64 = on_read!(&self.db, |pool| sqlx::query_scalar(&count)
                .fetch_one(pool)
                .await?);
            stats.push(TableStats { name, rows, bytes });
        }
        Ok(stats)
    }
}
