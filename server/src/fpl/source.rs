//! `FplSource`: the one place FPL data comes from.
//!
//! Promises: the same accessors serve the live API or a snapshot directory laid out like
//! the API (`bootstrap-static.json`, `fixtures.json`, `element-summary/{id}.json`,
//! `event/{gw}/live.json`); a file missing from a snapshot is a clear
//! [`FplError::NotAvailable`], never a panic; payloads go through the layered cache (parsed
//! values in the process with single-flight loading, handed out as shared `Arc`s; for the live
//! API also the raw payload in Redis, so that instances share one copy instead of each calling
//! the API) with a TTL per endpoint (bootstrap and fixtures 1 h, element-summary 2 h, live
//! 1 min), shorter while matches are being played (see [`CacheTtls::during_matches`]) and never
//! past the next kick-off. Cloning an `FplSource` shares its cache.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use serde::de::DeserializeOwned;

use crate::cache::{Cache, Codec, Layered};
use crate::fpl::api::{ApiClient, ApiOptions, DEFAULT_BASE_URL};
use crate::fpl::data::FplData;
use crate::fpl::error::FplError;
use crate::fpl::loaded::Loaded;
use crate::fpl::manager::{Entry, EntryHistory, LeagueStandings, Picks, Transfer};
use crate::fpl::model::{Bootstrap, DreamTeamPayload, ElementSummary, EventLive, Fixture};

/// One API endpoint, with its API path and its snapshot file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Bootstrap,
    Fixtures,
    ElementSummary(u32),
    EventLive(u32),
    /// A manager's team (`/entry/{id}/`).
    Entry(u32),
    EntryHistory(u32),
    /// An entry's squad in a gameweek.
    EntryPicks {
        entry: u32,
        gw: u32,
    },
    EntryTransfers(u32),
    /// A classic league's standings (the API's pages read into one, up to a cap).
    LeagueStandings(u32),
    /// A gameweek's dream team.
    DreamTeam(u32),
}

impl Endpoint {
    /// Path below the API base URL, e.g. `/element-summary/430/`.
    pub fn api_path(self) -> String {
        match self {
            Endpoint::Bootstrap => "/bootstrap-static/".to_string(),
            Endpoint::Fixtures => "/fixtures/".to_string(),
            Endpoint::ElementSummary(id) => format!("/element-summary/{id}/"),
            Endpoint::EventLive(gw) => format!("/event/{gw}/live/"),
            Endpoint::Entry(id) => format!("/entry/{id}/"),
            Endpoint::EntryHistory(id) => format!("/entry/{id}/history/"),
            Endpoint::EntryPicks { entry, gw } => format!("/entry/{entry}/event/{gw}/picks/"),
            Endpoint::EntryTransfers(id) => format!("/entry/{id}/transfers/"),
            Endpoint::LeagueStandings(id) => format!("/leagues-classic/{id}/standings/"),
            Endpoint::DreamTeam(gw) => format!("/dream-team/{gw}/"),
        }
    }

    /// Path of the file inside a snapshot directory, e.g. `element-summary/430.json`.
    pub fn snapshot_path(self) -> PathBuf {
        match self {
            Endpoint::Bootstrap => PathBuf::from("bootstrap-static.json"),
            Endpoint::Fixtures => PathBuf::from("fixtures.json"),
            Endpoint::ElementSummary(id) => PathBuf::from(format!("element-summary/{id}.json")),
            Endpoint::EventLive(gw) => PathBuf::from(format!("event/{gw}/live.json")),
            Endpoint::Entry(id) => PathBuf::from(format!("entry/{id}.json")),
            Endpoint::EntryHistory(id) => PathBuf::from(format!("entry/{id}/history.json")),
            Endpoint::EntryPicks { entry, gw } => {
                PathBuf::from(format!("entry/{entry}/event/{gw}/picks.json"))
            }
            Endpoint::EntryTransfers(id) => PathBuf::from(format!("entry/{id}/transfers.json")),
            Endpoint::LeagueStandings(id) => {
                PathBuf::from(format!("leagues-classic/{id}/standings.json"))
            }
            Endpoint::DreamTeam(gw) => PathBuf::from(format!("dream-team/{gw}.json")),
        }
    }

