//! SQLite's group-committing writer: the hot-path writes of chat turns (a turn's question, its
//! answer) queue to one task that commits what is queued in one transaction.
//!
//! Why by hand: SQLite has one writer at a time and every commit pays an fsync (about 1.4 ms
//! on the machines measured, which alone caps one connection near 700 commits/s). Writers on
//! several pooled connections also sleep in SQLite's busy handler with back-off instead of
//! queueing. One task that takes everything queued and commits it together pays one fsync per
//! group, and nothing waits on a lock; sqlx has no such queue.
//!
//! Promises: a write is acknowledged only after the transaction holding it committed (durable:
//! `synchronous = FULL`); each write runs in its own savepoint, so a failing one is rolled back
//! and reported to its caller alone; when the commit fails, every write of the group gets the
//! error; a group holds at most [`MAX_GROUP`] writes; a caller that goes away does not stop
//! its group; the writer takes its connection from the store's one-connection write pool, so
//! the other (rarer) writes interleave with groups in arrival order.
use async_trait::async_trait;
use futures::future::BoxFuture;
use sqlx::{Acquire, SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use crate::store::StoreError;

/// Most writes committed together.
pub const MAX_GROUP: usize = 128;
/// Writes waiting for the writer before callers wait to queue.
const QUEUE: usize = 4096;

/// A write of the group: runs inside its savepoint, then learns how the group ended.
#[async_trait]
trait Job: Send {
    async fn apply(&mut self, conn: &mut SqliteConnection) -> Result<(), sqlx::Error>;
    /// `Ok` once the group committed, else why it did not.
    fn finish(self: Box<Self>, outcome: Result<(), StoreError>);
}

/// The statements of one write, on the writer's connection.
pub type Statements<I, T> =
    for<'c> fn(&'c mut SqliteConnection, &'c I) -> BoxFuture<'c, Result<T, sqlx::Error>>;

struct Queued<I, T> {
    input: I,
    run: Statements<I, T>,
    output: Option<T>,
    reply: oneshot::Sender<Result<(I, T), StoreError>>,
}

#[async_trait]
impl<I: Send + Sync, T: Send> Job for Queued<I, T> {
    async fn apply(&mut self, conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
        self.output = Some((self.run)(conn, &self.input).await?);
        Ok(())
    }

    fn finish(self: Box<Self>, outcome: Result<(), StoreError>) {
        let Queued {
            input,
            output,
            reply,
            ..
        } = *self;
        let result = match (outcome, output) {
            (Ok(()), Some(output)) => Ok((input, output)),
            (Ok(()), None) => Err(group_failed("the write did not run")),
            (Err(e), _) => Err(e),
        };
        let _ = reply.send(result);
    }
}

/// The queue to the writer task; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    /// Starts the writer task on `pool` (the store's write pool); it ends when every `Writer`
    /// is dropped.
    pub fn start(pool: SqlitePool) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(run(pool, queue));
        Self { jobs }
    }

    /// Queues a write and waits until its group committed; gives the input back with the
    /// statements' output.
    pub async fn write<I, T>(&self, input: I, run: Statements<I, T>) -> Result<(I, T), StoreError>
    where
        I: Send + Sync + 'static,
        T: Send + 'static,
    {
        let (reply, done) = oneshot::channel();
        let job = Box::new(Queued {
            input,
            run,
            output: None,
            reply,
        });
        self.jobs
            .send(job)
            .await
            .map_err(|_| group_failed("the writer has stopped"))?;
        done.await
            .unwrap_or_else(|_| Err(group_failed("the writer has stopped")))
    }
}

/// The writer task: takes what is queued (up to [`MAX_GROUP`]) and commits it together.
async fn run(pool: SqlitePool, mut queue: mpsc::Receiver<Box<dyn Job>>) {
    let mut group: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_GROUP);
    while queue.recv_many(&mut group, MAX_GROUP).await > 0 {
        commit_group(&pool, std::mem::take(&mut group)).await;
    }
}

async fn commit_group(pool: &SqlitePool, group: Vec<Box<dyn Job>>) {
    let mut tx = match pool.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => tx,
        Err(e) => return fail_all(group, &e),
    };
    let mut applied: Vec<Box<dyn Job>> = Vec::with_capacity(group.len());
    for mut job in group {
        let outcome = match (&mut tx).begin().await {
            Ok(mut savepoint) => match job.apply(&mut savepoint).await {
                Ok(()) => savepoint.commit().await,
                Err(e) => {
                    let _ = savepoint.rollback().await;
                    Err(e)
                }
            },
            Err(e) => Err(e),
        };
        match outcome {
            Ok(()) => applied.push(job),
            Err(e) => job.finish(Err(e.into())),
        }
    }
    match tx.commit().await {
        Ok(()) => applied.into_iter().for_each(|job| job.finish(Ok(()))),
        Err(e) => fail_all(applied, &e),
    }
}

fn fail_all(group: Vec<Box<dyn Job>>, e: &sqlx::Error) {
    tracing::error!(error = %e, writes = group.len(), "SQLite group commit failed");
    for job in group {
        job.finish(Err(group_failed(&e.to_string())));
    }
}

/// A failure shared by a group (transient: the write may be tried again).
fn group_failed(why: &str) -> StoreError {
    StoreError::Database(sqlx::Error::Io(std::io::Error::other(format!(
        "the SQLite write could not be committed: {why}"
    ))))
}
