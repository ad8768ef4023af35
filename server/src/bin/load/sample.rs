//! What /proc says about the app process: resident memory, CPU time, open files; and how busy
//! the whole machine is. A sampler thread (off the driver's runtime, so a busy driver does not
//! delay it) reads them every 50 ms while the turns run.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One reading of the app process.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Since the sampler started.
    pub at: Duration,
    pub rss_kib: u64,
    /// Open file descriptors (read every 20th sample, 1 s apart; else the last count).
    pub fds: usize,
}

/// `VmRSS` of /proc/PID/status, KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// User + system CPU seconds of the process (utime + stime of /proc/PID/stat; Linux reports
/// them in USER_HZ, 100 per second on every architecture's user ABI).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which may contain spaces: state is field 3, utime 14.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// Entries of /proc/PID/fd.
pub fn open_fds(pid: u32) -> Option<usize> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
}

/// Busy and total jiffies of all cores (/proc/stat), to tell how busy the machine was.
pub fn machine_jiffies() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu = stat.lines().next()?;
    let n: Vec<u64> = cpu
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = n.iter().take(8).sum();
    let idle = n.get(3)? + n.get(4)?;
    Some((total - idle, total))
}

/// The 1-minute load average.
pub fn load_average() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Samples a process until stopped.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Vec<Sample>>,
}

impl Sampler {
    pub fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let started = Instant::now();
            let mut samples = Vec::new();
            let mut fds = open_fds(pid).unwrap_or(0);
            while !flag.load(Ordering::Relaxed) {
                if samples.len() % 20 == 19 {
                    fds = open_fds(pid).unwrap_or(fds);
                }
                if let Some(rss_kib) = rss_kib(pid) {
                    let at = started.elapsed();
                    samples.push(Sample { at, rss_kib, fds });
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            samples
        });
        Self { stop, thread }
    }

    pub fn finish(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}
