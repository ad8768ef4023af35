//! `fpl_player_data`: one player's price, availability, season stats, upcoming fixtures and
//! (on request) per-gameweek history.
//!
//! Promises: the player is found by name or id, narrowed by team and position when given;
//! an ambiguous or unknown name is an `is_error` answer with candidates or suggestions;
//! history that the source does not have (end-of-season snapshot) is reported as not
//! available, never as a failure.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::fpl::model::Position;
use crate::fpl::{FplData, FplSource};
use crate::tools::fpl::{
    availability, dec1, dec2, kickoff, label, price_change, raw_players, resolve_player,
    resolve_team, thousands, unavailable, PlayerView, PositionInput,
};
use crate::tools::input::{
    check_length, check_query, string_or_number, yes, ToolInput, MAX_QUERY_CHARS,
};
use crate::tools::{ToolError, ToolOutput};

pub const NAME: &str = "fpl_player_data";
pub const DESCRIPTION: &str = "Look up one Fantasy Premier League player: price, availability \
(status, injury news, chance of playing), season stats (points, goals, assists, minutes, bonus, \
xG/xA, clean sheets, saves), form, ownership, upcoming fixtures with difficulty and optionally \
per-gameweek history. Names are matched ignoring case and accents; ambiguous names return the \
candidates.";

/// Input of `fpl_player_data`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlayerDataInput {
    /// Player name (web name, surname or full name; accents optional) or FPL element id; at
    /// most 100 characters.
    #[serde(deserialize_with = "string_or_number")]
    #[schemars(with = "String", length(max = MAX_QUERY_CHARS))]
    pub player_query: String,
    /// Only consider players of this team (FPL team id, 1-20).
    #[serde(default)]
    #[schemars(range(min = 1, max = 20))]
    pub team_id: Option<u32>,
    /// Only consider players of this team (name, short name or nickname, e.g. "Spurs"); at
    /// most 100 characters.
    #[serde(default)]
    #[schemars(length(max = MAX_QUERY_CHARS))]
    pub team_name: Option<String>,
    /// Only consider players of this position.
    #[serde(default)]
    pub position: Option<PositionInput>,
    /// Include this season's per-gameweek history (last 5 gameweeks) and past seasons.
    #[serde(default)]
    pub include_history: bool,
    /// Include the next 5 fixtures with difficulty (default true).
    #[serde(default = "yes")]
    pub include_fixtures: bool,
    /// Append the raw FPL API objects to the structured result.
    #[serde(default)]
    pub include_raw_data: bool,
}

impl ToolInput for PlayerDataInput {
    fn validate(&self) -> Result<(), String> {
        check_query("playerQuery", &self.player_query)?;
        match &self.team_name {
            Some(name) => check_length("teamName", name),
            None => Ok(()),
        }
    }
}

/// One of a team's next matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpcomingFixture {
    pub gameweek: Option<u32>,
    /// Opponent's short name.
    pub opponent: String,
    pub opponent_name: String,
    pub home: bool,
    pub difficulty: u8,
    pub kickoff: Option<DateTime<Utc>>,
    pub kickoff_text: String,
}

/// One of the player's recent gameweeks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GameweekLine {
    pub gameweek: u32,
    pub opponent: String,
    pub home: bool,
    pub points: i32,
    pub minutes: i32,
    pub goals: i32,
    pub assists: i32,
    pub bonus: i32,
    pub expected_goals: f64,
    pub expected_assists: f64,
}

/// One past season.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PastSeasonLine {
    pub season: String,
    pub points: i32,
    pub goals: i32,
    pub assists: i32,
    pub minutes: i32,
    pub start_price: f64,
    pub end_price: f64,
}

/// `fpl_player_data`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlayerAnswer {
    pub player: PlayerView,
    /// The next five matches (with `includeFixtures`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixtures: Option<Vec<UpcomingFixture>>,
    /// Whether per-gameweek history exists in this data (with `includeHistory`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_available: Option<bool>,
    /// The last five gameweeks played.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<GameweekLine>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub past_seasons: Option<Vec<PastSeasonLine>>,
    /// The raw element-summary (with `includeHistory` and `includeRawData`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_history: Option<Value>,
    /// The raw bootstrap player object (with `includeRawData`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<Value>,
}

