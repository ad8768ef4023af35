//! `fpl_live_gameweek`: a gameweek's points as they stand: the top scorers with provisional
//! bonus, how many matches have started, and (given an entry) that team's live score with
//! automatic substitutions.
//!
//! Promises: player points are live total points plus provisional bonus (never counted twice,
//! see [`crate::fpl::live`]); the entry's score is the same scoring as `fpl_manager_team`; a
//! gameweek not started yet is an `is_error` answer.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::fpl::live::LiveGameweek;
use crate::fpl::FplSource;
use crate::tools::fpl::manager_team::{entry_score, squad_text, SquadScore};
use crate::tools::fpl::typed::{finish, started_gameweek, EntryBrief, PlayerBrief, Stop, MAX_ID};
use crate::tools::input::{check_range, opt_id_number, ToolInput};
use crate::tools::{ToolError, ToolOutput};

pub const NAME: &str = "fpl_live_gameweek";
pub const DESCRIPTION: &str = "Live (or final) points of a gameweek: top scoring players with \
minutes, bonus points system score and provisional bonus, matches started and finished; \
given an entryId, that manager's live score with automatic substitutions and captaincy.";

/// Input of `fpl_live_gameweek`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LiveGameweekInput {
    /// Gameweek (1-38); default the current one.
    #[serde(default)]
    #[schemars(range(min = 1, max = 38))]
    pub gameweek: Option<u32>,
    /// A manager's entry id whose live score to work out.
    #[serde(default, deserialize_with = "opt_id_number")]
    pub entry_id: Option<u32>,
    /// How many top scorers to list (1-30, default 10).
    #[serde(default)]
    #[schemars(range(min = 1, max = 30))]
    pub limit: Option<u32>,
}

impl ToolInput for LiveGameweekInput {
    fn validate(&self) -> Result<(), String> {
        if let Some(g) = self.gameweek {
            check_range("gameweek", g, 1, 38)?;
        }
        if let Some(e) = self.entry_id {
            check_range("entryId", e, 1, MAX_ID)?;
        }
        match self.limit {
            Some(l) => check_range("limit", l, 1, 30),
            None => Ok(()),
        }
    }
}

/// One player's live line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LiveLine {
    pub player: PlayerBrief,
    pub minutes: i32,
    /// Provisional bonus included.
    pub points: i32,
    pub provisional_bonus: i32,
    pub bps: i32,
}

/// An entry's live score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EntryLive {
    pub entry: EntryBrief,
    #[serde(flatten)]
    pub score: SquadScore,
}

/// `fpl_live_gameweek`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LiveGameweekView {
    pub gameweek: u32,
    pub finished: bool,
    pub matches: usize,
    pub started_matches: usize,
    pub top_players: Vec<LiveLine>,
    pub entry: Option<EntryLive>,
}

/// Run the tool.
pub async fn run(source: &FplSource, input: LiveGameweekInput) -> Result<ToolOutput, ToolError> {
    finish(answer(source, input).await)
}

async fn answer(source: &FplSource, input: LiveGameweekInput) -> Result<ToolOutput, Stop> {
    let d = source.data().await?;
    let gw = started_gameweek(&d, input.gameweek)?;
    let live = source.event_live(gw).await?;
    let g = LiveGameweek::new(&d, live.data(), gw);
    let mut top: Vec<_> = g.players().filter(|p| d.player(p.id).is_some()).collect();
    top.sort_by(|a, b| {
        b.points
            .cmp(&a.points)
            .then(b.bps.cmp(&a.bps))
            .then(a.id.cmp(&b.id))
    });
    let top_players: Vec<LiveLine> = top
        .into_iter()
        .take(input.limit.unwrap_or(10) as usize)
        .map(|p| LiveLine {
            player: PlayerBrief::by_id(&d, p.id),
            minutes: p.minutes,
            points: p.points,
            provisional_bonus: p.provisional_bonus,
            bps: p.bps,
        })
        .collect();
    let entry = match input.entry_id {
        Some(id) => {
            let e = source.entry(id).await?;
            let (score, _) = entry_score(source, &d, id, gw).await?;
            Some(EntryLive {
                entry: EntryBrief::of(e.data()),
                score,
            })
        }
        None => None,
    };
    let view = LiveGameweekView {
        gameweek: gw,
        finished: g.finished,
        matches: g.matches,
        started_matches: g.started_matches,
        top_players,
        entry,
    };
    Ok(ToolOutput::typed(text(&view), &view))
}

fn text(v: &LiveGameweekView) -> String {
    let mut out = format!(
        "Gameweek {} {} ({} of {} matches started). Top scorers: {}.",
        v.gameweek,
        if v.finished { "is finished" } else { "is live" },
        v.started_matches,
        v.matches,
        v.top_players
            .iter()
            .map(|l| {
                let bonus = if l.provisional_bonus > 0 {
                    format!(" incl. +{} provisional bonus", l.provisional_bonus)
                } else {
                    String::new()
                };
                format!(
                    "{} {} pts ({} min{bonus})",
                    l.player.label(),
                    l.points,
                    l.minutes
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(e) = &v.entry {
        out.push_str(&format!("\n{}: {}", e.entry.label(), squad_text(&e.score)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fpl::test_support::snapshot_dir;
    use serde_json::json;

    #[tokio::test]
    async fn top_scorers_and_an_entrys_score_are_the_raw_numbers() {
        let source = FplSource::snapshot_dir(snapshot_dir("2025-26_gw7")).unwrap();
        let input = json!({"gameweek": 7, "entryId": 84062, "limit": 3});
        let out = run(&source, LiveGameweekInput::parse(input).unwrap())
            .await
            .unwrap();
        assert!(!out.is_error, "{}", out.text);
        let s = out.structured.unwrap();
        let raw: serde_json::Value = serde_json::from_slice(
            &std::fs::read(snapshot_dir("2025-26_gw7").join("event/7/live.json")).unwrap(),
        )
        .unwrap();
        let mut points: Vec<i64> = raw["elements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["stats"]["total_points"].as_i64().unwrap())
            .collect();
        points.sort_unstable_by(|a, b| b.cmp(a));
        let ours: Vec<i64> = s["topPlayers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["points"].as_i64().unwrap())
            .collect();
        assert_eq!(ours, points[..3].to_vec());
        assert_eq!(s["finished"], true);
        assert_eq!(s["entry"]["points"], 86, "84062's real GW7 points");
        assert!(out.text.contains("is finished"));
        let future = run(
            &source,
            LiveGameweekInput::parse(json!({"gameweek": 8})).unwrap(),
        )
        .await
        .unwrap();
        assert!(
            future.is_error && future.text.contains("not started"),
            "{}",
            future.text
        );
    }
}
