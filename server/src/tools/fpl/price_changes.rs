//! `fpl_price_changes`: price risers and fallers this gameweek and since the season started,
//! with ownership and the gameweek's transfers that drive them.
//!
//! Promises: changes are the API's `cost_change_event` / `cost_change_start` (tenths of £m,
//! shown as £m); lists are ordered by the size of the change, then by net transfers in; a
//! position filter and a limit (at most 30) apply to every list; counts cover all players.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::fpl::model::{Element, Position};
use crate::fpl::{FplData, FplSource};
use crate::tools::fpl::typed::{finish, PlayerBrief, Stop};
use crate::tools::fpl::{price_change, thousands, PositionInput};
use crate::tools::input::{check_range, ToolInput};
use crate::tools::{ToolError, ToolOutput};

pub const NAME: &str = "fpl_price_changes";
pub const DESCRIPTION: &str = "FPL price risers and fallers: this gameweek's changes and the \
biggest changes since the season started, with price, ownership and this gameweek's transfers \
in and out; optionally for one position.";

/// Input of `fpl_price_changes`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PriceChangesInput {
    /// Only this position.
    #[serde(default)]
    pub position: Option<PositionInput>,
    /// Players per list (1-30, default 10).
    #[serde(default)]
    #[schemars(range(min = 1, max = 30))]
    pub limit: Option<u32>,
}

impl ToolInput for PriceChangesInput {
    fn validate(&self) -> Result<(), String> {
        match self.limit {
            Some(l) => check_range("limit", l, 1, 30),
            None => Ok(()),
        }
    }
}

/// One player's price movement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PriceMove {
    pub player: PlayerBrief,
    /// £m.
    pub change_this_gameweek: f64,
    /// £m.
    pub change_since_start: f64,
    /// £m at the start of the season.
    pub start_price: f64,
    pub selected_by_percent: f64,
    pub transfers_in_gameweek: u64,
    pub transfers_out_gameweek: u64,
    pub net_transfers_gameweek: i64,
}

/// `fpl_price_changes`' answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PriceChanges {
    pub position: Option<String>,
    /// The gameweek the "this gameweek" changes belong to.
    pub gameweek: Option<u32>,
    pub risers_this_gameweek: usize,
    pub fallers_this_gameweek: usize,
    pub risers: Vec<PriceMove>,
    pub fallers: Vec<PriceMove>,
    pub risers_since_start: Vec<PriceMove>,
    pub fallers_since_start: Vec<PriceMove>,
}

fn price_move(d: &FplData, e: &Element) -> PriceMove {
    PriceMove {
        player: PlayerBrief::of(d, e),
        change_this_gameweek: f64::from(e.cost_change_event) / 10.0,
        change_since_start: f64::from(e.cost_change_start) / 10.0,
        start_price: f64::from(e.now_cost.0 - e.cost_change_start) / 10.0,
        selected_by_percent: e.selected_by_percent,
        transfers_in_gameweek: e.transfers_in_event,
        transfers_out_gameweek: e.transfers_out_event,
        net_transfers_gameweek: e.transfers_in_event as i64 - e.transfers_out_event as i64,
    }
}

fn ranked(
    d: &FplData,
    players: &[&Element],
    key: impl Fn(&Element) -> i32,
    rising: bool,
    limit: usize,
) -> Vec<PriceMove> {
    let mut v: Vec<&&Element> = players
        .iter()
        .filter(|e| if rising { key(e) > 0 } else { key(e) < 0 })
        .collect();
    let net = |e: &Element| e.transfers_in_event as i64 - e.transfers_out_event as i64;
    v.sort_by(|a, b| {
        let (ka, kb) = (key(a), key(b));
        let by_size = if rising { kb.cmp(&ka) } else { ka.cmp(&kb) };
        let by_net = if rising {
            net(b).cmp(&net(a))
        } else {
            net(a).cmp(&net(b))
        };
        by_size.then(by_net).then(a.id.cmp(&b.id))
    });
    v.into_iter()
        .take(limit)
        .map(|e| price_move(d, e))
        .collect()
}

/// Run the tool.
pub async fn run(source: &FplSource, input: PriceChangesInput) -> Result<ToolOutput, ToolError> {
    finish(answer(source, input).await)
}

