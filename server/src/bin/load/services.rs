//! Private PostgreSQL and Redis servers for the fault scenarios: each its own process on a free
//! port and a temp dir, so that stopping or restarting one mid-run touches nothing but the run
//! (not the machine's shared servers, which other tests may be using).
//!
//! Promises: both are gone when dropped (the process killed, its files removed); PostgreSQL
//! restarts the way an operator's restart does (`pg_ctl restart -m fast`: every connection cut,
//! then the same data back); Redis restarts empty, as a Redis without persistence does.
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::procs::TempDir;
use crate::Res;

/// A free TCP port on 127.0.0.1 (closed again at once: a small race the runs can live with).
pub fn free_port() -> Res<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A PostgreSQL cluster of its own (initdb, pg_ctl from `bin_dir`), trust auth for `postgres`.
pub struct PrivatePostgres {
    bin_dir: PathBuf,
    dir: TempDir,
    port: u16,
}

impl PrivatePostgres {
    /// Creates and starts it (about a second).
    pub async fn start(bin_dir: &Path) -> Res<Self> {
        let dir = TempDir::new()?;
        let pg = Self {
            bin_dir: bin_dir.to_path_buf(),
            port: free_port()?,
            dir,
        };
        if as_root() {
            // PostgreSQL refuses to run as root: its files and processes belong to `postgres`.
            run(Command::new("chown").arg("postgres").arg(pg.dir.path())).await?;
        }
        let data = pg.data().display().to_string();
        let initdb = ["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"];
        run(Command::from(pg.tool("initdb"))
            .args(initdb)
            .args(["-E", "UTF8"]))
        .await?;
        pg.ctl(&["start"]).await?;
        Ok(pg)
    }

    /// The URL of its `postgres` database (the admin URL a [`crate::procs::Store`] needs).
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops it, cutting every connection (`-m fast`), and starts it again on the same data.
    pub async fn restart(&self) -> Res<()> {
        self.ctl(&["restart", "-m", "fast"]).await
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    async fn ctl(&self, action: &[&str]) -> Res<()> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("postgres.log").display().to_string();
        let data = self.data().display().to_string();
        let mut command = Command::from(self.tool("pg_ctl"));
        command.args(["-D", &data, "-w", "-l", &log, "-o", &options]);
        run(command.args(action)).await
    }

    /// One of PostgreSQL's programs, run as `postgres` when we are root.
    fn tool(&self, name: &str) -> std::process::Command {
        let program = self.bin_dir.join(name);
        let mut command = if as_root() {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            std::process::Command::new(program)
        };
        command.stdout(Stdio::null()).stderr(Stdio::piped());
        command
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let mut stop = self.tool("pg_ctl");
        let stop = stop.arg("-D").arg(self.data());
        let _ = stop.args(["-m", "immediate", "-w", "stop"]).status();
    }
}

/// A Redis server of its own, without persistence, that can be stopped and started again on
/// the same port.
pub struct PrivateRedis {
    child: Option<Child>,
    port: u16,
    dir: TempDir,
}

impl PrivateRedis {
    pub async fn start() -> Res<Self> {
        let mut redis = Self {
            child: None,
            port: free_port()?,
            dir: TempDir::new()?,
        };
        redis.up().await?;
        Ok(redis)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills it (SIGKILL: connections reset, nothing said to the clients).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Starts it again, empty, on the same port.
    pub async fn up(&mut self) -> Res<()> {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start redis-server: {e}"))?;
        self.child = Some(child);
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err("redis-server did not listen within 2 s".into())
    }

    /// Keys whose names start with `prefix`.
    pub async fn keys(&self, prefix: &str) -> Res<usize> {
        let client = redis::Client::open(self.url())?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}*"))
            .query_async(&mut conn)
            .await?;
        Ok(keys.len())
    }
}

fn as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| s.lines().any(|l| l.starts_with("Uid:\t0\t")))
        .unwrap_or(false)
}

/// Runs a command to its end; its stderr is the error when it fails.
async fn run(command: &mut Command) -> Res<()> {
    let out = command.output().await?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    Err(format!("{:?} failed ({}): {err}", command.as_std(), out.status).into())
}

/// Where PostgreSQL's server programs are: `PG_BIN_DIR`, else the newest
/// `/usr/lib/postgresql/*/bin` (Debian's layout).
pub fn postgres_bin_dir() -> Res<PathBuf> {
    if let Ok(dir) = std::env::var("PG_BIN_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("pg_ctl").exists())
        .collect();
    found.sort_by_key(|p| {
        let version = p.parent().and_then(|v| v.file_name());
        version.and_then(|v| v.to_str()?.parse::<u32>().ok())
    });
    found
        .pop()
        .ok_or_else(|| "no PostgreSQL server programs: set PG_BIN_DIR".into())
}
