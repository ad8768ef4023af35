//! Commands on keys that may live in different hash slots, sent together.
//!
//! Promises: on a single node a batch is one pipeline (one round trip); on a cluster it is one
//! pipeline per hash slot, all sent at once (the `redis` crate refuses a pipeline whose keys
//! span slots, and a cluster node would answer `CROSSSLOT` or `MOVED`). Never atomic. Replies
//! come back in the order the commands were added, without those added as quiet; the commands
//! of one slot run in the order they were added. Each command's key is its first argument
//! (GET, SET, INCR, PEXPIRE, ZADD, DEL of one key, …).
use std::collections::HashMap;

use futures::future::try_join_all;
use redis::cluster_routing::Slot;
use redis::{Cmd, FromRedisValue, RedisResult, Value};

use super::Connection;

#[derive(Default)]
pub struct Batch {
    /// Each command, and whether its reply is dropped.
    commands: Vec<(Cmd, bool)>,
}

impl Batch {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `cmd`; its reply is part of the result.
    pub fn add(&mut self, cmd: Cmd) -> &mut Self {
        self.commands.push((cmd, false));
        self
    }

    /// Adds `cmd`; its reply is dropped (an error still fails the batch).
    pub fn quiet(&mut self, cmd: Cmd) -> &mut Self {
        self.commands.push((cmd, true));
        self
    }

    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }

    /// Sends the batch; the replies of the commands not added as quiet, as `T`.
    pub async fn query<T: FromRedisValue>(&self, conn: &mut Connection) -> RedisResult<T> {
        let replies = match conn {
            Connection::Node(_) => {
                self.pipeline(0..self.commands.len())
                    .query_async(conn)
                    .await?
            }
            Connection::Cluster(_) => self.per_slot(conn).await?,
        };
        Ok(T::from_redis_value(Value::Array(replies))?)
    }

    fn pipeline(&self, indices: impl IntoIterator<Item = usize>) -> redis::Pipeline {
        let mut pipe = redis::pipe();
        for i in indices {
            let (cmd, quiet) = &self.commands[i];
            pipe.add_command(cmd.clone());
            if *quiet {
                pipe.ignore();
            }
        }
        pipe
    }

    /// One pipeline per slot, concurrently; the replies put back in the batch's order.
    async fn per_slot(&self, conn: &Connection) -> RedisResult<Vec<Value>> {
        let mut slots: HashMap<Option<Slot>, Vec<usize>> = HashMap::new();
        for (i, (cmd, _)) in self.commands.iter().enumerate() {
            let key = match cmd.args_iter().nth(1) {
                Some(redis::Arg::Simple(key)) => Some(Slot::for_key(key)),
                _ => None,
            };
            slots.entry(key).or_default().push(i);
        }
        let groups: Vec<Vec<usize>> = slots.into_values().collect();
        let replies = try_join_all(groups.iter().map(|indices| {
            let (pipe, mut conn) = (self.pipeline(indices.iter().copied()), conn.clone());
            async move { pipe.query_async::<Vec<Value>>(&mut conn).await }
        }))
        .await?;
        let mut ordered: Vec<Option<Value>> = vec![None; self.commands.len()];
        for (indices, values) in groups.iter().zip(replies) {
            let answered = indices.iter().filter(|i| !self.commands[**i].1);
            for (i, value) in answered.zip(values) {
                ordered[*i] = Some(value);
            }
        }
        Ok(ordered.into_iter().flatten().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::redis::client;

    crate::redis_tests!(a_batch_reaches_keys_of_every_slot_and_answers_in_order);

    async fn a_batch_reaches_keys_of_every_slot_and_answers_in_order(url: String) {
        let mut conn = client(&url).connect().await.unwrap();
        let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
        let keys: Vec<String> = (0..32).map(|i| format!("{prefix}batch-{i}")).collect();
        let mut write = Batch::new();
        for (i, key) in keys.iter().enumerate() {
            write
                .quiet(Cmd::set(key, i))
                .add(Cmd::incr(key, 100))
                .quiet(Cmd::pexpire(key, 60_000));
        }
        let counts: Vec<u64> = write.query(&mut conn).await.unwrap();
        assert_eq!(counts, (100..132).collect::<Vec<u64>>());
        if let Connection::Cluster(_) = conn {
            // Why batches exist: the crate refuses a plain pipeline whose keys span slots.
            let mut pipe = redis::pipe();
            for key in &keys {
                pipe.get(key);
            }
            let refused = pipe.query_async::<Vec<Value>>(&mut conn).await.unwrap_err();
            assert_eq!(
                refused.kind(),
                redis::ErrorKind::Server(redis::ServerErrorKind::CrossSlot)
            );
        }

        let mut read = Batch::new();
        for key in keys.iter().rev() {
            read.add(Cmd::get(key));
        }
        read.add(Cmd::get(format!("{prefix}missing")));
        let values: Vec<Option<u64>> = read.query(&mut conn).await.unwrap();
        let mut expected: Vec<Option<u64>> = (100..132).rev().map(Some).collect();
        expected.push(None);
        assert_eq!(values, expected);

        let mut delete = Batch::new();
        for key in &keys {
            delete.add(Cmd::del(key));
        }
        let deleted: Vec<u64> = delete.query(&mut conn).await.unwrap();
        assert_eq!(deleted.iter().sum::<u64>(), 32);
    }
}
