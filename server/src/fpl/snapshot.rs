//! Saving the live API into the snapshot layout.
//!
//! Promises: `FplSource::snapshot(out_dir)` writes `bootstrap-static.json`, `fixtures.json`,
//! `element-summary/{id}.json` for every player and `event/{gw}/live.json` and (where the API
//! has it) `dream-team/{gw}.json` for every finished or current gameweek, and for each requested manager (`entries`) `entry/{id}.json`,
//! its history, transfers and every gameweek's picks, and for each requested league its
//! standings (every page, merged), each byte for byte as the API sent it (standings: as
//! merged) and only after it parsed; player summaries are fetched with bounded concurrency;
//! every file is written to a temporary name and renamed, so a failed run never leaves a
//! truncated file. The first failure stops the run and is returned.

use std::path::{Path, PathBuf};

use futures::stream::{self, StreamExt, TryStreamExt};
use serde::de::DeserializeOwned;

use crate::fpl::error::FplError;
use crate::fpl::manager::{Entry, EntryHistory, LeagueStandings, Picks, Transfer};
use crate::fpl::model::{Bootstrap, DreamTeamPayload, ElementSummary, EventLive, Fixture};
use crate::fpl::source::{Endpoint, FplSource};

/// How a snapshot is taken.
#[derive(Debug, Clone)]
pub struct SnapshotOptions {
    /// Requests in flight at once for element summaries and live gameweeks.
    pub concurrency: usize,
    /// Managers (entry ids) whose team, history, transfers and picks are saved too.
    pub entries: Vec<u32>,
    /// Classic leagues whose standings are saved too.
    pub leagues: Vec<u32>,
}

impl Default for SnapshotOptions {
    fn default() -> Self {
        Self {
            concurrency: 4,
            entries: Vec::new(),
            leagues: Vec::new(),
        }
    }
}

/// What a snapshot run wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotReport {
    pub out_dir: PathBuf,
    pub players: usize,
    pub teams: usize,
    pub fixtures: usize,
    pub live_gameweeks: Vec<u32>,
    /// Managers saved, and the gameweeks of picks saved over all of them.
    pub entries: usize,
    pub picks: usize,
    pub leagues: usize,
    pub bytes_written: u64,
}

impl FplSource {
    /// Save this source (normally the live API) into `out_dir` in the snapshot layout.
    pub async fn snapshot(&self, out_dir: impl AsRef<Path>) -> Result<SnapshotReport, FplError> {
        self.snapshot_with(out_dir, SnapshotOptions::default())
            .await
    }

    /// [`FplSource::snapshot`] with explicit options.
    pub async fn snapshot_with(
        &self,
        out_dir: impl AsRef<Path>,
        options: SnapshotOptions,
    ) -> Result<SnapshotReport, FplError> {
        let out_dir = out_dir.as_ref().to_path_buf();
        let concurrency = options.concurrency.max(1);

        let (bootstrap, bootstrap_bytes) =
            self.fetch_checked::<Bootstrap>(Endpoint::Bootstrap).await?;
        let (fixtures, fixtures_bytes) = self
            .fetch_checked::<Vec<Fixture>>(Endpoint::Fixtures)
            .await?;
        let mut written = write_file(&out_dir, Endpoint::Bootstrap, &bootstrap_bytes).await?;
        written += write_file(&out_dir, Endpoint::Fixtures, &fixtures_bytes).await?;

        let ids: Vec<u32> = bootstrap.elements.iter().map(|e| e.id).collect();
        let summaries: Vec<u64> = stream::iter(ids.iter().copied())
            .map(|id| {
                let out_dir = out_dir.clone();
                async move {
                    let endpoint = Endpoint::ElementSummary(id);
                    let (_, bytes) = self.fetch_checked::<ElementSummary>(endpoint).await?;
                    write_file(&out_dir, endpoint, &bytes).await
                }
            })
            .buffer_unordered(concurrency)
            .try_collect()
            .await?;
        written += summaries.iter().sum::<u64>();

        let mut gameweeks: Vec<u32> = bootstrap
            .events
            .iter()
            .filter(|e| e.finished || e.is_current)
            .map(|e| e.id)
            .collect();
        gameweeks.sort_unstable();
        let lives: Vec<u64> = stream::iter(gameweeks.iter().copied())
            .map(|gw| {
                let out_dir = out_dir.clone();
                async move {
                    let endpoint = Endpoint::EventLive(gw);
                    let (_, bytes) = self.fetch_checked::<EventLive>(endpoint).await?;
                    write_file(&out_dir, endpoint, &bytes).await
                }
            })
            .buffer_unordered(concurrency)
            .try_collect()
            .await?;
        written += lives.iter().sum::<u64>();
        // The game's dream teams, where the API has them (older gameweeks may not).
        for &gw in &gameweeks {
            let endpoint = Endpoint::DreamTeam(gw);
            match self.fetch_checked::<DreamTeamPayload>(endpoint).await {
                Ok((_, bytes)) => written += write_file(&out_dir, endpoint, &bytes).await?,
                Err(e) if e.is_not_available() => {}
                Err(e) => return Err(e),
            }
        }

        let mut picks = 0;
        for &id in &options.entries {
            let (saved, bytes) = self.snapshot_entry(&out_dir, id).await?;
            picks += saved;
            written += bytes;
        }
        for &id in &options.leagues {
            let endpoint = Endpoint::LeagueStandings(id);
            let (_, bytes) = self.fetch_checked::<LeagueStandings>(endpoint).await?;
            written += write_file(&out_dir, endpoint, &bytes).await?;
        }

        tracing::info!(
            out_dir = %out_dir.display(),
            players = ids.len(),
            gameweeks = gameweeks.len(),
            bytes = written,
            "FPL snapshot saved"
        );
        Ok(SnapshotReport {
            out_dir,
            players: ids.len(),
            teams: bootstrap.teams.len(),
            fixtures: fixtures.len(),
            live_gameweeks: gameweeks,
            entries: options.entries.len(),
            picks,
            leagues: options.leagues.len(),
            bytes_written: written,
        })
    }

