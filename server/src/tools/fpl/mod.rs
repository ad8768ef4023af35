//! The sixteen FPL tools, one file each, and what they share: resolving names into one player
//! or team (or an `is_error` output with candidates / suggestions), the player summary JSON,
//! and the formatting of prices, availability and fixtures.
//!
//! Promises: every answer's numbers come from the data; prices print as `£x.ym`; the API's
//! always-zero team fields are never read; `structured` carries the same facts as the text.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::fpl::model::{Element, Fixture, PlayerStatus, Position};
use crate::fpl::{FplData, FplError, NameMatch};
use crate::tools::{ToolError, ToolOutput};

pub mod captain_pick;
pub mod comparison;
pub mod difficulty;
pub mod dream_team;
pub mod fixture;
pub mod form;
pub mod gameweek;
pub mod league;
pub mod live_gameweek;
pub mod manager_history;
pub mod manager_team;
pub mod mini_league;
pub mod outlook;
pub mod player;
pub mod price_changes;
pub mod team;
pub mod transfer_suggestions;
pub mod typed;

/// A position filter as tools accept it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum PositionInput {
    GKP,
    DEF,
    MID,
    FWD,
}

impl From<PositionInput> for Position {
    fn from(p: PositionInput) -> Self {
        match p {
            PositionInput::GKP => Position::Goalkeeper,
            PositionInput::DEF => Position::Defender,
            PositionInput::MID => Position::Midfielder,
            PositionInput::FWD => Position::Forward,
        }
    }
}

/// Maps a data-source failure to the backend error (the source is down or broken).
pub fn unavailable(e: FplError) -> ToolError {
    ToolError::Unavailable(e.to_string())
}

/// True when a query asks for every team / player rather than one.
pub fn is_all(query: &str) -> bool {
    matches!(
        query.trim().to_ascii_lowercase().as_str(),
        "all" | "*" | "every team" | "all teams" | "league" | "table"
    )
}

/// "Haaland (MCI)".
pub fn label(d: &FplData, e: &Element) -> String {
    format!("{} ({})", e.web_name, d.team_short(e.team))
}

/// "Haaland (MCI, FWD, id 430)".
pub fn candidate_label(d: &FplData, e: &Element) -> String {
    format!(
        "{} ({}, {}, id {})",
        e.web_name,
        d.team_short(e.team),
        e.element_type,
        e.id
    )
}

/// Compact player identity for structured output.
pub fn player_ref(d: &FplData, e: &Element) -> Value {
    json!({
        "id": e.id,
        "name": e.web_name,
        "fullName": e.full_name(),
        "team": d.team_short(e.team),
        "teamName": d.team_name(e.team),
        "position": e.element_type.short(),
        "price": e.now_cost.millions(),
        "priceText": e.now_cost.to_string(),
    })
}

/// Every season fact of a player, for structured output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlayerView {
    pub id: u32,
    pub name: String,
    pub full_name: String,
    /// Club short name.
    pub team: String,
    pub team_name: String,
    pub team_id: u32,
    /// GKP, DEF, MID or FWD.
    pub position: String,
    /// £m.
    pub price: f64,
    /// "£14.5m".
    pub price_text: String,
    pub price_change_since_start: f64,
    pub price_change_this_gameweek: f64,
    /// available, doubtful, injured, suspended, unavailable, not in squad or unknown.
    pub status: String,
    pub news: String,
    pub news_added: Option<DateTime<Utc>>,
    pub chance_of_playing_next_round: Option<u8>,
    pub chance_of_playing_this_round: Option<u8>,
    /// One sentence on whether he can play.
    pub availability: String,
    pub total_points: i32,
    pub event_points: i32,
    pub form: f64,
    pub points_per_game: f64,
    pub selected_by_percent: f64,
    pub minutes: i32,
    pub starts: i32,
    pub goals: i32,
    pub assists: i32,
    pub clean_sheets: i32,
    pub goals_conceded: i32,
    pub own_goals: i32,
    pub penalties_saved: i32,
    pub penalties_missed: i32,
    pub yellow_cards: i32,
    pub red_cards: i32,
    pub saves: i32,
    pub bonus: i32,
    pub bps: i32,
    pub defensive_contribution: i32,
    pub expected_goals: f64,
    pub expected_assists: f64,
    pub expected_goal_involvements: f64,
    pub expected_goals_conceded: f64,
    pub ict_index: f64,
    pub transfers_in_event: u64,
    pub transfers_out_event: u64,
    pub expected_points_next: Option<f64>,
}

