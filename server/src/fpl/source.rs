//! `FplSource`: the one place FPL data comes from.
//!
//! Promises: the same accessors serve the live API or a snapshot directory laid out like
//! the API (`bootstrap-static.json`, `fixtures.json`, `element-summary/{id}.json`,
//! `event/{gw}/live.json`); a file missing from a snapshot is a clear
//! [`FplError::NotAvailable`], never a panic; parsed values are cached in memory per
//! endpoint (bootstrap and fixtures 1 h, element-summary 2 h, live 1 min) with single-flight
//! loading, and handed out as shared `Arc`s. Cloning an `FplSource` shares its cache.

use std::fmt;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::fpl::api::{ApiClient, ApiOptions, DEFAULT_BASE_URL};
use crate::fpl::cache::TtlCache;
use crate::fpl::data::FplData;
use crate::fpl::error::FplError;
use crate::fpl::model::{Bootstrap, ElementSummary, EventLive, Fixture};

/// One API endpoint, with its API path and its snapshot file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Bootstrap,
    Fixtures,
    ElementSummary(u32),
    EventLive(u32),
}

impl Endpoint {
    /// Path below the API base URL, e.g. `/element-summary/430/`.
    pub fn api_path(self) -> String {
        match self {
            Endpoint::Bootstrap => "/bootstrap-static/".to_string(),
            Endpoint::Fixtures => "/fixtures/".to_string(),
            Endpoint::ElementSummary(id) => format!("/element-summary/{id}/"),
            Endpoint::EventLive(gw) => format!("/event/{gw}/live/"),
        }
    }

    /// Path of the file inside a snapshot directory, e.g. `element-summary/430.json`.
    pub fn snapshot_path(self) -> PathBuf {
        match self {
            Endpoint::Bootstrap => PathBuf::from("bootstrap-static.json"),
            Endpoint::Fixtures => PathBuf::from("fixtures.json"),
            Endpoint::ElementSummary(id) => PathBuf::from(format!("element-summary/{id}.json")),
            Endpoint::EventLive(gw) => PathBuf::from(format!("event/{gw}/live.json")),
        }
    }

    /// What the endpoint holds, for messages.
    pub fn describe(self) -> String {
        match self {
            Endpoint::Bootstrap => "the season overview (bootstrap-static)".to_string(),
            Endpoint::Fixtures => "the fixture list".to_string(),
            Endpoint::ElementSummary(id) => format!("per-gameweek history of player {id}"),
            Endpoint::EventLive(gw) => format!("live data of gameweek {gw}"),
        }
    }
}

/// How long parsed values stay cached, per endpoint.
#[derive(Debug, Clone, Copy)]
pub struct CacheTtls {
    pub bootstrap: Duration,
    pub fixtures: Duration,
    pub element_summary: Duration,
    pub live: Duration,
}

impl Default for CacheTtls {
    fn default() -> Self {
        Self {
            bootstrap: Duration::from_secs(3600),
            fixtures: Duration::from_secs(3600),
            element_summary: Duration::from_secs(7200),
            live: Duration::from_secs(60),
        }
    }
}

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

#[derive(Debug)]
enum Backend {
    Api(ApiClient),
    Snapshot(PathBuf),
}

struct Inner {
    backend: Backend,
    bootstrap: TtlCache<(), Loaded<Bootstrap>>,
    fixtures: TtlCache<(), Loaded<Vec<Fixture>>>,
    summaries: TtlCache<u32, Loaded<ElementSummary>>,
    live: TtlCache<u32, Loaded<EventLive>>,
    data: Mutex<Option<Arc<FplData>>>,
}

/// Live FPL API or snapshot directory, behind one cache. Cheap to clone.
#[derive(Clone)]
pub struct FplSource {
    inner: Arc<Inner>,
}

impl fmt::Debug for FplSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FplSource")
            .field("backend", &self.inner.backend)
            .finish()
    }
}

impl FplSource {
    /// The live API at `base_url` with default timeouts, retries and cache TTLs.
    pub fn api(base_url: &str) -> Result<Self, FplError> {
        Self::api_with(base_url, ApiOptions::default(), CacheTtls::default())
    }

    /// The live API with explicit client options and cache TTLs.
    pub fn api_with(
        base_url: &str,
        options: ApiOptions,
        ttls: CacheTtls,
    ) -> Result<Self, FplError> {
        Ok(Self::from_backend(
            Backend::Api(ApiClient::new(base_url, options)?),
            ttls,
        ))
    }

    /// A snapshot directory; it must contain `bootstrap-static.json`.
    pub fn snapshot_dir(dir: impl Into<PathBuf>) -> Result<Self, FplError> {
        Self::snapshot_dir_with(dir, CacheTtls::default())
    }

    /// A snapshot directory with explicit cache TTLs.
    pub fn snapshot_dir_with(dir: impl Into<PathBuf>, ttls: CacheTtls) -> Result<Self, FplError> {
        let dir = dir.into();
        if !dir.join(Endpoint::Bootstrap.snapshot_path()).is_file() {
            return Err(FplError::Config(format!(
                "{} is not an FPL snapshot directory (no bootstrap-static.json)",
                dir.display()
            )));
        }
        Ok(Self::from_backend(Backend::Snapshot(dir), ttls))
    }

