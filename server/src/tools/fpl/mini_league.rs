//! `fpl_mini_league`: a classic league's table with movement and gaps, and what its managers
//! picked: captains, the players most of them own, chips, and one entry's differentials.
//!
//! Promises: the table is the API's (every page read, up to the source's cap; `complete`
//! says whether it goes on); movement is last rank − rank (positive = up; none for a new
//! entry); gaps are in points. The analytics read at most [`MAX_ANALYSED`] squads (the top
//! of the table, plus the asked-for entry), at most [`CONCURRENCY`] at a time, so a league of
//! thousands costs a bounded number of requests; squads that cannot be read are listed in
//! `notAnalysed`, not guessed.

use std::collections::BTreeMap;

use futures::stream::{self, StreamExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::fpl::manager::{Picks, Standing};
use crate::fpl::squad::Chip;
use crate::fpl::{FplData, FplSource};
use crate::tools::fpl::typed::{
    finish, refuse, round1, started_gameweek, PlayerBrief, Stop, MAX_ID,
};
use crate::tools::input::{check_range, id_number, opt_id_number, yes, ToolInput};
use crate::tools::{ToolError, ToolOutput};

pub const NAME: &str = "fpl_mini_league";
pub const DESCRIPTION: &str = "A classic FPL mini-league (by league id): standings with rank \
movement, gaps to the leader and to the team above, gameweek points; analytics of the \
managers' squads for a gameweek (captain choices, players owned by most rivals, chips) and, \
given an entryId, that team's differentials (players few rivals own) and the popular players \
it lacks.";

/// Most squads the analytics read.
pub const MAX_ANALYSED: usize = 50;
/// Squads fetched at once.
pub const CONCURRENCY: usize = 8;
/// Most table rows an answer lists (the rest are summarised).
const MAX_ROWS: usize = 50;

/// Input of `fpl_mini_league`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MiniLeagueInput {
    /// The classic league's id (1-100000000), the number in its URL.
    #[serde(deserialize_with = "id_number")]
    pub league_id: u32,
    /// An entry in the league whose differentials to show.
    #[serde(default, deserialize_with = "opt_id_number")]
    pub entry_id: Option<u32>,
    /// Gameweek of the analytics (1-38); default the current one.
    #[serde(default)]
    #[schemars(range(min = 1, max = 38))]
    pub gameweek: Option<u32>,
    /// Read the managers' squads for captains, ownership and differentials (default true).
    #[serde(default = "yes")]
    pub include_analytics: bool,
}

impl ToolInput for MiniLeagueInput {
    fn validate(&self) -> Result<(), String> {
        check_range("leagueId", self.league_id, 1, MAX_ID)?;
        if let Some(e) = self.entry_id {
            check_range("entryId", e, 1, MAX_ID)?;
        }
        match self.gameweek {
            Some(g) => check_range("gameweek", g, 1, 38),
            None => Ok(()),
        }
    }
}

/// One line of the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StandingRow {
    pub rank: u64,
    /// Rank before the latest gameweek (null for a new entry).
    pub last_rank: Option<u64>,
    /// Places gained (positive) or lost (negative) in the latest gameweek.
    pub movement: i64,
    pub entry_id: u32,
    pub team_name: String,
    pub manager: String,
    pub total: i32,
    pub gameweek_points: i32,
    pub gap_to_leader: i32,
    /// Points behind the team one place above (0 for the leader).
    pub gap_to_above: i32,
}

/// How many of the analysed squads chose a player.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Share {
    pub player: PlayerBrief,
    pub count: usize,
    /// Share of the analysed squads, %.
    pub percent: f64,
}

/// How often a chip was played.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChipCount {
    pub chip: String,
    pub count: usize,
}

/// What the league's managers picked in one gameweek.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LeagueAnalytics {
    pub gameweek: u32,
    pub analysed: usize,
    /// Entries whose squad could not be read (left out, not guessed).
    pub not_analysed: Vec<u32>,
    pub captains: Vec<Share>,
    pub most_owned: Vec<Share>,
    pub chips: Vec<ChipCount>,
}

/// One entry against the rest of the analysed league.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Differentials {
    pub entry_id: u32,
    /// Players this entry owns that at most a third of the rivals own (share among rivals).
    pub differentials: Vec<Share>,
    /// Players at least half of the rivals own that this entry does not.
    pub missing: Vec<Share>,
}

