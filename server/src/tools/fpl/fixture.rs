//! `fpl_fixture_data`: matches and results, for a team, a pairing ("Liverpool vs Chelsea"),
//! a gameweek or a range, with difficulty filters, sorting and optional match stats.
//!
//! Promises: "next" means matches not yet played, "previous" played ones (latest first), N
//! the next N gameweeks; with no range and no gameweek a team's or pairing's upcoming
//! matches are shown, falling back to the latest results when the season is over (and the
//! answer says so); difficulty filters read the team's own FDR, or either side's when no
//! single team is given.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::fpl::model::Fixture;
use crate::fpl::names::fold;
use crate::fpl::{FplData, FplSource};
use crate::tools::fpl::{
    fixture_line, kickoff, raw_fixtures, resolve_team, unavailable, FixtureView,
};
use crate::tools::input::{check_length, check_range, ToolInput, MAX_QUERY_CHARS};
use crate::tools::{ToolError, ToolOutput};

pub const NAME: &str = "fpl_fixture_data";
pub const DESCRIPTION: &str = "Premier League fixtures and results with FPL difficulty (FDR 1-5): \
for a team (\"Arsenal\"), a pairing (\"Liverpool vs Chelsea\"), a gameweek, the next or previous \
matches or the next N gameweeks; filter by difficulty, sort by kickoff or difficulty, and \
optionally include goal scorers, assists and bonus of played matches.";

/// "next", "previous" or a number of gameweeks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RangeInput {
    /// "next" (not yet played) or "previous" (already played).
    Keyword(RangeKeyword),
    /// The next N gameweeks.
    Gameweeks(u32),
}

/// Named ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RangeKeyword {
    Next,
    Previous,
}

/// Sort orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum SortBy {
    #[serde(rename = "kickoff_time_asc")]
    KickoffAsc,
    #[serde(rename = "kickoff_time_desc")]
    KickoffDesc,
    #[serde(rename = "difficulty_desc")]
    DifficultyDesc,
    #[serde(rename = "difficulty_asc")]
    DifficultyAsc,
}

fn ten() -> u32 {
    10
}

/// Input of `fpl_fixture_data`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FixtureDataInput {
    /// A team ("Arsenal") or a pairing ("Liverpool vs Chelsea"); omit for every team; at most
    /// 100 characters.
    #[serde(default)]
    #[schemars(length(max = MAX_QUERY_CHARS))]
    pub team_query: Option<String>,
    /// Only this gameweek (1-38).
    #[serde(default)]
    #[schemars(range(min = 1, max = 38))]
    pub gameweek_id: Option<u32>,
    /// "next", "previous" or a number of upcoming gameweeks.
    #[serde(default)]
    pub range: Option<RangeInput>,
    /// Minimum difficulty (1-5).
    #[serde(default)]
    #[schemars(range(min = 1, max = 5))]
    pub difficulty_min: Option<u8>,
    /// Maximum difficulty (1-5).
    #[serde(default)]
    #[schemars(range(min = 1, max = 5))]
    pub difficulty_max: Option<u8>,
    /// Sort order (default kickoff_time_asc; kickoff_time_desc for "previous").
    #[serde(default)]
    pub sort_by: Option<SortBy>,
    /// Include goal scorers, assists, cards and bonus of played matches.
    #[serde(default)]
    pub include_stats: bool,
    /// Maximum number of matches (1-100, default 10).
    #[serde(default = "ten")]
    #[schemars(range(min = 1, max = 100))]
    pub limit: u32,
    /// Append the raw FPL API fixture objects to the structured result.
    #[serde(default)]
    pub include_raw_data: bool,
}

impl ToolInput for FixtureDataInput {
    fn validate(&self) -> Result<(), String> {
        if let Some(query) = &self.team_query {
            check_length("teamQuery", query)?;
        }
        check_range("limit", self.limit, 1, 100)?;
        if let Some(gw) = self.gameweek_id {
            check_range("gameweekId", gw, 1, 38)?;
        }
        if let Some(RangeInput::Gameweeks(n)) = self.range {
            check_range("range", n, 1, 38)?;
        }
        if let Some(v) = self.difficulty_min {
            check_range("difficultyMin", u32::from(v), 1, 5)?;
        }
        if let Some(v) = self.difficulty_max {
            check_range("difficultyMax", u32::from(v), 1, 5)?;
        }
        if let (Some(lo), Some(hi)) = (self.difficulty_min, self.difficulty_max) {
            if lo > hi {
                return Err(
                    "invalid value for field `difficultyMin`: greater than difficultyMax".into(),
                );
            }
        }
        Ok(())
    }
}

