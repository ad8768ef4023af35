//! Retention: `fpl-chat prune` and the server's hourly pruning.
//!
//! Promises: a run deletes, in batches of [`BATCH`] identities, every anonymous identity idle
//! for longer than the given age with its conversations (see `store::retention` for what idle
//! means and how a batch is locked), then every expired session, then every conversation its
//! owner deleted more than [`UNDO_WINDOW`] ago (so a deleted conversation is gone for good
//! within an hour and ten minutes); the server's hourly run
//! always deletes expired sessions and prunes identities only when `RETENTION_ANONYMOUS_DAYS`
//! is set. With an archive, each batch is
//! appended to the archive file as JSON Lines and synced to disk before it is deleted. Each run
//! logs its counts; the server's runs also count them in `retention_pruned_total`,
//! `retention_runs_total` and `retention_last_success_timestamp_seconds`. State kept outside
//! the database for a pruned conversation (its Redis head and cached context) expires on its
//! own; until then a turn in it is refused `not_found`, as for any deleted conversation.
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;
use crate::store::{ArchivedIdentity, Pruned, Store, StoreError};

/// Identities per transaction: small enough that a batch holds its locks briefly and its
/// archive in memory, large enough that a big backlog takes few round trips.
pub const BATCH: u32 = 200;

/// How often the server prunes, and how long after its start it first does.
const EVERY: Duration = Duration::from_secs(3_600);
const FIRST_AFTER: Duration = Duration::from_secs(60);

/// How long a deleted conversation can be restored ("Undo"); purged by the next run after.
pub const UNDO_WINDOW: Duration = Duration::from_secs(600);

/// The age after which `fpl-chat prune` deletes an idle anonymous identity when neither
/// `--anonymous-older-than` nor `RETENTION_ANONYMOUS_DAYS` says.
pub const DEFAULT_DAYS: u32 = 30;

/// A JSON Lines file of pruned identities, one [`ArchivedIdentity`] per line.
pub struct ArchiveFile {
    path: PathBuf,
    file: BufWriter<File>,
}

impl ArchiveFile {
    /// A new file in `dir` (created when missing), named after the time:
    /// `pruned-anonymous-20261130T120000Z.jsonl`; never overwrites one.
    pub fn create(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        let path = dir.join(format!("pruned-anonymous-{stamp}.jsonl"));
        let file = File::options().write(true).create_new(true).open(&path)?;
        Ok(Self {
            path,
            file: BufWriter::new(file),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends a batch and syncs it to disk: once this returns, the batch may be deleted.
    fn append(&mut self, batch: &[ArchivedIdentity]) -> std::io::Result<()> {
        for identity in batch {
            serde_json::to_writer(&mut self.file, identity)?;
            self.file.write_all(b"\n")?;
        }
        self.file.flush()?;
        self.file.get_ref().sync_data()
    }
}

/// Deletes the anonymous identities idle for longer than `older_than` (with their
/// conversations; none when it is `None`), then the expired sessions and the conversations
/// deleted before the undo window; archives the identities first when `archive` is given.
pub async fn prune(
    store: &Store,
    older_than: Option<Duration>,
    mut archive: Option<&mut ArchiveFile>,
) -> Result<Pruned, StoreError> {
    let mut total = Pruned::default();
    if let Some(older_than) = older_than {
        let age = chrono::Duration::from_std(older_than)
            .map_err(|_| StoreError::Invalid("the retention age is too large".into()))?;
        let cutoff = chrono::Utc::now() - age;
        loop {
            let sink = archive
                .as_deref_mut()
                .map(|file| move |batch: &[ArchivedIdentity]| file.append(batch));
            let batch = store.prune_anonymous_batch(cutoff, BATCH, sink).await?;
            total.add(batch);
            if batch.anonymous_identities == 0 {
                break;
            }
        }
    }
    total.sessions = store.delete_expired_sessions().await?;
    let undo = chrono::Duration::from_std(UNDO_WINDOW).expect("ten minutes");
    total.deleted_conversations = store.purge_deleted(chrono::Utc::now() - undo).await?;
    Ok(total)
}

/// The server's pruning, every hour (first a minute after start) until `stop`: expired
/// sessions always, and anonymous identities idle for more than `days` when it is set; each
/// run logged and counted in `metrics`.
pub fn spawn_hourly(
    store: Store,
    days: Option<u32>,
    metrics: Arc<Metrics>,
    stop: CancellationToken,
) {
    spawn_every(store, days.map(days_age), FIRST_AFTER, EVERY, metrics, stop);
}

/// `days` whole days, the unit of `RETENTION_ANONYMOUS_DAYS`.
pub fn days_age(days: u32) -> Duration {
    Duration::from_secs(u64::from(days) * 86_400)
}

/// Prunes as [`prune`] does, first after `first_after`, then `every`.
fn spawn_every(
    store: Store,
    older_than: Option<Duration>,
    first_after: Duration,
    every: Duration,
    metrics: Arc<Metrics>,
    stop: CancellationToken,
) {
    tokio::spawn(async move {
        let mut next = tokio::time::Instant::now() + first_after;
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep_until(next) => {}
            }
            next += every;
            let run = tokio::select! {
                () = stop.cancelled() => return,
                run = prune(&store, older_than, None) => run,
            };
            match run {
                Ok(pruned) => {
                    log(&pruned, older_than);
                    metrics.record_pruned(&pruned.by_kind());
                }
                Err(e) => {
                    tracing::error!(error = %e, "retention: pruning failed; next try in an hour");
                    metrics.record_prune_failed();
                }
            }
        }
    });
}

/// One line with a run's counts.
pub fn log(pruned: &Pruned, older_than: Option<Duration>) {
    tracing::info!(
        anonymous_identities = pruned.anonymous_identities,
        conversations = pruned.conversations,
        messages = pruned.messages,
        sessions = pruned.sessions,
        deleted_conversations = pruned.deleted_conversations,
        older_than = %older_than.map_or_else(|| "never".to_string(), format_age),
        "retention: pruned"
    );
}

/// An age such as `30d`, `12h`, `90m` or `45s` (a whole number and its unit).
pub fn parse_age(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let bad = || format!("expected a whole number and d, h, m or s (such as 30d), got {raw:?}");
    let split = raw.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = raw.split_at(split);
    let n: u64 = number.parse().map_err(|_| bad())?;
    let unit = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        "s" => 1,
        _ => return Err(bad()),
    };
    match n.checked_mul(unit) {
        Some(secs) if secs > 0 && secs <= 100 * 365 * 86_400 => Ok(Duration::from_secs(secs)),
        _ => Err(format!("expected an age from 1s to 100 years, got {raw:?}")),
    }
}