/// The league itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LeagueBrief {
    pub id: u32,
    pub name: String,
}

/// `fpl_mini_league`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MiniLeague {
    pub league: LeagueBrief,
    /// Entries in the table as read.
    pub entries: usize,
    /// False when the league is longer than what was read.
    pub complete: bool,
    pub standings: Vec<StandingRow>,
    pub analytics: Option<LeagueAnalytics>,
    pub differentials: Option<Differentials>,
}

fn rows(table: &[Standing]) -> Vec<StandingRow> {
    let leader = table.first().map(|s| s.total).unwrap_or(0);
    table
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let above = if i == 0 { s.total } else { table[i - 1].total };
            let last_rank = (s.last_rank > 0).then_some(s.last_rank);
            StandingRow {
                rank: s.rank,
                last_rank,
                movement: last_rank.map_or(0, |l| l as i64 - s.rank as i64),
                entry_id: s.entry,
                team_name: s.entry_name.clone(),
                manager: s.player_name.clone(),
                total: s.total,
                gameweek_points: s.event_total,
                gap_to_leader: leader - s.total,
                gap_to_above: above - s.total,
            }
        })
        .collect()
}

fn shares(d: &FplData, counts: &BTreeMap<u32, usize>, of: usize, top: usize) -> Vec<Share> {
    let mut v: Vec<(u32, usize)> = counts.iter().map(|(k, c)| (*k, *c)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.into_iter()
        .take(top)
        .map(|(id, count)| Share {
            player: PlayerBrief::by_id(d, id),
            count,
            percent: round1(100.0 * count as f64 / of.max(1) as f64),
        })
        .collect()
}

/// Squads of the entries, read at most [`CONCURRENCY`] at a time; `None` for unreadable ones.
async fn squads(source: &FplSource, entries: &[u32], gw: u32) -> Vec<(u32, Option<Picks>)> {
    let mut out: Vec<(u32, Option<Picks>)> = stream::iter(entries.iter().copied())
        .map(|e| async move {
            let picks = source.entry_picks(e, gw).await;
            if let Err(err) = &picks {
                if !err.is_not_available() {
                    tracing::warn!(entry = e, gameweek = gw, error = %err, "league squad unreadable");
                }
            }
            (e, picks.ok().map(|p| p.data().clone()))
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    out.sort_by_key(|(e, _)| entries.iter().position(|x| x == e));
    out
}

fn analytics(d: &FplData, gw: u32, read: &[(u32, Option<Picks>)]) -> LeagueAnalytics {
    let ok: Vec<&Picks> = read.iter().filter_map(|(_, p)| p.as_ref()).collect();
    let mut captains = BTreeMap::new();
    let mut owned = BTreeMap::new();
    let mut chips: BTreeMap<String, usize> = BTreeMap::new();
    for p in &ok {
        for pick in &p.picks {
            *owned.entry(pick.element).or_default() += 1;
            if pick.is_captain {
                *captains.entry(pick.element).or_default() += 1;
            }
        }
        if let Some(c) = &p.active_chip {
            *chips.entry(Chip::parse(c).label().to_string()).or_default() += 1;
        }
    }
    LeagueAnalytics {
        gameweek: gw,
        analysed: ok.len(),
        not_analysed: read
            .iter()
            .filter(|(_, p)| p.is_none())
            .map(|(e, _)| *e)
            .collect(),
        captains: shares(d, &captains, ok.len(), 5),
        most_owned: shares(d, &owned, ok.len(), 10),
        chips: chips
            .into_iter()
            .map(|(chip, count)| ChipCount { chip, count })
            .collect(),
    }
}

fn differentials(d: &FplData, entry: u32, read: &[(u32, Option<Picks>)]) -> Option<Differentials> {
    let mine: Vec<u32> = read
        .iter()
        .find(|(e, _)| *e == entry)?
        .1
        .as_ref()?
        .picks
        .iter()
        .map(|p| p.element)
        .collect();
    let rivals: Vec<&Picks> = read
        .iter()
        .filter(|(e, _)| *e != entry)
        .filter_map(|(_, p)| p.as_ref())
        .collect();
    let mut owned: BTreeMap<u32, usize> = BTreeMap::new();
    for p in &rivals {
        for pick in &p.picks {
            *owned.entry(pick.element).or_default() += 1;
        }
    }
    let n = rivals.len();
    let of = |keep: &dyn Fn(u32, usize) -> bool, ids: Vec<u32>| {
        let counts: BTreeMap<u32, usize> = ids
            .into_iter()
            .map(|id| (id, owned.get(&id).copied().unwrap_or(0)))
            .filter(|(id, c)| keep(*id, *c))
            .collect();
        let mut v = shares(d, &counts, n, 15);
        v.sort_by(|a, b| a.count.cmp(&b.count).then(a.player.id.cmp(&b.player.id)));
        v
    };
    let differentials = of(&|_, c| c * 3 <= n, mine.clone());
    let mut missing = of(
        &|id, c| !mine.contains(&id) && c * 2 >= n && n > 0,
        owned.keys().copied().collect(),
    );
    missing.reverse();
    Some(Differentials {
        entry_id: entry,
        differentials,
        missing,
    })
}

/// Run the tool.
pub async fn run(source: &FplSource, input: MiniLeagueInput) -> Result<ToolOutput, ToolError> {
    finish(answer(source, input).await)
}

async fn answer(source: &FplSource, input: MiniLeagueInput) -> Result<ToolOutput, Stop> {
    let d = source.data().await?;
    let league = source.league_standings(input.league_id).await?;
    let l = league.data();
    let table = rows(&l.standings.results);
    if let Some(e) = input.entry_id {
        if !table.iter().any(|r| r.entry_id == e) {
            return Err(refuse(
                "entryId",
                format!(
                    "Entry {e} is not in the table of league {} as read.",
                    l.league.name
                ),
            ));
        }
    }
    let (analytics, differentials) = if input.include_analytics && !table.is_empty() {
        let gw = started_gameweek(&d, input.gameweek)?;
        let mut entries: Vec<u32> = table
            .iter()
            .take(MAX_ANALYSED)
            .map(|r| r.entry_id)
            .collect();
        if let Some(e) = input.entry_id.filter(|e| !entries.contains(e)) {
            entries.push(e);
        }
        let read = squads(source, &entries, gw).await;
        let diffs = input.entry_id.and_then(|e| differentials(&d, e, &read));
        (Some(analytics(&d, gw, &read)), diffs)
    } else {
        (None, None)
    };
    let out = MiniLeague {
        league: LeagueBrief {
            id: l.league.id,
            name: l.league.name.clone(),
        },
        entries: table.len(),
        complete: !l.standings.has_next,
        standings: table.into_iter().take(MAX_ROWS).collect(),
        analytics,
        differentials,
    };
    Ok(ToolOutput::typed(text(&out), &out))
}

fn share_list(v: &[Share]) -> String {
    v.iter()
        .map(|s| format!("{} ×{} ({}%)", s.player.label(), s.count, s.percent))
        .collect::<Vec<_>>()
        .join(", ")
}

fn text(m: &MiniLeague) -> String {
    let mut out = format!(
        "{} (league {}): {} entries{}.\n",
        m.league.name,
        m.league.id,
        m.entries,
        if m.complete {
            ""
        } else {
            " read (the league is longer)"
        }
    );
    for r in &m.standings {
        let arrow = match r.movement {
            0 => "=".to_string(),
            x if x > 0 => format!("▲{x}"),
            x => format!("▼{}", -x),
        };
        out.push_str(&format!(
            "{}. {} ({}) {} pts, GW {} [{}], {} behind the leader\n",
            r.rank, r.team_name, r.manager, r.total, r.gameweek_points, arrow, r.gap_to_leader
        ));
    }
    if let Some(a) = &m.analytics {
        out.push_str(&format!(
            "Gameweek {} across {} squads — captains: {}; most owned: {}",
            a.gameweek,
            a.analysed,
            share_list(&a.captains),
            share_list(&a.most_owned[..a.most_owned.len().min(5)])
        ));
        if !a.chips.is_empty() {
            out.push_str(&format!(
                "; chips: {}",
                a.chips
                    .iter()
                    .map(|c| format!("{} ×{}", c.chip, c.count))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !a.not_analysed.is_empty() {
            out.push_str(&format!(
                "; squads not available for entries {}",
                a.not_analysed
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        out.push_str(".\n");
    }
    if let Some(dif) = &m.differentials {
        out.push_str(&format!(
            "Entry {}'s differentials: {}. Popular players it lacks: {}.",
            dif.entry_id,
            if dif.differentials.is_empty() {
                "none".to_string()
            } else {
                share_list(&dif.differentials)
            },
            if dif.missing.is_empty() {
                "none".to_string()
            } else {
                share_list(&dif.missing)
            }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fpl::test_support::snapshot_dir;
    use serde_json::{json, Value};

    fn raw(path: &str) -> Value {
        let p = snapshot_dir("2025-26_gw7").join(path);
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    }

    async fn call(input: Value) -> ToolOutput {
        let source = FplSource::snapshot_dir(snapshot_dir("2025-26_gw7")).unwrap();
        run(&source, MiniLeagueInput::parse(input).unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn table_gaps_movement_and_analytics_are_the_raw_files() {
        let out = call(json!({"leagueId": 900001, "entryId": 1000003})).await;
        assert!(!out.is_error, "{}", out.text);
        let s = out.structured.unwrap();
        let table = raw("leagues-classic/900001/standings.json");
        let results = table["standings"]["results"].as_array().unwrap();
        assert_eq!(s["entries"], results.len());
        let leader = results[0]["total"].as_i64().unwrap();
        for (row, r) in s["standings"].as_array().unwrap().iter().zip(results) {
            assert_eq!(row["entryId"], r["entry"]);
            assert_eq!(
                row["gapToLeader"].as_i64().unwrap(),
                leader - r["total"].as_i64().unwrap()
            );
            assert_eq!(
                row["movement"].as_i64().unwrap(),
                r["last_rank"].as_i64().unwrap() - r["rank"].as_i64().unwrap()
            );
        }
        // Analytics: the four members with files are read; 1000005/6 are listed as missing.
        let a = &s["analytics"];
        assert_eq!(a["gameweek"], 7);
        assert_eq!(a["analysed"], 4);
        let mut missing: Vec<u64> = a["notAnalysed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        missing.sort();
        assert_eq!(missing, vec![1000005, 1000006]);
        // Captain counts from the raw picks.
        let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
        let mut owners: BTreeMap<u64, Vec<u32>> = BTreeMap::new();
        for e in [1000001u32, 1000002, 1000003, 1000004] {
            let p = raw(&format!("entry/{e}/event/7/picks.json"));
            for pick in p["picks"].as_array().unwrap() {
                let id = pick["element"].as_u64().unwrap();
                owners.entry(id).or_default().push(e);
                if pick["is_captain"] == true {
                    *counts.entry(id).or_default() += 1;
                }
            }
        }
        for c in a["captains"].as_array().unwrap() {
            assert_eq!(
                c["count"].as_u64().unwrap() as usize,
                counts[&c["player"]["id"].as_u64().unwrap()]
            );
        }
        let top = &a["mostOwned"][0];
        let max = owners.values().map(Vec::len).max().unwrap();
        assert_eq!(top["count"].as_u64().unwrap() as usize, max);
        // Differentials of 1000003: owned by it and by at most one of the three rivals.
        for dif in s["differentials"]["differentials"].as_array().unwrap() {
            let o = &owners[&dif["player"]["id"].as_u64().unwrap()];
            assert!(o.contains(&1000003));
            assert!(o.iter().filter(|e| **e != 1000003).count() <= 1, "{dif}");
        }
        for m in s["differentials"]["missing"].as_array().unwrap() {
            let o = &owners[&m["player"]["id"].as_u64().unwrap()];
            assert!(!o.contains(&1000003) && o.len() >= 2, "{m}");
        }
        assert!(out.text.contains("Offline Test League"));
    }

    #[tokio::test]
    async fn unknown_leagues_and_outsiders_are_clear_errors() {
        let out = call(json!({"leagueId": 12345})).await;
        assert!(out.is_error);
        assert!(out.text.contains("12345"), "{}", out.text);
        let out = call(json!({"leagueId": 900001, "entryId": 84062})).await;
        assert!(out.is_error);
        assert!(out.text.contains("84062"), "{}", out.text);
        let plain = call(json!({"leagueId": 900001, "includeAnalytics": false})).await;
        assert!(plain.structured.unwrap()["analytics"].is_null());
    }
}
