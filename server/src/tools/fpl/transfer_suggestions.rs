//! `fpl_transfer_suggestions`: the best one or two transfers for a squad over the next N
//! gameweeks, under the game's rules, each with its projected gain and reasons.
//!
//! Promises: a move replaces a player with one of the same position who is not in the
//! squad, leaves at most 3 players per club, and is paid for from the selling price plus the
//! bank (for an entry: purchase price + half of any rise, rounded down to £0.1m, the
//! current price after a fall; for a given squad: current prices); the gain is the
//! difference of [`super::outlook`] estimates over the gameweeks, minus 4 points per
//! transfer beyond the free ones; players unlikely to play (under 75 %) are never bought;
//! options are ordered by net gain, and doing nothing is suggested when no move gains.

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::fpl::manager::{EntryHistory, Transfer};
use crate::fpl::model::Element;
use crate::fpl::{FplData, FplSource};
use crate::tools::fpl::outlook::{availability, matches_text, outlook, Outlook, METHOD};
use crate::tools::fpl::resolve_player;
use crate::tools::fpl::typed::{
    finish, latest_squad, refuse, round2, EntryBrief, PlayerBrief, Stop, MAX_ID,
};
use crate::tools::input::{
    check_items, check_query, check_range, opt_id_number, ToolInput, MAX_QUERY_CHARS,
};
use crate::tools::{ToolError, ToolOutput};

pub const NAME: &str = "fpl_transfer_suggestions";
pub const DESCRIPTION: &str = "The best one or two FPL transfers over the next N gameweeks for \
a manager's team (entryId) or for a given squad (15 players, bank, free transfers), under the \
squad rules (selling prices, budget, same position, at most 3 players per club), each with \
its projected points gain (after any -4 hits) and the reasons.";

/// Points a transfer beyond the free ones costs.
pub const HIT: i32 = 4;
/// Least chance of playing of a player worth buying.
const MIN_AVAILABILITY: f64 = 0.75;
/// Single moves kept to combine into pairs.
const PAIR_POOL: usize = 40;

/// Input of `fpl_transfer_suggestions`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TransferSuggestionsInput {
    /// The manager's entry id; or give `squad` instead.
    #[serde(default, deserialize_with = "opt_id_number")]
    pub entry_id: Option<u32>,
    /// A squad of 15 players (names or ids, each at most 100 characters), when no entryId
    /// is given.
    #[serde(default)]
    #[schemars(length(max = 15), inner(length(max = MAX_QUERY_CHARS)))]
    pub squad: Vec<String>,
    /// Money in the bank in £m with `squad` (0-100, default 0).
    #[serde(default)]
    pub bank: Option<f64>,
    /// Free transfers available (0-5); default 1 with `squad`, worked out from the history
    /// for an entry.
    #[serde(default)]
    pub free_transfers: Option<u32>,
    /// Gameweeks to look ahead (1-8, default 3).
    #[serde(default)]
    #[schemars(range(min = 1, max = 8))]
    pub horizon: Option<u32>,
    /// Most transfers in one option (1 or 2, default 2).
    #[serde(default)]
    #[schemars(range(min = 1, max = 2))]
    pub max_transfers: Option<u32>,
}

impl ToolInput for TransferSuggestionsInput {
    fn validate(&self) -> Result<(), String> {
        if let Some(e) = self.entry_id {
            check_range("entryId", e, 1, MAX_ID)?;
        }
        check_items("squad", &self.squad, 15)?;
        for (i, p) in self.squad.iter().enumerate() {
            check_query(&format!("squad[{i}]"), p)?;
        }
        if self.entry_id.is_none() && self.squad.len() != 15 {
            return Err(format!(
                "invalid value for field `squad`: give an entryId or all 15 players, got {}",
                self.squad.len()
            ));
        }
        if let Some(b) = self.bank {
            if !(0.0..=100.0).contains(&b) {
                return Err(
                    "invalid value for field `bank`: must be between 0 and 100 (£m)".into(),
                );
            }
        }
        if let Some(f) = self.free_transfers {
            check_range("freeTransfers", f, 0, 5)?;
        }
        if let Some(h) = self.horizon {
            check_range("horizon", h, 1, 8)?;
        }
        match self.max_transfers {
            Some(m) => check_range("maxTransfers", m, 1, 2),
            None => Ok(()),
        }
    }
}

