//! Typed model of the FPL API's manager and league responses: `/entry/{id}/`,
//! `/entry/{id}/history/`, `/entry/{id}/event/{gw}/picks/`, `/entry/{id}/transfers/` and
//! `/leagues-classic/{id}/standings/`.
//!
//! Promises: every field the manager tools read is typed here, money in tenths of £m as the
//! API sends it (`992` = £99.2m); fields the API may leave out or null are `Option` or default
//! to empty, so a new manager (no history, no chips) or a private league page parses; fields
//! nothing reads (kits, badges, cup data) are not modelled.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `/entry/{id}/`: a manager's FPL team ("entry") and its season so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub id: u32,
    /// The team's name ("The Comebacks").
    pub name: String,
    pub player_first_name: String,
    pub player_last_name: String,
    #[serde(default)]
    pub player_region_name: Option<String>,
    /// The team id the manager supports.
    #[serde(default)]
    pub favourite_team: Option<u32>,
    /// The first gameweek the entry played.
    #[serde(default)]
    pub started_event: Option<u32>,
    /// The newest gameweek the entry has a score for (`None` before its first deadline).
    #[serde(default)]
    pub current_event: Option<u32>,
    #[serde(default)]
    pub summary_overall_points: Option<i32>,
    #[serde(default)]
    pub summary_overall_rank: Option<u64>,
    #[serde(default)]
    pub summary_event_points: Option<i32>,
    #[serde(default)]
    pub summary_event_rank: Option<u64>,
    /// Money in the bank at the last deadline, in tenths of £m.
    #[serde(default)]
    pub last_deadline_bank: Option<i32>,
    /// Squad value at the last deadline, in tenths of £m.
    #[serde(default)]
    pub last_deadline_value: Option<i32>,
    #[serde(default)]
    pub last_deadline_total_transfers: Option<u32>,
    #[serde(default)]
    pub leagues: EntryLeagues,
}

impl Entry {
    /// "Johannes Leander".
    pub fn manager_name(&self) -> String {
        format!("{} {}", self.player_first_name, self.player_last_name)
            .trim()
            .to_string()
    }
}

/// The leagues an entry is in (only the classic ones are modelled).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EntryLeagues {
    #[serde(default)]
    pub classic: Vec<EntryLeague>,
}

/// One classic league of an entry, with the entry's rank in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntryLeague {
    pub id: u32,
    pub name: String,
    /// `x`: a private league someone made; `s`: a system league (overall, country, club,
    /// gameweek).
    #[serde(default)]
    pub league_type: Option<String>,
    #[serde(default)]
    pub entry_rank: Option<u64>,
    #[serde(default)]
    pub entry_last_rank: Option<u64>,
    /// Entries in the league, when the API counts them.
    #[serde(default)]
    pub rank_count: Option<u64>,
}

impl EntryLeague {
    /// A league a manager made (mini-league), as opposed to the system leagues.
    pub fn is_private(&self) -> bool {
        self.league_type.as_deref() == Some("x")
    }
}

/// `/entry/{id}/history/`: this season by gameweek, past seasons and chips played.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EntryHistory {
    #[serde(default)]
    pub current: Vec<EntryGameweek>,
    #[serde(default)]
    pub past: Vec<PastSeason>,
    #[serde(default)]
    pub chips: Vec<EntryChip>,
}

/// An entry's gameweek: points, ranks, money and transfers (also `entry_history` of picks).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntryGameweek {
    pub event: u32,
    /// The gameweek's points, before transfer costs.
    pub points: i32,
    /// The season's points after this gameweek, transfer costs deducted.
    pub total_points: i32,
    /// Rank in the gameweek.
    #[serde(default)]
    pub rank: Option<u64>,
    #[serde(default)]
    pub overall_rank: Option<u64>,
    /// Tenths of £m.
    pub bank: i32,
    /// Squad value, tenths of £m.
    pub value: i32,
    pub event_transfers: u32,
    /// Points deducted for extra transfers (a hit is 4 each).
    pub event_transfers_cost: i32,
    pub points_on_bench: i32,
}

/// A finished season of the entry's manager.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PastSeason {
    /// "2024/25".
    pub season_name: String,
    pub total_points: i32,
    pub rank: u64,
}

/// A chip an entry played.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntryChip {
    /// `wildcard`, `freehit`, `bboost`, `3xc`, `manager`.
    pub name: String,
    pub event: u32,
    #[serde(default)]
    pub time: Option<DateTime<Utc>>,
}

