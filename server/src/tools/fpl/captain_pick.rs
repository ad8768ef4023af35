//! `fpl_captain_pick`: captain candidates for the next gameweek ranked by the transparent
//! outlook of [`super::outlook`], each with the parts of its score and its matches.
//!
//! Promises: candidates are an entry's squad, the named players, or (neither given) every
//! player who has played; the ranking is by expected points, then form, then id, so the
//! same data always gives the same order; a blank gameweek scores 0 and a double counts both
//! matches; names that do not match one player are `is_error` answers with suggestions.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::fpl::model::Element;
use crate::fpl::{FplData, FplSource};
use crate::tools::fpl::outlook::{matches_text, outlook, Outlook, METHOD};
use crate::tools::fpl::resolve_player;
use crate::tools::fpl::typed::{
    finish, latest_squad, refuse, EntryBrief, PlayerBrief, Stop, MAX_ID,
};
use crate::tools::input::{
    check_items, check_query, check_range, opt_id_number, ToolInput, MAX_QUERY_CHARS,
};
use crate::tools::{ToolError, ToolOutput};

pub const NAME: &str = "fpl_captain_pick";
pub const DESCRIPTION: &str = "Who to captain next gameweek: candidates from a manager's squad \
(entryId), from named players, or from all players, ranked by a transparent score whose parts \
are shown (form, expected goal involvement per 90, fixture difficulty, home or away, penalty \
duty, minutes security, chance of playing), counting double and blank gameweeks.";

/// Input of `fpl_captain_pick`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CaptainPickInput {
    /// Rank this manager's current squad (entry id).
    #[serde(default, deserialize_with = "opt_id_number")]
    pub entry_id: Option<u32>,
    /// Or rank these players (names or ids, at most 15, each at most 100 characters).
    #[serde(default)]
    #[schemars(length(max = 15), inner(length(max = MAX_QUERY_CHARS)))]
    pub players: Vec<String>,
    /// How many candidates to return (1-15, default 5).
    #[serde(default)]
    #[schemars(range(min = 1, max = 15))]
    pub limit: Option<u32>,
}

impl ToolInput for CaptainPickInput {
    fn validate(&self) -> Result<(), String> {
        if let Some(e) = self.entry_id {
            check_range("entryId", e, 1, MAX_ID)?;
        }
        check_items("players", &self.players, 15)?;
        for (i, p) in self.players.iter().enumerate() {
            check_query(&format!("players[{i}]"), p)?;
        }
        match self.limit {
            Some(l) => check_range("limit", l, 1, 15),
            None => Ok(()),
        }
    }
}

/// One ranked candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CaptainCandidate {
    pub rank: usize,
    pub player: PlayerBrief,
    #[serde(flatten)]
    pub outlook: Outlook,
}

/// `fpl_captain_pick`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CaptainPick {
    pub gameweek: u32,
    /// The squad ranked, when an entry was given.
    pub entry: Option<EntryBrief>,
    /// How the score is made.
    pub method: String,
    pub candidates: Vec<CaptainCandidate>,
}

/// Ranks `players` for `gameweek`, best first.
pub fn rank<'a>(
    d: &FplData,
    players: &[&'a Element],
    gameweek: u32,
) -> Vec<(&'a Element, Outlook)> {
    let mut v: Vec<(&Element, Outlook)> = players
        .iter()
        .map(|e| (*e, outlook(d, e, &[gameweek])))
        .collect();
    v.sort_by(|(a, oa), (b, ob)| {
        ob.expected_points
            .total_cmp(&oa.expected_points)
            .then(b.form.total_cmp(&a.form))
            .then(a.id.cmp(&b.id))
    });
    v
}

/// Run the tool.
pub async fn run(source: &FplSource, input: CaptainPickInput) -> Result<ToolOutput, ToolError> {
    finish(answer(source, input).await)
}

