//! Backups of a SQLite database while the server runs (`fpl-chat backup`).
//!
//! Promises: the copy is one consistent snapshot (`VACUUM INTO` reads in one transaction, so
//! turns committed during the copy are either wholly in it or not at all), never blocks the
//! server's writer (WAL readers do not), is synced to disk, and only appears at its path once
//! complete (it is written beside it and renamed); an existing file is never overwritten; a
//! missing directory is created. The copy's search index is rebuilt from its messages: SQLite
//! does not promise that a copy keeps the implicit rowids the index refers to.
//! PostgreSQL is backed up with its own tools (`pg_dump -Fc`, `pg_restore`: README, "Backup and
//! restore"), which also copy consistently while the server runs.
use std::path::Path;

use sqlx::{ConnectOptions, Connection};

use crate::store::{Db, Store, StoreError};

impl Store {
    /// Copies the database into the new file `out`; returns its size in bytes.
    pub async fn backup_into(&self, out: &Path) -> Result<u64, StoreError> {
        let Db::Sqlite(sqlite) = &self.db else {
            return Err(StoreError::Invalid(
                "fpl-chat backup copies SQLite databases; back up PostgreSQL with \
                 pg_dump --format=custom (README, \"Backup and restore\")"
                    .into(),
            ));
        };
        if out.exists() {
            return Err(StoreError::Invalid(format!(
                "{} exists; choose a new file",
                out.display()
            )));
        }
        if let Some(dir) = out.parent().filter(|dir| *dir != Path::new("")) {
            std::fs::create_dir_all(dir).map_err(StoreError::Filesystem)?;
        }
        let mut partial = out.as_os_str().to_owned();
        partial.push(".partial");
        let partial = std::path::PathBuf::from(partial);
        let _ = std::fs::remove_file(&partial);
        let target = partial
            .to_str()
            .ok_or_else(|| StoreError::Invalid("the backup path must be UTF-8".into()))?
            .to_string();
        sqlx::query("VACUUM INTO $1")
            .bind(&target)
            .execute(&sqlite.read)
            .await?;
        let mut copy = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&target)
            .connect()
            .await?;
        sqlx::query("INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')")
            .execute(&mut copy)
            .await?;
        copy.close().await?;
        let out = out.to_path_buf();
        let bytes = tokio::task::spawn_blocking(move || finish(&partial, &out))
            .await
            .map_err(|e| StoreError::Filesystem(std::io::Error::other(e)))?
            .map_err(StoreError::Filesystem)?;
        Ok(bytes)
    }
}

/// Syncs the finished copy, gives it the name `out` (a link, which fails rather than replace a
/// file made there meanwhile) and syncs the directory, so that the file is on disk, whole,
/// under its name.
fn finish(partial: &Path, out: &Path) -> std::io::Result<u64> {
    let file = std::fs::File::open(partial)?;
    file.sync_all()?;
    let bytes = file.metadata()?.len();
    std::fs::hard_link(partial, out)?;
    std::fs::remove_file(partial)?;
    let dir = match out.parent() {
        Some(dir) if dir != Path::new("") => dir,
        _ => Path::new("."),
    };
    std::fs::File::open(dir)?.sync_all()?;
    Ok(bytes)
}
