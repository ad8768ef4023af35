//! Question set of the offline analyst for rankings as people phrase them: statistics the
//! original tools did not rank (price, ownership, xG, value), filters (position, price cap,
//! ownership cap), lowercase, typos and slang, plus one gameweek's deadline. Each expected
//! leader is computed here from the raw bootstrap-static JSON with the same filter.

use serde_json::Value;

use crate::llm::offline::questions::{case, run_set, Case, Facts};

/// The leader among players `keep` allows by `key` (ties: more total points, then name).
fn top(f: &Facts, keep: impl Fn(&Value) -> bool, key: impl Fn(&Value) -> f64) -> String {
    let num = |e: &Value, k: &str| match &e[k] {
        Value::String(s) => s.parse::<f64>().unwrap(),
        v => v.as_f64().unwrap(),
    };
    let mut v: Vec<&Value> = f
        .elements()
        .iter()
        .filter(|e| keep(e) && key(e) > 0.0)
        .collect();
    v.sort_by(|a, b| {
        key(b)
            .total_cmp(&key(a))
            .then(num(b, "total_points").total_cmp(&num(a, "total_points")))
            .then(a["web_name"].as_str().cmp(&b["web_name"].as_str()))
    });
    v[0]["web_name"].as_str().unwrap().to_string()
}

fn num(e: &Value, k: &str) -> f64 {
    match &e[k] {
        Value::String(s) => s.parse().unwrap(),
        v => v.as_f64().unwrap(),
    }
}

fn pos(t: i64) -> impl Fn(&Value) -> bool {
    move |e: &Value| e["element_type"] == t
}

fn all(_: &Value) -> bool {
    true
}

fn ranking_cases(f: &Facts) -> Vec<Case> {
    let mut v = Vec::new();
    let lead =
        |q: &str, name: String| case(q, Some("fpl_league_data"), vec![format!("**{name}**")]);
    let goals = |e: &Value| num(e, "goals_scored");
    let points = |e: &Value| num(e, "total_points");
    let price = |e: &Value| num(e, "now_cost");
    let owned = |e: &Value| num(e, "selected_by_percent");
    let xg = |e: &Value| num(e, "expected_goals");
    let xa = |e: &Value| num(e, "expected_assists");
    let xgi = |e: &Value| num(e, "expected_goal_involvements");
    let ppm =
        |e: &Value| (num(e, "total_points") / (num(e, "now_cost") / 10.0) * 100.0).round() / 100.0;

    v.push(lead("top goal scorers", top(f, all, goals)));
    v.push(lead("who's the top scorer", top(f, all, goals)));
    v.push(lead("top goalkeepers by points", top(f, pos(1), points)));
    v.push(lead("best keepers this season", top(f, pos(1), points)));
    v.push(lead("Most expensive players", top(f, all, price)));
    v.push(lead("most expensive midfielders", top(f, pos(3), price)));
    v.push(lead("priciest defenders?", top(f, pos(2), price)));
    v.push(lead("most selected players", top(f, all, owned)));
    v.push(lead("who is the most owned forward", top(f, pos(4), owned)));
    v.push(lead("season xG totals", top(f, all, xg)));
    v.push(lead("who has the highest xg", top(f, all, xg)));
    v.push(lead("most expected assists", top(f, all, xa)));
    v.push(lead("top xGI among midfielders", top(f, pos(3), xgi)));
    v.push(lead("best value players", top(f, all, ppm)));
    v.push(lead("most points per million", top(f, all, ppm)));
    let under = |cap: f64, t: i64| {
        move |e: &Value| e["element_type"] == t && num(e, "now_cost") <= cap * 10.0 + 1e-9
    };
    v.push(lead(
        "best defenders under 5m",
        top(f, under(5.0, 2), points),
    ));
    v.push(lead(
        "best midfielders under £6m",
        top(f, under(6.0, 3), points),
    ));
    v.push(lead(
        "top forwards below 7.0",
        top(f, under(7.0, 4), points),
    ));
    v.push(lead("cheap forwards", top(f, under(6.0, 4), points)));
    v.push(lead("budget defenders", top(f, under(4.5, 2), points)));
    let rare = |cap: f64| move |e: &Value| num(e, "selected_by_percent") <= cap + 1e-9;
    v.push(lead(
        "differentials under 5% ownership",
        top(f, rare(5.0), points),
    ));
    v.push(lead(
        "best players owned by less than 10%",
        top(f, rare(10.0), points),
    ));
    v.push(lead("good differentials", top(f, rare(5.0), points)));
    let rare_mid = |e: &Value| e["element_type"] == 3 && num(e, "selected_by_percent") <= 5.0;
    v.push(lead("differential midfielders", top(f, rare_mid, points)));
    v.push(lead("top 5 assisters", top(f, all, |e| num(e, "assists"))));
    v.push(lead(
        "most clean sheets by a defender",
        top(f, pos(2), |e| num(e, "clean_sheets")),
    ));
    v.push(lead(
        "most yellow cards",
        top(f, all, |e| num(e, "yellow_cards") + num(e, "red_cards")),
    ));
    v.push(lead("TOP SCORERS", top(f, all, goals)));
    // One gameweek's deadline.
    let gw9 = &f.b["events"][8];
    assert_eq!(gw9["id"], 9);
    v.push(case(
        "when is the gameweek 9 deadline?",
        Some("fpl_get_gameweek"),
        vec!["Gameweek 9".into()],
    ));
    v.push(case(
        "gw 9 deadline",
        Some("fpl_get_gameweek"),
        vec!["Gameweek 9".into()],
    ));
    // Lowercase typos still reach the player (or his suggestions).
    let mut typo = case(
        "haalnd stats",
        Some("fpl_player_data"),
        vec!["Haaland".into()],
    );
    typo.allow_tool_error = true;
    v.push(typo);
    let mut typo = case(
        "how is salahh doing",
        Some("fpl_player_data"),
        vec!["Salah".into()],
    );
    typo.allow_tool_error = true;
    v.push(typo);
    v
}

#[tokio::test]
async fn question_set_rankings() {
    let facts = Facts::load("2025-26_gw7");
    let cases = ranking_cases(&facts);
    assert!(cases.len() >= 30, "{} questions", cases.len());
    let (passed, total) = run_set("2025-26_gw7", cases).await;
    assert_eq!(passed, total, "ranking question set score {passed}/{total}");
}
