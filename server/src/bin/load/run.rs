//! Running scenarios: each run starts the stand-in, a fresh store and the app; warms them up;
//! drives the direct client, then the app's users while sampling the app; and takes it all
//! down again.
use std::time::{Duration, Instant};

use futures::future::join_all;

use crate::cli::Args;
use crate::faults;
use crate::figures::{self, Figures, Phase, Resources};
use crate::procs::{App, AppFiles, Servers, StandIn, Store};
use crate::report;
use crate::sample::{self, Sampler};
use crate::scenario::{self, Scenario};
use crate::stats;
use crate::users::{self, InFlight, Plan, Template};
use crate::Res;

/// Every scenario the command line asks for; false when `--check` found a budget over.
pub async fn all(args: Args) -> Res<bool> {
    let mut within = true;
    for s in scenario::from_args(&args) {
        let mut runs = Vec::new();
        for run in 0..args.repeat.max(1) {
            eprintln!("load: {} run {}/{}", s.name, run + 1, args.repeat.max(1));
            let result = match s.fault {
                Some(fault) => faults::run(&args, &s, fault).await?,
                None => one(&args, &s, run).await?,
            };
            runs.push(result);
        }
        let figures: Vec<Figures> = runs.iter().map(|r| r.figures.clone()).collect();
        let medians = stats::medians(&figures);
        let verdicts: Vec<_> = s.budgets.iter().map(|b| b.judge(&medians)).collect();
        report::table(&s, &medians, &verdicts, &runs);
        report::json_line(&s, &medians, &verdicts, &figures, args.json.as_deref())?;
        within &= verdicts.iter().all(|v| v.pass);
    }
    Ok(within || !args.check)
}

/// One run's figures and what the table shows besides them.
pub struct RunResult {
    pub figures: Figures,
    /// The soak's RSS once a minute.
    pub rss_by_minute: Vec<f64>,
}

async fn one(args: &Args, s: &Scenario, run: usize) -> Res<RunResult> {
    let stand_in = StandIn::start(&args.stand_in_bin, s).await?;
    let store = Store::fresh(s.db, &Servers::shared()).await?;
    let files = AppFiles {
        bin: &args.app_bin,
        snapshot: &args.snapshot,
        env: &[],
    };
    let measured = match App::start(files, &store, &stand_in.base, s.users).await {
        Ok(app) => {
            let result = measure(s, &stand_in, &store, &app, run).await;
            app.stop().await;
            result
        }
        Err(e) => Err(e),
    };
    store.remove().await?;
    measured
}

/// One run on running processes: warm-up, the direct clients, then the app's users.
async fn measure(
    s: &Scenario,
    stand_in: &StandIn,
    store: &Store,
    app: &App,
    run: usize,
) -> Res<RunResult> {
    let client = users::client();
    let mut figures = Figures::new();
    figures.insert(
        "load_average_1m".into(),
        sample::load_average().unwrap_or(-1.0),
    );
    let warm_turns = warm_up(&client, s, stand_in, app, run).await;
    let template = app_request(&client, stand_in, app, run).await?;

    let plan = Plan::turns(s.turns, s.conversation_turns);
    let direct_plan = Plan {
        turns: if s.minutes.is_some() { 3 } else { s.turns },
        ..plan
    };
    let direct = Direct {
        users: s.users,
        plan: direct_plan,
        template: &template,
    };
    drive_direct(&client, direct, stand_in, run, &mut figures).await?;

    stand_in.reset(&client).await?;
    let (turns, resources) = drive_app(&client, s, app, run, plan).await;
    let upstream = stand_in.stats(&client).await?;
    let phase = Phase {
        turns: &turns,
        upstream: &upstream,
    };
    figures::add_phase(&mut figures, "", &phase);
    figures::add_differences(&mut figures);
    figures::add_resources(&mut figures, &resources);
    let max_streams = upstream["streams_max"].as_f64().unwrap_or(-1.0);
    figures.insert("upstream_max_streams".into(), max_streams);
    if let Some(minutes) = s.minutes {
        // The first tenth of the run, at least 10 s.
        let warm_up = Duration::from_secs_f64((minutes * 60.0 / 10.0).max(10.0));
        figures::add_drift(&mut figures, &resources.samples, warm_up);
    }
    let ok = figures.get("turns_ok").copied().unwrap_or(0.0);
    figures.insert(
        "expected_messages".into(),
        2.0 * (ok + warm_turns as f64 + 1.0),
    );
    if let Ok(stored) = store.stored_messages().await {
        figures.insert("stored_messages".into(), stored as f64);
    }
    Ok(RunResult {
        figures,
        rss_by_minute: figures::rss_by_minute(&resources.samples),
    })
}

