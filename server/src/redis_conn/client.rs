//! The one place that knows whether Redis is a single node or a cluster.
//!
//! Promises: `REDIS_URL` is parsed once, at the edge ([`RedisClient::open`]); it may name one
//! node, or several seed nodes of a cluster separated by commas. With [`RedisTopology::Detect`]
//! the first connection asks the first node (`INFO cluster`) and the answer is kept for the
//! process; several seeds always mean a cluster. Every caller gets a [`Connection`] that
//! implements `redis::aio::ConnectionLike`, so the same commands, pipelines and scripts run on
//! both: on a cluster, the `redis` crate routes each by its key's hash slot and follows `MOVED`
//! and `ASK`. Errors never show the URL (it may hold a password).
use std::sync::Arc;

use redis::aio::MultiplexedConnection;
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, RedisResult, Value};
use tokio::sync::OnceCell;

pub use crate::config::RedisTopology;

/// A parsed `REDIS_URL`; cheap to clone (clones share what was detected).
#[derive(Clone)]
pub struct RedisClient(Arc<Inner>);

struct Inner {
    /// The first node of the URL: the single node, or the one asked whether it is a cluster.
    node: redis::Client,
    /// Every node of the URL, as the cluster's seeds; `None` when the URL cannot name a
    /// cluster (e.g. a database number other than 0), which is an error only on a cluster.
    cluster: Option<ClusterClient>,
    topology: RedisTopology,
    /// Whether the node turned out to be part of a cluster (`Detect` only), once known.
    detected: OnceCell<bool>,
    /// The connection every [`RedisConnection`](super::RedisConnection) of this client uses:
    /// one socket, on which concurrent commands are pipelined.
    slot: tokio::sync::Mutex<Option<Connection>>,
}

