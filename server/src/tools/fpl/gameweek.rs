//! `fpl_get_gameweek`: one gameweek's deadline, state and numbers (average and highest
//! score, most captained / vice-captained / selected / transferred in, top player, chip
//! plays, transfers) and its matches.
//!
//! Promises: with no id and no type the current gameweek is described (the next one before
//! the season starts); asking for the next gameweek when the season is over is answered
//! plainly (no next gameweek), not as an error; numbers not yet known (future gameweeks)
//! are left out.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::fpl::model::Event;
use crate::fpl::{FplData, FplSource, SeasonPhase};
use crate::tools::fpl::player::short_label;
use crate::tools::fpl::typed::PlayerBrief;
use crate::tools::fpl::{
    fixture_line, kickoff, raw_bootstrap_items, thousands, unavailable, FixtureView,
};
use crate::tools::input::{check_range, yes, ToolInput};
use crate::tools::{ToolError, ToolOutput};

pub const NAME: &str = "fpl_get_gameweek";
pub const DESCRIPTION: &str = "One FPL gameweek (current, next, previous or by number): \
deadline, whether it is finished, average and highest score, most captained, vice-captained, \
selected and transferred-in players, top scoring player, chip plays, transfers made and its \
fixtures/results.";

/// Which gameweek.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum GameweekType {
    Current,
    Next,
    Previous,
}

/// Input of `fpl_get_gameweek`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GameweekInput {
    /// Gameweek number (1-38); takes precedence over `type`.
    #[serde(default)]
    #[schemars(range(min = 1, max = 38))]
    pub gameweek_id: Option<u32>,
    /// current, next or previous (default current).
    #[serde(default, rename = "type")]
    pub kind: Option<GameweekType>,
    /// Include the gameweek's fixtures and results (default true).
    #[serde(default = "yes")]
    pub include_fixtures: bool,
    /// Append the raw FPL API event object to the structured result.
    #[serde(default)]
    pub include_raw_data: bool,
}

impl ToolInput for GameweekInput {
    fn validate(&self) -> Result<(), String> {
        match self.gameweek_id {
            Some(gw) => check_range("gameweekId", gw, 1, 38),
            None => Ok(()),
        }
    }
}

fn chip_name(raw: &str) -> &str {
    match raw {
        "bboost" => "Bench Boost",
        "3xc" => "Triple Captain",
        "freehit" => "Free Hit",
        "wildcard" => "Wildcard",
        "manager" => "Assistant Manager",
        other => other,
    }
}

/// A player named by a gameweek's numbers, with his points when he is the top player.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GameweekPlayer {
    #[serde(flatten)]
    pub player: PlayerBrief,
    /// The top player's points (absent for the other roles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<i32>,
}

/// How often a chip was played in the gameweek.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChipPlays {
    pub chip: String,
    pub played: u64,
}

/// One gameweek's facts (numbers not known yet are null).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GameweekFacts {
    pub id: u32,
    pub name: String,
    /// current, next, previous or empty.
    pub role: String,
    pub deadline: Option<DateTime<Utc>>,
    pub deadline_text: String,
    pub finished: bool,
    pub is_current: bool,
    pub is_next: bool,
    pub is_previous: bool,
    pub average_score: Option<i32>,
    pub highest_score: Option<i32>,
    pub most_captained: Option<GameweekPlayer>,
    pub most_vice_captained: Option<GameweekPlayer>,
    pub most_selected: Option<GameweekPlayer>,
    pub most_transferred_in: Option<GameweekPlayer>,
    pub top_player: Option<GameweekPlayer>,
    pub chip_plays: Vec<ChipPlays>,
    pub transfers_made: Option<u64>,
}

/// `fpl_get_gameweek`'s answer: a gameweek, or why there is none to describe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GameweekAnswer {
    pub available: bool,
    /// Why no gameweek is described: season_over, no_previous_gameweek or no_gameweeks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub season_over: bool,
    /// The last finished gameweek, when the season is over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_gameweek: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gameweek: Option<GameweekFacts>,
    /// With `includeFixtures`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixtures: Option<Vec<FixtureView>>,
    /// The raw FPL API event object, with `includeRawData`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<Value>,
}

impl GameweekAnswer {
    fn none(d: &FplData, reason: &str) -> Self {
        Self {
            available: false,
            reason: Some(reason.to_string()),
            season_over: d.phase() == SeasonPhase::Over,
            last_gameweek: None,
            gameweek: None,
            fixtures: None,
            raw: None,
        }
    }
}

/// Run the tool.
pub async fn run(source: &FplSource, input: GameweekInput) -> Result<ToolOutput, ToolError> {
    let d = source.data().await.map_err(unavailable)?;
    let event = match (input.gameweek_id, input.kind) {
        (Some(id), _) => match d.event(id) {
            Some(e) => e,
            None => {
                return Ok(ToolOutput::error(
                    format!("Gameweek {id} does not exist this season."),
                    json!({"error": "not_found", "field": "gameweekId"}),
                ))
            }
        },
        (None, Some(GameweekType::Next)) => match d.next_event() {
            Some(e) => e,
            None => return Ok(no_next(&d)),
        },
        (None, Some(GameweekType::Previous)) => match d.previous_event() {
            Some(e) => e,
            None => {
                return Ok(ToolOutput::typed(
                    "There is no previous gameweek yet: the season has not reached gameweek 2.",
                    &GameweekAnswer::none(&d, "no_previous_gameweek"),
                ))
            }
        },
        (None, _) => match d.current_event().or_else(|| d.next_event()) {
            Some(e) => e,
            None => {
                return Ok(ToolOutput::typed(
                    "No gameweek is scheduled in this data.",
                    &GameweekAnswer::none(&d, "no_gameweeks"),
                ))
            }
        },
    };
    Ok(describe(
        &d,
        event,
        input.include_fixtures,
        input.include_raw_data,
    ))
}