/// One player swapped for another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Move {
    pub out: PlayerBrief,
    /// What selling him brings, £m.
    pub selling_price: f64,
    #[serde(rename = "in")]
    pub came_in: PlayerBrief,
    /// His price, £m.
    pub price: f64,
    /// Expected points over the horizon, the player out's and in's.
    pub out_expected: f64,
    pub in_expected: f64,
    /// `inExpected` − `outExpected`.
    pub gain: f64,
}

/// One option: one or two moves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransferOption {
    pub moves: Vec<Move>,
    pub hit_cost: i32,
    /// Sum of the gains minus the hit.
    pub net_gain: f64,
    /// £m left after the moves.
    pub bank_after: f64,
    pub reasons: Vec<String>,
}

/// `fpl_transfer_suggestions`' answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransferPlan {
    pub entry: Option<EntryBrief>,
    pub gameweeks: Vec<u32>,
    /// £m.
    pub bank: f64,
    pub free_transfers: u32,
    pub method: String,
    /// Best first; empty when no move gains.
    pub options: Vec<TransferOption>,
    /// The squad's weakest players by expected points.
    pub weakest: Vec<SquadOutlook>,
}

/// A squad player's outlook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SquadOutlook {
    pub player: PlayerBrief,
    pub expected_points: f64,
}

/// The squad a plan starts from.
struct Squad<'a> {
    players: Vec<&'a Element>,
    /// Tenths of £m, by player id.
    selling: HashMap<u32, i32>,
    bank: i32,
    free_transfers: u32,
}

/// Selling price: purchase price + half the rise (rounded down), or the price after a fall.
pub fn selling_price(purchase: i32, now: i32) -> i32 {
    if now > purchase {
        purchase + (now - purchase) / 2
    } else {
        now
    }
}

/// Free transfers for the next deadline: 1 after the first gameweek, +1 a week up to 5,
/// minus the transfers made; Wildcard and Free Hit weeks keep them as they were.
pub fn free_transfers(history: &EntryHistory) -> u32 {
    let mut ft: i64 = 0;
    for (i, g) in history.current.iter().enumerate() {
        let chip = history
            .chips
            .iter()
            .find(|c| c.event == g.event)
            .map(|c| c.name.as_str());
        if i == 0 {
            ft = 1;
        } else if !matches!(chip, Some("wildcard") | Some("freehit")) {
            ft = ((ft - i64::from(g.event_transfers)).max(0) + 1).min(5);
        }
    }
    ft.max(0) as u32
}

/// Purchase price of each player: his latest transfer in, else the season-start price.
fn purchase_prices(players: &[&Element], transfers: &[Transfer]) -> HashMap<u32, i32> {
    players
        .iter()
        .map(|e| {
            let bought = transfers
                .iter()
                .filter(|t| t.element_in == e.id)
                .max_by_key(|t| t.time)
                .map(|t| t.element_in_cost)
                .unwrap_or(e.now_cost.0 - e.cost_change_start);
            (e.id, bought)
        })
        .collect()
}

async fn entry_squad<'a>(
    source: &FplSource,
    d: &'a FplData,
    id: u32,
    free: Option<u32>,
) -> Result<(Squad<'a>, EntryBrief), Stop> {
    let latest = latest_squad(source, d, id).await?;
    let (history, transfers) =
        tokio::try_join!(source.entry_history(id), source.entry_transfers(id))?;
    let players: Vec<&Element> = latest.players.iter().filter_map(|p| d.player(*p)).collect();
    let bought = purchase_prices(&players, transfers.data());
    let selling = players
        .iter()
        .map(|e| (e.id, selling_price(bought[&e.id], e.now_cost.0)))
        .collect();
    Ok((
        Squad {
            players,
            selling,
            bank: latest.bank,
            free_transfers: free.unwrap_or_else(|| free_transfers(history.data())),
        },
        EntryBrief::of(&latest.entry),
    ))
}

fn given_squad<'a>(d: &'a FplData, input: &TransferSuggestionsInput) -> Result<Squad<'a>, Stop> {
    let mut players: Vec<&Element> = Vec::new();
    for q in &input.squad {
        let e = resolve_player(d, q, |_| true).map_err(Stop::Answer)?;
        if players.iter().any(|p| p.id == e.id) {
            return Err(refuse(
                "squad",
                format!("{} is in the squad twice.", e.web_name),
            ));
        }
        players.push(e);
    }
    Ok(Squad {
        selling: players.iter().map(|e| (e.id, e.now_cost.0)).collect(),
        players,
        bank: (input.bank.unwrap_or(0.0) * 10.0).round() as i32,
        free_transfers: input.free_transfers.unwrap_or(1),
    })
}