/// A few turns through the app and straight to the stand-in (pools, caches, the tokenizer);
/// returns the app turns that succeeded.
async fn warm_up(
    client: &reqwest::Client,
    s: &Scenario,
    stand_in: &StandIn,
    app: &App,
    run: usize,
) -> usize {
    let plan = Plan::turns(2, 2);
    let users = s.users.min(20);
    let in_flight = InFlight::default();
    let prefix = format!("w{run}");
    let warm = join_all((0..users).map(|u| {
        let (prefix, in_flight) = (&prefix, &in_flight);
        async move {
            users::direct_user(client, &stand_in.base, (prefix, u), plan, None).await;
            users::app_user(client, &app.base, prefix, u, plan, in_flight).await
        }
    }))
    .await
    .concat();
    tokio::time::sleep(Duration::from_millis(500)).await;
    warm.iter().filter(|t| t.failure.is_none()).count()
}

/// One app turn, a new conversation's first, whose request the stand-in keeps: the direct
/// client's template.
async fn app_request(
    client: &reqwest::Client,
    stand_in: &StandIn,
    app: &App,
    run: usize,
) -> Res<Template> {
    let prefix = format!("t{run}");
    let in_flight = InFlight::default();
    let plan = Plan::turns(1, 1);
    users::app_user(client, &app.base, &prefix, 0, plan, &in_flight).await;
    let body = stand_in.last_body(client).await?;
    Template::new(body).ok_or_else(|| "the app's upstream request has no tag".into())
}

/// The direct clients: how many, what each sends.
struct Direct<'a> {
    users: usize,
    plan: Plan,
    template: &'a Template,
}

/// The same number of clients straight to the stand-in, all starting at once, each sending
/// the app's request.
async fn drive_direct(
    client: &reqwest::Client,
    d: Direct<'_>,
    stand_in: &StandIn,
    run: usize,
    figures: &mut Figures,
) -> Res<()> {
    stand_in.reset(client).await?;
    let prefix = format!("d{run}");
    let direct =
        join_all(
            (0..d.users).map(|u| {
                let prefix = &prefix;
                let (plan, template) = (d.plan, Some(d.template));
                async move {
                    users::direct_user(client, &stand_in.base, (prefix, u), plan, template).await
                }
            }),
        )
        .await
        .concat();
    let upstream = stand_in.stats(client).await?;
    let phase = Phase {
        turns: &direct,
        upstream: &upstream,
    };
    figures::add_phase(figures, "direct_", &phase);
    Ok(())
}

/// The users of the app, all starting at once, with the app sampled meanwhile.
async fn drive_app(
    client: &reqwest::Client,
    s: &Scenario,
    app: &App,
    run: usize,
    plan: Plan,
) -> (Vec<users::Turn>, Resources) {
    let rss_idle_kib = sample::rss_kib(app.pid);
    let cpu_before = sample::cpu_seconds(app.pid);
    let machine_before = sample::machine_jiffies();
    let sampler = Sampler::start(app.pid);
    let started = Instant::now();
    let plan = Plan {
        until: s
            .minutes
            .map(|m| started + Duration::from_secs_f64(m * 60.0)),
        ..plan
    };
    let in_flight = InFlight::default();
    let prefix = format!("a{run}");
    let turns = join_all((0..s.users).map(|u| {
        let (prefix, in_flight) = (&prefix, &in_flight);
        async move { users::app_user(client, &app.base, prefix, u, plan, in_flight).await }
    }))
    .await
    .concat();
    let elapsed = started.elapsed();
    let cpu_after = sample::cpu_seconds(app.pid);
    let machine = machine_before.zip(sample::machine_jiffies());
    let resources = Resources {
        machine_busy_pct: machine
            .map(|((b0, t0), (b1, t1))| (b1 - b0) as f64 / (t1 - t0).max(1) as f64 * 100.0),
        elapsed,
        cpu_seconds: cpu_before.zip(cpu_after).map(|(b, a)| a - b),
        rss_idle_kib,
        samples: sampler.finish(),
        in_flight_max: in_flight.max(),
    };
    (turns, resources)
}
