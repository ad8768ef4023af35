//! `fpl_manager_team`: a manager's squad in one gameweek: the XI and bench by position,
//! captain and vice, chip, automatic substitutions, points (live while the gameweek runs),
//! bank, team value and ranks.
//!
//! Promises: the points are scored from the gameweek's live data by [`crate::fpl::squad`]
//! (so a running gameweek shows live points with provisional bonus and the substitutions
//! that would be made), and equal the API's own figure once it is finished; a gameweek not
//! started yet, an unknown entry or missing picks are `is_error` answers that say so.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::fpl::live::LiveGameweek;
use crate::fpl::squad::{score, Appearance, ScoredPick, ScoredSquad};
use crate::fpl::{FplData, FplSource};
use crate::tools::fpl::typed::{finish, started_gameweek, EntryBrief, PlayerBrief, Stop, MAX_ID};
use crate::tools::input::{check_range, id_number, ToolInput};
use crate::tools::{ToolError, ToolOutput};

pub const NAME: &str = "fpl_manager_team";
pub const DESCRIPTION: &str = "A manager's FPL team (by entry id, the number in the team's \
URL) in one gameweek: starting XI and bench by position, captain and vice-captain, chip, \
automatic substitutions, points (live with provisional bonus while the gameweek runs), \
transfer hit, bank, team value and ranks.";

/// Input of `fpl_manager_team`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ManagerTeamInput {
    /// The manager's entry id (1-100000000), e.g. 1000001.
    #[serde(deserialize_with = "id_number")]
    pub entry_id: u32,
    /// Gameweek (1-38); default the current one.
    #[serde(default)]
    #[schemars(range(min = 1, max = 38))]
    pub gameweek: Option<u32>,
}

impl ToolInput for ManagerTeamInput {
    fn validate(&self) -> Result<(), String> {
        check_range("entryId", self.entry_id, 1, MAX_ID)?;
        match self.gameweek {
            Some(g) => check_range("gameweek", g, 1, 38),
            None => Ok(()),
        }
    }
}

/// One of the fifteen in an answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SquadPlayer {
    #[serde(flatten)]
    pub player: PlayerBrief,
    /// 1-11 the XI, 12-15 the bench in order (after automatic substitutions).
    pub slot: u8,
    /// 0 bench, 1 playing, 2 captain, 3 triple captain.
    pub multiplier: u8,
    pub is_captain: bool,
    pub is_vice_captain: bool,
    pub minutes: i32,
    /// His gameweek points (once), provisional bonus included.
    pub points: i32,
    pub provisional_bonus: i32,
    /// `points` × `multiplier`.
    pub contribution: i32,
    /// played, did_not_play or pending (a match still to come).
    pub status: String,
    /// "in" when he came off the bench, "out" when he was replaced.
    pub auto_sub: Option<String>,
}

/// An automatic substitution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Substitution {
    pub out: PlayerBrief,
    #[serde(rename = "in")]
    pub came_in: PlayerBrief,
}

/// A squad scored for one gameweek (shared with `fpl_live_gameweek`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SquadScore {
    pub gameweek: u32,
    /// True while the gameweek's matches are still being played.
    pub live: bool,
    /// Chip played, e.g. "Bench Boost".
    pub chip: Option<String>,
    /// Points before the transfer hit.
    pub points: i32,
    pub transfer_cost: i32,
    /// `points` − `transferCost`.
    pub net_points: i32,
    pub bench_points: i32,
    /// Formation of the XI after substitutions, e.g. "3-4-3".
    pub formation: String,
    pub captain: Option<PlayerBrief>,
    pub vice_captain: Option<PlayerBrief>,
    /// Who got the captain's points (the vice when the captain did not play).
    pub armband: Option<PlayerBrief>,
    pub auto_subs: Vec<Substitution>,
    /// The XI by slot (goalkeeper, defenders, midfielders, forwards).
    pub starting: Vec<SquadPlayer>,
    /// The bench in order.
    pub bench: Vec<SquadPlayer>,
}

/// `fpl_manager_team`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagerTeam {
    pub entry: EntryBrief,
    #[serde(flatten)]
    pub score: SquadScore,
    /// Money in the bank, £m.
    pub bank: f64,
    /// Squad value including the bank, £m.
    pub team_value: f64,
    pub gameweek_rank: Option<u64>,
    pub overall_rank: Option<u64>,
    pub total_points: i32,
    pub transfers: u32,
}

fn squad_player(d: &FplData, p: &ScoredPick) -> SquadPlayer {
    SquadPlayer {
        player: PlayerBrief::by_id(d, p.element),
        slot: p.slot,
        multiplier: p.multiplier,
        is_captain: p.is_captain,
        is_vice_captain: p.is_vice_captain,
        minutes: p.minutes,
        points: p.points,
        provisional_bonus: p.provisional_bonus,
        contribution: p.contribution(),
        status: match p.appearance {
            Appearance::Played => "played",
            Appearance::DidNotPlay => "did_not_play",
            Appearance::Pending => "pending",
        }
        .to_string(),
        auto_sub: p
            .auto_sub
            .map(|came_in| if came_in { "in" } else { "out" }.to_string()),
    }
}