/// `/entry/{id}/event/{gw}/picks/`: the squad an entry fielded in a gameweek.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Picks {
    /// The chip played that gameweek, if any.
    #[serde(default)]
    pub active_chip: Option<String>,
    /// Substitutions the game made because a starter did not play.
    #[serde(default)]
    pub automatic_subs: Vec<AutoSub>,
    pub entry_history: EntryGameweek,
    /// Fifteen picks: positions 1-11 start, 12-15 are the bench in order.
    pub picks: Vec<Pick>,
}

/// One player in an entry's squad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pick {
    /// The player (`elements[].id` of bootstrap-static).
    pub element: u32,
    /// 1-15: 1-11 the starting XI, 12 the bench goalkeeper, 13-15 the bench in order.
    pub position: u8,
    /// 0 benched, 1 playing, 2 captain, 3 triple captain.
    pub multiplier: u8,
    pub is_captain: bool,
    pub is_vice_captain: bool,
    /// 1 goalkeeper, 2 defender, 3 midfielder, 4 forward (absent in older responses).
    #[serde(default)]
    pub element_type: Option<u8>,
}

impl Pick {
    /// In the starting XI (before automatic substitutions).
    pub fn starts(&self) -> bool {
        self.position <= 11
    }
}

/// A substitution the game made: `element_in` came off the bench for `element_out`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoSub {
    pub entry: u32,
    pub element_in: u32,
    pub element_out: u32,
    pub event: u32,
}

/// One transfer of `/entry/{id}/transfers/` (newest first in the API's list).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transfer {
    pub element_in: u32,
    /// Price paid, tenths of £m.
    pub element_in_cost: i32,
    pub element_out: u32,
    /// Selling price received, tenths of £m.
    pub element_out_cost: i32,
    pub entry: u32,
    pub event: u32,
    pub time: DateTime<Utc>,
}

/// `/leagues-classic/{id}/standings/`: a classic league and its table. The API pages it by 50
/// entries; the source reads the pages into one `standings` (up to a cap), whose `has_next`
/// then says whether the table goes on beyond what was read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeagueStandings {
    pub league: LeagueInfo,
    pub standings: StandingsPage,
    #[serde(default)]
    pub last_updated_data: Option<DateTime<Utc>>,
}

/// The league itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeagueInfo {
    pub id: u32,
    pub name: String,
    #[serde(default)]
    pub start_event: Option<u32>,
    #[serde(default)]
    pub admin_entry: Option<u32>,
}

/// One page of a league's table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StandingsPage {
    pub has_next: bool,
    pub page: u32,
    pub results: Vec<Standing>,
}