impl PlayerView {
    pub fn of(d: &FplData, e: &Element) -> Self {
        Self {
            id: e.id,
            name: e.web_name.clone(),
            full_name: e.full_name(),
            team: d.team_short(e.team).to_string(),
            team_name: d.team_name(e.team).to_string(),
            team_id: e.team,
            position: e.element_type.short().to_string(),
            price: e.now_cost.millions(),
            price_text: e.now_cost.to_string(),
            price_change_since_start: f64::from(e.cost_change_start) / 10.0,
            price_change_this_gameweek: f64::from(e.cost_change_event) / 10.0,
            status: e.status.label().to_string(),
            news: e.news.clone(),
            news_added: e.news_added,
            chance_of_playing_next_round: e.chance_of_playing_next_round,
            chance_of_playing_this_round: e.chance_of_playing_this_round,
            availability: availability(e),
            total_points: e.total_points,
            event_points: e.event_points,
            form: e.form,
            points_per_game: e.points_per_game,
            selected_by_percent: e.selected_by_percent,
            minutes: e.minutes,
            starts: e.starts,
            goals: e.goals_scored,
            assists: e.assists,
            clean_sheets: e.clean_sheets,
            goals_conceded: e.goals_conceded,
            own_goals: e.own_goals,
            penalties_saved: e.penalties_saved,
            penalties_missed: e.penalties_missed,
            yellow_cards: e.yellow_cards,
            red_cards: e.red_cards,
            saves: e.saves,
            bonus: e.bonus,
            bps: e.bps,
            defensive_contribution: e.defensive_contribution,
            expected_goals: e.expected_goals,
            expected_assists: e.expected_assists,
            expected_goal_involvements: e.expected_goal_involvements,
            expected_goals_conceded: e.expected_goals_conceded,
            ict_index: e.ict_index,
            transfers_in_event: e.transfers_in_event,
            transfers_out_event: e.transfers_out_event,
            expected_points_next: e.ep_next,
        }
    }
}

/// One sentence on whether a player can play.
pub fn availability(e: &Element) -> String {
    let chance = e
        .chance_of_playing_next_round
        .map(|c| format!(" ({c}% chance of playing next round)"))
        .unwrap_or_default();
    let news = if e.news.trim().is_empty() {
        String::new()
    } else {
        let added = e
            .news_added
            .map(|t| format!(", {}", t.format("%-d %b %Y")))
            .unwrap_or_default();
        format!(" — \"{}\"{}", e.news.trim(), added)
    };
    match e.status {
        PlayerStatus::Available if e.chance_of_playing_next_round.is_some_and(|c| c < 100) => {
            format!("Available but flagged{chance}{news}")
        }
        PlayerStatus::Available => "Available, no injury news".to_string(),
        s => {
            let mut label = s.label().to_string();
            if let Some(first) = label.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
            format!("{label}{chance}{news}")
        }
    }
}

/// "1,234,567".
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "+£0.5m" / "-£0.2m" / "£0.0m" for a change in tenths.
pub fn price_change(tenths: i32) -> String {
    let sign = match tenths.signum() {
        1 => "+",
        -1 => "-",
        _ => "",
    };
    let abs = tenths.unsigned_abs();
    format!("{sign}£{}.{}m", abs / 10, abs % 10)
}