/// Every legal single move with a positive gain, best first.
fn singles(d: &FplData, squad: &Squad, outlooks: &HashMap<u32, Outlook>) -> Vec<(u32, u32, f64)> {
    let mut clubs: HashMap<u32, usize> = HashMap::new();
    for p in &squad.players {
        *clubs.entry(p.team).or_default() += 1;
    }
    let xp = |id: u32| outlooks.get(&id).map_or(0.0, |o| o.expected_points);
    let mut moves = Vec::new();
    for out in &squad.players {
        let budget = squad.selling[&out.id] + squad.bank;
        for cand in d.players() {
            let club_ok = clubs.get(&cand.team).copied().unwrap_or(0)
                - usize::from(cand.team == out.team)
                < 3;
            if cand.element_type != out.element_type
                || cand.now_cost.0 > budget
                || !club_ok
                || squad.players.iter().any(|p| p.id == cand.id)
                || availability(cand) < MIN_AVAILABILITY
            {
                continue;
            }
            let gain = xp(cand.id) - xp(out.id);
            if gain > 0.0 {
                moves.push((out.id, cand.id, gain));
            }
        }
    }
    moves.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
    moves
}

/// Whether two moves can be made together (budget and clubs jointly).
fn pair_ok(d: &FplData, squad: &Squad, a: (u32, u32), b: (u32, u32)) -> bool {
    if a.0 == b.0 || a.1 == b.1 {
        return false;
    }
    let price = |id: u32| d.player(id).map_or(i32::MAX / 4, |e| e.now_cost.0);
    let money = squad.bank + squad.selling[&a.0] + squad.selling[&b.0] - price(a.1) - price(b.1);
    let mut clubs: HashMap<u32, i32> = HashMap::new();
    for p in &squad.players {
        if p.id != a.0 && p.id != b.0 {
            *clubs.entry(p.team).or_default() += 1;
        }
    }
    for id in [a.1, b.1] {
        if let Some(e) = d.player(id) {
            *clubs.entry(e.team).or_default() += 1;
        }
    }
    money >= 0 && clubs.values().all(|c| *c <= 3)
}

fn option(
    d: &FplData,
    squad: &Squad,
    outlooks: &HashMap<u32, Outlook>,
    moves: &[(u32, u32, f64)],
) -> TransferOption {
    let hit = (moves.len() as i32 - squad.free_transfers as i32).max(0) * HIT;
    let spent: i32 = moves
        .iter()
        .map(|(o, i, _)| d.player(*i).map_or(0, |e| e.now_cost.0) - squad.selling[o])
        .sum();
    let mut reasons = Vec::new();
    let built: Vec<Move> = moves
        .iter()
        .map(|(o, i, gain)| {
            let (oo, io) = (&outlooks[o], &outlooks[i]);
            let (out, came_in) = (PlayerBrief::by_id(d, *o), PlayerBrief::by_id(d, *i));
            reasons.push(format!(
                "{}: form {}, xGI/90 {}, chance of playing {:.0}%, {}",
                came_in.label(),
                io.form_value,
                io.xgi_per90,
                io.parts.availability * 100.0,
                matches_text(&io.matches)
            ));
            reasons.push(format!(
                "{}: form {}, xGI/90 {}, chance of playing {:.0}%, {}",
                out.label(),
                oo.form_value,
                oo.xgi_per90,
                oo.parts.availability * 100.0,
                matches_text(&oo.matches)
            ));
            Move {
                selling_price: f64::from(squad.selling[o]) / 10.0,
                price: came_in.price,
                out_expected: oo.expected_points,
                in_expected: io.expected_points,
                gain: round2(*gain),
                out,
                came_in,
            }
        })
        .collect();
    if hit > 0 {
        reasons.push(format!(
            "costs a -{hit} hit ({} free transfer(s))",
            squad.free_transfers
        ));
    }
    TransferOption {
        net_gain: round2(moves.iter().map(|m| m.2).sum::<f64>() - f64::from(hit)),
        hit_cost: hit,
        bank_after: f64::from(squad.bank - spent) / 10.0,
        moves: built,
        reasons,
    }
}

/// Run the tool.
pub async fn run(
    source: &FplSource,
    input: TransferSuggestionsInput,
) -> Result<ToolOutput, ToolError> {
    finish(answer(source, input).await)
}

