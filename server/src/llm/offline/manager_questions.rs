//! Question set of the offline analyst for managers: "my team", captaincy, transfers, chips,
//! bench points, live points, mini-leagues, dream teams and prices, asked as managers ask
//! them (lowercase, typos, with and without ids), run through the whole tool loop on the
//! shared GW7 managers and league. Every fact is computed here from the raw JSON files.

use serde_json::Value;

use crate::fpl::test_support::snapshot_dir;
use crate::fpl::FplSource;
use crate::llm::offline::questions::{ask_after, case, run_set, Case, Facts};
use crate::llm::offline::OfflineAnalyst;
use crate::llm::{ContentBlock, Message, Role};
use crate::tools::BuiltinTools;

fn raw(path: &str) -> Value {
    let p = snapshot_dir("2025-26_gw7").join(path);
    serde_json::from_slice(&std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap()
}

fn sum(rows: &Value, key: &str) -> i64 {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r[key].as_i64().unwrap())
        .sum()
}

fn web_of(f: &Facts, id: u64) -> String {
    f.elements()
        .iter()
        .find(|e| e["id"] == id)
        .map(|e| e["web_name"].as_str().unwrap().to_string())
        .unwrap()
}

fn needs(mut c: Case) -> Case {
    c.allow_tool_error = true;
    c
}