/// "Sat 18 Oct 14:00 UTC" or "date to be confirmed".
pub fn kickoff(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%a %-d %b %H:%M UTC").to_string())
        .unwrap_or_else(|| "date to be confirmed".to_string())
}

/// "Arsenal 2-0 Fulham" or "Arsenal v Fulham".
pub fn fixture_line(d: &FplData, f: &Fixture) -> String {
    match f.result() {
        Some((h, a)) => format!(
            "{} {h}-{a} {}",
            d.team_name(f.team_h),
            d.team_name(f.team_a)
        ),
        None => format!("{} v {}", d.team_name(f.team_h), d.team_name(f.team_a)),
    }
}

/// A fixture in structured output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FixtureView {
    pub id: u32,
    pub gameweek: Option<u32>,
    pub kickoff: Option<DateTime<Utc>>,
    pub kickoff_text: String,
    pub home: String,
    pub home_short: String,
    pub home_id: u32,
    pub away: String,
    pub away_short: String,
    pub away_id: u32,
    pub home_difficulty: u8,
    pub away_difficulty: u8,
    pub finished: bool,
    pub home_score: Option<u32>,
    pub away_score: Option<u32>,
}

impl FixtureView {
    pub fn of(d: &FplData, f: &Fixture) -> Self {
        Self {
            id: f.id,
            gameweek: f.event,
            kickoff: f.kickoff_time,
            kickoff_text: kickoff(f.kickoff_time),
            home: d.team_name(f.team_h).to_string(),
            home_short: d.team_short(f.team_h).to_string(),
            home_id: f.team_h,
            away: d.team_name(f.team_a).to_string(),
            away_short: d.team_short(f.team_a).to_string(),
            away_id: f.team_a,
            home_difficulty: f.team_h_difficulty,
            away_difficulty: f.team_a_difficulty,
            finished: f.result().is_some(),
            home_score: f.team_h_score,
            away_score: f.team_a_score,
        }
    }
}

/// Resolves a player query, optionally among players passing `keep`; an unknown or
/// ambiguous name becomes an `is_error` output listing suggestions or candidates.
pub fn resolve_player<'a>(
    d: &'a FplData,
    query: &str,
    keep: impl Fn(&Element) -> bool,
) -> Result<&'a Element, ToolOutput> {
    let m = d
        .names()
        .match_player_where(query, |id| d.player(id).is_some_and(&keep));
    match m {
        NameMatch::Exact(id) => d.player(id).ok_or_else(|| not_found_player(d, query, &[])),
        NameMatch::Ambiguous(ids) => {
            let shown: Vec<&Element> = ids.iter().filter_map(|id| d.player(*id)).take(8).collect();
            let mut text = format!(
                "'{}' matches {} players: {}",
                query.trim(),
                ids.len(),
                shown
                    .iter()
                    .map(|e| candidate_label(d, e))
                    .collect::<Vec<_>>()
                    .join("; ")
            );
            if ids.len() > shown.len() {
                text.push_str(&format!(" and {} more", ids.len() - shown.len()));
            }
            text.push_str(". Which one? Use the full name, the team, or the id.");
            Err(ToolOutput::error(
                text,
                json!({
                    "error": "ambiguous",
                    "kind": "player",
                    "query": query,
                    "candidates": shown.iter().map(|e| player_ref(d, e)).collect::<Vec<_>>(),
                }),
            ))
        }
        NameMatch::NotFound(ids) => Err(not_found_player(d, query, &ids)),
    }
}

