//! Faults under load (`scripts/load faults`): at least 20 users chat while something goes
//! wrong, and the run checks what a user and an operator would: no turn fails for a fault the
//! app should absorb, every failure is a clear error, nothing committed is lost, no answer is
//! stored without its question, no stream or task is left behind.
//!
//! Promises: each fault runs on servers of its own where it stops or restarts one (a private
//! Redis, a private PostgreSQL cluster: [`crate::services`]), so nothing shared is disturbed;
//! every check is a figure with a budget, judged like the load budgets.
use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures::future::join_all;
use serde::Serialize;

use crate::budget::Budget;
use crate::cli::{Args, Db};
use crate::figures::Figures;
use crate::procs::{App, AppFiles, Servers, StandIn, Store};
use crate::run::RunResult;
use crate::scenario::{base, Scenario};
use crate::services::{postgres_bin_dir, PrivatePostgres, PrivateRedis};
use crate::users::{self, unix_us, InFlight, Plan, Turn};
use crate::Res;

/// The app's bearer token for `/api/metrics` in fault runs.
const METRICS_TOKEN: &str = "load-harness-metrics-token";

/// What goes wrong during a fault scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// Redis killed 3 s in, started again (empty) 4 s later.
    RedisDown,
    /// PostgreSQL restarted (`pg_ctl restart -m fast`) 4 s in.
    PostgresRestart,
    /// The upstream answers 529 to every request.
    Overloaded,
    /// Every client hangs up at its first token, then stops the answer.
    HangUps,
    /// SIGTERM 2.5 s in, with a 1 s drain.
    Sigterm,
}

/// The `faults` preset: one scenario per fault (the short form is the same: they are short).
pub fn scenarios(_short: bool) -> Vec<Scenario> {
    let fault = |name: &str, fault, db, users, budgets| Scenario {
        fault: Some(fault),
        upstream_tokens: 10,
        upstream_pace_ms: 20,
        budgets,
        ..base(name, db, users, 1)
    };
    let none = |key| Budget::at_most(key, 0.0);
    vec![
        fault(
            "fault-redis-down",
            Fault::RedisDown,
            Db::Postgres,
            20,
            vec![
                none("turns_failed"),
                Budget::at_least("turns_ok_during_fault", 20.0),
                Budget::at_least("rate_limit_fallbacks", 1.0),
                Budget::at_least("redis_keys_after_restart", 1.0),
            ],
        ),
        fault(
            "fault-postgres-restart",
            Fault::PostgresRestart,
            Db::Postgres,
            20,
            vec![
                none("turns_failed_unclear"),
                none("turns_failed_after_recovery"),
                Budget::at_least("turns_ok_after_recovery", 20.0),
                none("done_turns_lost"),
                none("answers_without_question"),
            ],
        ),
        Scenario {
            upstream_status: Some(529),
            turns: 2,
            ..fault(
                "fault-529-storm",
                Fault::Overloaded,
                Db::Sqlite,
                20,
                vec![
                    none("turns_not_overloaded"),
                    Budget::at_most("ttlb_max_ms", 30_000.0),
                ],
            )
        },
        Scenario {
            upstream_tokens: 200,
            upstream_pace_ms: 25,
            ..fault(
                "fault-hang-ups",
                Fault::HangUps,
                Db::Sqlite,
                200,
                vec![
                    Budget::at_least("turns_hung_up_mid_answer", 200.0),
                    none("upstream_not_cancelled"),
                    none("answers_not_interrupted"),
                    none("turns_running_left"),
                    Budget::at_most("tasks_left", 10.0),
                    // The answers take 5 s: cleaned up well before that means cancelled.
                    Budget::at_most("cleanup_ms", 3000.0),
                ],
            )
        },
        Scenario {
            upstream_tokens: 60,
            upstream_pace_ms: 25,
            ..fault(
                "fault-sigterm",
                Fault::Sigterm,
                Db::Sqlite,
                30,
                vec![
                    Budget::at_least("turns_in_flight_at_stop", 20.0),
                    none("exit_code"),
                    Budget::at_most("exit_after_ms", 1000.0 + 3000.0),
                    none("turns_admitted_after_stop"),
                    none("turns_cut_without_error"),
                    none("questions_without_answer"),
                    none("answers_without_question"),
                ],
            )
        },
    ]
}

