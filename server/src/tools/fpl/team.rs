//! `fpl_team_data`: one club's league position and record (computed from finished
//! fixtures), recent form, upcoming fixtures, best players and injury list — or, with
//! `teamQuery` "all", the whole league table.
//!
//! Promises: the record and position come from the computed table, never from the API's
//! always-zero team fields; the injury list holds the squad's injured, doubtful and
//! suspended players with their news.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::fpl::league::{team_form, TableRow};
use crate::fpl::model::PlayerStatus;
use crate::fpl::{FplData, FplSource};
use crate::tools::fpl::player::upcoming;
use crate::tools::fpl::{
    availability, is_all, player_ref, raw_bootstrap_items, resolve_team, unavailable,
};
use crate::tools::input::{check_query, yes, ToolInput, MAX_QUERY_CHARS};
use crate::tools::{ToolError, ToolOutput};

pub const NAME: &str = "fpl_team_data";
pub const DESCRIPTION: &str = "Look up one Premier League club: league position and record \
(played, won, drawn, lost, goals for/against, points — computed from finished matches), recent \
form, upcoming fixtures with difficulty, top FPL players and injured/doubtful players. \
teamQuery \"all\" returns the full league table.";

/// Input of `fpl_team_data`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TeamDataInput {
    /// Team name, short name ("ARS") or nickname ("Spurs", "Man Utd"); "all" for the league
    /// table; at most 100 characters.
    #[schemars(length(max = MAX_QUERY_CHARS))]
    pub team_query: String,
    /// Include the next 5 fixtures with difficulty (default true).
    #[serde(default = "yes")]
    pub include_fixtures: bool,
    /// Include the top 5 players by points and the injury list (default true).
    #[serde(default = "yes")]
    pub include_players: bool,
    /// Include the last 5 results (default true).
    #[serde(default = "yes")]
    pub include_form: bool,
    /// Append the raw FPL API team object to the structured result.
    #[serde(default)]
    pub include_raw_data: bool,
}

impl ToolInput for TeamDataInput {
    fn validate(&self) -> Result<(), String> {
        check_query("teamQuery", &self.team_query)
    }
}

/// Structured form of a table row.
pub fn row_json(r: &TableRow) -> Value {
    json!({
        "position": r.position,
        "teamId": r.team,
        "name": r.name,
        "shortName": r.short_name,
        "played": r.played,
        "won": r.won,
        "drawn": r.drawn,
        "lost": r.lost,
        "goalsFor": r.goals_for,
        "goalsAgainst": r.goals_against,
        "goalDifference": r.goal_difference,
        "points": r.points,
        "form": r.form.iter().map(|o| o.letter()).collect::<String>(),
    })
}

fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

fn record_line(r: &TableRow, teams: usize) -> String {
    format!(
        "{} of {}: P{} W{} D{} L{}, GF {} GA {} GD {:+}, {} pts",
        ordinal(r.position),
        teams,
        r.played,
        r.won,
        r.drawn,
        r.lost,
        r.goals_for,
        r.goals_against,
        r.goal_difference,
        r.points
    )
}