async fn answer(source: &FplSource, input: CaptainPickInput) -> Result<ToolOutput, Stop> {
    let d = source.data().await?;
    let Some(gameweek) = d.next_event().map(|e| e.id) else {
        return Err(refuse(
            "gameweek",
            "The season is over: there is no next gameweek to captain for.",
        ));
    };
    let mut entry = None;
    let players: Vec<&Element> = if let Some(id) = input.entry_id {
        let squad = latest_squad(source, &d, id).await?;
        entry = Some(EntryBrief::of(&squad.entry));
        squad.players.iter().filter_map(|p| d.player(*p)).collect()
    } else if !input.players.is_empty() {
        let mut v = Vec::new();
        for q in &input.players {
            let e = resolve_player(&d, q, |_| true).map_err(Stop::Answer)?;
            if !v.iter().any(|x: &&Element| x.id == e.id) {
                v.push(e);
            }
        }
        v
    } else {
        d.players().iter().filter(|e| e.minutes > 0).collect()
    };
    let limit = input.limit.unwrap_or(5) as usize;
    let candidates: Vec<CaptainCandidate> = rank(&d, &players, gameweek)
        .into_iter()
        .take(limit)
        .enumerate()
        .map(|(i, (e, o))| CaptainCandidate {
            rank: i + 1,
            player: PlayerBrief::of(&d, e),
            outlook: o,
        })
        .collect();
    let pick = CaptainPick {
        gameweek,
        entry,
        method: METHOD.to_string(),
        candidates,
    };
    Ok(ToolOutput::typed(text(&pick), &pick))
}

fn text(c: &CaptainPick) -> String {
    let mut out = format!(
        "Captain candidates for gameweek {}{}:\n",
        c.gameweek,
        c.entry
            .as_ref()
            .map(|e| format!(" from {}", e.label()))
            .unwrap_or_default()
    );
    for x in &c.candidates {
        out.push_str(&format!(
            "{}. {} — {:.2} expected points: {}; {}\n",
            x.rank,
            x.player.label(),
            x.outlook.expected_points,
            x.outlook.parts.text(),
            matches_text(&x.outlook.matches)
        ));
    }
    out.push_str(&format!("Score: {}.", c.method));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fpl::test_support::snapshot_dir;
    use serde_json::json;

    async fn call(v: serde_json::Value) -> ToolOutput {
        let source = FplSource::snapshot_dir(snapshot_dir("2025-26_gw7")).unwrap();
        run(&source, CaptainPickInput::parse(v).unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn ranks_a_squad_by_the_shown_parts() {
        let out = call(json!({"entryId": 1000001, "limit": 15})).await;
        assert!(!out.is_error, "{}", out.text);
        let s = out.structured.unwrap();
        assert_eq!(s["gameweek"], 8);
        let c = s["candidates"].as_array().unwrap();
        assert_eq!(c.len(), 15, "the whole squad");
        let raw: serde_json::Value = serde_json::from_slice(
            &std::fs::read(snapshot_dir("2025-26_gw7").join("entry/1000001/event/7/picks.json"))
                .unwrap(),
        )
        .unwrap();
        let mut squad: Vec<u64> = raw["picks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["element"].as_u64().unwrap())
            .collect();
        let mut ranked: Vec<u64> = c
            .iter()
            .map(|x| x["player"]["id"].as_u64().unwrap())
            .collect();
        squad.sort();
        ranked.sort();
        assert_eq!(ranked, squad);
        let scores: Vec<f64> = c
            .iter()
            .map(|x| x["expectedPoints"].as_f64().unwrap())
            .collect();
        assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
        for x in c {
            let p = &x["parts"];
            let sum: f64 = [
                "form",
                "expectedGoalInvolvement",
                "fixture",
                "home",
                "penalties",
            ]
            .iter()
            .map(|k| p[k].as_f64().unwrap())
            .sum();
            let want =
                sum * p["minutesSecurity"].as_f64().unwrap() * p["availability"].as_f64().unwrap();
            assert!(
                (x["expectedPoints"].as_f64().unwrap() - want).abs() < 0.02,
                "{x}"
            );
        }
    }

    #[tokio::test]
    async fn named_players_and_bad_names() {
        let out = call(json!({"players": ["Haaland", "Salah"]})).await;
        let s = out.structured.unwrap();
        assert_eq!(s["candidates"].as_array().unwrap().len(), 2);
        let bad = call(json!({"players": ["Zzzyxx"]})).await;
        assert!(bad.is_error);
        let top = call(json!({"limit": 3})).await.structured.unwrap();
        assert_eq!(top["candidates"].as_array().unwrap().len(), 3);
    }
}