/// Run the tool.
pub async fn run(source: &FplSource, input: PlayerDataInput) -> Result<ToolOutput, ToolError> {
    let d = source.data().await.map_err(unavailable)?;
    let team_filter = match (&input.team_id, &input.team_name) {
        (Some(id), _) => Some(*id),
        (None, Some(name)) => match resolve_team(&d, name) {
            Ok(id) => Some(id),
            Err(out) => return Ok(out),
        },
        (None, None) => None,
    };
    let pos: Option<Position> = input.position.map(Into::into);
    let e = match resolve_player(&d, &input.player_query, |e| {
        team_filter.is_none_or(|t| e.team == t) && pos.is_none_or(|p| e.element_type == p)
    }) {
        Ok(e) => e,
        Err(out) => return Ok(out),
    };

    let mut lines = Vec::new();
    lines.push(format!(
        "{} ({}) — {} {}, {} ({}), selected by {}%",
        e.full_name(),
        e.web_name,
        d.team_name(e.team),
        e.element_type,
        e.now_cost,
        if e.cost_change_start == 0 {
            "unchanged since the start".to_string()
        } else {
            format!("{} since the start", price_change(e.cost_change_start))
        },
        dec1(e.selected_by_percent)
    ));
    lines.push(format!("Availability: {}", availability(e)));
    let mut season = format!(
        "Season: {} pts (PPG {}, form {}), {} min in {} starts, {} goals, {} assists, {} bonus, xG {}, xA {}, {} clean sheets",
        e.total_points,
        dec1(e.points_per_game),
        dec1(e.form),
        e.minutes,
        e.starts,
        e.goals_scored,
        e.assists,
        e.bonus,
        dec2(e.expected_goals),
        dec2(e.expected_assists),
        e.clean_sheets
    );
    if e.element_type == Position::Goalkeeper {
        season.push_str(&format!(", {} saves", e.saves));
    }
    season.push_str(&format!(
        ", {} yellow / {} red cards",
        e.yellow_cards, e.red_cards
    ));
    lines.push(season);
    if let Some(cur) = d.current_event() {
        lines.push(format!(
            "GW{}: {} pts; transfers this gameweek +{} / -{}",
            cur.id,
            e.event_points,
            thousands(e.transfers_in_event),
            thousands(e.transfers_out_event)
        ));
    }

    let mut answer = PlayerAnswer {
        player: PlayerView::of(&d, e),
        fixtures: None,
        history_available: None,
        history: None,
        past_seasons: None,
        raw_history: None,
        raw: None,
    };

    if input.include_fixtures {
        let (text, fixtures) = upcoming(&d, e.team, 5);
        lines.push(text);
        answer.fixtures = Some(fixtures);
    }

    if input.include_history {
        match source.element_summary(e.id).await {
            Ok(summary) => {
                let recent: Vec<_> = summary.history.iter().rev().take(5).rev().collect();
                let mut text = String::from("Last gameweeks:");
                for h in &recent {
                    text.push_str(&format!(
                        " GW{} vs {} ({}) {} pts, {}', {}G {}A;",
                        h.round,
                        d.team_short(h.opponent_team),
                        if h.was_home { "H" } else { "A" },
                        h.total_points,
                        h.minutes,
                        h.goals_scored,
                        h.assists
                    ));
                }
                if recent.is_empty() {
                    text.push_str(" none played yet.");
                }
                lines.push(text.trim_end_matches(';').to_string());
                if let Some(last) = summary.history_past.last() {
                    lines.push(format!(
                        "Last season ({}): {} pts, {} goals, {} assists, ended at {}",
                        last.season_name,
                        last.total_points,
                        last.goals_scored,
                        last.assists,
                        last.end_cost
                    ));
                }
                answer.history_available = Some(true);
                answer.history = Some(
                    recent
                        .iter()
                        .map(|h| GameweekLine {
                            gameweek: h.round,
                            opponent: d.team_short(h.opponent_team).to_string(),
                            home: h.was_home,
                            points: h.total_points,
                            minutes: h.minutes,
                            goals: h.goals_scored,
                            assists: h.assists,
                            bonus: h.bonus,
                            expected_goals: h.expected_goals,
                            expected_assists: h.expected_assists,
                        })
                        .collect(),
                );
                answer.past_seasons = Some(
                    summary
                        .history_past
                        .iter()
                        .map(|p| PastSeasonLine {
                            season: p.season_name.clone(),
                            points: p.total_points,
                            goals: p.goals_scored,
                            assists: p.assists,
                            minutes: p.minutes,
                            start_price: p.start_cost.millions(),
                            end_price: p.end_cost.millions(),
                        })
                        .collect(),
                );
                if input.include_raw_data {
                    answer.raw_history = summary.raw_json().ok();
                }
            }
            Err(err) if err.is_not_available() => {
                lines.push(
                    "Per-gameweek history is not available in this data snapshot.".to_string(),
                );
                answer.history_available = Some(false);
            }
            Err(err) => return Err(unavailable(err)),
        }
    }

    if input.include_raw_data {
        answer.raw = Some(raw_players(&d, &[e.id]));
    }
    Ok(ToolOutput::typed(lines.join("\n"), &answer))
}

/// The team's next `n` matches as one line and as [`UpcomingFixture`]s.
pub fn upcoming(d: &FplData, team: u32, n: usize) -> (String, Vec<UpcomingFixture>) {
    let fixtures: Vec<_> = d.upcoming_fixtures(team).into_iter().take(n).collect();
    if fixtures.is_empty() {
        return (
            "Next fixtures: none — the season's fixtures are all played.".to_string(),
            Vec::new(),
        );
    }
    let typed: Vec<UpcomingFixture> = fixtures
        .iter()
        .map(|f| UpcomingFixture {
            gameweek: f.event,
            opponent: d.team_short(f.opponent_of(team)).to_string(),
            opponent_name: d.team_name(f.opponent_of(team)).to_string(),
            home: f.team_h == team,
            difficulty: f.difficulty_for(team),
            kickoff: f.kickoff_time,
            kickoff_text: kickoff(f.kickoff_time),
        })
        .collect();
    let parts: Vec<String> = typed
        .iter()
        .map(|f| {
            format!(
                "{} {} ({}) FDR {}",
                f.gameweek
                    .map(|g| format!("GW{g}"))
                    .unwrap_or_else(|| "TBC".to_string()),
                f.opponent,
                if f.home { "H" } else { "A" },
                f.difficulty
            )
        })
        .collect();
    (format!("Next fixtures: {}", parts.join(", ")), typed)
}

/// Used by other tools: "Haaland (MCI)".
pub fn short_label(d: &FplData, id: u32) -> String {
    d.player(id)
        .map(|e| label(d, e))
        .unwrap_or_else(|| format!("player {id}"))
}