    /// One manager's files: the entry, its history, transfers and the picks of every
    /// gameweek the history lists; returns the gameweeks of picks and the bytes written.
    async fn snapshot_entry(&self, out_dir: &Path, id: u32) -> Result<(usize, u64), FplError> {
        let (_, entry) = self.fetch_checked::<Entry>(Endpoint::Entry(id)).await?;
        let (history, history_bytes) = self
            .fetch_checked::<EntryHistory>(Endpoint::EntryHistory(id))
            .await?;
        let (_, transfers) = self
            .fetch_checked::<Vec<Transfer>>(Endpoint::EntryTransfers(id))
            .await?;
        let mut written = write_file(out_dir, Endpoint::Entry(id), &entry).await?;
        written += write_file(out_dir, Endpoint::EntryHistory(id), &history_bytes).await?;
        written += write_file(out_dir, Endpoint::EntryTransfers(id), &transfers).await?;
        for week in &history.current {
            let endpoint = Endpoint::EntryPicks {
                entry: id,
                gw: week.event,
            };
            let (_, bytes) = self.fetch_checked::<Picks>(endpoint).await?;
            written += write_file(out_dir, endpoint, &bytes).await?;
        }
        Ok((history.current.len(), written))
    }

    async fn fetch_checked<T: DeserializeOwned>(
        &self,
        endpoint: Endpoint,
    ) -> Result<(T, Vec<u8>), FplError> {
        let bytes = self.fetch_raw(endpoint).await?;
        let value = serde_json::from_slice::<T>(&bytes).map_err(|e| FplError::Parse {
            what: endpoint.describe(),
            message: e.to_string(),
        })?;
        Ok((value, bytes))
    }
}