    /// `FPL_SNAPSHOT_DIR` if set, else the API at `FPL_API_BASE_URL` (default
    /// <https://fantasy.premierleague.com/api>).
    pub fn from_env() -> Result<Self, FplError> {
        match std::env::var("FPL_SNAPSHOT_DIR") {
            Ok(dir) if !dir.trim().is_empty() => Self::snapshot_dir(dir.trim()),
            _ => {
                let base = std::env::var("FPL_API_BASE_URL")
                    .ok()
                    .filter(|s| !s.trim().is_empty())
                    .unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
                Self::api(&base)
            }
        }
    }

    fn from_backend(backend: Backend, ttls: CacheTtls) -> Self {
        Self {
            inner: Arc::new(Inner {
                backend,
                bootstrap: TtlCache::new(ttls.bootstrap),
                fixtures: TtlCache::new(ttls.fixtures),
                summaries: TtlCache::new(ttls.element_summary),
                live: TtlCache::new(ttls.live),
                data: Mutex::new(None),
            }),
        }
    }

    /// "snapshot /path" or "FPL API https://…", for logs and health output.
    pub fn describe(&self) -> String {
        match &self.inner.backend {
            Backend::Api(c) => format!("FPL API {}", c.base_url()),
            Backend::Snapshot(d) => format!("snapshot {}", d.display()),
        }
    }

    /// True when the data comes from a snapshot directory.
    pub fn is_snapshot(&self) -> bool {
        matches!(self.inner.backend, Backend::Snapshot(_))
    }

    /// `/bootstrap-static/`.
    pub async fn bootstrap(&self) -> Result<Arc<Loaded<Bootstrap>>, FplError> {
        self.inner
            .bootstrap
            .get_or_load((), || self.load(Endpoint::Bootstrap))
            .await
    }

    /// `/fixtures/`.
    pub async fn fixtures(&self) -> Result<Arc<Loaded<Vec<Fixture>>>, FplError> {
        self.inner
            .fixtures
            .get_or_load((), || self.load(Endpoint::Fixtures))
            .await
    }

    /// `/element-summary/{id}/`.
    pub async fn element_summary(&self, id: u32) -> Result<Arc<Loaded<ElementSummary>>, FplError> {
        self.inner
            .summaries
            .get_or_load(id, || self.load(Endpoint::ElementSummary(id)))
            .await
    }

    /// `/event/{gw}/live/`.
    pub async fn event_live(&self, gw: u32) -> Result<Arc<Loaded<EventLive>>, FplError> {
        self.inner
            .live
            .get_or_load(gw, || self.load(Endpoint::EventLive(gw)))
            .await
    }

    /// Bootstrap and fixtures with their indexes (names, league table), rebuilt only when
    /// either payload was reloaded.
    pub async fn data(&self) -> Result<Arc<FplData>, FplError> {
        let (bootstrap, fixtures) = tokio::try_join!(self.bootstrap(), self.fixtures())?;
        if let Some(d) = self.cached_data() {
            if d.is_built_from(&bootstrap, &fixtures) {
                return Ok(d);
            }
        }
        let built = tokio::task::spawn_blocking(move || FplData::new(bootstrap, fixtures))
            .await
            .map_err(|e| FplError::Parse {
                what: "FPL data index".to_string(),
                message: e.to_string(),
            })?;
        let built = Arc::new(built);
        *self.inner.data.lock().unwrap_or_else(|p| p.into_inner()) = Some(built.clone());
        Ok(built)
    }

    fn cached_data(&self) -> Option<Arc<FplData>> {
        self.inner
            .data
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Drops every cached value (the next call loads afresh).
    pub fn clear_cache(&self) {
        self.inner.bootstrap.clear();
        self.inner.fixtures.clear();
        self.inner.summaries.clear();
        self.inner.live.clear();
        *self.inner.data.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// The endpoint's bytes, straight from the backend (no cache).
    pub async fn fetch_raw(&self, endpoint: Endpoint) -> Result<Vec<u8>, FplError> {
        match &self.inner.backend {
            Backend::Api(client) => client.get_bytes(&endpoint.api_path()).await,
            Backend::Snapshot(dir) => read_snapshot_file(dir, endpoint).await,
        }
    }

    async fn load<T>(&self, endpoint: Endpoint) -> Result<Loaded<T>, FplError>
    where
        T: DeserializeOwned + Send + 'static,
    {
        let raw = self.fetch_raw(endpoint).await?;
        tokio::task::spawn_blocking(move || {
            let data = serde_json::from_slice::<T>(&raw).map_err(|e| FplError::Parse {
                what: endpoint.describe(),
                message: e.to_string(),
            })?;
            Ok(Loaded { data, raw })
        })
        .await
        .map_err(|e| FplError::Parse {
            what: endpoint.describe(),
            message: e.to_string(),
        })?
    }
}

async fn read_snapshot_file(dir: &Path, endpoint: Endpoint) -> Result<Vec<u8>, FplError> {
    let path = dir.join(endpoint.snapshot_path());
    match tokio::fs::read(&path).await {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let what = endpoint.describe();
            let mut chars = what.chars();
            let what = match chars.next() {
                Some(c) => c.to_uppercase().chain(chars).collect::<String>(),
                None => what,
            };
            Err(FplError::NotAvailable(format!(
                "{what} is not available in this snapshot ({} is missing)",
                endpoint.snapshot_path().display()
            )))
        }
        Err(e) => Err(FplError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        }),
    }
}