/// `age` in its largest whole unit, as [`parse_age`] reads it.
pub fn format_age(age: Duration) -> String {
    let secs = age.as_secs();
    match [(86_400, "d"), (3_600, "h"), (60, "m")]
        .into_iter()
        .find(|(unit, _)| secs > 0 && secs.is_multiple_of(*unit))
    {
        Some((unit, name)) => format!("{}{name}", secs / unit),
        None => format!("{secs}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{NewMessage, Owner, Title, TurnStart};

    /// The server's schedule: a run prunes what is idle, and is counted.
    #[tokio::test]
    async fn the_server_prunes_on_its_schedule_and_counts_what_it_deleted() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        store.migrate().await.unwrap();
        let anon = uuid::Uuid::new_v4();
        store
            .begin_turn(TurnStart {
                conversation_id: uuid::Uuid::new_v4(),
                owner: Owner::Anonymous(anon),
                new: Some(Title::parse("Haaland?").unwrap()),
                question: NewMessage::user("Haaland?", 2),
                after: None,
                topics: None,
                title: None,
                summary: None,
            })
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let metrics = Arc::new(Metrics::new());
        let stop = CancellationToken::new();
        spawn_every(
            store.clone(),
            Some(Duration::from_millis(10)),
            Duration::ZERO,
            Duration::from_secs(3_600),
            metrics.clone(),
            stop.clone(),
        );
        let mut text = String::new();
        for _ in 0..500 {
            text = metrics.encode_prometheus();
            if text.contains(r#"retention_runs_total{result="ok"} 1"#) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        stop.cancel();
        for line in [
            r#"retention_runs_total{result="ok"} 1"#,
            r#"retention_pruned_total{kind="anonymous_identities"} 1"#,
            r#"retention_pruned_total{kind="conversations"} 1"#,
            r#"retention_pruned_total{kind="messages"} 1"#,
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
        assert!(!text.contains("\nretention_last_success_timestamp_seconds 0\n"));
        assert!(store.find_anonymous(anon).await.unwrap().is_none());
    }

    #[test]
    fn ages_read_and_print_in_whole_units() {
        assert_eq!(parse_age("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_age(" 12h"), Ok(Duration::from_secs(12 * 3_600)));
        assert_eq!(parse_age("90m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_age("45s"), Ok(Duration::from_secs(45)));
        for bad in [
            "",
            "30",
            "d",
            "30 days",
            "-1d",
            "0d",
            "1.5d",
            "99999999999999d",
        ] {
            assert!(parse_age(bad).is_err(), "{bad:?}");
        }
        assert_eq!(format_age(Duration::from_secs(30 * 86_400)), "30d");
        assert_eq!(format_age(Duration::from_secs(5_400)), "90m");
        assert_eq!(format_age(Duration::from_secs(61)), "61s");
    }
}