async fn write_file(out_dir: &Path, endpoint: Endpoint, bytes: &[u8]) -> Result<u64, FplError> {
    let path = out_dir.join(endpoint.snapshot_path());
    let io = |e: std::io::Error, p: &Path| FplError::Io {
        path: p.display().to_string(),
        message: e.to_string(),
    };
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| io(e, parent))?;
    }
    let mut tmp = path.clone().into_os_string();
    tmp.push(".part");
    let tmp = PathBuf::from(tmp);
    tokio::fs::write(&tmp, bytes)
        .await
        .map_err(|e| io(e, &tmp))?;
    tokio::fs::rename(&tmp, &path)
        .await
        .map_err(|e| io(e, &path))?;
    Ok(bytes.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fpl::test_server::{Reply, TestServer};
    use crate::fpl::test_support::snapshot_dir;
    use crate::fpl::{ApiOptions, CacheTtls};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    const IDS: [u32; 4] = [1, 16, 381, 430];

    /// An API double that serves the gw7 snapshot cut down to four players; the first two
    /// `/fixtures/` requests get a 503.
    fn api_double(fixture_failures: usize) -> (TestServer, Arc<AtomicUsize>) {
        let dir = snapshot_dir("2025-26_gw7");
        let mut bootstrap: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("bootstrap-static.json")).unwrap())
                .unwrap();
        if let Some(els) = bootstrap["elements"].as_array_mut() {
            els.retain(|e| IDS.contains(&(e["id"].as_u64().unwrap_or(0) as u32)));
        }
        let bootstrap = serde_json::to_vec(&bootstrap).unwrap();
        let fixture_hits = Arc::new(AtomicUsize::new(0));
        let hits = fixture_hits.clone();
        let server = TestServer::start(move |path| {
            let file = match path {
                "/api/bootstrap-static/" => return Reply::ok(bootstrap.clone()),
                "/api/fixtures/" => {
                    if hits.fetch_add(1, Ordering::SeqCst) < fixture_failures {
                        return Reply::status(503).header("Retry-After", "0");
                    }
                    dir.join("fixtures.json")
                }
                p => {
                    // A league's standings are asked for by page; the snapshot's file is one.
                    let p = p.split('?').next().unwrap_or(p);
                    let p = p.trim_start_matches("/api/").trim_end_matches('/');
                    let manager = |rest: &str| dir.join(format!("{rest}.json"));
                    if p.starts_with("entry/") || p.starts_with("leagues-classic/") {
                        manager(p)
                    } else if let Some(id) = p.strip_prefix("element-summary/") {
                        dir.join(format!("element-summary/{id}.json"))
                    } else if let Some(gw) = p
                        .strip_prefix("event/")
                        .and_then(|r| r.strip_suffix("/live"))
                    {
                        dir.join(format!("event/{gw}/live.json"))
                    } else if let Some(gw) = p.strip_prefix("dream-team/") {
                        // The shared data has no dream-team files: answer with the players
                        // the live payload flags `in_dreamteam`, in the API's shape.
                        return dream_team_reply(&dir, gw);
                    } else {
                        return Reply::status(404);
                    }
                }
            };
            match std::fs::read(file) {
                Ok(b) => Reply::ok(b),
                Err(_) => Reply::status(404),
            }
        });
        (server, fixture_hits)
    }

    fn dream_team_reply(dir: &std::path::Path, gw: &str) -> Reply {
        let Ok(bytes) = std::fs::read(dir.join(format!("event/{gw}/live.json"))) else {
            return Reply::status(404);
        };
        let live: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let team: Vec<serde_json::Value> = live["elements"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["stats"]["in_dreamteam"] == true)
            .enumerate()
            .map(|(i, e)| {
                serde_json::json!({"element": e["id"], "points": e["stats"]["total_points"], "position": i + 1})
            })
            .collect();
        let top = team
            .iter()
            .max_by_key(|t| t["points"].as_i64())
            .map(|t| serde_json::json!({"id": t["element"], "points": t["points"]}));
        Reply::ok(
            serde_json::to_vec(&serde_json::json!({"top_player": top, "team": team})).unwrap(),
        )
    }

    fn fast_options() -> ApiOptions {
        ApiOptions {
            initial_backoff: Duration::from_millis(5),
            ..ApiOptions::default()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn snapshot_writes_the_api_layout() {
        let (server, fixture_hits) = api_double(2);
        let source =
            FplSource::api_with(&server.url("/api"), fast_options(), CacheTtls::default()).unwrap();
        let out = std::env::temp_dir().join(format!("fplcore-snapshot-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        let report = source.snapshot(&out).await.expect("snapshot");
        assert_eq!(
            fixture_hits.load(Ordering::SeqCst),
            3,
            "two 503s then success"
        );
        assert_eq!(report.players, 4);
        assert_eq!(report.fixtures, 380);
        assert_eq!(report.live_gameweeks, vec![1, 2, 3, 4, 5, 6, 7]);
        for id in IDS {
            assert!(out.join(format!("element-summary/{id}.json")).is_file());
        }
        for gw in 1..=7 {
            assert!(out.join(format!("event/{gw}/live.json")).is_file());
            assert!(out.join(format!("dream-team/{gw}.json")).is_file());
        }
        let saved = FplSource::snapshot_dir(&out).unwrap();
        assert_eq!(saved.dream_team(7).await.unwrap().data().team.len(), 11);
        let original = std::fs::read(snapshot_dir("2025-26_gw7").join("fixtures.json")).unwrap();
        assert_eq!(std::fs::read(out.join("fixtures.json")).unwrap(), original);
        // The saved directory is itself a usable source.
        let saved = FplSource::snapshot_dir(&out).unwrap();
        let data = saved.data().await.unwrap();
        assert_eq!(data.players().len(), 4);
        let haaland = saved.element_summary(430).await.unwrap();
        assert_eq!(haaland.history.len(), 7);
        assert!(saved
            .element_summary(2)
            .await
            .unwrap_err()
            .is_not_available());
        std::fs::remove_dir_all(&out).unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn retries_stop_after_max_and_report_the_status() {
        let (server, fixture_hits) = api_double(usize::MAX);
        let options = ApiOptions {
            max_retries: 2,
            ..fast_options()
        };
        let source =
            FplSource::api_with(&server.url("/api"), options, CacheTtls::default()).unwrap();
        let err = source.fixtures().await.unwrap_err();
        assert!(matches!(err, FplError::Http { status: 503, .. }), "{err:?}");
        assert_eq!(fixture_hits.load(Ordering::SeqCst), 3);
        let missing = source.element_summary(99999).await.unwrap_err();
        assert!(missing.is_not_available(), "{missing:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn retry_after_is_honoured_on_429() {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let server = TestServer::start(move |_| {
            if c.fetch_add(1, Ordering::SeqCst) == 0 {
                Reply::status(429).header("Retry-After", "1")
            } else {
                Reply::ok(b"[]".to_vec())
            }
        });
        let source =
            FplSource::api_with(&server.url(""), fast_options(), CacheTtls::default()).unwrap();
        let started = std::time::Instant::now();
        let fixtures = source.fixtures().await.unwrap();
        assert!(fixtures.is_empty());
        assert!(
            started.elapsed() >= Duration::from_millis(950),
            "waited {:?}",
            started.elapsed()
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_cache_misses_fetch_once() {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let server = TestServer::start(move |_| {
            c.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(50));
            Reply::ok(b"[]".to_vec())
        });
        let source =
            FplSource::api_with(&server.url(""), fast_options(), CacheTtls::default()).unwrap();
        let results = futures::future::join_all((0..8).map(|_| source.fixtures())).await;
        assert!(results.iter().all(|r| r.is_ok()));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        source.fixtures().await.unwrap();
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "second call is served from the cache"
        );
    }

    crate::redis_tests!(instances_share_one_copy_of_the_api_through_redis);

    async fn instances_share_one_copy_of_the_api_through_redis(url: String) {
        let (server, fixture_hits) = api_double(0);
        let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
        let instance = || {
            let cache = crate::cache::Cache::new(
                Some(crate::testkit::redis::client(&url)),
                &prefix,
                Arc::new(crate::metrics::Metrics::new()),
            );
            FplSource::api_cached(
                &server.url("/api"),
                fast_options(),
                CacheTtls::default(),
                &cache,
            )
            .unwrap()
        };
        let (first, second) = (instance(), instance());
        assert_eq!(first.fixtures().await.unwrap().len(), 380);
        assert_eq!(fixture_hits.load(Ordering::SeqCst), 1);
        // The second instance parses the first one's copy instead of calling the API.
        let data = second.data().await.unwrap();
        assert_eq!((data.fixtures().len(), data.players().len()), (380, 4));
        assert_eq!(fixture_hits.load(Ordering::SeqCst), 1);
        // Cleared by one instance, reloaded by the next that asks.
        first.clear_cache().await;
        instance().fixtures().await.unwrap();
        assert_eq!(fixture_hits.load(Ordering::SeqCst), 2);
    }

    /// `--entry` and `--league`: a manager's team, history, transfers and every gameweek's
    /// picks, and a league's standings, saved in the layout the snapshot source reads, the
    /// manager's files byte for byte as the API sent them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn snapshot_saves_the_managers_and_leagues_asked_for() {
        let (server, _) = api_double(0);
        let source =
            FplSource::api_with(&server.url("/api"), fast_options(), CacheTtls::default()).unwrap();
        let out = std::env::temp_dir().join(format!("fplcore-managers-{}", uuid::Uuid::new_v4()));
        let options = SnapshotOptions {
            entries: vec![84062],
            leagues: vec![900001],
            ..SnapshotOptions::default()
        };
        let report = source.snapshot_with(&out, options).await.expect("snapshot");
        assert_eq!((report.entries, report.picks, report.leagues), (1, 7, 1));
        let original = snapshot_dir("2025-26_gw7");
        let mut files = vec![
            "entry/84062.json".to_string(),
            "entry/84062/history.json".to_string(),
            "entry/84062/transfers.json".to_string(),
        ];
        files.extend((1..=7).map(|gw| format!("entry/84062/event/{gw}/picks.json")));
        for file in &files {
            assert_eq!(
                std::fs::read(out.join(file)).unwrap(),
                std::fs::read(original.join(file)).unwrap(),
                "{file}"
            );
        }
        let saved = FplSource::snapshot_dir(&out).unwrap();
        let league = saved.league_standings(900001).await.unwrap();
        assert_eq!(league.standings.results.len(), 6);
        assert_eq!(saved.entry_picks(84062, 3).await.unwrap().picks.len(), 15);
        // Not asked for: not saved.
        assert!(!out.join("entry/1000001.json").exists());
        std::fs::remove_dir_all(&out).unwrap();
    }
}