async fn answer(source: &FplSource, input: PriceChangesInput) -> Result<ToolOutput, Stop> {
    let d = source.data().await?;
    let position = input.position.map(Position::from);
    let players: Vec<&Element> = d
        .players()
        .iter()
        .filter(|e| position.is_none_or(|p| e.element_type == p))
        .collect();
    let limit = input.limit.unwrap_or(10) as usize;
    let out = PriceChanges {
        position: position.map(|p| p.short().to_string()),
        gameweek: d.current_event().map(|e| e.id),
        risers_this_gameweek: players.iter().filter(|e| e.cost_change_event > 0).count(),
        fallers_this_gameweek: players.iter().filter(|e| e.cost_change_event < 0).count(),
        risers: ranked(&d, &players, |e| e.cost_change_event, true, limit),
        fallers: ranked(&d, &players, |e| e.cost_change_event, false, limit),
        risers_since_start: ranked(&d, &players, |e| e.cost_change_start, true, limit),
        fallers_since_start: ranked(&d, &players, |e| e.cost_change_start, false, limit),
    };
    Ok(ToolOutput::typed(text(&out), &out))
}

fn list(v: &[PriceMove], since_start: bool) -> String {
    if v.is_empty() {
        return "none".to_string();
    }
    v.iter()
        .map(|m| {
            let change = if since_start {
                m.change_since_start
            } else {
                m.change_this_gameweek
            };
            format!(
                "{} {} now £{:.1}m, {}% owned, net transfers {}{}",
                m.player.label(),
                price_change((change * 10.0).round() as i32),
                m.player.price,
                m.selected_by_percent,
                if m.net_transfers_gameweek >= 0 {
                    "+"
                } else {
                    "-"
                },
                thousands(m.net_transfers_gameweek.unsigned_abs())
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn text(p: &PriceChanges) -> String {
    let scope = p
        .position
        .as_deref()
        .map(|s| format!(" ({s})"))
        .unwrap_or_default();
    format!(
        "Price changes{scope}{}: {} risers and {} fallers this gameweek.\nRisers: {}.\nFallers: {}.\n\
         Biggest risers since the start: {}.\nBiggest fallers since the start: {}.",
        p.gameweek
            .map(|g| format!(" in gameweek {g}"))
            .unwrap_or_default(),
        p.risers_this_gameweek,
        p.fallers_this_gameweek,
        list(&p.risers, false),
        list(&p.fallers, false),
        list(&p.risers_since_start, true),
        list(&p.fallers_since_start, true),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fpl::test_support::snapshot_dir;
    use serde_json::{json, Value};

    #[tokio::test]
    async fn risers_and_fallers_are_the_raw_cost_changes() {
        let source = FplSource::snapshot_dir(snapshot_dir("2025-26_gw7")).unwrap();
        let out = run(
            &source,
            PriceChangesInput::parse(json!({"limit": 5})).unwrap(),
        )
        .await
        .unwrap();
        let s = out.structured.unwrap();
        let raw: Value = serde_json::from_slice(
            &std::fs::read(snapshot_dir("2025-26_gw7").join("bootstrap-static.json")).unwrap(),
        )
        .unwrap();
        let els = raw["elements"].as_array().unwrap();
        let count = |k: &str, up: bool| {
            els.iter()
                .filter(|e| {
                    let c = e[k].as_i64().unwrap();
                    if up {
                        c > 0
                    } else {
                        c < 0
                    }
                })
                .count()
        };
        assert_eq!(s["risersThisGameweek"], count("cost_change_event", true));
        assert_eq!(s["fallersThisGameweek"], count("cost_change_event", false));
        let max_start = els
            .iter()
            .map(|e| e["cost_change_start"].as_i64().unwrap())
            .max()
            .unwrap();
        let top = s["risersSinceStart"][0]["changeSinceStart"]
            .as_f64()
            .unwrap();
        assert!((top - max_start as f64 / 10.0).abs() < 1e-9);
        let min_start = els
            .iter()
            .map(|e| e["cost_change_start"].as_i64().unwrap())
            .min()
            .unwrap();
        let bottom = s["fallersSinceStart"][0]["changeSinceStart"]
            .as_f64()
            .unwrap();
        assert!((bottom - min_start as f64 / 10.0).abs() < 1e-9);
        assert!(s["risersSinceStart"].as_array().unwrap().len() <= 5);
        let gk = run(
            &source,
            PriceChangesInput::parse(json!({"position": "GKP"})).unwrap(),
        )
        .await
        .unwrap()
        .structured
        .unwrap();
        for m in gk["risersSinceStart"].as_array().unwrap() {
            assert_eq!(m["player"]["position"], "GKP");
        }
    }
}