/// Splits "A vs B" / "A v B" / "A versus B" into two parts.
pub fn split_pairing(query: &str) -> Option<(String, String)> {
    let folded = fold(query);
    for sep in [" vs ", " v ", " versus ", " against "] {
        if let Some((a, b)) = folded.split_once(sep) {
            if !a.trim().is_empty() && !b.trim().is_empty() {
                return Some((a.trim().to_string(), b.trim().to_string()));
            }
        }
    }
    None
}

/// One player's number in a match statistic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StatLine {
    pub player: String,
    pub value: i32,
}

/// A fixture, with its statistics when asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FixtureItem {
    #[serde(flatten)]
    pub fixture: FixtureView,
    /// By statistic (`goals_scored`, `assists`, `own_goals`, `red_cards`, `bonus`), finished
    /// matches with `includeStats`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<BTreeMap<String, Vec<StatLine>>>,
}

/// `fpl_fixture_data`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FixturesAnswer {
    /// What the list is of ("Arsenal", "Liverpool vs Chelsea", "Gameweek 8").
    pub subject: String,
    /// previous, next, gameweeks or all.
    pub range: String,
    /// Why the list is not what was asked (the season is over…).
    pub note: Option<String>,
    /// Matches before the limit.
    pub total: usize,
    pub fixtures: Vec<FixtureItem>,
    /// The raw FPL API fixture objects (with `includeRawData`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<Value>,
}

/// Run the tool.
pub async fn run(source: &FplSource, input: FixtureDataInput) -> Result<ToolOutput, ToolError> {
    let d = source.data().await.map_err(unavailable)?;
    let mut teams: Vec<u32> = Vec::new();
    if let Some(q) = input.team_query.as_deref().filter(|q| !q.trim().is_empty()) {
        let parts = match split_pairing(q) {
            Some((a, b)) => vec![a, b],
            None => vec![q.to_string()],
        };
        for p in parts {
            match resolve_team(&d, &p) {
                Ok(id) => teams.push(id),
                Err(out) => return Ok(out),
            }
        }
    }
    let pairing = teams.len() == 2;
    let single = (teams.len() == 1).then(|| teams[0]);

    let base: Vec<&Fixture> = d
        .fixtures()
        .iter()
        .filter(|f| teams.iter().all(|t| f.involves(*t)))
        .filter(|f| input.gameweek_id.is_none_or(|gw| f.event == Some(gw)))
        .filter(|f| {
            let ok = |v: u8| {
                input.difficulty_min.is_none_or(|lo| v >= lo)
                    && input.difficulty_max.is_none_or(|hi| v <= hi)
            };
            match single {
                Some(t) => ok(f.difficulty_for(t)),
                None => ok(f.team_h_difficulty) || ok(f.team_a_difficulty),
            }
        })
        .collect();

    let played = |f: &Fixture| f.result().is_some();
    let mut note: Option<String> = None;
    let mut range_used = "all";
    let mut selected: Vec<&Fixture> = match (input.range, input.gameweek_id) {
        (Some(RangeInput::Keyword(RangeKeyword::Previous)), _) => {
            range_used = "previous";
            base.iter().filter(|f| played(f)).copied().collect()
        }
        (Some(RangeInput::Keyword(RangeKeyword::Next)), _) => {
            range_used = "next";
            base.iter().filter(|f| !played(f)).copied().collect()
        }
        (Some(RangeInput::Gameweeks(n)), _) => {
            range_used = "gameweeks";
            let gws = d.upcoming_gameweeks(n);
            if gws.is_empty() {
                note = Some("The season is over: there are no upcoming gameweeks.".into());
            }
            base.iter()
                .filter(|f| f.event.is_some_and(|e| gws.contains(&e)))
                .copied()
                .collect()
        }
        (None, Some(_)) => base.clone(),
        (None, None) if pairing => base.clone(),
        (None, None) => {
            range_used = "next";
            base.iter().filter(|f| !played(f)).copied().collect()
        }
    };
    if selected.is_empty() && range_used == "next" && input.range.is_none() {
        note = Some("No matches left to play this season; showing the latest results.".into());
        range_used = "previous";
        selected = base.iter().filter(|f| played(f)).copied().collect();
    } else if selected.is_empty() && range_used == "next" {
        note = Some("No matches left to play this season.".into());
    }

    let sort = input.sort_by.unwrap_or(if range_used == "previous" {
        SortBy::KickoffDesc
    } else {
        SortBy::KickoffAsc
    });
    let diff_of = |f: &Fixture| match single {
        Some(t) => f.difficulty_for(t),
        None => f.team_h_difficulty.max(f.team_a_difficulty),
    };
    let key = |f: &Fixture| (f.event.is_none(), f.event, f.kickoff_time, f.id);
    match sort {
        SortBy::KickoffAsc => selected.sort_by_key(|f| key(f)),
        SortBy::KickoffDesc => {
            selected.sort_by_key(|f| key(f));
            selected.reverse();
        }
        SortBy::DifficultyAsc => selected.sort_by_key(|f| (diff_of(f), key(f))),
        SortBy::DifficultyDesc => selected.sort_by_key(|f| (std::cmp::Reverse(diff_of(f)), key(f))),
    }
    let total = selected.len();
    selected.truncate(input.limit as usize);

    let subject = match (teams.as_slice(), input.gameweek_id) {
        ([a, b], _) => format!("{} vs {}", d.team_name(*a), d.team_name(*b)),
        ([a], Some(gw)) => format!("{} in GW{gw}", d.team_name(*a)),
        ([a], None) => d.team_name(*a).to_string(),
        (_, Some(gw)) => format!("Gameweek {gw}"),
        _ => "All teams".to_string(),
    };
    let mut lines = vec![format!(
        "{subject} — {} match{} ({}{}):",
        selected.len(),
        if selected.len() == 1 { "" } else { "es" },
        match range_used {
            "previous" => "results",
            "next" => "upcoming",
            "gameweeks" => "upcoming gameweeks",
            _ => "all",
        },
        if total > selected.len() {
            format!(", {total} in all")
        } else {
            String::new()
        }
    )];
    if let Some(n) = &note {
        lines.insert(0, n.clone());
    }
    let mut items = Vec::new();
    for f in &selected {
        let gw = f
            .event
            .map(|g| format!("GW{g}"))
            .unwrap_or_else(|| "TBC".into());
        let mut line = match f.result() {
            Some(_) => format!("{gw}: {}", fixture_line(&d, f)),
            None => format!(
                "{gw} {}: {} (FDR {} {} / {} {})",
                kickoff(f.kickoff_time),
                fixture_line(&d, f),
                d.team_short(f.team_h),
                f.team_h_difficulty,
                d.team_short(f.team_a),
                f.team_a_difficulty
            ),
        };
        let mut item = FixtureItem {
            fixture: FixtureView::of(&d, f),
            stats: None,
        };
        if input.include_stats && f.result().is_some() {
            let (text, stats) = match_stats(&d, f);
            if !text.is_empty() {
                line.push_str(&format!(" — {text}"));
            }
            item.stats = Some(stats);
        }
        lines.push(line);
        items.push(item);
    }
    let answer = FixturesAnswer {
        subject,
        range: range_used.to_string(),
        note,
        total,
        fixtures: items,
        raw: input.include_raw_data.then(|| {
            let ids: Vec<u32> = selected.iter().map(|f| f.id).collect();
            raw_fixtures(&d, &ids)
        }),
    };
    Ok(ToolOutput::typed(lines.join("\n"), &answer))
}

