//! One run's figures, from what the clients, the stand-in and /proc saw: a flat map of named
//! numbers (`ttft_p99_ms`, `turns_per_s`, …), so runs can be reduced to medians and budgets
//! can name what they limit.
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde_json::Value;

use crate::sample::Sample;
use crate::stats::{add_percentiles, PERCENTILES};
use crate::users::Turn;

pub type Figures = BTreeMap<String, f64>;

/// The clients' turns of one phase and the stand-in's stats after it.
pub struct Phase<'a> {
    pub turns: &'a [Turn],
    /// `GET /stand-in/stats` after the phase.
    pub upstream: &'a Value,
}

/// Adds a phase's timings under `prefix` (`""` for the app, `"direct_"` for the stand-in).
pub fn add_phase(figures: &mut Figures, prefix: &str, phase: &Phase) {
    let ok: Vec<&Turn> = phase.turns.iter().filter(|t| t.failure.is_none()).collect();
    let first: Vec<f64> = ok.iter().filter_map(|t| t.first_token_ms).collect();
    let last: Vec<f64> = ok.iter().map(|t| t.last_byte_ms).collect();
    add_percentiles(figures, &format!("{prefix}ttft"), &first);
    add_percentiles(figures, &format!("{prefix}ttlb"), &last);
    let seen = upstream_seen(phase.turns, phase.upstream);
    add_percentiles(figures, &format!("{prefix}upstream_seen"), &seen);
    let failed = phase.turns.len() - ok.len();
    figures.insert(format!("{prefix}turns_ok"), ok.len() as f64);
    figures.insert(format!("{prefix}turns_failed"), failed as f64);
}

/// For each turn the stand-in saw: from its sending to the stand-in's arrival, ms.
fn upstream_seen(turns: &[Turn], upstream: &Value) -> Vec<f64> {
    let arrivals: HashMap<&str, u64> = upstream["arrivals"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| Some((r["tag"].as_str()?, r["unix_us"].as_u64()?)))
                .collect()
        })
        .unwrap_or_default();
    turns
        .iter()
        .filter_map(|t| {
            let at = *arrivals.get(t.tag.as_str())?;
            Some((at as f64 - t.sent_unix_us as f64) / 1000.0)
        })
        .collect()
}

/// What the app adds: each percentile of the app's timing minus the stand-in's.
pub fn add_differences(figures: &mut Figures) {
    for timing in ["ttft", "ttlb"] {
        for (label, _) in PERCENTILES {
            let app = figures.get(&format!("{timing}_{label}_ms"));
            let direct = figures.get(&format!("direct_{timing}_{label}_ms"));
            if let (Some(app), Some(direct)) = (app, direct) {
                figures.insert(format!("added_{timing}_{label}_ms"), app - direct);
            }
        }
    }
}

/// Turns/s, CPU and memory of the app phase.
pub struct Resources {
    pub elapsed: Duration,
    pub cpu_seconds: Option<f64>,
    pub rss_idle_kib: Option<u64>,
    pub samples: Vec<Sample>,
    /// Turns in flight at once, at most (the client's count).
    pub in_flight_max: usize,
    /// How busy both cores were (everything on the machine, this harness included).
    pub machine_busy_pct: Option<f64>,
}

pub fn add_resources(figures: &mut Figures, r: &Resources) {
    let ok = figures.get("turns_ok").copied().unwrap_or(0.0);
    figures.insert("turns_per_s".into(), ok / r.elapsed.as_secs_f64());
    if let Some(cpu) = r.cpu_seconds.filter(|_| ok > 0.0) {
        figures.insert("cpu_s_per_1000_turns".into(), cpu / ok * 1000.0);
    }
    figures.insert("in_flight_max".into(), r.in_flight_max as f64);
    if let Some(busy) = r.machine_busy_pct {
        figures.insert("machine_busy_pct".into(), busy);
    }
    let peak = r.samples.iter().map(|s| s.rss_kib).max();
    if let (Some(idle), Some(peak)) = (r.rss_idle_kib, peak) {
        let peak = peak.max(idle);
        figures.insert("rss_idle_mib".into(), idle as f64 / 1024.0);
        figures.insert("rss_peak_mib".into(), peak as f64 / 1024.0);
        // With a few turns in flight the growth is mostly noise.
        if r.in_flight_max >= 10 {
            let per = (peak - idle) as f64 / r.in_flight_max as f64;
            figures.insert("rss_per_stream_kib".into(), per);
        }
    }
}

/// The soak's drift: the first sample after `warm_up` against the last, in %.
pub fn add_drift(figures: &mut Figures, samples: &[Sample], warm_up: Duration) {
    let (Some(first), Some(last)) = (samples.iter().find(|s| s.at >= warm_up), samples.last())
    else {
        return;
    };
    let change = |a: f64, b: f64| if a > 0.0 { (b - a) / a * 100.0 } else { 0.0 };
    figures.insert("rss_first_mib".into(), first.rss_kib as f64 / 1024.0);
    figures.insert("rss_last_mib".into(), last.rss_kib as f64 / 1024.0);
    let rss = change(first.rss_kib as f64, last.rss_kib as f64);
    figures.insert("rss_change_pct".into(), rss);
    figures.insert("fds_first".into(), first.fds as f64);
    figures.insert("fds_last".into(), last.fds as f64);
    let fds = change(first.fds as f64, last.fds as f64);
    figures.insert("fds_change_pct".into(), fds);
}

/// RSS once a minute (MiB), for the soak's table.
pub fn rss_by_minute(samples: &[Sample]) -> Vec<f64> {
    let mut out = Vec::new();
    for s in samples {
        if s.at.as_secs() / 60 >= out.len() as u64 {
            out.push((s.rss_kib as f64 / 1024.0 * 10.0).round() / 10.0);
        }
    }
    out
}
