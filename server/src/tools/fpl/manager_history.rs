//! `fpl_manager_history`: a manager's season gameweek by gameweek (points, ranks, transfers
//! and hits, bench points, chips) with totals, and past seasons.
//!
//! Promises: every row is the API's history row; the totals are sums over those rows; the
//! best and worst gameweeks are by points after the hit; chips are named as the game names
//! them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::fpl::squad::Chip;
use crate::fpl::FplSource;
use crate::tools::fpl::thousands;
use crate::tools::fpl::typed::{finish, EntryBrief, Stop, MAX_ID};
use crate::tools::input::{check_range, id_number, ToolInput};
use crate::tools::{ToolError, ToolOutput};

pub const NAME: &str = "fpl_manager_history";
pub const DESCRIPTION: &str = "A manager's season so far by gameweek (points, gameweek and \
overall rank, transfers and hits, bench points, bank and team value, chips played) with \
totals (transfers, hit points, points left on the bench, best and worst gameweek), plus \
past seasons' points and ranks.";

/// Input of `fpl_manager_history`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ManagerHistoryInput {
    /// The manager's entry id (1-100000000).
    #[serde(deserialize_with = "id_number")]
    pub entry_id: u32,
}

impl ToolInput for ManagerHistoryInput {
    fn validate(&self) -> Result<(), String> {
        check_range("entryId", self.entry_id, 1, MAX_ID)
    }
}

/// One gameweek of the season.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryRow {
    pub gameweek: u32,
    /// Before the hit.
    pub points: i32,
    pub transfer_cost: i32,
    pub net_points: i32,
    /// Season total after this gameweek.
    pub total_points: i32,
    pub gameweek_rank: Option<u64>,
    pub overall_rank: Option<u64>,
    pub transfers: u32,
    pub bench_points: i32,
    /// £m.
    pub bank: f64,
    /// Squad value with the bank, £m.
    pub team_value: f64,
    pub chip: Option<String>,
}

/// A chip played.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChipPlayed {
    pub name: String,
    pub gameweek: u32,
}

/// A past season.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Season {
    pub season: String,
    pub total_points: i32,
    pub rank: u64,
}

/// Sums over the season.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryTotals {
    pub gameweeks: usize,
    pub transfers: u32,
    pub hit_points: i32,
    pub bench_points: i32,
    pub best_gameweek: Option<u32>,
    pub best_points: Option<i32>,
    pub worst_gameweek: Option<u32>,
    pub worst_points: Option<i32>,
    pub average_points: Option<f64>,
}

/// `fpl_manager_history`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagerHistory {
    pub entry: EntryBrief,
    pub gameweeks: Vec<HistoryRow>,
    pub chips: Vec<ChipPlayed>,
    pub totals: HistoryTotals,
    pub past_seasons: Vec<Season>,
}

/// Run the tool.
pub async fn run(source: &FplSource, input: ManagerHistoryInput) -> Result<ToolOutput, ToolError> {
    finish(answer(source, input).await)
}

async fn answer(source: &FplSource, input: ManagerHistoryInput) -> Result<ToolOutput, Stop> {
    let (entry, history) = tokio::try_join!(
        source.entry(input.entry_id),
        source.entry_history(input.entry_id)
    )?;
    let h = history.data();
    let chip_of = |gw: u32| {
        h.chips
            .iter()
            .find(|c| c.event == gw)
            .map(|c| Chip::parse(&c.name).label().to_string())
    };
    let rows: Vec<HistoryRow> = h
        .current
        .iter()
        .map(|g| HistoryRow {
            gameweek: g.event,
            points: g.points,
            transfer_cost: g.event_transfers_cost,
            net_points: g.points - g.event_transfers_cost,
            total_points: g.total_points,
            gameweek_rank: g.rank,
            overall_rank: g.overall_rank,
            transfers: g.event_transfers,
            bench_points: g.points_on_bench,
            bank: f64::from(g.bank) / 10.0,
            team_value: f64::from(g.value) / 10.0,
            chip: chip_of(g.event),
        })
        .collect();
    let best = rows
        .iter()
        .max_by_key(|r| (r.net_points, std::cmp::Reverse(r.gameweek)));
    let worst = rows.iter().min_by_key(|r| (r.net_points, r.gameweek));
    let totals = HistoryTotals {
        gameweeks: rows.len(),
        transfers: rows.iter().map(|r| r.transfers).sum(),
        hit_points: rows.iter().map(|r| r.transfer_cost).sum(),
        bench_points: rows.iter().map(|r| r.bench_points).sum(),
        best_gameweek: best.map(|r| r.gameweek),
        best_points: best.map(|r| r.net_points),
        worst_gameweek: worst.map(|r| r.gameweek),
        worst_points: worst.map(|r| r.net_points),
        average_points: (!rows.is_empty()).then(|| {
            let sum: i32 = rows.iter().map(|r| r.net_points).sum();
            (f64::from(sum) / rows.len() as f64 * 10.0).round() / 10.0
        }),
    };
    let out = ManagerHistory {
        entry: EntryBrief::of(entry.data()),
        chips: h
            .chips
            .iter()
            .map(|c| ChipPlayed {
                name: Chip::parse(&c.name).label().to_string(),
                gameweek: c.event,
            })
            .collect(),
        past_seasons: h
            .past
            .iter()
            .map(|p| Season {
                season: p.season_name.clone(),
                total_points: p.total_points,
                rank: p.rank,
            })
            .collect(),
        gameweeks: rows,
        totals,
    };
    Ok(ToolOutput::typed(text(&out), &out))
}