fn not_found_player(d: &FplData, query: &str, suggestions: &[u32]) -> ToolOutput {
    let sugg: Vec<&Element> = suggestions.iter().filter_map(|id| d.player(*id)).collect();
    let mut text = format!("No player matches '{}'.", query.trim());
    if !sugg.is_empty() {
        text.push_str(&format!(
            " Did you mean: {}?",
            sugg.iter()
                .map(|e| label(d, e))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    ToolOutput::error(
        text,
        json!({
            "error": "not_found",
            "kind": "player",
            "query": query,
            "suggestions": sugg.iter().map(|e| player_ref(d, e)).collect::<Vec<_>>(),
        }),
    )
}

/// Resolves a team query; unknown or ambiguous names become `is_error` outputs.
pub fn resolve_team(d: &FplData, query: &str) -> Result<u32, ToolOutput> {
    let team_ref = |id: u32| json!({"id": id, "name": d.team_name(id), "short": d.team_short(id)});
    match d.names().match_team(query) {
        NameMatch::Exact(id) if d.team(id).is_some() => Ok(id),
        NameMatch::Exact(_) => Err(ToolOutput::error(
            format!("No team matches '{}'.", query.trim()),
            json!({"error": "not_found", "kind": "team", "query": query, "suggestions": []}),
        )),
        NameMatch::Ambiguous(ids) => Err(ToolOutput::error(
            format!(
                "'{}' matches several teams: {}. Which one?",
                query.trim(),
                ids.iter()
                    .map(|id| d.team_name(*id).to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            json!({"error": "ambiguous", "kind": "team", "query": query,
                   "candidates": ids.iter().map(|id| team_ref(*id)).collect::<Vec<_>>()}),
        )),
        NameMatch::NotFound(ids) => {
            let mut text = format!("No team matches '{}'.", query.trim());
            if !ids.is_empty() {
                text.push_str(&format!(
                    " Did you mean: {}?",
                    ids.iter()
                        .map(|id| d.team_name(*id).to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            Err(ToolOutput::error(
                text,
                json!({"error": "not_found", "kind": "team", "query": query,
                       "suggestions": ids.iter().map(|id| team_ref(*id)).collect::<Vec<_>>()}),
            ))
        }
    }
}

/// Raw API objects of players, for `includeRawData`.
pub fn raw_players(d: &FplData, ids: &[u32]) -> Value {
    match d.bootstrap().raw_json() {
        Ok(raw) => Value::Array(
            raw["elements"]
                .as_array()
                .map(|els| {
                    els.iter()
                        .filter(|e| {
                            e["id"]
                                .as_u64()
                                .is_some_and(|id| ids.contains(&(id as u32)))
                        })
                        .cloned()
                        .collect()
                })
                .unwrap_or_default(),
        ),
        Err(e) => json!({"error": e.to_string()}),
    }
}

/// Raw API objects picked from the bootstrap by key and ids.
pub fn raw_bootstrap_items(d: &FplData, key: &str, ids: &[u32]) -> Value {
    match d.bootstrap().raw_json() {
        Ok(raw) => Value::Array(
            raw[key]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter(|e| {
                            e["id"]
                                .as_u64()
                                .is_some_and(|id| ids.contains(&(id as u32)))
                        })
                        .cloned()
                        .collect()
                })
                .unwrap_or_default(),
        ),
        Err(e) => json!({"error": e.to_string()}),
    }
}

/// Raw fixture objects by id.
pub fn raw_fixtures(d: &FplData, ids: &[u32]) -> Value {
    match d.fixtures_loaded().raw_json() {
        Ok(Value::Array(items)) => Value::Array(
            items
                .into_iter()
                .filter(|f| {
                    f["id"]
                        .as_u64()
                        .is_some_and(|id| ids.contains(&(id as u32)))
                })
                .collect(),
        ),
        Ok(_) => Value::Array(Vec::new()),
        Err(e) => json!({"error": e.to_string()}),
    }
}

/// One decimal place.
pub fn dec1(x: f64) -> String {
    format!("{x:.1}")
}

/// Two decimal places.
pub fn dec2(x: f64) -> String {
    format!("{x:.2}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(thousands(16350776), "16,350,776");
        assert_eq!(thousands(999), "999");
        assert_eq!(price_change(5), "+£0.5m");
        assert_eq!(price_change(-12), "-£1.2m");
        assert!(is_all("All"));
        assert!(!is_all("Arsenal"));
    }
}