/// One run of a fault scenario.
pub async fn run(args: &Args, s: &Scenario, fault: Fault) -> Res<RunResult> {
    let stand_in = StandIn::start(&args.stand_in_bin, s).await?;
    let mut redis = match fault {
        Fault::RedisDown => Some(PrivateRedis::start().await?),
        _ => None,
    };
    let postgres = match fault {
        Fault::PostgresRestart => Some(PrivatePostgres::start(&postgres_bin_dir()?).await?),
        _ => None,
    };
    let mut servers = Servers::shared();
    if let Some(r) = &redis {
        servers.redis = Some(r.url());
    }
    if let Some(pg) = &postgres {
        servers.postgres = Some(pg.url());
    }
    let store = Store::fresh(s.db, &servers).await?;
    let env = [
        ("METRICS_AUTH_TOKEN", METRICS_TOKEN.to_string()),
        ("SHUTDOWN_DRAIN_SECS", "1".to_string()),
    ];
    let files = AppFiles {
        bin: &args.app_bin,
        snapshot: &args.snapshot,
        env: &env,
    };
    let mut app = App::start(files, &store, &stand_in.base, s.users).await?;
    let mut figures = Figures::new();
    let client = users::client();
    let result = match fault {
        Fault::RedisDown => {
            let redis = redis.as_mut().ok_or("no private Redis")?;
            redis_down(&client, s, &app, &store, redis, &mut figures).await
        }
        Fault::PostgresRestart => {
            let pg = postgres.as_ref().ok_or("no private PostgreSQL")?;
            postgres_restart(&client, s, &app, &store, pg, &mut figures).await
        }
        Fault::Overloaded => overloaded(&client, s, &app, &mut figures).await,
        Fault::HangUps => hang_ups(&client, s, &app, &stand_in, &store, &mut figures).await,
        Fault::Sigterm => sigterm(&client, s, &mut app, &store, &mut figures).await,
    };
    let log = app.log.with_extension("err");
    app.stop().await;
    if let Err(e) = result {
        let log = std::fs::read_to_string(log).unwrap_or_default();
        let tail: String = log.lines().rev().take(20).collect::<Vec<_>>().join("\n");
        return Err(format!("{e}\n(app's last log lines, newest first)\n{tail}").into());
    }
    store.remove().await?;
    Ok(RunResult {
        figures,
        rss_by_minute: Vec::new(),
    })
}

/// Every user sends turns until `seconds` have passed (conversations of 3).
fn until(seconds: f64) -> Plan {
    Plan {
        until: Some(Instant::now() + Duration::from_secs_f64(seconds)),
        ..Plan::turns(1, 3)
    }
}

/// All the scenario's users at once, each following `plan`.
async fn drive(client: &reqwest::Client, s: &Scenario, app: &App, plan: Plan) -> Vec<Turn> {
    let in_flight = InFlight::default();
    let (base, in_flight) = (&app.base, &in_flight);
    join_all(
        (0..s.users)
            .map(|u| async move { users::app_user(client, base, "f", u, plan, in_flight).await }),
    )
    .await
    .concat()
}

fn count(turns: &[Turn], keep: impl Fn(&Turn) -> bool) -> f64 {
    turns.iter().filter(|t| keep(t)).count() as f64
}

fn sent_between(t: &Turn, from_us: u64, to_us: u64) -> bool {
    (from_us..to_us).contains(&t.sent_unix_us)
}

fn add_outcomes(figures: &mut Figures, turns: &[Turn]) {
    figures.insert("turns".into(), turns.len() as f64);
    figures.insert("turns_ok".into(), count(turns, |t| t.failure.is_none()));
    figures.insert("turns_failed".into(), count(turns, |t| t.failure.is_some()));
    let failures: HashSet<&str> = turns.iter().filter_map(|t| t.failure.as_deref()).collect();
    for (i, failure) in failures.iter().take(3).enumerate() {
        eprintln!("load: failure kind {}: {failure}", i + 1);
    }
}