fn text(h: &ManagerHistory) -> String {
    let mut out = format!("{} — season so far:\n", h.entry.label());
    for r in &h.gameweeks {
        out.push_str(&format!(
            "GW{}: {} pts{}{}, bench {}, {} transfer(s){}\n",
            r.gameweek,
            r.net_points,
            if r.transfer_cost > 0 {
                format!(" ({} - {} hit)", r.points, r.transfer_cost)
            } else {
                String::new()
            },
            r.overall_rank
                .map(|x| format!(", overall rank {}", thousands(x)))
                .unwrap_or_default(),
            r.bench_points,
            r.transfers,
            r.chip
                .as_deref()
                .map(|c| format!(", {c}"))
                .unwrap_or_default(),
        ));
    }
    let t = &h.totals;
    out.push_str(&format!(
        "Totals: {} transfers, {} points in hits, {} points on the bench",
        t.transfers, t.hit_points, t.bench_points
    ));
    if let (Some(b), Some(bp), Some(w), Some(wp)) = (
        t.best_gameweek,
        t.best_points,
        t.worst_gameweek,
        t.worst_points,
    ) {
        out.push_str(&format!("; best GW{b} ({bp}), worst GW{w} ({wp})"));
    }
    out.push('.');
    if !h.past_seasons.is_empty() {
        out.push_str("\nPast seasons: ");
        out.push_str(
            &h.past_seasons
                .iter()
                .map(|s| {
                    format!(
                        "{} {} pts (rank {})",
                        s.season,
                        s.total_points,
                        thousands(s.rank)
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fpl::test_support::snapshot_dir;
    use serde_json::{json, Value};

    #[tokio::test]
    async fn rows_and_totals_are_the_raw_history() {
        let source = FplSource::snapshot_dir(snapshot_dir("2025-26_gw7")).unwrap();
        for entry in [84062, 1000001, 1000002, 1000003, 1000004] {
            let out = run(
                &source,
                ManagerHistoryInput::parse(json!({"entryId": entry})).unwrap(),
            )
            .await
            .unwrap();
            assert!(!out.is_error, "{}", out.text);
            let s = out.structured.unwrap();
            let raw: Value = serde_json::from_slice(
                &std::fs::read(
                    snapshot_dir("2025-26_gw7").join(format!("entry/{entry}/history.json")),
                )
                .unwrap(),
            )
            .unwrap();
            let current = raw["current"].as_array().unwrap();
            let sum = |k: &str| current.iter().map(|r| r[k].as_i64().unwrap()).sum::<i64>();
            assert_eq!(s["gameweeks"].as_array().unwrap().len(), current.len());
            assert_eq!(s["totals"]["transfers"], sum("event_transfers"));
            assert_eq!(s["totals"]["hitPoints"], sum("event_transfers_cost"));
            assert_eq!(s["totals"]["benchPoints"], sum("points_on_bench"));
            // The running total is the sum of points after hits.
            let last = current.last().unwrap();
            assert_eq!(
                last["total_points"].as_i64().unwrap(),
                sum("points") - sum("event_transfers_cost")
            );
            assert_eq!(
                s["chips"].as_array().unwrap().len(),
                raw["chips"].as_array().unwrap().len()
            );
        }
        // 84062's real GW points (SOURCES.md).
        let out = run(
            &source,
            ManagerHistoryInput::parse(json!({"entryId": 84062})).unwrap(),
        )
        .await
        .unwrap();
        let pts: Vec<i64> = out.structured.unwrap()["gameweeks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["points"].as_i64().unwrap())
            .collect();
        assert_eq!(pts, vec![64, 50, 52, 70, 35, 24, 86]);
        assert!(out.text.contains("GW3"), "{}", out.text);
    }
}