fn manager_cases(f: &Facts) -> Vec<Case> {
    let mut v = Vec::new();
    let gw7 = |e: u32| raw(&format!("entry/{e}/event/7/picks.json"));
    let entry = |e: u32| raw(&format!("entry/{e}.json"));
    let history = |e: u32| raw(&format!("entry/{e}/history.json"));

    // Team.
    let p = gw7(1000001);
    let captain = p["picks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["is_captain"] == true)
        .unwrap()["element"]
        .as_u64()
        .unwrap();
    let bank = format!(
        "£{:.1}m",
        p["entry_history"]["bank"].as_f64().unwrap() / 10.0
    );
    let team_facts = vec![
        entry(1000001)["name"].as_str().unwrap().to_string(),
        format!("{} points", p["entry_history"]["points"]),
        web_of(f, captain),
        bank,
    ];
    for q in [
        "Analyse my team 1000001",
        "analyze my team, id 1000001",
        "how did my team do this week? team 1000001",
        "rate my squad 1000001 pls",
        "My FPL team is 1000001",
    ] {
        v.push(case(q, Some("fpl_manager_team"), team_facts.clone()));
    }
    let gw3 = raw("entry/84062/event/3/picks.json");
    let net = gw3["entry_history"]["points"].as_i64().unwrap()
        - gw3["entry_history"]["event_transfers_cost"]
            .as_i64()
            .unwrap();
    v.push(case(
        "How did team 84062 do in gameweek 3?",
        Some("fpl_manager_team"),
        vec![
            format!("{net} points"),
            format!("-{} hit", gw3["entry_history"]["event_transfers_cost"]),
        ],
    ));
    let bb = raw("entry/1000004/event/1/picks.json");
    v.push(case(
        "show team 1000004 in gw1",
        Some("fpl_manager_team"),
        vec![
            "Bench Boost".into(),
            format!("{} points", bb["entry_history"]["points"]),
        ],
    ));

    // History: bench, chips, hits, rank.
    let h = history(84062);
    v.push(case(
        "How many points have I left on my bench? Team 84062",
        Some("fpl_manager_history"),
        vec![format!("{} points", sum(&h["current"], "points_on_bench"))],
    ));
    v.push(case(
        "what chips has 1000002 used",
        Some("fpl_manager_history"),
        vec!["Triple Captain".into(), "gameweek 6".into()],
    ));
    let h2 = history(1000002);
    v.push(case(
        "how many hits have i taken? my team is 1000002",
        Some("fpl_manager_history"),
        vec![format!(
            "{} points",
            sum(&h2["current"], "event_transfers_cost")
        )],
    ));
    let last = h["current"].as_array().unwrap().last().unwrap().clone();
    v.push(case(
        "what's my overall rank history, entry 84062",
        Some("fpl_manager_history"),
        vec![
            crate::tools::fpl::thousands(last["overall_rank"].as_u64().unwrap()),
            format!("{} points", last["total_points"]),
        ],
    ));
    v.push(case(
        "my season so far 1000003",
        Some("fpl_manager_history"),
        vec!["Wildcard".into()],
    ));

    // Captaincy and transfers.
    for q in [
        "Who should I captain? My team is 1000001",
        "captain pick for team 1000001",
        "who shud i captain this week team 1000001",
    ] {
        v.push(case(
            q,
            Some("fpl_captain_pick"),
            vec!["gameweek 8".into(), "expected points".into()],
        ));
    }
    v.push(case(
        "Who should I captain this week?",
        Some("fpl_captain_pick"),
        vec!["gameweek 8".into()],
    ));
    v.push(case(
        "Haaland or Salah for captain?",
        Some("fpl_captain_pick"),
        vec!["Haaland".into(), "M.Salah".into()],
    ));
    v.push(case(
        "captaincy options for 84062",
        Some("fpl_captain_pick"),
        vec!["gameweek 8".into(), "The Comebacks".into()],
    ));
    v.push(case(
        "transfers for team 1000003",
        Some("fpl_transfer_suggestions"),
        vec!["Offside Uppsala".into()],
    ));
    v.push(case(
        "how many transfers have I made? team 1000002",
        Some("fpl_manager_history"),
        vec![format!(
            "**{} transfers**",
            sum(&h2["current"], "event_transfers")
        )],
    ));
    let p2 = gw7(1000002);
    for q in [
        "Which transfer should I make? team 1000002",
        "who should i bring in for team 1000002",
        "transfer suggestions for 1000002",
    ] {
        v.push(case(
            q,
            Some("fpl_transfer_suggestions"),
            vec![
                format!(
                    "bank £{:.1}m",
                    p2["entry_history"]["bank"].as_f64().unwrap() / 10.0
                ),
                "expected points".into(),
            ],
        ));
    }

    // Live points.
    v.push(case(
        "live points for team 84062",
        Some("fpl_live_gameweek"),
        vec![format!("{} points", gw7(84062)["entry_history"]["points"])],
    ));
    let live = raw("event/7/live.json");
    let top = live["elements"]
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|e| e["stats"]["total_points"].as_i64().unwrap())
        .unwrap();
    v.push(case(
        "show me the live gameweek scores",
        Some("fpl_live_gameweek"),
        vec![format!("{} pts", top["stats"]["total_points"])],
    ));

    // Mini-league.
    let st = raw("leagues-classic/900001/standings.json");
    let first = &st["standings"]["results"][0];
    let league_facts = vec![
        "Offline Test League".to_string(),
        first["entry_name"].as_str().unwrap().to_string(),
        format!("**{}**", first["total"]),
    ];
    for q in [
        "How is league 900001 going?",
        "mini league 900001 standings",
        "show my mini-league, league id 900001",
    ] {
        v.push(case(q, Some("fpl_mini_league"), league_facts.clone()));
    }
    v.push(case(
        "league 900001, my team 1000003: what are my differentials?",
        Some("fpl_mini_league"),
        vec!["Your differentials".into()],
    ));

    // Dream team and prices.
    let dream: i64 = live["elements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["stats"]["in_dreamteam"] == true)
        .map(|e| e["stats"]["total_points"].as_i64().unwrap())
        .sum();
    v.push(case(
        "dream team of the week",
        Some("fpl_dream_team"),
        vec![format!("{dream} points")],
    ));
    v.push(case(
        "team of the week?",
        Some("fpl_dream_team"),
        vec![format!("{dream} points")],
    ));
    let season_top = f
        .elements()
        .iter()
        .max_by_key(|e| {
            (
                e["total_points"].as_i64().unwrap(),
                -e["id"].as_i64().unwrap(),
            )
        })
        .unwrap();
    v.push(case(
        "team of the season so far",
        Some("fpl_dream_team"),
        vec![season_top["web_name"].as_str().unwrap().to_string()],
    ));
    let risers = f
        .elements()
        .iter()
        .filter(|e| e["cost_change_event"].as_i64().unwrap() > 0)
        .count();
    let fallers = f
        .elements()
        .iter()
        .filter(|e| e["cost_change_event"].as_i64().unwrap() < 0)
        .count();
    for q in [
        "price risers",
        "Who are the price fallers this week?",
        "any price changes?",
    ] {
        v.push(case(
            q,
            Some("fpl_price_changes"),
            vec![
                format!("**{risers} risers**"),
                format!("**{fallers} fallers**"),
            ],
        ));
    }
    let mids_up = f
        .elements()
        .iter()
        .filter(|e| e["element_type"] == 3)
        .max_by_key(|e| {
            (
                e["cost_change_start"].as_i64().unwrap(),
                -e["id"].as_i64().unwrap(),
            )
        })
        .unwrap();
    v.push(case(
        "biggest price rises among midfielders",
        Some("fpl_price_changes"),
        vec![
            mids_up["web_name"].as_str().unwrap().to_string(),
            "(MID)".into(),
        ],
    ));

    // Without an id: the analyst asks for it, no tool.
    for q in [
        "analyse my team",
        "which transfer should I make?",
        "how many bench points have i had",
    ] {
        v.push(case(q, None, vec!["team id".into()]));
    }
    v.push(case(
        "how is my mini league doing",
        None,
        vec!["league id".into()],
    ));
    v.push(case(
        "how are my rivals doing",
        None,
        vec!["league id".into()],
    ));
    v.push(case("whats my rank?", None, vec!["team id".into()]));
    // A team that is not in the data: the tool's error, with where to find the id.
    v.push(needs(case(
        "analyse my team 1000005",
        Some("fpl_manager_team"),
        vec!["1000005".into(), "fantasy.premierleague.com/entry".into()],
    )));
    v
}

#[tokio::test]
async fn question_set_managers() {
    let facts = Facts::load("2025-26_gw7");
    let cases = manager_cases(&facts);
    assert!(cases.len() >= 40, "{} questions", cases.len());
    let (passed, total) = run_set("2025-26_gw7", cases).await;
    assert_eq!(passed, total, "manager question set score {passed}/{total}");
}

/// A team id given earlier in the conversation is used for "my team" later.
#[tokio::test]
async fn a_team_id_given_earlier_is_remembered() {
    let source = FplSource::snapshot_dir(snapshot_dir("2025-26_gw7")).unwrap();
    let tools = BuiltinTools::new(source.clone());
    let analyst = OfflineAnalyst::new(source).with_pacing(std::time::Duration::ZERO);
    let said = |role, text: &str| Message {
        role,
        content: vec![ContentBlock::Text { text: text.into() }],
    };
    let earlier = vec![
        said(Role::User, "my team is 1000002"),
        said(Role::Assistant, "Garuda Galacticos scored 64 points."),
    ];
    let turn = ask_after(&analyst, &tools, earlier, "who should I captain?").await;
    assert_eq!(turn.tools, vec!["fpl_captain_pick"]);
    assert!(turn.answer.contains("Garuda Galacticos"), "{}", turn.answer);
    let turn = ask_after(&analyst, &tools, Vec::new(), "who should I captain?").await;
    assert!(
        !turn.answer.contains("Garuda Galacticos"),
        "{}",
        turn.answer
    );
}
