//! `fpl_team_data`: one club's league position and record (computed from finished
//! fixtures), recent form, upcoming fixtures, best players and injury list — or, with
//! `teamQuery` "all", the whole league table.
//!
//! Promises: the record and position come from the computed table, never from the API's
//! always-zero team fields; the injury list holds the squad's injured, doubtful and
//! suspended players with their news.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::fpl::league::{team_form, FormEntry, TableRow};
use crate::fpl::model::PlayerStatus;
use crate::fpl::{FplData, FplSource};
use crate::tools::fpl::player::{upcoming, UpcomingFixture};
use crate::tools::fpl::typed::PlayerBrief;
use crate::tools::fpl::{availability, is_all, raw_bootstrap_items, resolve_team, unavailable};
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

/// A club's line of the league table (computed from finished matches).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TeamStanding {
    /// Place in the table (null when the club has no line yet).
    pub position: Option<u32>,
    pub team_id: u32,
    pub name: String,
    pub short_name: String,
    pub played: u32,
    pub won: u32,
    pub drawn: u32,
    pub lost: u32,
    pub goals_for: u32,
    pub goals_against: u32,
    pub goal_difference: i32,
    pub points: u32,
    /// Recent results, oldest first, e.g. "WWDLW".
    pub form: String,
    /// The FPL strength rating (1-5), in a single-club answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strength: Option<u8>,
}

impl TeamStanding {
    fn of(r: &TableRow) -> Self {
        Self {
            position: Some(r.position),
            team_id: r.team,
            name: r.name.clone(),
            short_name: r.short_name.clone(),
            played: r.played,
            won: r.won,
            drawn: r.drawn,
            lost: r.lost,
            goals_for: r.goals_for,
            goals_against: r.goals_against,
            goal_difference: r.goal_difference,
            points: r.points,
            form: r.form.iter().map(|o| o.letter()).collect(),
            strength: None,
        }
    }
}

/// A match of the club's recent form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FormMatch {
    pub gameweek: Option<u32>,
    pub opponent: String,
    pub home: bool,
    pub goals_for: u32,
    pub goals_against: u32,
    /// W, D or L.
    pub result: String,
}

impl FormMatch {
    pub fn of(d: &FplData, f: &FormEntry) -> Self {
        Self {
            gameweek: f.gameweek,
            opponent: d.team_short(f.opponent).to_string(),
            home: f.home,
            goals_for: f.goals_for,
            goals_against: f.goals_against,
            result: f.outcome.letter().to_string(),
        }
    }
}

/// One of the club's best FPL players.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TeamPlayer {
    #[serde(flatten)]
    pub player: PlayerBrief,
    pub total_points: i32,
    pub goals: i32,
    pub assists: i32,
    pub form: f64,
}

/// An injured, doubtful or suspended player.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FlaggedPlayer {
    #[serde(flatten)]
    pub player: PlayerBrief,
    pub status: String,
    pub news: String,
    pub chance_of_playing_next_round: Option<u8>,
}

/// `fpl_team_data`'s answer: one club, or (teamQuery "all") the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TeamAnswer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<TeamStanding>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<Vec<TeamStanding>>,
    /// The last five results (with `includeForm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<Vec<FormMatch>>,
    /// The next five matches (with `includeFixtures`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixtures: Option<Vec<UpcomingFixture>>,
    /// With `includePlayers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_players: Option<Vec<TeamPlayer>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub injuries: Option<Vec<FlaggedPlayer>>,
    /// The raw FPL API team objects (with `includeRawData`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<Value>,
}

impl TeamAnswer {
    fn empty() -> Self {
        Self {
            team: None,
            table: None,
            form: None,
            fixtures: None,
            top_players: None,
            injuries: None,
            raw: None,
        }
    }
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
    let mut answer = TeamAnswer::empty();
    let name = d.team_name(team).to_string();
    match d.table_row(team) {
        Some(r) => {
            lines.push(format!(
                "{} ({}) — {}",
                name,
                d.team_short(team),
                record_line(r, d.teams().len())
            ));
            answer.team = Some(TeamStanding::of(r));
        }
        None => {
            lines.push(format!("{} ({})", name, d.team_short(team)));
            answer.team = Some(TeamStanding {
                position: None,
                team_id: team,
                name: name.clone(),
                short_name: d.team_short(team).to_string(),
                played: 0,
                won: 0,
                drawn: 0,
                lost: 0,
                goals_for: 0,
                goals_against: 0,
                goal_difference: 0,
                points: 0,
                form: String::new(),
                strength: None,
            });
        }
    }
    if let (Some(t), Some(standing)) = (d.team(team), answer.team.as_mut()) {
        standing.strength = t.strength;
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
        answer.form = Some(form.iter().map(|f| FormMatch::of(&d, f)).collect());
    }

    if input.include_fixtures {
        let (text, fixtures) = upcoming(&d, team, 5);
        lines.push(text);
        answer.fixtures = Some(fixtures);
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
        answer.top_players = Some(
            top.iter()
                .map(|e| TeamPlayer {
                    player: PlayerBrief::of(&d, e),
                    total_points: e.total_points,
                    goals: e.goals_scored,
                    assists: e.assists,
                    form: e.form,
                })
                .collect(),
        );
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
        answer.injuries = Some(
            flagged
                .iter()
                .map(|e| FlaggedPlayer {
                    player: PlayerBrief::of(&d, e),
                    status: e.status.label().to_string(),
                    news: e.news.clone(),
                    chance_of_playing_next_round: e.chance_of_playing_next_round,
                })
                .collect(),
        );
    }
    if input.include_raw_data {
        answer.raw = Some(raw_bootstrap_items(&d, "teams", &[team]));
    }
    Ok(ToolOutput::typed(lines.join("\n"), &answer))
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
    let mut answer = TeamAnswer::empty();
    answer.table = Some(d.table().iter().map(TeamStanding::of).collect());
    if raw {
        let ids: Vec<u32> = d.teams().iter().map(|t| t.id).collect();
        answer.raw = Some(raw_bootstrap_items(d, "teams", &ids));
    }
    ToolOutput::typed(lines.join("\n"), &answer)
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
