//! The Redis deployments every Redis-backed suite runs on: a single node (`TEST_REDIS_URL`, else
//! the local default) and a Redis Cluster (`TEST_REDIS_CLUSTER_URL`, its nodes separated by
//! commas; scripts/test starts a 3-master cluster and sets it).
//!
//! Promises: a suite written once as `async fn name(url: String)` runs on both through
//! [`redis_tests!`](crate::redis_tests) (`node::name` and `cluster::name`), the way the store
//! suite runs on SQLite and PostgreSQL; without `TEST_REDIS_CLUSTER_URL` the cluster variant
//! prints why it did not run and passes.
use std::future::Future;

use crate::config::RedisTopology;
use crate::redis_conn::RedisClient;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestRedis {
    Node,
    Cluster,
}

impl TestRedis {
    /// Its URL; `None` (with a note on stderr) for a cluster nobody configured.
    pub fn url(self) -> Option<String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        match self {
            TestRedis::Node => {
                Some(var("TEST_REDIS_URL").unwrap_or_else(|| "redis://127.0.0.1:6379".into()))
            }
            TestRedis::Cluster => {
                let url = var("TEST_REDIS_CLUSTER_URL");
                if url.is_none() {
                    eprintln!("skipped on Redis Cluster: TEST_REDIS_CLUSTER_URL is not set (scripts/test starts a cluster and sets it; by hand: scripts/redis-cluster start)");
                }
                url
            }
        }
    }
}

/// A client for `url` as the app makes it from `REDIS_URL` (topology detected).
pub fn client(url: &str) -> RedisClient {
    RedisClient::open(url, RedisTopology::Detect).expect("a valid Redis URL")
}

/// Runs `test` with the URL of `redis`, unless it is not configured.
pub async fn run<F, Fut>(redis: TestRedis, test: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()>,
{
    if let Some(url) = redis.url() {
        test(url).await;
    }
}

/// Generates `node::<test>` and `cluster::<test>` for each named `async fn <test>(url: String)`.
#[macro_export]
macro_rules! redis_tests {
    ($($test:ident),* $(,)?) => {
        mod node {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    $crate::testkit::redis::run($crate::testkit::redis::TestRedis::Node, super::$test)
                        .await;
                }
            )*
        }
        mod cluster {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    $crate::testkit::redis::run(
                        $crate::testkit::redis::TestRedis::Cluster,
                        super::$test,
                    )
                    .await;
                }
            )*
        }
    };
}