fn no_next(d: &FplData) -> ToolOutput {
    let last = d.last_finished_event().map(|e| e.id);
    let text = match (d.phase(), last) {
        (SeasonPhase::Over, Some(last)) => format!(
            "There is no next gameweek: the season is over (GW{last} was the last). The next deadline will be announced with next season's fixtures."
        ),
        _ => "There is no next gameweek scheduled in this data.".to_string(),
    };
    let mut answer = GameweekAnswer::none(d, "season_over");
    answer.last_gameweek = last;
    ToolOutput::typed(text, &answer)
}

fn state(e: &Event) -> &'static str {
    if e.finished {
        "finished"
    } else if e.is_current {
        "in progress"
    } else {
        "upcoming"
    }
}

fn describe(d: &FplData, e: &Event, include_fixtures: bool, raw: bool) -> ToolOutput {
    let role = if e.is_current {
        "current"
    } else if e.is_next {
        "next"
    } else if e.is_previous {
        "previous"
    } else {
        ""
    };
    let deadline = e
        .deadline_time
        .map(|t| t.format("%a %-d %b %Y %H:%M UTC").to_string())
        .unwrap_or_else(|| "not set".into());
    let mut lines = vec![format!(
        "{}{} — {}; deadline {}",
        e.name,
        if role.is_empty() {
            String::new()
        } else {
            format!(" ({role})")
        },
        state(e),
        deadline
    )];
    let started = e.finished || e.is_current;
    if started {
        let mut scores = Vec::new();
        if let Some(a) = e.average_entry_score.filter(|a| *a > 0 || e.finished) {
            scores.push(format!("average score {a}"));
        }
        if let Some(h) = e.highest_score {
            scores.push(format!("highest score {h}"));
        }
        if !scores.is_empty() {
            lines.push(format!("Scores: {}", scores.join(", ")));
        }
        let mut picks = Vec::new();
        if let Some(id) = e.most_captained {
            picks.push(format!("most captained {}", short_label(d, id)));
        }
        if let Some(id) = e.most_vice_captained {
            picks.push(format!("most vice-captained {}", short_label(d, id)));
        }
        if let Some(id) = e.most_selected {
            picks.push(format!("most selected {}", short_label(d, id)));
        }
        if let Some(id) = e.most_transferred_in {
            picks.push(format!("most transferred in {}", short_label(d, id)));
        }
        if !picks.is_empty() {
            lines.push(format!("Managers: {}", picks.join("; ")));
        }
        if let Some(top) = &e.top_element_info {
            lines.push(format!(
                "Top player: {} with {} pts",
                short_label(d, top.id),
                top.points
            ));
        }
        if !e.chip_plays.is_empty() {
            lines.push(format!(
                "Chips played: {}",
                e.chip_plays
                    .iter()
                    .map(|c| format!("{} {}", chip_name(&c.chip_name), thousands(c.num_played)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if let Some(t) = e.transfers_made.filter(|t| *t > 0) {
            lines.push(format!("Transfers made: {}", thousands(t)));
        }
    }
    let fixtures = d.fixtures_of_event(e.id);
    if include_fixtures {
        if fixtures.is_empty() {
            lines.push("No matches in this gameweek.".into());
        } else {
            lines.push(format!(
                "Matches: {}",
                fixtures
                    .iter()
                    .map(|f| if f.result().is_some() {
                        fixture_line(d, f)
                    } else {
                        format!("{} ({})", fixture_line(d, f), kickoff(f.kickoff_time))
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
    }
    let pref = |id: Option<u32>| {
        id.and_then(|id| d.player(id)).map(|p| GameweekPlayer {
            player: PlayerBrief::of(d, p),
            points: None,
        })
    };
    let facts = GameweekFacts {
        id: e.id,
        name: e.name.clone(),
        role: role.to_string(),
        deadline: e.deadline_time,
        deadline_text: deadline,
        finished: e.finished,
        is_current: e.is_current,
        is_next: e.is_next,
        is_previous: e.is_previous,
        average_score: if started { e.average_entry_score } else { None },
        highest_score: e.highest_score,
        most_captained: pref(e.most_captained),
        most_vice_captained: pref(e.most_vice_captained),
        most_selected: pref(e.most_selected),
        most_transferred_in: pref(e.most_transferred_in),
        top_player: e.top_element_info.as_ref().and_then(|t| {
            pref(Some(t.id)).map(|mut p| {
                p.points = Some(t.points);
                p
            })
        }),
        chip_plays: e
            .chip_plays
            .iter()
            .map(|c| ChipPlays {
                chip: chip_name(&c.chip_name).to_string(),
                played: c.num_played,
            })
            .collect(),
        transfers_made: e.transfers_made,
    };
    let answer = GameweekAnswer {
        available: true,
        reason: None,
        season_over: d.phase() == SeasonPhase::Over,
        last_gameweek: None,
        gameweek: Some(facts),
        fixtures: include_fixtures
            .then(|| fixtures.iter().map(|f| FixtureView::of(d, f)).collect()),
        raw: raw.then(|| raw_bootstrap_items(d, "events", &[e.id])),
    };
    ToolOutput::typed(lines.join("\n"), &answer)
}
