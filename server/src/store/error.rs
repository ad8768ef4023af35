//! The one error type of the store.
//!
//! Promises: every fallible store call returns [`StoreError`]; constraint violations reported by
//! either database are mapped to the same variants ([`StoreError::Conflict`] for a unique key,
//! [`StoreError::NotFound`] for a missing referenced row, [`StoreError::Invalid`] for a check
//! constraint); and no message ever contains a connection string, user name or password (URL
//! problems name only the scheme, connection failures only sqlx's own description, which never
//! echoes the URL).

use sqlx::error::ErrorKind;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist, or it exists but does not belong to the given owner.
    #[error("not found")]
    NotFound,
    /// A unique key is already taken (e.g. an email address that is already registered).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// Input rejected before or by the database (bad email, empty title, non-array JSON …).
    #[error("invalid input: {0}")]
    Invalid(String),
    /// `DATABASE_URL` names a backend this store does not have. Only the scheme is kept.
    #[error(
        "unsupported database URL scheme `{0}`: expected postgres://, postgresql:// or sqlite://"
    )]
    UnsupportedUrl(String),
    /// A file could not be created or written: the SQLite database or its directory, a backup,
    /// a pruning archive.
    #[error("file system: {0}")]
    Filesystem(#[source] std::io::Error),
    /// Running the embedded migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value could not be turned into a domain value (the database was edited by hand
    /// or by a newer version).
    #[error("unexpected stored value: {0}")]
    Corrupt(String),
    /// Any other database failure (connection, I/O, timeout, protocol).
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::ColumnDecode { source, .. } => StoreError::Corrupt(source.to_string()),
            sqlx::Error::Database(db) => match db.kind() {
                ErrorKind::UniqueViolation => StoreError::Conflict("unique key already exists"),
                ErrorKind::ForeignKeyViolation => StoreError::NotFound,
                ErrorKind::CheckViolation | ErrorKind::NotNullViolation => {
                    StoreError::Invalid(format!("rejected by the database: {}", db.message()))
                }
                _ => StoreError::Database(sqlx::Error::Database(db)),
            },
            other => StoreError::Database(other),
        }
    }
}

impl StoreError {
    /// True for failures worth retrying later (connection loss, pool exhaustion, timeouts),
    /// as opposed to bad input or missing rows.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StoreError::Database(
                sqlx::Error::Io(_)
                    | sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::WorkerCrashed
                    | sqlx::Error::Tls(_)
            )
        )
    }
}