/// The typed view of a scored squad; `api_subs` are substitutions the API already made.
pub fn squad_score(
    d: &FplData,
    s: &ScoredSquad,
    live: &LiveGameweek,
    transfer_cost: i32,
    api_subs: &[(u32, u32)],
) -> SquadScore {
    let mut starting: Vec<SquadPlayer> = Vec::new();
    let mut bench = Vec::new();
    for p in &s.picks {
        let mut view = squad_player(d, p);
        if api_subs.iter().any(|(_, i)| *i == p.element) {
            view.auto_sub = Some("in".to_string());
        } else if api_subs.iter().any(|(o, _)| *o == p.element) {
            view.auto_sub = Some("out".to_string());
        }
        if p.starts() {
            starting.push(view);
        } else {
            bench.push(view);
        }
    }
    let count = |pos: &str| starting.iter().filter(|p| p.player.position == pos).count();
    let flagged = |f: fn(&ScoredPick) -> bool| {
        s.picks
            .iter()
            .find(|p| f(p))
            .map(|p| PlayerBrief::by_id(d, p.element))
    };
    let subs = api_subs.iter().chain(&s.auto_subs);
    SquadScore {
        gameweek: live.gameweek,
        live: !live.finished,
        chip: s.chip.map(|c| c.label().to_string()),
        points: s.points,
        transfer_cost,
        net_points: s.points - transfer_cost,
        bench_points: s.bench_points,
        formation: format!("{}-{}-{}", count("DEF"), count("MID"), count("FWD")),
        captain: flagged(|p| p.is_captain),
        vice_captain: flagged(|p| p.is_vice_captain),
        armband: s.armband.map(|id| PlayerBrief::by_id(d, id)),
        auto_subs: subs
            .map(|(o, i)| Substitution {
                out: PlayerBrief::by_id(d, *o),
                came_in: PlayerBrief::by_id(d, *i),
            })
            .collect(),
        starting,
        bench,
    }
}

/// Scores an entry's gameweek from the source.
pub async fn entry_score(
    source: &FplSource,
    d: &FplData,
    entry: u32,
    gameweek: u32,
) -> Result<(SquadScore, crate::fpl::manager::EntryGameweek), Stop> {
    let (picks, live) = tokio::try_join!(
        source.entry_picks(entry, gameweek),
        source.event_live(gameweek)
    )?;
    let live = LiveGameweek::new(d, live.data(), gameweek);
    let picks = picks.data();
    let scored = score(d, picks, &live);
    let api_subs: Vec<(u32, u32)> = picks
        .automatic_subs
        .iter()
        .map(|a| (a.element_out, a.element_in))
        .collect();
    let history = picks.entry_history.clone();
    Ok((
        squad_score(d, &scored, &live, history.event_transfers_cost, &api_subs),
        history,
    ))
}

/// "Haaland (MCI) 8×2 = 16".
fn line(p: &SquadPlayer) -> String {
    let mut s = format!("{} {}", p.player.label(), p.points);
    if p.multiplier > 1 {
        s.push_str(&format!("×{} = {}", p.multiplier, p.contribution));
    }
    if p.is_captain {
        s.push_str(" (C)");
    } else if p.is_vice_captain {
        s.push_str(" (V)");
    }
    match p.auto_sub.as_deref() {
        Some("in") => s.push_str(" [auto-sub in]"),
        Some("out") => s.push_str(" [auto-sub out]"),
        _ => {}
    }
    if p.status == "pending" {
        s.push_str(" [yet to play]");
    }
    s
}

