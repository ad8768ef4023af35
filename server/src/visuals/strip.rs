//! Fixture-difficulty strips: one cell per match, coloured by FDR (1 easiest to 5 hardest),
//! as an HTML table whose cells say the opponent, home or away and the rating in text.

use serde_json::Value;

use super::markup::esc;

fn cell(f: &Value) -> String {
    let fdr = f["difficulty"].as_u64().unwrap_or(3).clamp(1, 5);
    let home = f["home"].as_bool().unwrap_or(false);
    let opp = f["opponent"]
        .as_str()
        .or_else(|| f["opponentShort"].as_str())
        .unwrap_or("?");
    format!(
        "<td class=\"viz-fdr viz-fdr-{fdr}\" title=\"difficulty {fdr}\">{}<span class=\"viz-ha\">{}</span><span class=\"viz-sr\">, difficulty {fdr}</span></td>",
        esc(opp),
        if home { "H" } else { "A" }
    )
}

fn table(id: &str, caption: &str, head: &[String], rows: &[(String, Vec<String>)]) -> String {
    let th: String = head
        .iter()
        .map(|h| format!("<th scope=\"col\">{}</th>", esc(h)))
        .collect();
    let body: String = rows
        .iter()
        .map(|(name, cells)| {
            format!(
                "<tr><th scope=\"row\">{}</th>{}</tr>",
                esc(name),
                cells.concat()
            )
        })
        .collect();
    format!(
        "<figure class=\"viz viz-strip\" data-viz=\"fdr\" id=\"viz-{id}-f\"><table class=\"viz-table viz-fdr-table\">\
<caption class=\"viz-caption\">{}</caption><thead><tr><th scope=\"col\"></th>{th}</tr></thead><tbody>{body}</tbody></table></figure>",
        esc(caption)
    )
}

/// A player's next fixtures (`fixtures` of `fpl_player_data`).
pub fn player_fixtures(id: &str, v: &Value) -> Option<String> {
    let fixtures = v["fixtures"].as_array().filter(|f| !f.is_empty())?;
    let name = v["player"]["name"].as_str().unwrap_or("Player");
    let head: Vec<String> = fixtures
        .iter()
        .map(|f| {
            f["gameweek"]
                .as_u64()
                .map(|g| format!("GW{g}"))
                .unwrap_or_else(|| "TBC".into())
        })
        .collect();
    let cells = fixtures.iter().map(cell).collect();
    let team = v["player"]["team"].as_str().unwrap_or("").to_string();
    Some(table(
        id,
        &format!("{name}: next fixtures by difficulty"),
        &head,
        &[(team, cells)],
    ))
}

/// The teams of `fpl_fixture_difficulty`, one strip each (at most 20).
pub fn teams(id: &str, v: &Value) -> Option<String> {
    let teams = v["teams"].as_array().filter(|t| !t.is_empty())?;
    let gameweeks: Vec<u64> = teams[0]["gameweeks"]
        .as_array()?
        .iter()
        .filter_map(|g| g["gameweek"].as_u64())
        .collect();
    let head: Vec<String> = gameweeks.iter().map(|g| format!("GW{g}")).collect();
    let rows: Vec<(String, Vec<String>)> = teams
        .iter()
        .take(20)
        .map(|t| {
            let cells = t["gameweeks"]
                .as_array()
                .map(|gws| {
                    gws.iter()
                        .map(|g| match g["fixtures"].as_array() {
                            Some(fx) if !fx.is_empty() => {
                                if fx.len() == 1 {
                                    cell(&fx[0])
                                } else {
                                    // A double gameweek: both matches in one cell.
                                    let inner: Vec<String> = fx
                                        .iter()
                                        .map(|f| cell(f).replace("<td", "<span").replace("</td>", "</span>"))
                                        .collect();
                                    format!("<td class=\"viz-double\">{}</td>", inner.concat())
                                }
                            }
                            _ => "<td class=\"viz-blank\">–<span class=\"viz-sr\">no match</span></td>".to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            (t["teamShort"].as_str().unwrap_or("?").to_string(), cells)
        })
        .collect();
    Some(table(id, "Fixture difficulty by gameweek", &head, &rows))
}