async fn answer(source: &FplSource, input: TransferSuggestionsInput) -> Result<ToolOutput, Stop> {
    let d = source.data().await?;
    let gameweeks = d.upcoming_gameweeks(input.horizon.unwrap_or(3));
    if gameweeks.is_empty() {
        return Err(refuse(
            "horizon",
            "The season is over: there are no gameweeks to plan for.",
        ));
    }
    let (squad, entry) = match input.entry_id {
        Some(id) => {
            let (s, e) = entry_squad(source, &d, id, input.free_transfers).await?;
            (s, Some(e))
        }
        None => (given_squad(&d, &input)?, None),
    };
    let outlooks: HashMap<u32, Outlook> = d
        .players()
        .iter()
        .map(|e| (e.id, outlook(&d, e, &gameweeks)))
        .collect();
    let singles = singles(&d, &squad, &outlooks);
    let mut options: Vec<TransferOption> = Vec::new();
    let mut seen_out = Vec::new();
    for m in &singles {
        if !seen_out.contains(&m.0) {
            seen_out.push(m.0);
            options.push(option(&d, &squad, &outlooks, &[*m]));
        }
        if seen_out.len() == 3 {
            break;
        }
    }
    if input.max_transfers.unwrap_or(2) >= 2 {
        let pool = &singles[..singles.len().min(PAIR_POOL)];
        let best_pair = pool
            .iter()
            .enumerate()
            .flat_map(|(i, a)| pool[i + 1..].iter().map(move |b| (a, b)))
            .filter(|(a, b)| pair_ok(&d, &squad, (a.0, a.1), (b.0, b.1)))
            .max_by(|x, y| (x.0 .2 + x.1 .2).total_cmp(&(y.0 .2 + y.1 .2)));
        if let Some((a, b)) = best_pair {
            options.push(option(&d, &squad, &outlooks, &[*a, *b]));
        }
    }
    options.retain(|o| o.net_gain > 0.0);
    options.sort_by(|a, b| b.net_gain.total_cmp(&a.net_gain));
    let mut weakest: Vec<SquadOutlook> = squad
        .players
        .iter()
        .map(|e| SquadOutlook {
            player: PlayerBrief::of(&d, e),
            expected_points: outlooks[&e.id].expected_points,
        })
        .collect();
    weakest.sort_by(|a, b| a.expected_points.total_cmp(&b.expected_points));
    weakest.truncate(3);
    let plan = TransferPlan {
        entry,
        gameweeks,
        bank: f64::from(squad.bank) / 10.0,
        free_transfers: squad.free_transfers,
        method: METHOD.to_string(),
        options,
        weakest,
    };
    Ok(ToolOutput::typed(text(&plan), &plan))
}

