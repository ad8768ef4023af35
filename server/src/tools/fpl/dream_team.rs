//! `fpl_dream_team`: the best eleven of a gameweek (as the game's Dream Team) or of the
//! season so far.
//!
//! Promises: a gameweek's eleven is the game's own (`/dream-team/{gw}/`) when the source has
//! it, else the highest-scoring legal formation worked out from the live points
//! ([`crate::fpl::live::dream_team`], equal to the game's `in_dreamteam` picks on every shared
//! gameweek; provisional bonus included while it runs, so it can still change); the season's
//! is worked out from total points; `fromGame` says which; the top player has most points.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::fpl::live::{dream_team, LiveGameweek};
use crate::fpl::model::Position;
use crate::fpl::FplSource;
use crate::tools::fpl::typed::{finish, started_gameweek, PlayerBrief, Stop};
use crate::tools::input::{check_range, ToolInput};
use crate::tools::{ToolError, ToolOutput};

pub const NAME: &str = "fpl_dream_team";
pub const DESCRIPTION: &str = "The FPL Dream Team: the highest-scoring XI in a legal formation \
for one gameweek (default the current one) or, with season=true, for the season so far by \
total points; with the formation, each player's points and the top player.";

/// Input of `fpl_dream_team`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DreamTeamInput {
    /// Gameweek (1-38); default the current one. Ignored when `season` is true.
    #[serde(default)]
    #[schemars(range(min = 1, max = 38))]
    pub gameweek: Option<u32>,
    /// The season's dream team by total points instead of one gameweek's.
    #[serde(default)]
    pub season: bool,
}

impl ToolInput for DreamTeamInput {
    fn validate(&self) -> Result<(), String> {
        match self.gameweek {
            Some(g) => check_range("gameweek", g, 1, 38),
            None => Ok(()),
        }
    }
}

/// One of the eleven.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DreamPlayer {
    pub player: PlayerBrief,
    pub points: i32,
}

/// `fpl_dream_team`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DreamTeam {
    /// "gameweek" or "season".
    pub scope: String,
    pub gameweek: Option<u32>,
    /// Still changing: the gameweek's matches are not all over.
    pub provisional: bool,
    /// The game's own dream team (`/dream-team/{gw}/`); false when worked out here from the
    /// live points (a snapshot without the file, or the season's).
    pub from_game: bool,
    /// e.g. "3-4-3".
    pub formation: String,
    pub total_points: i32,
    pub top_player: Option<DreamPlayer>,
    /// Goalkeeper, defenders, midfielders, forwards.
    pub players: Vec<DreamPlayer>,
}

/// Run the tool.
pub async fn run(source: &FplSource, input: DreamTeamInput) -> Result<ToolOutput, ToolError> {
    finish(answer(source, input).await)
}