/// Redis killed mid-run and started again: no turn fails, limits fall back to the
/// in-process limiter, and Redis is written to again once it is back.
async fn redis_down(
    client: &reqwest::Client,
    s: &Scenario,
    app: &App,
    store: &Store,
    redis: &mut PrivateRedis,
    figures: &mut Figures,
) -> Res<()> {
    let plan = until(12.0);
    let fault = async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let down = unix_us();
        redis.stop().await;
        tokio::time::sleep(Duration::from_secs(4)).await;
        let up = unix_us();
        redis.up().await.map(|()| (down, up))
    };
    let (turns, window) = tokio::join!(drive(client, s, app, plan), fault);
    let (down, up) = window?;
    add_outcomes(figures, &turns);
    let during = |t: &Turn| sent_between(t, down, up) && t.failure.is_none();
    figures.insert("turns_ok_during_fault".into(), count(&turns, during));
    let fallbacks = app
        .metric(
            client,
            METRICS_TOKEN,
            "rate_limit_fallback_activations_total",
        )
        .await?;
    figures.insert("rate_limit_fallbacks".into(), fallbacks);
    let keys = redis.keys(store.redis_prefix().unwrap_or_default()).await?;
    figures.insert("redis_keys_after_restart".into(), keys as f64);
    Ok(())
}

/// PostgreSQL restarted mid-run: turns in flight succeed or end with a clear error, turns
/// from 2 s after the restart all succeed, nothing acknowledged is lost, and no answer is
/// stored without its question.
async fn postgres_restart(
    client: &reqwest::Client,
    s: &Scenario,
    app: &App,
    store: &Store,
    pg: &PrivatePostgres,
    figures: &mut Figures,
) -> Res<()> {
    let plan = until(14.0);
    let fault = async {
        tokio::time::sleep(Duration::from_secs(4)).await;
        pg.restart().await.map(|()| unix_us())
    };
    let (turns, restarted) = tokio::join!(drive(client, s, app, plan), fault);
    let recovered = restarted? + 2_000_000;
    add_outcomes(figures, &turns);
    // Clear: the app answered with a status, or ended the stream with an `error` event.
    let unclear = |t: &Turn| t.failure.is_some() && t.admitted && t.error_code.is_none();
    figures.insert("turns_failed_unclear".into(), count(&turns, unclear));
    let after = |t: &Turn| t.sent_unix_us >= recovered;
    let failed_after = count(&turns, |t| after(t) && t.failure.is_some());
    figures.insert("turns_failed_after_recovery".into(), failed_after);
    let ok_after = count(&turns, |t| after(t) && t.failure.is_none());
    figures.insert("turns_ok_after_recovery".into(), ok_after);
    add_stored_checks(figures, store, &turns).await
}

/// Every acknowledged (`done`) turn stored with its answer; answers without their question.
async fn add_stored_checks(figures: &mut Figures, store: &Store, turns: &[Turn]) -> Res<()> {
    let answered: HashSet<String> = store
        .questions()
        .await?
        .into_iter()
        .filter(|(_, answer)| answer.is_some())
        .filter_map(|(question, _)| tag_of(&question))
        .collect();
    let lost = count(turns, |t| t.failure.is_none() && !answered.contains(&t.tag));
    figures.insert("done_turns_lost".into(), lost);
    let orphans = store.answers_without_question().await?;
    figures.insert("answers_without_question".into(), orphans as f64);
    Ok(())
}

fn tag_of(question: &str) -> Option<String> {
    let word = question.split_whitespace().next()?.strip_prefix("tag=")?;
    Some(word.to_string())
}

/// Every request answered 529: every turn ends with `upstream_overloaded`, none hangs.
async fn overloaded(
    client: &reqwest::Client,
    s: &Scenario,
    app: &App,
    figures: &mut Figures,
) -> Res<()> {
    let turns = drive(client, s, app, Plan::turns(s.turns, 3)).await;
    add_outcomes(figures, &turns);
    let overloaded = |t: &Turn| t.error_code.as_deref() == Some("upstream_overloaded");
    figures.insert(
        "turns_not_overloaded".into(),
        count(&turns, |t| !overloaded(t)),
    );
    let slowest = turns.iter().map(|t| t.last_byte_ms).fold(0.0, f64::max);
    figures.insert("ttlb_max_ms".into(), slowest);
    Ok(())
}

