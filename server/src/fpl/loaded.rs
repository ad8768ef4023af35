//! A parsed FPL payload together with the bytes it came from.
//!
//! Promises: the raw bytes are kept as the API sent them (for `includeRawData` and for the
//! Redis cache, which stores exactly those bytes); decoding from the cache parses them again.
use std::fmt;
use std::ops::Deref;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::cache::Codec;
use crate::fpl::error::FplError;

/// A parsed payload together with the bytes it came from (for `includeRawData`).
pub struct Loaded<T> {
    data: T,
    raw: Vec<u8>,
}

impl<T> Loaded<T> {
    /// Wrap a value that was parsed elsewhere; its raw form is its serialisation.
    pub fn from_parsed(data: T) -> Self
    where
        T: serde::Serialize,
    {
        let raw = serde_json::to_vec(&data).unwrap_or_default();
        Self { data, raw }
    }

    /// The parsed value.
    pub fn data(&self) -> &T {
        &self.data
    }

    /// The original payload as JSON.
    pub fn raw_json(&self) -> Result<Value, FplError> {
        serde_json::from_slice(&self.raw).map_err(|e| FplError::Parse {
            what: "raw payload".to_string(),
            message: e.to_string(),
        })
    }
}

/// In Redis a payload is its original bytes; reading it back parses them.
impl<T: DeserializeOwned + Send + Sync + 'static> Codec for Loaded<T> {
    fn encode(&self) -> Vec<u8> {
        self.raw.clone()
    }

    fn decode(raw: Vec<u8>) -> Result<Self, String> {
        let data = serde_json::from_slice::<T>(&raw).map_err(|e| e.to_string())?;
        Ok(Loaded { data, raw })
    }
}

impl<T> Deref for Loaded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.data
    }
}

impl<T: fmt::Debug> fmt::Debug for Loaded<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loaded")
            .field("data", &self.data)
            .field("raw_bytes", &self.raw.len())
            .finish()
    }
}