/// A connection to a single node or to a cluster; cheap to clone (both multiplex).
#[derive(Clone)]
pub enum Connection {
    Node(MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl RedisClient {
    /// Parses `url` (`redis://…`, or several separated by commas); nothing is connected yet.
    pub fn open(url: &str, topology: RedisTopology) -> Result<Self, String> {
        let seeds: Vec<&str> = url.split(',').map(str::trim).collect();
        let invalid = |e: redis::RedisError| format!("not a valid Redis URL ({:?})", e.kind());
        let node = redis::Client::open(seeds[0]).map_err(invalid)?;
        let topology = match topology {
            RedisTopology::Detect if seeds.len() > 1 => RedisTopology::Cluster,
            RedisTopology::Single if seeds.len() > 1 => {
                return Err("several nodes are listed but REDIS_CLUSTER=false".into())
            }
            other => other,
        };
        let cluster = match (topology, ClusterClient::new(seeds)) {
            (RedisTopology::Cluster, Err(e)) => return Err(invalid(e)),
            (_, cluster) => cluster.ok(),
        };
        Ok(Self(Arc::new(Inner {
            node,
            cluster,
            topology,
            detected: OnceCell::new(),
            slot: tokio::sync::Mutex::new(None),
        })))
    }

    /// The client of `REDIS_URL` and `REDIS_CLUSTER` (`None`: Redis is not configured).
    pub fn from_config(config: &crate::config::Config) -> Result<Option<Self>, String> {
        config
            .redis_url
            .as_ref()
            .map(|url| Self::open(url.expose(), config.redis_topology))
            .transpose()
    }

    /// Opens a connection: to the node, or to the cluster (asking the node first when the
    /// topology is to be detected and is not known yet).
    pub async fn connect(&self) -> RedisResult<Connection> {
        let cluster = match self.0.topology {
            RedisTopology::Single => false,
            RedisTopology::Cluster => true,
            RedisTopology::Detect => match self.0.detected.get() {
                Some(cluster) => *cluster,
                None => {
                    let mut node = self.0.node.get_multiplexed_async_connection().await?;
                    let cluster = is_cluster(&mut node).await?;
                    let _ = self.0.detected.set(cluster);
                    if !cluster {
                        return Ok(Connection::Node(node));
                    }
                    true
                }
            },
        };
        Ok(if cluster {
            let Some(client) = &self.0.cluster else {
                return Err(redis::RedisError::from((
                    redis::ErrorKind::InvalidClientConfig,
                    "REDIS_URL names a cluster node but cannot be used for a cluster",
                )));
            };
            Connection::Cluster(client.get_async_connection().await?)
        } else {
            Connection::Node(self.0.node.get_multiplexed_async_connection().await?)
        })
    }

    /// The shared connection (`None`: not open, or dropped after a failure).
    pub(super) fn slot(&self) -> &tokio::sync::Mutex<Option<Connection>> {
        &self.0.slot
    }

    /// `INFO section` of the first node of `REDIS_URL` (on a cluster: that seed's own), for
    /// `fpl-chat doctor`.
    pub async fn first_node_info(&self, section: &str) -> RedisResult<String> {
        let mut node = self.0.node.get_multiplexed_async_connection().await?;
        redis::cmd("INFO").arg(section).query_async(&mut node).await
    }

    /// Whether connections go to a cluster: `None` until detected.
    pub fn is_cluster(&self) -> Option<bool> {
        match self.0.topology {
            RedisTopology::Single => Some(false),
            RedisTopology::Cluster => Some(true),
            RedisTopology::Detect => self.0.detected.get().copied(),
        }
    }
}

/// Whether the node runs in cluster mode (`cluster_enabled:1`). A server that refuses `INFO`
/// (some managed services rename it) is taken as a single node.
async fn is_cluster(node: &mut MultiplexedConnection) -> RedisResult<bool> {
    match redis::cmd("INFO")
        .arg("cluster")
        .query_async::<String>(node)
        .await
    {
        Ok(info) => Ok(info.lines().any(|l| l.trim() == "cluster_enabled:1")),
        Err(e)
            if matches!(
                e.kind(),
                redis::ErrorKind::Server(
                    redis::ServerErrorKind::ResponseError | redis::ServerErrorKind::NoPerm
                )
            ) =>
        {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

impl redis::aio::ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Connection::Node(c) => c.req_packed_command(cmd),
            Connection::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Connection::Node(c) => c.req_packed_commands(pipeline, offset, count),
            Connection::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Node(c) => c.get_db(),
            Connection::Cluster(c) => c.get_db(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::redis::TestRedis;

    /// Keys without a hash tag: spread over every slot range, so over every master.
    fn spread_keys() -> Vec<String> {
        let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
        (0..48).map(|i| format!("{prefix}key-{i}")).collect()
    }

    /// Writes and reads back each key, one command at a time.
    async fn round_trip(client: &RedisClient, keys: &[String]) -> RedisResult<()> {
        let mut c = client.connect().await?;
        for key in keys {
            redis::cmd("SET")
                .arg(key)
                .arg(key)
                .arg("PX")
                .arg(60_000)
                .query_async::<()>(&mut c)
                .await?;
            let back: String = redis::cmd("GET").arg(key).query_async(&mut c).await?;
            assert_eq!(&back, key);
        }
        Ok(())
    }

    #[tokio::test]
    async fn a_single_node_is_used_as_one() {
        let url = TestRedis::Node.url().expect("a node");
        let client = RedisClient::open(&url, RedisTopology::Detect).unwrap();
        assert_eq!(client.is_cluster(), None, "not asked before the first use");
        round_trip(&client, &spread_keys()).await.unwrap();
        assert_eq!(client.is_cluster(), Some(false));
    }

    #[tokio::test]
    async fn any_node_of_a_cluster_or_a_list_of_them_reaches_every_key() {
        let Some(url) = TestRedis::Cluster.url() else {
            return;
        };
        let nodes: Vec<&str> = url.split(',').collect();
        let keys = spread_keys();
        // One node, not the first: asked, found to be in a cluster, every key reachable.
        let one = RedisClient::open(nodes[nodes.len() - 1], RedisTopology::Detect).unwrap();
        round_trip(&one, &keys).await.unwrap();
        assert_eq!(one.is_cluster(), Some(true));
        // The list of seeds, and a node with REDIS_CLUSTER=true.
        let list = RedisClient::open(&nodes.join(" , "), RedisTopology::Detect).unwrap();
        assert_eq!(list.is_cluster(), Some(true), "several seeds: a cluster");
        round_trip(&list, &keys).await.unwrap();
        let forced = RedisClient::open(nodes[1], RedisTopology::Cluster).unwrap();
        round_trip(&forced, &keys).await.unwrap();
    }

    #[tokio::test]
    async fn a_cluster_node_taken_for_a_single_one_answers_moved() {
        let Some(url) = TestRedis::Cluster.url() else {
            return;
        };
        let first = url.split(',').next().unwrap();
        // What the app did before cluster support: one node's connection.
        let single = RedisClient::open(first, RedisTopology::Single).unwrap();
        let failed = round_trip(&single, &spread_keys()).await.unwrap_err();
        assert_eq!(
            failed.kind(),
            redis::ErrorKind::Server(redis::ServerErrorKind::Moved)
        );
        assert!(RedisClient::open(&url, RedisTopology::Single).is_err());
    }
}