/// Every client hangs up at its first token and then stops the answer (from a new request, as
/// a reloaded page does): every upstream stream is cancelled, every partial answer stored as
/// interrupted, and no turn or task is left running.
async fn hang_ups(
    client: &reqwest::Client,
    s: &Scenario,
    app: &App,
    stand_in: &StandIn,
    store: &Store,
    figures: &mut Figures,
) -> Res<()> {
    let tasks_before = app
        .metric(client, METRICS_TOKEN, "tokio_alive_tasks")
        .await?;
    let plan = Plan {
        hang_up: true,
        ..Plan::turns(1, 1)
    };
    let turns = drive(client, s, app, plan).await;
    let hung_up = Instant::now();
    let reached = count(&turns, |t| t.first_token_ms.is_some());
    figures.insert("turns_hung_up_mid_answer".into(), reached);
    // Until no stream is open upstream and no turn runs, at most 10 s.
    let (mut open, mut running) = (f64::NAN, f64::NAN);
    while hung_up.elapsed() < Duration::from_secs(10) {
        open = stand_in.stats(client).await?["streams_open"]
            .as_f64()
            .unwrap_or(f64::NAN);
        running = app
            .metric(client, METRICS_TOKEN, "chat_turns_running")
            .await?;
        if open == 0.0 && running == 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    figures.insert(
        "cleanup_ms".into(),
        hung_up.elapsed().as_secs_f64() * 1000.0,
    );
    figures.insert("turns_running_left".into(), running);
    figures.insert("upstream_streams_left".into(), open);
    let cancelled = stand_in.stats(client).await?["streams_cancelled"]
        .as_f64()
        .unwrap_or(0.0);
    figures.insert("upstream_not_cancelled".into(), s.users as f64 - cancelled);
    // The interrupted answers are written after the turns let go of their places.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let interrupted = store
        .count("SELECT count(*) FROM messages WHERE role = 'assistant' AND status = 'interrupted'")
        .await?;
    figures.insert(
        "answers_not_interrupted".into(),
        reached - interrupted as f64,
    );
    let tasks_after = app
        .metric(client, METRICS_TOKEN, "tokio_alive_tasks")
        .await?;
    figures.insert("tasks_left".into(), tasks_after - tasks_before);
    Ok(())
}

/// SIGTERM with turns in flight: no new turn is admitted, the app exits 0 within the drain
/// time, every turn the drain stopped is told so (`shutting_down`), and every stored question
/// has its answer (finished, or interrupted by the drain).
async fn sigterm(
    client: &reqwest::Client,
    s: &Scenario,
    app: &mut App,
    store: &Store,
    figures: &mut Figures,
) -> Res<()> {
    let plan = Plan {
        stop_after_failure: true,
        ..until(30.0)
    };
    let in_flight = InFlight::default();
    let (base, in_flight_ref) = (app.base.clone(), &in_flight);
    // Users start 40 ms apart, so their answers are at every stage when the signal comes.
    let users = join_all((0..s.users).map(|u| {
        let base = base.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(40 * u as u64)).await;
            users::app_user(client, &base, "f", u, plan, in_flight_ref).await
        }
    }));
    let stop = async {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let in_flight_now = in_flight.now();
        let sent = (unix_us(), Instant::now());
        app.terminate()?;
        let code = app.wait_exit(Duration::from_secs(30)).await;
        Res::Ok((sent, in_flight_now, code, sent.1.elapsed()))
    };
    let (turns, stopped) = tokio::join!(users, stop);
    let turns = turns.concat();
    let ((stop_us, _), in_flight_at_stop, code, exit_after) = stopped?;
    add_outcomes(figures, &turns);
    figures.insert("turns_in_flight_at_stop".into(), in_flight_at_stop as f64);
    figures.insert("exit_code".into(), code.map_or(f64::NAN, f64::from));
    figures.insert("exit_after_ms".into(), exit_after.as_secs_f64() * 1000.0);
    // Sent once the signal had been delivered (50 ms on): none may have been let in.
    let late = |t: &Turn| t.sent_unix_us > stop_us + 50_000 && t.admitted;
    figures.insert("turns_admitted_after_stop".into(), count(&turns, late));
    // A turn the drain stopped ends with `shutting_down`, not with its connection cut.
    let cut = |t: &Turn| t.admitted && t.failure.is_some() && t.error_code.is_none();
    figures.insert("turns_cut_without_error".into(), count(&turns, cut));
    let told = |t: &Turn| t.error_code.as_deref() == Some("shutting_down");
    figures.insert("turns_told_shutting_down".into(), count(&turns, told));
    let questions = store.questions().await?;
    let unanswered = questions.iter().filter(|(_, a)| a.is_none()).count();
    figures.insert("questions_without_answer".into(), unanswered as f64);
    let interrupted = questions
        .iter()
        .filter(|(_, a)| a.as_deref() == Some("interrupted"))
        .count();
    figures.insert("answers_interrupted".into(), interrupted as f64);
    let orphans = store.answers_without_question().await?;
    figures.insert("answers_without_question".into(), orphans as f64);
    Ok(())
}