fn text(p: &TransferPlan) -> String {
    let mut out = format!(
        "Transfers{} over gameweeks {}-{} (bank £{:.1}m, {} free transfer(s)):\n",
        p.entry
            .as_ref()
            .map(|e| format!(" for {}", e.label()))
            .unwrap_or_default(),
        p.gameweeks.first().copied().unwrap_or_default(),
        p.gameweeks.last().copied().unwrap_or_default(),
        p.bank,
        p.free_transfers
    );
    if p.options.is_empty() {
        out.push_str("No transfer gains expected points: roll the transfer.\n");
    }
    for (i, o) in p.options.iter().enumerate() {
        out.push_str(&format!(
            "{}. {} — {:+.2} expected points{}, £{:.1}m left. {}.\n",
            i + 1,
            o.moves
                .iter()
                .map(|m| format!(
                    "{} (£{:.1}m) → {} (£{:.1}m)",
                    m.out.label(),
                    m.selling_price,
                    m.came_in.label(),
                    m.price
                ))
                .collect::<Vec<_>>()
                .join(" and "),
            o.net_gain,
            if o.hit_cost > 0 {
                format!(" after a -{} hit", o.hit_cost)
            } else {
                String::new()
            },
            o.bank_after,
            o.reasons.join("; ")
        ));
    }
    out.push_str(&format!("Estimate: {}.", p.method));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fpl::test_support::snapshot_dir;
    use serde_json::json;

    fn source() -> FplSource {
        FplSource::snapshot_dir(snapshot_dir("2025-26_gw7")).unwrap()
    }

    #[test]
    fn selling_price_keeps_half_the_rise() {
        assert_eq!(selling_price(50, 53), 51);
        assert_eq!(selling_price(50, 54), 52);
        assert_eq!(selling_price(50, 48), 48);
        assert_eq!(selling_price(50, 50), 50);
    }

    /// Every option obeys the squad rules: same position, budget, at most 3 per club, not
    /// already owned; the gains are the outlook differences.
    #[tokio::test]
    async fn options_obey_the_rules_for_every_shared_manager() {
        let s = source();
        let d = s.data().await.unwrap();
        for entry in [84062, 1000001, 1000002, 1000003, 1000004] {
            let out = run(
                &s,
                TransferSuggestionsInput::parse(json!({"entryId": entry})).unwrap(),
            )
            .await
            .unwrap();
            assert!(!out.is_error, "{}", out.text);
            let plan = out.structured.unwrap();
            assert_eq!(plan["gameweeks"], json!([8, 9, 10]));
            let picks = s.entry_picks(entry, 7).await.unwrap();
            let squad: Vec<u32> = picks.data().picks.iter().map(|p| p.element).collect();
            assert!(
                !plan["options"].as_array().unwrap().is_empty(),
                "entry {entry}"
            );
            for o in plan["options"].as_array().unwrap() {
                let mut after = squad.clone();
                let mut money = f64::from(picks.data().entry_history.bank) / 10.0;
                for m in o["moves"].as_array().unwrap() {
                    let (out_id, in_id) = (
                        m["out"]["id"].as_u64().unwrap() as u32,
                        m["in"]["id"].as_u64().unwrap() as u32,
                    );
                    assert!(squad.contains(&out_id) && !squad.contains(&in_id));
                    assert_eq!(m["out"]["position"], m["in"]["position"]);
                    money += m["sellingPrice"].as_f64().unwrap() - m["price"].as_f64().unwrap();
                    after.retain(|x| *x != out_id);
                    after.push(in_id);
                    let want =
                        m["inExpected"].as_f64().unwrap() - m["outExpected"].as_f64().unwrap();
                    assert!((m["gain"].as_f64().unwrap() - want).abs() < 0.02);
                }
                assert!(money > -1e-9, "over budget: {o}");
                assert!((o["bankAfter"].as_f64().unwrap() - money).abs() < 1e-6);
                let mut clubs: HashMap<u32, usize> = HashMap::new();
                for id in &after {
                    *clubs.entry(d.player(*id).unwrap().team).or_default() += 1;
                }
                assert!(clubs.values().all(|c| *c <= 3), "{o}");
                assert!(o["netGain"].as_f64().unwrap() > 0.0);
            }
        }
    }

    #[tokio::test]
    async fn free_transfers_follow_the_history() {
        let s = source();
        // 1000001 makes one transfer a week: one free transfer each week.
        let h = s.entry_history(1000001).await.unwrap();
        assert_eq!(free_transfers(h.data()), 1);
        // 1000004 rolls: 1 after GW1, 2 and 3 saved by GW3, 3 used in GW4 (1 left, +1),
        // 2 and 3 again by GW6, 3 used in GW7: 1 for GW8.
        let h = s.entry_history(1000004).await.unwrap();
        assert_eq!(free_transfers(h.data()), 1);
        let mut saved = h.data().clone();
        saved.current.truncate(6);
        assert_eq!(free_transfers(&saved), 3, "two rolled by GW6");
        // 1000003's wildcard week (GW5) neither uses nor adds one.
        let h = s.entry_history(1000003).await.unwrap();
        let mut wild = h.data().clone();
        wild.current.truncate(5);
        let mut before = wild.clone();
        before.current.truncate(4);
        assert_eq!(free_transfers(&wild), free_transfers(&before));
    }

    #[tokio::test]
    async fn a_given_squad_and_bad_input() {
        let s = source();
        let picks = s.entry_picks(1000002, 7).await.unwrap();
        let squad: Vec<String> = picks
            .data()
            .picks
            .iter()
            .map(|p| p.element.to_string())
            .collect();
        let input = json!({"squad": squad, "bank": 0.5, "freeTransfers": 1, "maxTransfers": 1});
        let out = run(&s, TransferSuggestionsInput::parse(input).unwrap())
            .await
            .unwrap();
        let plan = out.structured.unwrap();
        assert!(plan["options"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["moves"].as_array().unwrap().len() == 1));
        assert_eq!(plan["bank"], 0.5);
        let short = TransferSuggestionsInput::parse(json!({"squad": ["Haaland"]})).unwrap_err();
        assert!(short.contains("squad"), "{short}");
        assert!(TransferSuggestionsInput::parse(json!({"entryId": 1, "horizon": 9})).is_err());
    }
}