/// Run the tool.
pub async fn run(source: &FplSource, input: TeamDataInput) -> Result<ToolOutput, ToolError> {
    let d = source.data().await.map_err(unavailable)?;
    if is_all(&input.team_query) {
        return Ok(table(&d, input.include_raw_data));
    }
    let team = match resolve_team(&d, &input.team_query) {
        Ok(t) => t,
        Err(out) => return Ok(out),
    };
    let mut lines = Vec::new();
    let mut structured = json!({});
    let name = d.team_name(team).to_string();
    match d.table_row(team) {
        Some(r) => {
            lines.push(format!(
                "{} ({}) — {}",
                name,
                d.team_short(team),
                record_line(r, d.teams().len())
            ));
            structured["team"] = row_json(r);
        }
        None => {
            lines.push(format!("{} ({})", name, d.team_short(team)));
            structured["team"] = json!({"teamId": team, "name": name});
        }
    }
    if let Some(t) = d.team(team) {
        structured["team"]["strength"] = json!(t.strength);
    }

    if input.include_form {
        let form = team_form(team, d.fixtures(), 5);
        if form.is_empty() {
            lines.push("Form: no matches played yet.".to_string());
        } else {
            let letters: Vec<&str> = form.iter().map(|f| f.outcome.letter()).collect();
            let detail: Vec<String> = form
                .iter()
                .map(|f| {
                    format!(
                        "GW{} {} ({}) {} {}-{}",
                        f.gameweek.unwrap_or(0),
                        d.team_short(f.opponent),
                        if f.home { "H" } else { "A" },
                        f.outcome.letter(),
                        f.goals_for,
                        f.goals_against
                    )
                })
                .collect();
            lines.push(format!(
                "Form (last {}, oldest first): {} — {}",
                form.len(),
                letters.join(" "),
                detail.join(", ")
            ));
        }
        structured["form"] = json!(form
            .iter()
            .map(|f| json!({
                "gameweek": f.gameweek,
                "opponent": d.team_short(f.opponent),
                "home": f.home,
                "goalsFor": f.goals_for,
                "goalsAgainst": f.goals_against,
                "result": f.outcome.letter(),
            }))
            .collect::<Vec<_>>());
    }

    if input.include_fixtures {
        let (text, fixtures) = upcoming(&d, team, 5);
        lines.push(text);
        structured["fixtures"] = json!(fixtures);
    }

    if input.include_players {
        let squad = d.squad(team);
        let top: Vec<_> = squad.iter().take(5).collect();
        lines.push(format!(
            "Top players: {}",
            top.iter()
                .map(|e| format!(
                    "{} {} {} {} pts",
                    e.web_name, e.element_type, e.now_cost, e.total_points
                ))
                .collect::<Vec<_>>()
                .join("; ")
        ));
        structured["topPlayers"] = json!(top
            .iter()
            .map(|e| {
                let mut v = player_ref(&d, e);
                v["totalPoints"] = json!(e.total_points);
                v["goals"] = json!(e.goals_scored);
                v["assists"] = json!(e.assists);
                v["form"] = json!(e.form);
                v
            })
            .collect::<Vec<_>>());
        let flagged: Vec<_> = squad
            .iter()
            .filter(|e| {
                matches!(
                    e.status,
                    PlayerStatus::Injured | PlayerStatus::Doubtful | PlayerStatus::Suspended
                )
            })
            .collect();
        if flagged.is_empty() {
            lines.push("Injuries and doubts: none reported.".to_string());
        } else {
            lines.push(format!(
                "Injuries and doubts: {}",
                flagged
                    .iter()
                    .map(|e| format!("{} ({}) {}", e.web_name, e.element_type, availability(e)))
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
        structured["injuries"] = json!(flagged
            .iter()
            .map(|e| {
                let mut v = player_ref(&d, e);
                v["status"] = json!(e.status.label());
                v["news"] = json!(e.news);
                v["chanceOfPlayingNextRound"] = json!(e.chance_of_playing_next_round);
                v
            })
            .collect::<Vec<_>>());
    }
    if input.include_raw_data {
        structured["raw"] = raw_bootstrap_items(&d, "teams", &[team]);
    }
    Ok(ToolOutput::ok(lines.join("\n"), structured))
}

fn table(d: &FplData, raw: bool) -> ToolOutput {
    let mut lines = vec![format!(
        "Premier League table (computed from {} finished matches):",
        d.fixtures().iter().filter(|f| f.result().is_some()).count()
    )];
    lines.push("Pos Team P W D L GF GA GD Pts Form".to_string());
    for r in d.table() {
        lines.push(format!(
            "{} {} {} {} {} {} {} {} {:+} {} {}",
            r.position,
            r.name,
            r.played,
            r.won,
            r.drawn,
            r.lost,
            r.goals_for,
            r.goals_against,
            r.goal_difference,
            r.points,
            r.form.iter().map(|o| o.letter()).collect::<String>()
        ));
    }
    let mut structured = json!({ "table": d.table().iter().map(row_json).collect::<Vec<_>>() });
    if raw {
        let ids: Vec<u32> = d.teams().iter().map(|t| t.id).collect();
        structured["raw"] = raw_bootstrap_items(d, "teams", &ids);
    }
    ToolOutput::ok(lines.join("\n"), structured)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals() {
        assert_eq!(ordinal(1), "1st");
        assert_eq!(ordinal(2), "2nd");
        assert_eq!(ordinal(3), "3rd");
        assert_eq!(ordinal(11), "11th");
        assert_eq!(ordinal(12), "12th");
        assert_eq!(ordinal(20), "20th");
        assert_eq!(ordinal(22), "22nd");
    }
}
