//! What the typed tools (managers, leagues, live points, captaincy, transfers, prices) share:
//! the small result types every answer embeds, the entry id input, and turning data-source
//! errors into answers.
//!
//! Promises: a missing manager, gameweek or league (the API's 404, a snapshot without the
//! file) is an `is_error` answer whose text says what is missing, never a backend failure;
//! only the source being down or broken is a [`ToolError`]; player and entry references have
//! one shape in every tool's output schema.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::fpl::manager::Entry;
use crate::fpl::model::Element;
use crate::fpl::{FplData, FplError};
use crate::tools::fpl::unavailable;
use crate::tools::{ToolError, ToolOutput};

/// Largest entry / league id accepted (the game's ids are below 20 million).
pub const MAX_ID: u32 = 100_000_000;

/// A player as every typed answer names him.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlayerBrief {
    pub id: u32,
    /// The short name the game shows ("Haaland").
    pub name: String,
    /// Club short name ("MCI").
    pub team: String,
    /// GKP, DEF, MID or FWD.
    pub position: String,
    /// Current price, £m.
    pub price: f64,
}

impl PlayerBrief {
    pub fn of(d: &FplData, e: &Element) -> Self {
        Self {
            id: e.id,
            name: e.web_name.clone(),
            team: d.team_short(e.team).to_string(),
            position: e.element_type.short().to_string(),
            price: e.now_cost.millions(),
        }
    }

    /// By id; a player the data no longer lists keeps his id and an "unknown" label.
    pub fn by_id(d: &FplData, id: u32) -> Self {
        d.player(id).map(|e| Self::of(d, e)).unwrap_or(Self {
            id,
            name: format!("player {id}"),
            team: "?".to_string(),
            position: "?".to_string(),
            price: 0.0,
        })
    }

    /// "Haaland (MCI)".
    pub fn label(&self) -> String {
        format!("{} ({})", self.name, self.team)
    }
}

/// A manager's team as answers name it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EntryBrief {
    pub id: u32,
    /// The team's name.
    pub team_name: String,
    /// The manager's name.
    pub manager: String,
    pub overall_points: Option<i32>,
    pub overall_rank: Option<u64>,
}

impl EntryBrief {
    pub fn of(e: &Entry) -> Self {
        Self {
            id: e.id,
            team_name: e.name.clone(),
            manager: e.manager_name(),
            overall_points: e.summary_overall_points,
            overall_rank: e.summary_overall_rank,
        }
    }

    /// "Team Name (Manager)".
    pub fn label(&self) -> String {
        format!("{} ({})", self.team_name, self.manager)
    }
}

/// Why a typed tool stops early: an answer the model can act on, or the source failing.
#[derive(Debug)]
pub enum Stop {
    Answer(ToolOutput),
    Failed(ToolError),
}

impl From<FplError> for Stop {
    fn from(e: FplError) -> Self {
        match e {
            FplError::NotAvailable(message) => Stop::Answer(ToolOutput::error(
                message.clone(),
                json!({"error": "not_found", "message": message}),
            )),
            other => Stop::Failed(unavailable(other)),
        }
    }
}

impl From<ToolOutput> for Stop {
    fn from(o: ToolOutput) -> Self {
        Stop::Answer(o)
    }
}

/// A recoverable refusal naming the input field at fault.
pub fn refuse(field: &str, text: impl Into<String>) -> Stop {
    let text = text.into();
    Stop::Answer(ToolOutput::error(
        text.clone(),
        json!({"error": "invalid_input", "field": field, "message": text}),
    ))
}

/// The tool's result from an answer or an early stop.
pub fn finish(r: Result<ToolOutput, Stop>) -> Result<ToolOutput, ToolError> {
    match r {
        Ok(o) | Err(Stop::Answer(o)) => Ok(o),
        Err(Stop::Failed(e)) => Err(e),
    }
}

/// `gameweek` if it has started (its picks and points exist), else a refusal that says so.
pub fn started_gameweek(d: &FplData, gameweek: Option<u32>) -> Result<u32, Stop> {
    let current = d.current_event().map(|e| e.id);
    match (gameweek, current) {
        (None, Some(c)) => Ok(c),
        (None, None) => Err(refuse(
            "gameweek",
            "The season has not started yet: no gameweek has been played.",
        )),
        (Some(g), _) if d.event(g).is_none() => Err(refuse(
            "gameweek",
            format!("Gameweek {g} does not exist this season (1-38)."),
        )),
        (Some(g), Some(c)) if g <= c => Ok(g),
        (Some(g), _) => Err(refuse(
            "gameweek",
            format!(
                "Gameweek {g} has not started yet{}: teams and points exist from its deadline.",
                current
                    .map(|c| format!(" (gameweek {c} is the latest)"))
                    .unwrap_or_default()
            ),
        )),
    }
}

/// One decimal place, as a number (for structured output).
pub fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Two decimal places, as a number.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// An entry's squad as it stands for the next deadline: the latest gameweek's picks (the week
/// before when the latest was a Free Hit, whose squad reverts), with that week's bank.
pub struct LatestSquad {
    pub entry: crate::fpl::manager::Entry,
    /// The gameweek the picks are from.
    pub gameweek: u32,
    /// The fifteen, by slot.
    pub players: Vec<u32>,
    /// Tenths of £m.
    pub bank: i32,
}

/// Reads an entry's [`LatestSquad`].
pub async fn latest_squad(
    source: &crate::fpl::FplSource,
    d: &FplData,
    entry: u32,
) -> Result<LatestSquad, Stop> {
    let e = source.entry(entry).await?;
    let latest = e
        .data()
        .current_event
        .or_else(|| d.current_event().map(|c| c.id))
        .ok_or_else(|| {
            refuse(
                "entryId",
                format!("FPL team {entry} has not played a gameweek yet."),
            )
        })?;
    let mut picks = source.entry_picks(entry, latest).await?;
    let mut gameweek = latest;
    if picks.data().active_chip.as_deref() == Some("freehit") && latest > 1 {
        gameweek = latest - 1;
        picks = source.entry_picks(entry, gameweek).await?;
    }
    let mut slots: Vec<(u8, u32)> = picks
        .data()
        .picks
        .iter()
        .map(|p| (p.position, p.element))
        .collect();
    slots.sort_unstable();
    Ok(LatestSquad {
        entry: e.data().clone(),
        gameweek,
        players: slots.into_iter().map(|(_, id)| id).collect(),
        bank: picks.data().entry_history.bank,
    })
}