/// The squad as text lines (shared with `fpl_live_gameweek`).
pub fn squad_text(s: &SquadScore) -> String {
    let mut out = format!(
        "{} points{}{} ({}), bench {}.",
        s.points,
        if s.live { " so far" } else { "" },
        if s.transfer_cost > 0 {
            format!(", {} after a -{} hit", s.net_points, s.transfer_cost)
        } else {
            String::new()
        },
        s.formation,
        s.bench_points
    );
    if let Some(chip) = &s.chip {
        out.push_str(&format!(" Chip: {chip}."));
    }
    out.push_str("\nXI: ");
    out.push_str(&s.starting.iter().map(line).collect::<Vec<_>>().join("; "));
    out.push_str("\nBench: ");
    out.push_str(&s.bench.iter().map(line).collect::<Vec<_>>().join("; "));
    if !s.auto_subs.is_empty() {
        out.push_str("\nAutomatic substitutions: ");
        out.push_str(
            &s.auto_subs
                .iter()
                .map(|x| format!("{} for {}", x.came_in.label(), x.out.label()))
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    out
}

/// Run the tool.
pub async fn run(source: &FplSource, input: ManagerTeamInput) -> Result<ToolOutput, ToolError> {
    finish(answer(source, input).await)
}

async fn answer(source: &FplSource, input: ManagerTeamInput) -> Result<ToolOutput, Stop> {
    let d = source.data().await?;
    let gameweek = started_gameweek(&d, input.gameweek)?;
    let entry = source.entry(input.entry_id).await?;
    let (score, history) = entry_score(source, &d, input.entry_id, gameweek).await?;
    let team = ManagerTeam {
        entry: EntryBrief::of(entry.data()),
        bank: f64::from(history.bank) / 10.0,
        team_value: f64::from(history.value) / 10.0,
        gameweek_rank: history.rank,
        overall_rank: history.overall_rank,
        total_points: history.total_points,
        transfers: history.event_transfers,
        score,
    };
    let text = format!(
        "{} — gameweek {}: {}\nBank £{:.1}m, team value £{:.1}m, {} transfer(s){}.",
        team.entry.label(),
        gameweek,
        squad_text(&team.score),
        team.bank,
        team.team_value,
        team.transfers,
        team.overall_rank
            .map(|r| format!(", overall rank {}", crate::tools::fpl::thousands(r)))
            .unwrap_or_default(),
    );
    Ok(ToolOutput::typed(text, &team))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fpl::test_support::snapshot_dir;
    use serde_json::{json, Value};

    async fn call(input: Value) -> ToolOutput {
        let source = FplSource::snapshot_dir(snapshot_dir("2025-26_gw7")).unwrap();
        run(&source, ManagerTeamInput::parse(input).unwrap())
            .await
            .unwrap()
    }

    fn raw(path: &str) -> Value {
        let p = snapshot_dir("2025-26_gw7").join(path);
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    }

    /// Every number of the answer against the raw picks and live files.
    #[tokio::test]
    async fn the_squad_and_its_points_are_the_raw_files() {
        for (entry, gw) in [(1000002, 6), (1000004, 1), (84062, 7), (1000001, 3)] {
            let out = call(json!({"entryId": entry, "gameweek": gw})).await;
            assert!(!out.is_error, "{}", out.text);
            let s = out.structured.unwrap();
            let picks = raw(&format!("entry/{entry}/event/{gw}/picks.json"));
            let live = raw(&format!("event/{gw}/live.json"));
            let points_of = |id: u64| {
                live["elements"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|e| e["id"] == id)
                    .map(|e| e["stats"]["total_points"].as_i64().unwrap())
                    .unwrap_or(0)
            };
            let sum: i64 = picks["picks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    points_of(p["element"].as_u64().unwrap()) * p["multiplier"].as_i64().unwrap()
                })
                .sum();
            assert_eq!(s["points"], sum, "entry {entry} gw {gw}");
            assert_eq!(s["points"], picks["entry_history"]["points"]);
            assert_eq!(s["benchPoints"], picks["entry_history"]["points_on_bench"]);
            assert_eq!(
                s["starting"].as_array().unwrap().len() + s["bench"].as_array().unwrap().len(),
                15
            );
            let bank = picks["entry_history"]["bank"].as_f64().unwrap() / 10.0;
            assert!((s["bank"].as_f64().unwrap() - bank).abs() < 1e-9);
            let captain = picks["picks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["is_captain"] == true)
                .unwrap();
            assert_eq!(s["captain"]["id"], captain["element"]);
            assert!(out.text.contains(&format!("gameweek {gw}")), "{}", out.text);
        }
        let tc = call(json!({"entryId": 1000002, "gameweek": 6}))
            .await
            .structured
            .unwrap();
        assert_eq!(tc["chip"], "Triple Captain");
        assert!(tc["starting"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["multiplier"] == 3));
        let bb = call(json!({"entryId": 1000004, "gameweek": 1}))
            .await
            .structured
            .unwrap();
        assert_eq!(bb["chip"], "Bench Boost");
        assert!(bb["bench"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["multiplier"] == 1));
    }

    #[tokio::test]
    async fn unknown_entries_and_unplayed_gameweeks_are_clear_errors() {
        let missing = call(json!({"entryId": 1000005})).await;
        assert!(missing.is_error);
        assert!(missing.text.contains("1000005"), "{}", missing.text);
        let future = call(json!({"entryId": 1000001, "gameweek": 9})).await;
        assert!(future.is_error);
        assert!(future.text.contains("has not started"), "{}", future.text);
        assert!(ManagerTeamInput::parse(json!({"entryId": 0})).is_err());
        assert!(ManagerTeamInput::parse(json!({"entryId": "abc"}))
            .unwrap_err()
            .contains("entryId"));
        assert_eq!(
            ManagerTeamInput::parse(json!({"entryId": "1000001"}))
                .unwrap()
                .entry_id,
            1000001
        );
    }
}