/// One entry's line in a league table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standing {
    pub entry: u32,
    pub entry_name: String,
    pub player_name: String,
    pub rank: u64,
    /// The rank before the latest gameweek (0 for an entry that just joined).
    pub last_rank: u64,
    /// The latest gameweek's points.
    pub event_total: i32,
    pub total: i32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fpl::test_support::snapshot_dir;

    fn read<T: serde::de::DeserializeOwned>(path: &str) -> T {
        let file = snapshot_dir("2025-26_gw7").join(path);
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
    }

    /// The real manager's files parse, and the typed numbers agree with each other as the
    /// game keeps them: the entry's totals are the history's last gameweek, the picks'
    /// gameweek is the history's, and the chips are where the picks say.
    #[test]
    fn the_real_managers_season_reads_consistently() {
        let entry: Entry = read("entry/84062.json");
        assert_eq!(entry.name, "The Comebacks");
        assert_eq!(entry.manager_name(), "Johannes Leander");
        let history: EntryHistory = read("entry/84062/history.json");
        let gw7 = history.current.last().unwrap();
        assert_eq!(history.current.len(), 7);
        assert_eq!(entry.current_event, Some(gw7.event));
        assert_eq!(entry.summary_overall_points, Some(gw7.total_points));
        assert_eq!(entry.summary_event_points, Some(gw7.points));
        assert_eq!(entry.last_deadline_value, Some(gw7.value));
        // Season total: every gameweek's points minus every hit.
        let total: i32 = history
            .current
            .iter()
            .map(|g| g.points - g.event_transfers_cost)
            .sum();
        assert_eq!(total, gw7.total_points);
        let picks: Picks = read("entry/84062/event/7/picks.json");
        assert_eq!(&picks.entry_history, gw7);
        assert_eq!(picks.picks.len(), 15);
        assert_eq!(picks.picks.iter().filter(|p| p.starts()).count(), 11);
        assert_eq!(picks.picks.iter().filter(|p| p.is_captain).count(), 1);
        let chip_weeks: Vec<u32> = history.chips.iter().map(|c| c.event).collect();
        for gw in 1..=7u32 {
            let picks: Picks = read(&format!("entry/84062/event/{gw}/picks.json"));
            assert_eq!(
                picks.active_chip.is_some(),
                chip_weeks.contains(&gw),
                "GW{gw}: the picks' chip and the history's chips agree"
            );
        }
        // Each gameweek's transfers are the ones it counts, except under a wildcard or a free
        // hit, which count none (GW7's wildcard: 20 transfers, 0 counted).
        let transfers: Vec<Transfer> = read("entry/84062/transfers.json");
        assert!(transfers.iter().all(|t| t.entry == 84062));
        for week in &history.current {
            let made = transfers.iter().filter(|t| t.event == week.event).count() as u32;
            let unlimited = history.chips.iter().any(|c| {
                c.event == week.event && matches!(c.name.as_str(), "wildcard" | "freehit")
            });
            if unlimited {
                assert_eq!(week.event_transfers, 0, "GW{}", week.event);
            } else {
                assert_eq!(made, week.event_transfers, "GW{}", week.event);
            }
        }
        assert_eq!(transfers.iter().filter(|t| t.event == 7).count(), 20);
    }

    /// The constructed mini-league: its table is in rank order, and the entries whose files
    /// the snapshot has carry the table's totals and ranks themselves.
    #[test]
    fn the_mini_league_table_matches_its_managers() {
        let league: LeagueStandings = read("leagues-classic/900001/standings.json");
        assert_eq!(league.league.name, "Offline Test League");
        assert!(!league.standings.has_next);
        let table = &league.standings.results;
        assert!(table.windows(2).all(|w| w[0].rank <= w[1].rank));
        assert!(table.windows(2).all(|w| w[0].total >= w[1].total));
        let dir = snapshot_dir("2025-26_gw7");
        let with_files: Vec<&Standing> = table
            .iter()
            .filter(|line| dir.join(format!("entry/{}.json", line.entry)).is_file())
            .collect();
        assert_eq!(
            with_files.len(),
            4,
            "the four constructed managers have their files"
        );
        for line in with_files {
            let entry: Entry = read(&format!("entry/{}.json", line.entry));
            assert_eq!(entry.name, line.entry_name);
            assert_eq!(entry.summary_overall_points, Some(line.total));
            assert_eq!(entry.summary_event_points, Some(line.event_total));
            let mine = entry.leagues.classic.iter().find(|l| l.id == 900001);
            assert_eq!(mine.and_then(|l| l.entry_rank), Some(line.rank));
            assert!(mine.is_some_and(EntryLeague::is_private));
        }
    }

    /// Every manager file of the snapshot parses into its type (the constructed managers use
    /// chips, auto-subs and hits the real one does not).
    #[test]
    fn every_manager_file_of_the_snapshot_parses() {
        let dir = snapshot_dir("2025-26_gw7").join("entry");
        let mut ids: Vec<u32> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| {
                e.ok()?
                    .file_name()
                    .to_str()?
                    .strip_suffix(".json")?
                    .parse()
                    .ok()
            })
            .collect();
        ids.sort();
        assert_eq!(ids, vec![84062, 1000001, 1000002, 1000003, 1000004]);
        let (mut picks_read, mut auto_subs) = (0, 0);
        for id in ids {
            let entry: Entry = read(&format!("entry/{id}.json"));
            let history: EntryHistory = read(&format!("entry/{id}/history.json"));
            let _: Vec<Transfer> = read(&format!("entry/{id}/transfers.json"));
            assert_eq!(entry.id, id);
            for week in &history.current {
                let picks: Picks = read(&format!("entry/{id}/event/{}/picks.json", week.event));
                assert_eq!(picks.entry_history.points, week.points);
                picks_read += 1;
                auto_subs += picks.automatic_subs.len();
            }
        }
        assert_eq!(picks_read, 35);
        assert!(
            auto_subs > 0,
            "the constructed weeks include automatic substitutions"
        );
    }
}
