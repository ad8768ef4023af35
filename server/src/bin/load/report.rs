//! The report of a scenario: a table for people, one JSON line for scripts and CI.
use std::io::Write;
use std::path::Path;

use serde_json::json;

use crate::budget::Verdict;
use crate::figures::Figures;
use crate::run::RunResult;
use crate::scenario::Scenario;
use crate::stats::PERCENTILES;
use crate::Res;

/// The timing rows: figure name and label.
const ROWS: [(&str, &str); 8] = [
    ("ttft", "first token, through the app"),
    ("direct_ttft", "first token, straight to upstream"),
    ("added_ttft", "added by the app"),
    ("ttlb", "last byte, through the app"),
    ("direct_ttlb", "last byte, straight to upstream"),
    ("added_ttlb", "added by the app"),
    ("upstream_seen", "request -> upstream sees it, app"),
    (
        "direct_upstream_seen",
        "request -> upstream sees it, direct",
    ),
];

pub fn table(s: &Scenario, f: &Figures, verdicts: &[Verdict], runs: &[RunResult]) {
    if let Some(fault) = s.fault {
        println!(
            "\n== {}: {}, {} users, fault {fault:?}; median of {} run(s)",
            s.name,
            s.db.label(),
            s.users,
            runs.len()
        );
        let figures: Vec<String> = f.iter().map(|(k, v)| format!("{k} {v:.1}")).collect();
        println!("{}", figures.join(", "));
        return verdict_lines(verdicts);
    }
    let get = |k: &str| f.get(k).copied().unwrap_or(f64::NAN);
    let work = match s.minutes {
        Some(m) => format!("{} users for {m} min", s.users),
        None => format!("{} users x {} turns", s.users, s.turns),
    };
    println!(
        "\n== {}: {}, {work} (conversations of {}), upstream {} tokens {} ms apart; median of {} run(s)",
        s.name, s.db.label(), s.conversation_turns, s.upstream_tokens, s.upstream_pace_ms, runs.len()
    );
    println!("{:<38}{:>12}{:>12}{:>12}", "", "p50", "p90", "p99");
    for (key, label) in ROWS {
        let cells: Vec<String> = PERCENTILES
            .iter()
            .map(|(p, _)| format!("{:>9.2} ms", get(&format!("{key}_{p}_ms"))))
            .collect();
        println!("{label:<38}{}", cells.concat());
    }
    println!(
        "turns: {} ok, {} failed; {:.0} turns/s; CPU {:.2} s per 1,000 turns; machine {:.0} % busy (load {:.2} before)",
        get("turns_ok"), get("turns_failed"), get("turns_per_s"), get("cpu_s_per_1000_turns"),
        get("machine_busy_pct"), get("load_average_1m")
    );
    let per_stream = f
        .get("rss_per_stream_kib")
        .map_or("-".into(), |v| format!("{v:.0}"));
    println!(
        "RSS: idle {:.1} MiB, peak {:.1} MiB, {per_stream} KiB per active stream ({} turns in flight at most); upstream: {} streams at once at most",
        get("rss_idle_mib"), get("rss_peak_mib"), get("in_flight_max"), get("upstream_max_streams")
    );
    println!(
        "stored messages: {} of {} expected (questions and answers, warm-up included)",
        get("stored_messages"),
        get("expected_messages")
    );
    if s.minutes.is_some() {
        soak_lines(f, runs);
    }
    verdict_lines(verdicts);
}

fn verdict_lines(verdicts: &[Verdict]) {
    for v in verdicts {
        let value = v.value.map_or("none".into(), |x| format!("{x:.2}"));
        let verdict = if v.pass { "PASS" } else { "OVER" };
        println!("budget {} {}: {value} {verdict}", v.key, v.limit);
    }
}

fn soak_lines(f: &Figures, runs: &[RunResult]) {
    let get = |k: &str| f.get(k).copied().unwrap_or(f64::NAN);
    println!(
        "after warm-up: RSS {:.1} -> {:.1} MiB ({:+.1} %), open files {} -> {} ({:+.1} %)",
        get("rss_first_mib"),
        get("rss_last_mib"),
        get("rss_change_pct"),
        get("fds_first"),
        get("fds_last"),
        get("fds_change_pct")
    );
    for (i, run) in runs.iter().enumerate() {
        println!("run {}: RSS MiB by minute {:?}", i + 1, run.rss_by_minute);
    }
}

/// `{"scenario": …, "figures": medians, "budgets": […], "runs": [figures of each run]}` on
/// stdout, and appended to `file` when given.
pub fn json_line(
    s: &Scenario,
    medians: &Figures,
    verdicts: &[Verdict],
    runs: &[Figures],
    file: Option<&Path>,
) -> Res<()> {
    let line = json!({
        "scenario": s.name,
        "config": s,
        "figures": rounded(medians),
        "budgets": verdicts,
        "runs": runs.iter().map(rounded).collect::<Vec<_>>(),
    })
    .to_string();
    println!("{line}");
    if let Some(path) = file {
        let mut out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// Three decimals are plenty for milliseconds, MiB and rates.
fn rounded(f: &Figures) -> Figures {
    f.iter()
        .map(|(k, v)| (k.clone(), (v * 1000.0).round() / 1000.0))
        .collect()
}
