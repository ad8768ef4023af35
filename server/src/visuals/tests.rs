use serde_json::{json, Value};

use super::render;
use crate::fpl::test_support::snapshot_dir;
use crate::fpl::FplSource;
use crate::tools::{BuiltinTools, ToolBackend};

async fn result(tool: &str, input: Value) -> Value {
    let t = BuiltinTools::new(FplSource::snapshot_dir(snapshot_dir("2025-26_gw7")).unwrap());
    let out = t.call(tool, input).await.unwrap();
    assert!(!out.is_error, "{}", out.text);
    out.structured.unwrap()
}

/// Only the picture elements, no handlers, no inline styles, no links: safe as HTML under the
/// page's CSP. Every tag of the markup is checked (escaped text has no `<`).
fn assert_inert(html: &str) {
    const TAGS: &[&str] = &[
        "figure",
        "figcaption",
        "svg",
        "title",
        "desc",
        "rect",
        "line",
        "text",
        "circle",
        "table",
        "caption",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "span",
        "strong",
    ];
    for tag in html.split('<').skip(1) {
        let inside = &tag[..tag.find('>').expect("closed tag")];
        let inside = inside.trim_start_matches('/').trim_end_matches('/');
        let mut parts = inside.split_whitespace();
        let name = parts.next().unwrap_or("");
        assert!(TAGS.contains(&name), "unexpected <{name}> in {html}");
        for attr in inside.split('"').step_by(2) {
            let attr_name = attr
                .trim()
                .rsplit(' ')
                .next()
                .unwrap_or("")
                .trim_end_matches('=');
            let lower = attr_name.to_ascii_lowercase();
            assert!(
                !lower.starts_with("on"),
                "handler {attr_name} in <{inside}>"
            );
            assert!(
                lower != "style" && lower != "href",
                "{attr_name} in <{inside}>"
            );
        }
    }
}

#[tokio::test]
async fn a_squad_on_a_pitch_with_captain_bench_and_text_alternative() {
    let s = result(
        "fpl_manager_team",
        json!({"entryId": 1000002, "gameweek": 6}),
    )
    .await;
    let html = render("fpl_manager_team", "toolu_1", &s).unwrap();
    assert_inert(&html);
    assert!(
        html.starts_with("<figure class=\"viz viz-pitch\""),
        "{html}"
    );
    assert_eq!(html.matches("class=\"viz-chip").count(), 15);
    assert!(html.contains("<title id=\"viz-toolu_1-t\">Garuda Galacticos, gameweek 6"));
    assert!(
        html.contains(&format!(": {} points", s["netPoints"])),
        "{html}"
    );
    assert!(html.contains(">C</text>") && html.contains(">V</text>"));
    assert!(html.contains(">Bench</text>"));
    // The description names every player with his points: the text alternative.
    for p in s["starting"].as_array().unwrap() {
        let line = format!("{} {}", p["name"].as_str().unwrap(), p["contribution"]);
        assert!(html.contains(&crate::visuals::markup::esc(&line)), "{line}");
    }
}

#[tokio::test]
async fn names_are_escaped() {
    let mut s = result("fpl_manager_team", json!({"entryId": 1000001})).await;
    s["entry"]["teamName"] = json!("<script>alert(1)</script> & \"co\"");
    s["starting"][0]["name"] = json!("<img src=x onerror=alert(1)>");
    let html = render("fpl_manager_team", "x\"><script>", &s).unwrap();
    assert_inert(&html);
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;co&quot;"));
    assert!(
        html.contains("viz-xscript-t"),
        "the id keeps only safe characters"
    );
}

#[tokio::test]
async fn league_table_captain_bars_player_bars_and_difficulty_strips() {
    let league = result("fpl_mini_league", json!({"leagueId": 900001})).await;
    let html = render("fpl_mini_league", "a", &league).unwrap();
    assert_inert(&html);
    assert_eq!(html.matches("<tr><td>").count(), 6);
    assert!(
        html.contains("viz-up") && html.contains("viz-down"),
        "{html}"
    );
    assert!(html.contains("<caption class=\"viz-caption\">Offline Test League"));

    let captain = result("fpl_captain_pick", json!({"entryId": 1000001})).await;
    let html = render("fpl_captain_pick", "b", &captain).unwrap();
    assert_inert(&html);
    assert!(html.contains("Captain candidates for gameweek 8"));
    assert!(
        html.matches("viz-part viz-part-0").count() >= 5,
        "a form segment per candidate"
    );

    let player = result(
        "fpl_player_data",
        json!({"playerQuery": "Haaland", "includeHistory": true, "includeFixtures": true}),
    )
    .await;
    let html = render("fpl_player_data", "c", &player).unwrap();
    assert_inert(&html);
    assert_eq!(
        html.matches("class=\"viz-bar\"").count(),
        5,
        "five gameweeks"
    );
    assert!(html.contains("data-viz=\"fdr\""));
    assert_eq!(html.matches("class=\"viz-fdr viz-fdr-").count(), 5);

    let difficulty = result(
        "fpl_fixture_difficulty",
        json!({"teamQuery": "all", "range": 4}),
    )
    .await;
    let html = render("fpl_fixture_difficulty", "d", &difficulty).unwrap();
    assert_inert(&html);
    assert_eq!(html.matches("<tr><th scope=\"row\">").count(), 20);

    let dream = result("fpl_dream_team", json!({})).await;
    let html = render("fpl_dream_team", "e", &dream).unwrap();
    assert_eq!(html.matches("class=\"viz-chip").count(), 11);
    assert!(html.contains("★"));
}

#[tokio::test]
async fn no_picture_for_errors_or_other_tools() {
    assert!(render("fpl_manager_team", "a", &json!({"error": "not_found"})).is_none());
    let s = result("fpl_get_gameweek", json!({})).await;
    assert!(render("fpl_get_gameweek", "a", &s).is_none());
    let p = result(
        "fpl_player_data",
        json!({"playerQuery": "Haaland", "includeFixtures": false}),
    )
    .await;
    assert!(render("fpl_player_data", "a", &p).is_none());
}