/// A match's goals, assists, own goals, red cards and bonus: a line of text and by stat.
fn match_stats(d: &FplData, f: &Fixture) -> (String, BTreeMap<String, Vec<StatLine>>) {
    let mut parts = Vec::new();
    let mut items = BTreeMap::new();
    for (id, label) in [
        ("goals_scored", "Goals"),
        ("assists", "Assists"),
        ("own_goals", "Own goals"),
        ("red_cards", "Red cards"),
        ("bonus", "Bonus"),
    ] {
        let Some(stat) = f.stat(id) else { continue };
        let mut values: Vec<(String, i32)> = stat
            .h
            .iter()
            .chain(stat.a.iter())
            .map(|v| {
                (
                    d.player(v.element)
                        .map(|e| e.web_name.clone())
                        .unwrap_or_else(|| format!("player {}", v.element)),
                    v.value,
                )
            })
            .collect();
        values.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        if values.is_empty() {
            continue;
        }
        parts.push(format!(
            "{label}: {}",
            values
                .iter()
                .map(|(n, v)| if *v > 1 || id == "bonus" {
                    format!("{n} {v}")
                } else {
                    n.clone()
                })
                .collect::<Vec<_>>()
                .join(", ")
        ));
        items.insert(
            id.to_string(),
            values
                .iter()
                .map(|(n, v)| StatLine {
                    player: n.clone(),
                    value: *v,
                })
                .collect(),
        );
    }
    (parts.join("; "), items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairings_split_on_vs() {
        assert_eq!(
            split_pairing("Liverpool vs Chelsea"),
            Some(("liverpool".into(), "chelsea".into()))
        );
        assert_eq!(
            split_pairing("Man Utd v Spurs"),
            Some(("man utd".into(), "spurs".into()))
        );
        assert_eq!(split_pairing("Arsenal"), None);
    }
}