async fn answer(source: &FplSource, input: DreamTeamInput) -> Result<ToolOutput, Stop> {
    let d = source.data().await?;
    let (gameweek, provisional, from_game, xi) = if input.season {
        let c: Vec<(u32, Position, i32)> = d
            .players()
            .iter()
            .map(|e| (e.id, e.element_type, e.total_points))
            .collect();
        (None, false, false, dream_team(&c))
    } else {
        let gw = started_gameweek(&d, input.gameweek)?;
        let live = source.event_live(gw).await?;
        let g = LiveGameweek::new(&d, live.data(), gw);
        match source.dream_team(gw).await {
            Ok(game) => {
                let mut picks = game.data().team.clone();
                picks.sort_by_key(|p| p.position);
                let xi = picks
                    .iter()
                    .filter_map(|p| Some((p.element, d.player(p.element)?.element_type, p.points)))
                    .collect();
                (Some(gw), !g.finished, true, xi)
            }
            Err(e) if e.is_not_available() => {
                let c: Vec<(u32, Position, i32)> = g
                    .players()
                    .filter_map(|p| Some((p.id, d.player(p.id)?.element_type, p.points)))
                    .collect();
                (Some(gw), !g.finished, false, dream_team(&c))
            }
            Err(e) => return Err(e.into()),
        }
    };
    let count = |pos: Position| xi.iter().filter(|c| c.1 == pos).count();
    let players: Vec<DreamPlayer> = xi
        .iter()
        .map(|(id, _, points)| DreamPlayer {
            player: PlayerBrief::by_id(&d, *id),
            points: *points,
        })
        .collect();
    let top_player = players
        .iter()
        .max_by_key(|p| (p.points, std::cmp::Reverse(p.player.id)))
        .cloned();
    let team = DreamTeam {
        scope: if input.season { "season" } else { "gameweek" }.to_string(),
        gameweek,
        provisional,
        from_game,
        formation: format!(
            "{}-{}-{}",
            count(Position::Defender),
            count(Position::Midfielder),
            count(Position::Forward)
        ),
        total_points: players.iter().map(|p| p.points).sum(),
        top_player,
        players,
    };
    let title = match team.gameweek {
        Some(gw) => format!("Gameweek {gw} dream team"),
        None => "Season dream team so far".to_string(),
    };
    let text = format!(
        "{title} ({}, {} points{}): {}.",
        team.formation,
        team.total_points,
        if team.provisional {
            ", provisional"
        } else {
            ""
        },
        team.players
            .iter()
            .map(|p| format!("{} {}", p.player.label(), p.points))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(ToolOutput::typed(text, &team))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fpl::test_support::snapshot_dir;
    use serde_json::json;

    #[tokio::test]
    async fn gameweek_and_season_dream_teams() {
        let source = FplSource::snapshot_dir(snapshot_dir("2025-26_gw7")).unwrap();
        let call = |v| {
            let source = source.clone();
            async move {
                run(&source, DreamTeamInput::parse(v).unwrap())
                    .await
                    .unwrap()
            }
        };
        let gw7 = call(json!({})).await;
        let s = gw7.structured.unwrap();
        assert_eq!(s["gameweek"], 7);
        assert_eq!(s["players"].as_array().unwrap().len(), 11);
        // The game flags its own dream team in the live payload: same total.
        let raw: serde_json::Value = serde_json::from_slice(
            &std::fs::read(snapshot_dir("2025-26_gw7").join("event/7/live.json")).unwrap(),
        )
        .unwrap();
        let flagged: i64 = raw["elements"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["stats"]["in_dreamteam"] == true)
            .map(|e| e["stats"]["total_points"].as_i64().unwrap())
            .sum();
        assert_eq!(s["totalPoints"], flagged);
        assert_eq!(
            s["fromGame"], false,
            "the shared snapshot has no dream-team file"
        );
        let season = call(json!({"season": true})).await.structured.unwrap();
        assert_eq!(season["scope"], "season");
        let top = season["topPlayer"]["points"].as_i64().unwrap();
        let d = source.data().await.unwrap();
        assert_eq!(
            top,
            d.players()
                .iter()
                .map(|e| e.total_points as i64)
                .max()
                .unwrap()
        );
        assert!(call(json!({"gameweek": 20})).await.is_error);
    }

    /// With the game's `/dream-team/{gw}/` in the source, its eleven is the answer.
    #[tokio::test]
    async fn the_games_own_dream_team_is_used_when_the_source_has_it() {
        let shared = snapshot_dir("2025-26_gw7");
        let dir = std::env::temp_dir().join(format!("fpl-dream-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("dream-team")).unwrap();
        for f in ["bootstrap-static.json", "fixtures.json", "event"] {
            std::os::unix::fs::symlink(shared.join(f), dir.join(f)).unwrap();
        }
        // Eleven of the game's shape; deliberately not the best XI (points made up), so the
        // answer can only come from this file.
        let team: Vec<serde_json::Value> = [470, 541, 610, 38, 381, 16, 235, 382, 211, 430, 467]
            .iter()
            .enumerate()
            .map(|(i, id)| json!({"element": id, "points": 1, "position": i + 1}))
            .collect();
        std::fs::write(
            dir.join("dream-team/7.json"),
            serde_json::to_vec(&json!({"top_player": {"id": 430, "points": 1}, "team": team}))
                .unwrap(),
        )
        .unwrap();
        let source = FplSource::snapshot_dir(&dir).unwrap();
        let out = run(
            &source,
            DreamTeamInput::parse(json!({"gameweek": 7})).unwrap(),
        )
        .await
        .unwrap();
        let s = out.structured.unwrap();
        assert_eq!(s["fromGame"], true);
        assert_eq!(s["totalPoints"], 11);
        assert_eq!(s["players"][0]["player"]["id"], 470);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
