//! Fixture-difficulty strips: one cell per match, coloured by FDR (1 easiest to 5 hardest),
//! as an HTML table whose cells say the opponent, home or away and the rating in text.

use super::markup::esc;
use crate::tools::fpl::difficulty::{DifficultyAnswer, RunMatch};
use crate::tools::fpl::player::PlayerAnswer;

fn cell(difficulty: u8, home: bool, opponent: &str) -> String {
    let fdr = difficulty.clamp(1, 5);
    format!(
        "<td class=\"viz-fdr viz-fdr-{fdr}\" title=\"difficulty {fdr}\">{}<span class=\"viz-ha\">{}</span><span class=\"viz-sr\">, difficulty {fdr}</span></td>",
        esc(opponent),
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
pub fn player_fixtures(id: &str, v: &PlayerAnswer) -> Option<String> {
    let fixtures = v.fixtures.as_deref().filter(|f| !f.is_empty())?;
    let head: Vec<String> = fixtures
        .iter()
        .map(|f| {
            f.gameweek
                .map(|g| format!("GW{g}"))
                .unwrap_or_else(|| "TBC".into())
        })
        .collect();
    let cells = fixtures
        .iter()
        .map(|f| cell(f.difficulty, f.home, &f.opponent))
        .collect();
    Some(table(
        id,
        &format!("{}: next fixtures by difficulty", v.player.name),
        &head,
        &[(v.player.team.clone(), cells)],
    ))
}

/// The teams of `fpl_fixture_difficulty`, one strip each (at most 20).
pub fn teams(id: &str, v: &DifficultyAnswer) -> Option<String> {
    let first = v.teams.first()?;
    let head: Vec<String> = first
        .gameweeks
        .iter()
        .map(|g| format!("GW{}", g.gameweek))
        .collect();
    let match_cell = |f: &RunMatch| cell(f.difficulty, f.home, &f.opponent);
    let rows: Vec<(String, Vec<String>)> = v
        .teams
        .iter()
        .take(20)
        .map(|t| {
            let cells = t
                .gameweeks
                .iter()
                .map(|g| match g.fixtures.as_slice() {
                    [] => "<td class=\"viz-blank\">–<span class=\"viz-sr\">no match</span></td>"
                        .to_string(),
                    [one] => match_cell(one),
                    many => {
                        // A double gameweek: both matches in one cell.
                        let inner: Vec<String> = many
                            .iter()
                            .map(|f| {
                                match_cell(f)
                                    .replace("<td", "<span")
                                    .replace("</td>", "</span>")
                            })
                            .collect();
                        format!("<td class=\"viz-double\">{}</td>", inner.concat())
                    }
                })
                .collect();
            (t.team_short.clone(), cells)
        })
        .collect();
    Some(table(id, "Fixture difficulty by gameweek", &head, &rows))
}