    /// Key in the layered cache, e.g. `fpl:element-summary:430`.
    pub fn cache_key(self) -> String {
        match self {
            Endpoint::Bootstrap => "fpl:bootstrap".to_string(),
            Endpoint::Fixtures => "fpl:fixtures".to_string(),
            Endpoint::ElementSummary(id) => format!("fpl:element-summary:{id}"),
            Endpoint::EventLive(gw) => format!("fpl:event-live:{gw}"),
            Endpoint::Entry(id) => format!("fpl:entry:{id}"),
            Endpoint::EntryHistory(id) => format!("fpl:entry-history:{id}"),
            Endpoint::EntryPicks { entry, gw } => format!("fpl:entry-picks:{entry}:{gw}"),
            Endpoint::EntryTransfers(id) => format!("fpl:entry-transfers:{id}"),
            Endpoint::LeagueStandings(id) => format!("fpl:league-standings:{id}"),
            Endpoint::DreamTeam(gw) => format!("fpl:dream-team:{gw}"),
        }
    }

    /// What the endpoint holds, for messages.
    pub fn describe(self) -> String {
        match self {
            Endpoint::Bootstrap => "the season overview (bootstrap-static)".to_string(),
            Endpoint::Fixtures => "the fixture list".to_string(),
            Endpoint::ElementSummary(id) => format!("per-gameweek history of player {id}"),
            Endpoint::EventLive(gw) => format!("live data of gameweek {gw}"),
            Endpoint::Entry(id) => format!("FPL team {id}"),
            Endpoint::EntryHistory(id) => format!("the season history of FPL team {id}"),
            Endpoint::EntryPicks { entry, gw } => {
                format!("the gameweek {gw} squad of FPL team {entry}")
            }
            Endpoint::EntryTransfers(id) => format!("the transfers of FPL team {id}"),
            Endpoint::LeagueStandings(id) => format!("the standings of league {id}"),
            Endpoint::DreamTeam(gw) => format!("the dream team of gameweek {gw}"),
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
    /// Managers' teams, histories, squads, transfers and league tables: they change at each
    /// deadline and, while matches are played, with every goal.
    pub manager: Duration,
}

impl Default for CacheTtls {
    fn default() -> Self {
        Self {
            bootstrap: Duration::from_secs(3600),
            fixtures: Duration::from_secs(3600),
            element_summary: Duration::from_secs(7200),
            live: Duration::from_secs(60),
            manager: Duration::from_secs(600),
        }
    }
}

/// How long after kick-off a match counts as being played (90 minutes, half-time, stoppage,
/// and the provisional result).
const MATCH_WINDOW: chrono::TimeDelta = chrono::TimeDelta::minutes(150);

impl CacheTtls {
    /// While matches are played, points, prices and bonus move by the minute.
    pub fn during_matches() -> Self {
        Self {
            bootstrap: Duration::from_secs(120),
            fixtures: Duration::from_secs(60),
            element_summary: Duration::from_secs(600),
            live: Duration::from_secs(20),
            manager: Duration::from_secs(60),
        }
    }

    fn of(&self, endpoint: Endpoint) -> Duration {
        match endpoint {
            Endpoint::Bootstrap => self.bootstrap,
            Endpoint::Fixtures => self.fixtures,
            Endpoint::ElementSummary(_) => self.element_summary,
            Endpoint::EventLive(_) | Endpoint::DreamTeam(_) => self.live,
            Endpoint::Entry(_)
            | Endpoint::EntryHistory(_)
            | Endpoint::EntryPicks { .. }
            | Endpoint::EntryTransfers(_)
            | Endpoint::LeagueStandings(_) => self.manager,
        }
    }
}

/// How long `endpoint` may be cached at `now` given the fixture list: the short TTLs while a
/// match is being played, else the normal ones but never past the next kick-off (so that the
/// first minutes of a match are not served from before it).
pub fn ttl_at(
    endpoint: Endpoint,
    fixtures: Option<&[Fixture]>,
    now: DateTime<Utc>,
    normal: &CacheTtls,
) -> Duration {
    let short = CacheTtls::during_matches()
        .of(endpoint)
        .min(normal.of(endpoint));
    let Some(fixtures) = fixtures else {
        return normal.of(endpoint);
    };
    let unfinished = fixtures
        .iter()
        .filter(|f| !f.finished && !f.finished_provisional)
        .filter_map(|f| f.kickoff_time);
    let mut next_kickoff: Option<DateTime<Utc>> = None;
    for kickoff in unfinished {
        if kickoff <= now && now < kickoff + MATCH_WINDOW {
            return short;
        }
        if kickoff > now && next_kickoff.is_none_or(|k| kickoff < k) {
            next_kickoff = Some(kickoff);
        }
    }
    let until_kickoff = next_kickoff
        .and_then(|k| (k - now).to_std().ok())
        .unwrap_or(Duration::MAX);
    normal.of(endpoint).min(until_kickoff.max(short))
}

/// How long a freshly loaded payload may be cached, decided from the payload itself.
type TtlOf<'a, T> = &'a (dyn Fn(&Loaded<T>) -> Duration + Sync);

#[derive(Debug)]
enum Backend {
    Api(ApiClient),
    Snapshot(PathBuf),
}

struct Inner {
    backend: Backend,
    ttls: CacheTtls,
    bootstrap: Layered<Loaded<Bootstrap>>,
    fixtures: Layered<Loaded<Vec<Fixture>>>,
    summaries: Layered<Loaded<ElementSummary>>,
    live: Layered<Loaded<EventLive>>,
    entries: Layered<Loaded<Entry>>,
    histories: Layered<Loaded<EntryHistory>>,
    picks: Layered<Loaded<Picks>>,
    transfers: Layered<Loaded<Vec<Transfer>>>,
    leagues: Layered<Loaded<LeagueStandings>>,
    dream_teams: Layered<Loaded<DreamTeamPayload>>,
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
        Self::api_cached(base_url, options, ttls, &Cache::local())
    }

    /// The live API, its payloads shared with other instances through `cache`'s Redis.
    pub fn api_cached(
        base_url: &str,
        options: ApiOptions,
        ttls: CacheTtls,
        cache: &Cache,
    ) -> Result<Self, FplError> {
        Ok(Self::from_backend(
            Backend::Api(ApiClient::new(base_url, options)?),
            ttls,
            cache,
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
        // A snapshot is a local file: reading it is as cheap as Redis, so it is not shared.
        Ok(Self::from_backend(
            Backend::Snapshot(dir),
            ttls,
            &Cache::local(),
        ))
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

    fn from_backend(backend: Backend, ttls: CacheTtls, cache: &Cache) -> Self {
        // Local copies live as long as the entry (the TTL is decided per load).
        let local = Duration::from_secs(24 * 3600);
        Self {
            inner: Arc::new(Inner {
                backend,
                ttls,
                bootstrap: cache.layered("fpl", 1, local),
                fixtures: cache.layered("fpl", 1, local),
                summaries: cache.layered("fpl", 1024, local),
                live: cache.layered("fpl", 64, local),
                entries: cache.layered("fpl", 1024, local),
                histories: cache.layered("fpl", 1024, local),
                picks: cache.layered("fpl", 1024, local),
                transfers: cache.layered("fpl", 1024, local),
                leagues: cache.layered("fpl", 256, local),
                dream_teams: cache.layered("fpl", 64, local),
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

    /// Where the data comes from, as a visitor reads it under the composer: "the official FPL
    /// API", or "an FPL snapshot (2025-26_gw7), not live data" (the directory's name only).
    pub fn public_label(&self) -> String {
        match &self.inner.backend {
            Backend::Api(_) => "the official FPL API".into(),
            Backend::Snapshot(d) => {
                let name = d
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                format!("an FPL snapshot ({name}), not live data")
            }
        }
    }

    /// True when the data comes from a snapshot directory.
    pub fn is_snapshot(&self) -> bool {
        matches!(self.inner.backend, Backend::Snapshot(_))
    }

    /// `/bootstrap-static/`.
    pub async fn bootstrap(&self) -> Result<Arc<Loaded<Bootstrap>>, FplError> {
        self.cached(&self.inner.bootstrap, Endpoint::Bootstrap, None)
            .await
    }

    /// `/fixtures/`.
    pub async fn fixtures(&self) -> Result<Arc<Loaded<Vec<Fixture>>>, FplError> {
        let ttls = self.inner.ttls;
        let own_ttl = move |f: &Loaded<Vec<Fixture>>| {
            ttl_at(Endpoint::Fixtures, Some(f.data()), Utc::now(), &ttls)
        };
        self.cached(&self.inner.fixtures, Endpoint::Fixtures, Some(&own_ttl))
            .await
    }

    /// `/element-summary/{id}/`.
    pub async fn element_summary(&self, id: u32) -> Result<Arc<Loaded<ElementSummary>>, FplError> {
        self.cached(&self.inner.summaries, Endpoint::ElementSummary(id), None)
            .await
    }

    /// `/event/{gw}/live/`.
    pub async fn event_live(&self, gw: u32) -> Result<Arc<Loaded<EventLive>>, FplError> {
        self.cached(&self.inner.live, Endpoint::EventLive(gw), None)
            .await
    }

    /// `/entry/{id}/`.
    pub async fn entry(&self, id: u32) -> Result<Arc<Loaded<Entry>>, FplError> {
        self.cached(&self.inner.entries, Endpoint::Entry(id), None)
            .await
    }

    /// `/entry/{id}/history/`.
    pub async fn entry_history(&self, id: u32) -> Result<Arc<Loaded<EntryHistory>>, FplError> {
        self.cached(&self.inner.histories, Endpoint::EntryHistory(id), None)
            .await
    }

    /// `/entry/{entry}/event/{gw}/picks/`.
    pub async fn entry_picks(&self, entry: u32, gw: u32) -> Result<Arc<Loaded<Picks>>, FplError> {
        self.cached(&self.inner.picks, Endpoint::EntryPicks { entry, gw }, None)
            .await
    }

    /// `/entry/{id}/transfers/`.
    pub async fn entry_transfers(&self, id: u32) -> Result<Arc<Loaded<Vec<Transfer>>>, FplError> {
        self.cached(&self.inner.transfers, Endpoint::EntryTransfers(id), None)
            .await
    }

    /// `/leagues-classic/{id}/standings/`: every page, up to [`MAX_STANDINGS_PAGES`].
    pub async fn league_standings(
        &self,
        id: u32,
    ) -> Result<Arc<Loaded<LeagueStandings>>, FplError> {
        self.cached(&self.inner.leagues, Endpoint::LeagueStandings(id), None)
            .await
    }

    /// `/dream-team/{gw}/`: the game's best eleven of a gameweek.
    pub async fn dream_team(&self, gw: u32) -> Result<Arc<Loaded<DreamTeamPayload>>, FplError> {
        self.cached(&self.inner.dream_teams, Endpoint::DreamTeam(gw), None)
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

    /// Drops every cached value, here and in Redis (the next call loads afresh).
    pub async fn clear_cache(&self) {
        let inner = &self.inner;
        // The layers share Redis: one clears it, each clears its own process copies.
        for result in [
            inner.bootstrap.invalidate_pattern("fpl:*").await,
            inner.fixtures.invalidate_local_pattern("fpl:*"),
            inner.summaries.invalidate_local_pattern("fpl:*"),
            inner.live.invalidate_local_pattern("fpl:*"),
            inner.entries.invalidate_local_pattern("fpl:*"),
            inner.histories.invalidate_local_pattern("fpl:*"),
            inner.picks.invalidate_local_pattern("fpl:*"),
            inner.transfers.invalidate_local_pattern("fpl:*"),
            inner.leagues.invalidate_local_pattern("fpl:*"),
            inner.dream_teams.invalidate_local_pattern("fpl:*"),
        ] {
            if let Err(e) = result {
                tracing::warn!(error = %e, "could not clear the shared FPL cache");
            }
        }
        *inner.data.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// The endpoint through the layered cache, for as long as [`ttl_at`] allows given the
    /// fixture list in this process (or `own_ttl` of the loaded value: the fixtures' own).
    async fn cached<T>(
        &self,
        layer: &Layered<Loaded<T>>,
        endpoint: Endpoint,
        own_ttl: Option<TtlOf<'_, T>>,
    ) -> Result<Arc<Loaded<T>>, FplError>
    where
        T: DeserializeOwned + Send + Sync + 'static,
    {
        let fixtures = self.inner.fixtures.peek(&Endpoint::Fixtures.cache_key());
        let ttls = self.inner.ttls;
        layer
            .get_or_load(
                &endpoint.cache_key(),
                |loaded| match own_ttl {
                    Some(ttl) => ttl(loaded),
                    None => ttl_at(
                        endpoint,
                        fixtures.as_ref().map(|f| f.data().as_slice()),
                        Utc::now(),
                        &ttls,
                    ),
                },
                || self.load(endpoint),
            )
            .await
    }

    /// The endpoint's bytes, straight from the backend (no cache). A league's standings from
    /// the API are its pages merged into one payload (see [`standings_pages`]).
    pub async fn fetch_raw(&self, endpoint: Endpoint) -> Result<Vec<u8>, FplError> {
        match (&self.inner.backend, endpoint) {
            (Backend::Api(client), Endpoint::LeagueStandings(_)) => {
                standings_pages(client, endpoint).await
            }
            (Backend::Api(client), _) => client.get_bytes(&endpoint.api_path()).await,
            (Backend::Snapshot(dir), _) => read_snapshot_file(dir, endpoint).await,
        }
    }

    async fn load<T>(&self, endpoint: Endpoint) -> Result<Loaded<T>, FplError>
    where
        T: DeserializeOwned + Send + Sync + 'static,
    {
        let raw = self.fetch_raw(endpoint).await?;
        let parse_error = |message: String| FplError::Parse {
            what: endpoint.describe(),
            message,
        };
        tokio::task::spawn_blocking(move || Loaded::<T>::decode(raw))
            .await
            .map_err(|e| parse_error(e.to_string()))?
            .map_err(parse_error)
    }
}

/// The most pages of a league's standings read (50 entries each): a mini-league fits; the
/// overall league's millions of entries would be 200,000 requests.
pub const MAX_STANDINGS_PAGES: u32 = 20;

/// A classic league's standings from the API, page after page (`?page_standings=N`) until the
/// last one or [`MAX_STANDINGS_PAGES`], as one payload: the first page's, with every page's
/// results and `has_next` still true when pages were left unread.
async fn standings_pages(client: &ApiClient, endpoint: Endpoint) -> Result<Vec<u8>, FplError> {
    let parse = |message: String| FplError::Parse {
        what: endpoint.describe(),
        message,
    };
    let mut merged: serde_json::Value = serde_json::Value::Null;
    for page in 1..=MAX_STANDINGS_PAGES {
        let path = format!("{}?page_standings={page}", endpoint.api_path());
        let bytes = client.get_bytes(&path).await?;
        let mut value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| parse(e.to_string()))?;
        let standings = value
            .get_mut("standings")
            .filter(|s| s["results"].is_array())
            .ok_or_else(|| parse("no standings.results".into()))?;
        let has_next = standings["has_next"].as_bool().unwrap_or(false);
        if page == 1 {
            merged = value;
        } else {
            let results = standings["results"].take();
            if let (Some(all), Some(more)) = (
                merged["standings"]["results"].as_array_mut(),
                results.as_array(),
            ) {
                all.extend(more.iter().cloned());
            }
            merged["standings"]["has_next"] = has_next.into();
        }
        if !has_next {
            break;
        }
    }
    serde_json::to_vec(&merged).map_err(|e| parse(e.to_string()))
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn fixture(kickoff: DateTime<Utc>, finished: bool) -> Fixture {
        let mut f: Fixture = serde_json::from_value(serde_json::json!({
            "id": 1, "event": 8, "team_h": 1, "team_a": 2,
            "team_h_difficulty": 3, "team_a_difficulty": 3,
            "finished": finished, "finished_provisional": finished,
            "started": false, "kickoff_time": null
        }))
        .unwrap();
        f.kickoff_time = Some(kickoff);
        f
    }

    #[test]
    fn ttls_are_short_while_matches_are_played_and_end_at_the_next_kickoff() {
        let normal = CacheTtls::default();
        let now = Utc.with_ymd_and_hms(2025, 10, 18, 15, 30, 0).unwrap();
        let minutes = |m: i64| now + chrono::TimeDelta::minutes(m);
        let at = |fixtures: &[Fixture], endpoint| ttl_at(endpoint, Some(fixtures), now, &normal);

        let playing = [fixture(minutes(-30), false)];
        assert_eq!(at(&playing, Endpoint::Bootstrap), Duration::from_secs(120));
        assert_eq!(
            at(&playing, Endpoint::EventLive(8)),
            Duration::from_secs(20)
        );

        let soon = [fixture(minutes(-300), true), fixture(minutes(10), false)];
        assert_eq!(at(&soon, Endpoint::Fixtures), Duration::from_secs(600));
        assert_eq!(at(&soon, Endpoint::EventLive(8)), Duration::from_secs(60));

        let quiet = [
            fixture(minutes(-300), true),
            fixture(minutes(3 * 24 * 60), false),
        ];
        assert_eq!(at(&quiet, Endpoint::Bootstrap), normal.bootstrap);
        assert_eq!(
            at(&quiet, Endpoint::ElementSummary(1)),
            normal.element_summary
        );
        // A match long past its window that never got its result does not keep TTLs short.
        let stale = [fixture(minutes(-600), false)];
        assert_eq!(at(&stale, Endpoint::Fixtures), normal.fixtures);
        assert_eq!(
            ttl_at(Endpoint::Fixtures, None, now, &normal),
            normal.fixtures
        );
    }

    /// The manager endpoints read the same from the live API (a double serving the snapshot's
    /// files at the API's paths) as from the snapshot directory; an unknown entry is
    /// `NotAvailable` on both, with the endpoint named.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn manager_endpoints_read_the_same_from_the_api_and_a_snapshot() {
        use crate::fpl::test_server::{Reply, TestServer};
        use crate::fpl::test_support::snapshot_dir;

        let dir = snapshot_dir("2025-26_gw7");
        let files = dir.clone();
        let server = TestServer::start(move |path| {
            let endpoint = [
                Endpoint::Entry(84062),
                Endpoint::EntryHistory(84062),
                Endpoint::EntryPicks {
                    entry: 84062,
                    gw: 7,
                },
                Endpoint::EntryTransfers(84062),
                Endpoint::LeagueStandings(900001),
                Endpoint::Entry(1),
            ]
            .into_iter()
            .find(|e| format!("/api{}", e.api_path()) == path.split('?').next().unwrap_or(path));
            match endpoint.map(|e| std::fs::read(files.join(e.snapshot_path()))) {
                Some(Ok(bytes)) => Reply::ok(bytes),
                _ => Reply::status(404),
            }
        });
        let api = FplSource::api(&server.url("/api")).unwrap();
        let snapshot = FplSource::snapshot_dir(&dir).unwrap();
        for source in [&api, &snapshot] {
            let entry = source.entry(84062).await.unwrap();
            assert_eq!(entry.name, "The Comebacks");
            let history = source.entry_history(84062).await.unwrap();
            assert_eq!(history.current.len(), 7);
            let picks = source.entry_picks(84062, 7).await.unwrap();
            assert_eq!(picks.active_chip.as_deref(), Some("wildcard"));
            let transfers = source.entry_transfers(84062).await.unwrap();
            assert_eq!(transfers.len(), 26);
            let league = source.league_standings(900001).await.unwrap();
            assert_eq!(league.standings.results.len(), 6);
            match source.entry(1).await {
                // The snapshot names what is missing, the API the path it asked for.
                Err(FplError::NotAvailable(message)) => assert!(
                    message.contains("FPL team 1 ") || message.contains("/entry/1/"),
                    "{message}"
                ),
                other => panic!("{other:?}"),
            }
        }
    }

    /// A league's standings from the API are read page after page into one table, and no
    /// further than [`MAX_STANDINGS_PAGES`] (then `has_next` says the table goes on).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn league_standings_read_every_page_up_to_the_cap() {
        use crate::fpl::test_server::{Reply, TestServer};
        use std::sync::atomic::{AtomicU32, Ordering};

        let requests = Arc::new(AtomicU32::new(0));
        let counted = requests.clone();
        // League 1 has 3 pages; league 2 never ends.
        let server = TestServer::start(move |path| {
            counted.fetch_add(1, Ordering::SeqCst);
            let Some((league, page)) = path
                .strip_prefix("/api/leagues-classic/")
                .and_then(|p| p.split_once("/standings/?page_standings="))
            else {
                return Reply::status(404);
            };
            let page: u32 = page.parse().unwrap();
            let results: Vec<serde_json::Value> = (0..2)
                .map(|i| {
                    let n = (page - 1) * 2 + i + 1;
                    serde_json::json!({"entry": n, "entry_name": format!("Team {n}"),
                        "player_name": "A B", "rank": n, "last_rank": n,
                        "event_total": 50, "total": 1000 - n})
                })
                .collect();
            let has_next = league == "2" || page < 3;
            Reply::ok(
                serde_json::to_vec(&serde_json::json!({
                    "league": {"id": league.parse::<u32>().unwrap(), "name": "L"},
                    "standings": {"has_next": has_next, "page": page, "results": results}
                }))
                .unwrap(),
            )
        });
        let api = FplSource::api(&server.url("/api")).unwrap();
        let three = api.league_standings(1).await.unwrap();
        assert_eq!(three.standings.results.len(), 6);
        assert!(!three.standings.has_next);
        let ranks: Vec<u64> = three.standings.results.iter().map(|s| s.rank).collect();
        assert_eq!(ranks, vec![1, 2, 3, 4, 5, 6]);
        assert_eq!(requests.load(Ordering::SeqCst), 3);
        let endless = api.league_standings(2).await.unwrap();
        assert_eq!(
            endless.standings.results.len(),
            2 * MAX_STANDINGS_PAGES as usize
        );
        assert!(endless.standings.has_next, "the table goes on");
        assert_eq!(requests.load(Ordering::SeqCst), 3 + MAX_STANDINGS_PAGES);
    }
}
