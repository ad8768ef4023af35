//! Errors of the FPL data layer.
//!
//! Promises: a missing file of a snapshot (or a 404 of the API) is `NotAvailable` with a
//! sentence a user can read, distinct from the source being down (`Http`, `Network`) or
//! sending something unreadable (`Parse`).

/// What went wrong while getting FPL data.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FplError {
    /// The data does not exist in this source (e.g. element-summary in an end-of-season
    /// snapshot); the text is a whole sentence such as "… is not available in this snapshot".
    #[error("{0}")]
    NotAvailable(String),
    /// The API answered with an error status after all retries.
    #[error("FPL API returned HTTP {status} for {url}")]
    Http { status: u16, url: String },
    /// The API could not be reached or timed out after all retries.
    #[error("FPL API unreachable: {0}")]
    Network(String),
    /// A payload did not have the expected shape.
    #[error("could not read {what}: {message}")]
    Parse { what: String, message: String },
    /// Reading or writing a local file failed.
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    /// The source was configured wrongly.
    #[error("invalid FPL source configuration: {0}")]
    Config(String),
}

impl FplError {
    /// True when the data simply does not exist here (a normal answer, not an outage).
    pub fn is_not_available(&self) -> bool {
        matches!(self, FplError::NotAvailable(_))
    }
}
